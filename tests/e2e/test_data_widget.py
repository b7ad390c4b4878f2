"""A file input in a real browser: a CSV uploaded through the form's Upload button (ipywidgets' FileUpload)
reaches the kernel, the task reads it, and the result shows the output file's CSV preview."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import CONTRAST, JupyterLab, open_notebook, run_all_cells, save_screenshot, set_theme

pytestmark = pytest.mark.e2e

SETUP_CELL = """import pathlib, tempfile
import pandas as pd
from flyte_nb import FlyteFile

CsvFile = FlyteFile["csv"]"""

TASK_CELL = '''%%flyte_task
def top(f: CsvFile, n: int = 2) -> CsvFile:
    """The n best rows of a CSV file of scores."""
    out = pathlib.Path(tempfile.mkdtemp()) / "top.csv"
    pd.read_csv(f).nlargest(n, "score").to_csv(out, index=False)
    return FlyteFile(str(out))'''

AA = 4.5  # WCAG AA for normal text
SCORES = b"id,score,label\n1,0.5,apple\n2,0.9,banana\n3,0.1,cherry\n4,0.7,damson\n"


def test_a_csv_uploaded_in_the_browser_runs_in_the_kernel_and_shows_its_preview(
    jupyterlab: JupyterLab, page: Any
) -> None:
    nb = jupyterlab.add_notebook("upload_check.ipynb", ["%load_ext flyte_nb", SETUP_CELL, TASK_CELL])
    open_notebook(page, jupyterlab, nb)
    run_all_cells(page)
    widget = page.locator(".flyte-nb-task-widget").first
    widget.locator("button:has-text('Run in kernel')").wait_for()
    field = widget.locator(".flyte-nb-field:has(code:text-is('f'))")
    upload = field.locator(".flyte-nb-path-editor button:has-text('Upload')")
    # a path that does not exist is refused beside the field, and the message leaves the Upload button
    # whole and in view (it once squeezed the editor until the button was cut off)
    path = field.locator(".flyte-nb-path-editor input[type=text]")
    path.fill("no-such-scores.csv")
    path.press("Enter")
    message = field.locator(".flyte-nb-field-message")
    page.wait_for_function("(el) => el.innerText.includes('does not exist')", arg=message.element_handle())
    button, text = upload.bounding_box(), message.bounding_box()
    assert button["width"] > 60
    assert button["x"] + button["width"] <= text["x"] + 1
    assert upload.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")  # label not cut
    # the button opens the browser's file dialog; the file chosen there is sent to the kernel
    with page.expect_file_chooser() as chooser:
        upload.click()
    assert chooser.value.element.get_attribute("accept") == ".csv"  # CSV files offered first
    chooser.value.set_files(files=[{"name": "scores.csv", "mimeType": "text/csv", "buffer": SCORES}])
    page.wait_for_function(
        "(el) => el.value.endsWith('/scores.csv') && el.value.includes('flyte-nb-uploads-')",
        arg=path.element_handle(),
    )
    # a CSV, as declared: the earlier message goes (its update may reach the page after the path's)
    page.wait_for_function("(el) => el.innerText.trim() === ''", arg=message.element_handle(), timeout=10_000)
    assert "Upload (1)" in upload.inner_text()  # the field uses the uploaded file

    widget.locator("button:has-text('Run in kernel')").click()
    preview = widget.locator(".flyte-nb-result .flyte-nb-preview-file")
    preview.wait_for(timeout=30_000)
    assert "top.csv" in preview.locator(".flyte-nb-preview-name").inner_text()
    table = preview.locator("table.flyte-nb-preview-table")
    assert table.locator("th").all_inner_texts() == ["id", "score", "label"]
    assert [row.split("\t") for row in table.locator("tbody tr").all_inner_texts()] == [
        ["2", "0.9", "banana"],
        ["4", "0.7", "damson"],
    ]
    save_screenshot(widget, "data-widget.png")

    # the theme's colours: the table and the upload button stay readable in the dark theme too
    set_theme(page, "dark")
    for element in (table.locator("td").first, preview.locator(".flyte-nb-preview-name"), upload):
        assert element.evaluate(CONTRAST) >= AA
    save_screenshot(widget, "data-widget-dark.png")
