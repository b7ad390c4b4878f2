"""DataFrame and StructuredDataset inputs: the expression field with a dropdown of the notebook's
DataFrame variables, and the engine's cheap checks at the field."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

import flyte_nb as fnb
from flyte_nb.notebook.widgets import InputForm, TaskWidget
from flyte_nb.notebook.widgets.data_input import FrameEditor

Scores = Annotated[pd.DataFrame, fnb.kwtypes(id=int, score=float)]


@fnb.task
def mean_score(df: Scores, sd: fnb.StructuredDataset, raw: pd.DataFrame) -> float:
    return float(df.score.mean())


@pytest.fixture
def notebook() -> dict[str, Any]:
    return {
        "scores": pd.DataFrame({"id": [1, 2], "score": [0.5, 0.9], "label": ["a", "b"]}),
        "ids": pd.DataFrame({"id": [1]}),
        "dataset": fnb.StructuredDataset(dataframe=pd.DataFrame({"x": [1]})),
        "n": 3,
        "_": pd.DataFrame(),  # IPython's output history: not offered
        "_3": pd.DataFrame(),
    }


def test_dataframe_inputs_offer_the_notebook_dataframes_by_name(notebook: dict[str, Any]) -> None:
    form = InputForm(mean_score, namespace=notebook)
    assert {name: f.kind for name, f in form.fields.items()} == {
        "df": "dataframe",
        "sd": "dataframe",
        "raw": "dataframe",
    }
    df = form.fields["df"].editor
    assert isinstance(df, FrameEditor)
    assert list(df.variables.options) == [
        ("a notebook variable…", ""),
        ("dataset (StructuredDataset)", "dataset"),
        ("ids (DataFrame: 1 row, 1 column)", "ids"),
        ("scores (DataFrame: 2 rows, 3 columns)", "scores"),
    ]
    # a dataset input takes datasets only (the engine refuses a bare DataFrame there)
    assert [n for _, n in form.fields["sd"].editor.variables.options] == ["", "dataset"]


def test_picking_a_variable_passes_that_object(notebook: dict[str, Any]) -> None:
    form = InputForm(mean_score, namespace=notebook)
    form.fields["df"].editor.variables.value = "scores"
    form.fields["sd"].editor.variables.value = "dataset"
    form.fields["raw"].editor.value = "scores[['label']]"  # any expression still works
    assert form.fields["df"].editor.value == "scores"
    values = form.collect()
    assert form.errors == {}
    assert values is not None
    assert values["df"] is notebook["scores"]
    assert values["sd"] is notebook["dataset"]
    assert list(values["raw"].columns) == ["label"]
    # typing a name selects it in the dropdown; anything else shows the prompt
    form.fields["df"].editor.value = "ids"
    assert form.fields["df"].editor.variables.value == "ids"
    form.fields["df"].editor.value = "ids.head()"
    assert form.fields["df"].editor.variables.value == ""


def test_a_frame_the_engine_would_refuse_is_refused_at_the_field(notebook: dict[str, Any]) -> None:
    form = InputForm(mean_score, namespace=notebook)
    form.fields["df"].editor.value = "ids"
    form.fields["sd"].editor.value = "scores"
    form.fields["raw"].editor.value = "ids"
    assert form.collect() is None
    assert set(form.errors) == {"df", "sd"}
    assert (
        "input 'df': expected the declared columns ['id', 'score'], got a DataFrame without ['score']"
        in form.errors["df"]
    )
    assert (
        "input 'sd': expected a StructuredDataset, got a DataFrame of 2 rows and 3 columns"
        in (form.errors["sd"])
    )
    assert "StructuredDataset(dataframe=df)" in form.errors["sd"]


def test_the_dropdown_lists_variables_a_later_cell_defines() -> None:
    shell = InteractiveShell.instance()
    shell.user_ns.pop("late_frame", None)
    form = InputForm(mean_score, namespace=shell.user_ns)
    editor = form.fields["raw"].editor
    assert "late_frame" not in [n for _, n in editor.variables.options]
    shell.run_cell("import pandas as pd\nlate_frame = pd.DataFrame({'a': [1, 2, 3]})")
    assert ("late_frame (DataFrame: 3 rows, 1 column)", "late_frame") in list(editor.variables.options)
    shell.run_cell("del late_frame")
    assert "late_frame" not in [n for _, n in editor.variables.options]


def test_a_run_with_a_picked_frame_reads_only_the_declared_columns(notebook: dict[str, Any]) -> None:
    w = TaskWidget(mean_score, namespace=notebook)
    w.form.fields["df"].editor.variables.value = "scores"
    w.form.fields["sd"].editor.variables.value = "dataset"
    w.form.fields["raw"].editor.variables.value = "ids"
    w.run_panel.buttons["kernel"].click()
    assert w.run_panel.wait(30) == pytest.approx(0.7)
