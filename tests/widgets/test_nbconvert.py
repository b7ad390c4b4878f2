"""Where widgets cannot render: a notebook executed headless and exported to HTML keeps the task view."""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.slow
def test_an_executed_notebook_exports_the_static_task_view(tmp_path: pathlib.Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext flyte_nb"),
        nbformat.v4.new_code_cell(
            "%%flyte_task\ndef double(n: int) -> int:\n    '''Twice n.\n\n    :param n: a number\n    '''\n"
            "    return 2 * n"
        ),
    ]
    # JupyterLab does not save widget state unless asked to, so a shared notebook usually has none
    NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    (display,) = [o for o in nb.cells[1].outputs if o["output_type"] == "display_data"]
    # a live frontend gets the widget, everything else the same view as static HTML and text
    assert WIDGET_VIEW in display["data"]
    assert 'class="flyte-nb-interface"' in display["data"]["text/html"]
    assert display["data"]["text/plain"].startswith("PythonFunctionTask double")

    body, _ = HTMLExporter().from_notebook_node(nb)  # no widget state saved: nbconvert uses the HTML
    assert 'class="flyte-nb-interface"' in body
    assert "a number" in body
    assert "flyte-nb-execute" in body  # the template section
