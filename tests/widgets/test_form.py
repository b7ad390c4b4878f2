"""The typed input form: editors per annotation, defaults, values and validation messages."""

from __future__ import annotations

import datetime

import ipywidgets as widgets
import pytest

from flyte_nb.notebook.widgets import InputForm
from tests.widgets import tasks

EDITORS = [  # input of tasks.everything, editor kind, widget class, optional
    ("n", "int", widgets.IntText, False),
    ("x", "float", widgets.FloatText, False),
    ("s", "str", widgets.Text, False),
    ("flag", "bool", widgets.Checkbox, False),
    ("when", "datetime", widgets.NaiveDatetimePicker, False),
    ("color", "choice", widgets.Dropdown, False),
    ("speed", "choice", widgets.Dropdown, False),
    ("maybe", "int", widgets.IntText, True),
    ("xs", "expression", widgets.Textarea, False),
    ("p", "expression", widgets.Textarea, False),
    ("m", "expression", widgets.Textarea, False),
]


@pytest.fixture
def form() -> InputForm:
    return InputForm(tasks.everything, namespace={"Model": tasks.Model, "Point": tasks.Point})


@pytest.mark.parametrize(("name", "kind", "cls", "optional"), EDITORS)
def test_each_annotation_gets_its_editor(
    form: InputForm, name: str, kind: str, cls: type, optional: bool
) -> None:
    field = form.fields[name]
    assert (field.kind, type(field.editor), field.optional) == (kind, cls, optional)


def test_defaults_are_prefilled_and_collected_as_native_values(form: InputForm) -> None:
    assert form.fields["x"].editor.value == 0.5
    assert form.fields["xs"].editor.value == "[1, 2]"
    assert form.fields["p"].editor.value == '{"x": 1, "y": 2}'
    assert form.fields["maybe"].none_toggle.value is True
    assert form.fields["maybe"].editor.disabled
    assert [label for label, _ in form.fields["speed"].editor.options] == ["'fast'", "'slow'"]
    assert 'title="required' in form.fields["n"].label.value  # no default: marked required
    assert 'title="required' not in form.fields["x"].label.value
    form.fields["n"].editor.value = 4
    values = form.collect()
    assert values is not None
    assert form.valid
    assert values["n"] == 4
    assert values["color"] is tasks.Color.GREEN
    assert values["speed"] == "slow"
    assert values["p"] == tasks.Point(1, 2)
    assert values["maybe"] is None
    assert values["when"] == datetime.datetime(2024, 1, 31, 12, 0)
    assert values["m"] is tasks.everything.python_interface.defaults["m"]  # unchanged pickled default


def test_expressions_accept_json_and_python_in_the_notebook_namespace(form: InputForm) -> None:
    form.fields["xs"].editor.value = "[3, 4, 5]"
    form.fields["p"].editor.value = "Point(x=7, y=8)"
    form.fields["m"].editor.value = "Model(9)"
    form.fields["maybe"].none_toggle.value = False
    form.fields["maybe"].editor.value = 11
    values = form.collect()
    assert values is not None
    assert values["xs"] == [3, 4, 5]
    assert values["p"] == tasks.Point(7, 8)
    assert isinstance(values["m"], tasks.Model)
    assert values["m"].scale == 9
    assert values["maybe"] == 11


def test_invalid_fields_get_messages_next_to_them(form: InputForm) -> None:
    form.fields["xs"].editor.value = '["a", "b"]'
    form.fields["m"].editor.value = "Modle(3)"
    form.fields["p"].editor.value = ""
    assert form.collect() is None
    assert not form.valid
    errors = form.errors
    assert set(errors) == {"xs", "m", "p"}
    assert errors["xs"].startswith("Task 'tests.widgets.tasks.everything' input 'xs': ")
    assert "NameError" in errors["m"]
    assert "'Modle(3)'" in errors["m"]
    assert "expected Point (dataclass) as JSON or a Python expression, got ''" in errors["p"]
    assert "⚠" in form.fields["m"].message_html.value
    # fixing a field clears its message
    form.fields["m"].editor.value = "Model(1)"
    form.collect()
    assert "m" not in form.errors
    assert form.fields["m"].message_html.value == ""


def test_a_task_without_inputs_says_so() -> None:
    import flyte_nb as fnb

    @fnb.task
    def nothing() -> int:
        return 1

    form = InputForm(nothing)
    assert form.fields == {}
    assert form.collect() == {}
    assert "takes no inputs" in form.children[0].value


def test_time_zone_aware_defaults_keep_their_zone() -> None:
    import flyte_nb as fnb

    noon_utc = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)

    @fnb.task
    def at(when: datetime.datetime = noon_utc, n: int = 1) -> str:
        return when.isoformat()

    form = InputForm(at)
    assert isinstance(form.fields["when"].editor, widgets.DatetimePicker)
    values = form.collect()
    assert values is not None
    assert values["when"] == noon_utc


def test_nested_dataclasses_from_json() -> None:
    form = InputForm(tasks.count_boxes)
    form.fields["boxes"].editor.value = '[{"corner": {"x": 1, "y": 2}, "label": "a"}]'
    values = form.collect()
    assert values == {"boxes": [tasks.Box(tasks.Point(1, 2), "a")]}


def test_whole_numbers_typed_where_floats_are_expected_become_floats() -> None:
    form = InputForm(tasks.fit)
    form.fields["weights"].editor.value = '{"a": 2, "b": 0.5}'
    form.fields["opt"].editor.value = '{"lr": 1, "steps": 3}'
    form.fields["scales"].editor.value = "[1, 2.5]"
    values = form.collect()
    assert form.errors == {}
    assert values == {"weights": {"a": 2.0, "b": 0.5}, "opt": tasks.Optim(1.0, 3), "scales": [1.0, 2.5]}
    assert type(values["weights"]["a"]) is float
    assert type(values["opt"].steps) is int  # ints stay ints where ints are expected
