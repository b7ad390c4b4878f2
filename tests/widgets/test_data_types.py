"""A task over files, directories and datasets, end to end in the widget: its interface, its static view,
a run from the form and the outputs' previews. (The pieces: test_file_inputs, test_frame_inputs,
test_data_previews.)"""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

import pandas as pd

import flyte_nb as fnb
from flyte_nb.notebook import views
from flyte_nb.notebook.widgets import ResultView, TaskWidget
from flyte_nb.notebook.widgets import _render as r
from tests.widgets.conftest import wait_until

Frame = Annotated[pd.DataFrame, fnb.kwtypes(a=int)]


@fnb.task
def data_task(
    f: fnb.FlyteFile, d: fnb.FlyteDirectory, df: Frame, sd: fnb.StructuredDataset
) -> tuple[fnb.FlyteFile, fnb.StructuredDataset]:
    return f, sd


def test_interface_and_static_view_describe_the_data_types() -> None:
    rows = {row.name: row for row in r.interface_rows(data_task)}
    assert rows["f"].flyte_type == "file"
    assert rows["d"].flyte_type == "directory"
    assert rows["df"].flyte_type == "dataframe[a]"
    assert rows["sd"].flyte_type == "structured dataset"
    assert not any(row.pickled for row in rows.values())
    page = views.task_html(data_task)
    assert 'class="flyte-nb-interface"' in page
    assert "structured dataset" in page


def test_the_form_runs_a_data_task_in_the_kernel_and_shows_the_outputs(
    tmp_path: pathlib.Path, namespace: dict[str, Any]
) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("a\n1\n")
    namespace.update(
        frame=pd.DataFrame({"a": [1]}), sd=fnb.StructuredDataset(dataframe=pd.DataFrame({"a": [2]}))
    )
    w = TaskWidget(data_task, namespace=namespace)
    w.form.fields["f"].editor.value = f'"{csv}"'
    w.form.fields["d"].editor.value = f'"{tmp_path}"'
    w.form.fields["df"].editor.value = "frame"
    w.form.fields["sd"].editor.value = "sd"
    w.run_panel.buttons["kernel"].click()
    f, sd = w.run_panel.wait(30)
    wait_until(lambda: w.run_panel.result.status == "outputs", what="the outputs")
    assert str(f) == str(csv)
    assert sd.open(pd.DataFrame).all()["a"].tolist() == [2]
    texts = [o["data"]["text/plain"] for o in w.run_panel.result.output.outputs]
    assert texts[0] == "o0:"
    assert texts[1].startswith("file x.csv · 4 B · CSV")
    assert texts[3].startswith("dataset · parquet")
    previews = w.run_panel.result.previews
    assert [p.kind for p in previews.values()] == ["file", "dataset"]
    assert all(p.state == "shown" for p in previews.values())  # in the kernel: nothing to download


def test_remote_results_show_where_they_are() -> None:
    view = ResultView()
    view.show_outputs(["o0"], fnb.FlyteDirectory("s3://bucket/prefix/"))
    (out,) = view.output.outputs
    assert "s3://bucket/prefix/" in out["data"]["text/plain"]
    assert view.previews["o0"].state == "not downloaded"


def test_the_static_view_says_what_the_live_form_adds_for_data() -> None:
    note = views.task_html(data_task).split('class="flyte-nb-static-note"')[1]
    assert (
        "There, file and directory inputs have an <b>Upload</b> button, DataFrame inputs list the "
        "notebook's DataFrames and file, directory and dataset results show a preview." in note
    )

    @fnb.task
    def plain(n: int) -> int:
        return n

    assert "There," not in views.task_html(plain)
