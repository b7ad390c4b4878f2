"""The typed input form: editors per annotation, defaults, values and validation messages."""

from __future__ import annotations

import datetime

import ipywidgets as widgets
import pytest

from flyte_nb.notebook.widgets import InputForm
from tests.widgets import tasks

EDITORS = [  # input of tasks.everything, editor kind, widget class, optional
    ("n", "int", widgets.Text, False),
    ("x", "float", widgets.Text, False),
    ("s", "str", widgets.Text, False),
    ("flag", "bool", widgets.Checkbox, False),
    ("when", "datetime", widgets.NaiveDatetimePicker, False),
    ("color", "choice", widgets.Dropdown, False),
    ("speed", "choice", widgets.Dropdown, False),
    ("maybe", "int", widgets.Text, True),
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
    assert form.fields["x"].editor.value == "0.5"
    assert form.fields["xs"].editor.value == "[1, 2]"
    assert form.fields["p"].editor.value == '{"x": 1, "y": 2}'
    assert form.fields["maybe"].none_toggle.value is True
    assert form.fields["maybe"].editor.disabled
    assert [label for label, _ in form.fields["speed"].editor.options] == ["'fast'", "'slow'"]
    assert 'title="required' in form.fields["n"].label.value  # no default: marked required
    assert 'title="required' not in form.fields["x"].label.value
    assert form.fields["n"].editor.value == ""  # required: starts empty, not 0
    assert form.fields["n"].required
    assert not form.fields["x"].required
    form.fields["n"].editor.value = "4"
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
    form.fields["n"].editor.value = "1"
    form.fields["xs"].editor.value = "[3, 4, 5]"
    form.fields["p"].editor.value = "Point(x=7, y=8)"
    form.fields["m"].editor.value = "Model(9)"
    form.fields["maybe"].none_toggle.value = False
    form.fields["maybe"].editor.value = "11"
    values = form.collect()
    assert values is not None
    assert values["xs"] == [3, 4, 5]
    assert values["p"] == tasks.Point(7, 8)
    assert isinstance(values["m"], tasks.Model)
    assert values["m"].scale == 9
    assert values["maybe"] == 11


def test_invalid_fields_get_messages_next_to_them(form: InputForm) -> None:
    form.fields["n"].editor.value = "1"
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
    assert errors["p"].endswith(
        "input 'p': the field is empty. Type Point (dataclass) as JSON or a Python expression."
    )
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


# -- values are used as typed, or refused with a message -----------------------------------------------
@pytest.mark.parametrize(
    ("typed", "expected"),
    [("2.7", "expected int (a whole number: no decimal point), got '2.7' (str)"), ("abc", "got 'abc' (str)")],
)
def test_an_int_field_refuses_what_is_no_int_instead_of_changing_it(typed: str, expected: str) -> None:
    form = InputForm(tasks.add)
    form.fields["a"].editor.value = typed
    assert form.collect() is None
    message = form.errors["a"]
    assert message.startswith("Task 'tests.widgets.tasks.add' input 'a': ")
    assert expected in message
    assert "Type a whole number" in message


def test_number_fields_read_what_is_typed() -> None:
    form = InputForm(tasks.add)
    form.fields["a"].editor.value = " -12 "
    form.fields["b"].editor.value = "1e-3"
    assert form.collect() == {"a": -12, "b": 0.001}
    form.fields["b"].editor.value = "2"  # a whole number in a float box is that float
    values = form.collect()
    assert values is not None
    assert type(values["b"]) is float


def test_a_cleared_field_is_refused_not_replaced_by_its_default() -> None:
    form = InputForm(tasks.add)
    form.fields["a"].editor.value = "1"
    form.fields["b"].editor.value = ""
    assert form.collect() is None
    assert form.errors["b"] == (
        "Task 'tests.widgets.tasks.add' input 'b': the field is empty. Type a number."
    )


def test_required_fields_start_empty_and_must_be_filled() -> None:
    import flyte_nb as fnb

    @fnb.task
    def req(n: int, s: str, flag: bool, color: tasks.Color, xs: list[int]) -> str:
        return ""

    form = InputForm(req)
    assert [f.editor.value for f in form.fields.values()] == ["", "", None, None, ""]
    assert all(
        "required" in f.editor.placeholder for f in form.fields.values() if hasattr(f.editor, "placeholder")
    )
    assert isinstance(form.fields["flag"].editor, widgets.Dropdown)  # True/False chosen explicitly
    assert form.collect() is None
    assert set(form.errors) == {"n", "s", "flag", "color", "xs"}
    assert all("required (the task has no default for it)" in m for m in form.errors.values())
    form.fields["n"].editor.value = "0"
    form.fields["s"].editor.value = "x"
    form.fields["flag"].editor.value = False
    form.fields["color"].editor.value = tasks.Color.RED
    form.fields["xs"].editor.value = "[]"
    assert form.collect() == {"n": 0, "s": "x", "flag": False, "color": tasks.Color.RED, "xs": []}


def test_durations_are_typed_in_seconds_and_say_so() -> None:
    import flyte_nb as fnb

    @fnb.task
    def wait(d: datetime.timedelta = datetime.timedelta(minutes=10)) -> float:
        return d.total_seconds()

    field = InputForm(wait).fields["d"]
    assert field.editor.value == "600"
    assert any("seconds" in getattr(c, "value", "") for c in field.children)  # visible, not a tooltip
    field.editor.value = "1.5"
    assert field.value() == datetime.timedelta(seconds=1.5)


# -- dataclasses, field by field --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            '{"lr": 0.1, "epoch": 5}',
            "Optim has no field 'epoch' (its fields: lr, steps). Use its fields: lr, steps.",
        ),
        (
            '{"lr": 0.1, "stesp": 5}',
            "Optim has no field 'stesp' (its fields: lr, steps). Did you mean 'steps'?",
        ),
        ('{"lr": 0.1}', "Optim field 'steps' is missing (it has no default)."),
        ('{"lr": "fast", "steps": 5}', "field 'lr': expected float, got 'fast' (str)."),
        ('{"lr": 0.1, "steps": 2.5}', "field 'steps': expected int, got 2.5 (float)."),
        ("[1, 2]", "expected Optim (a dataclass: a dict of its fields ['lr', 'steps']), got [1, 2] (list)."),
        ("Optim(lr='fast', steps=1)", "field 'lr': expected float, got 'fast' (str)."),
    ],
)
def test_dataclass_inputs_are_checked_field_by_field(typed: str, expected: str) -> None:
    form = InputForm(tasks.fit, namespace={"Optim": tasks.Optim})
    form.fields["weights"].editor.value = "{}"
    form.fields["scales"].editor.value = "[]"
    form.fields["opt"].editor.value = typed
    assert form.collect() is None
    assert set(form.errors) == {"opt"}
    assert form.errors["opt"].startswith(f"Task 'tests.widgets.tasks.fit' input 'opt': {expected}")
    assert "⚠" in form.fields["opt"].message_html.value


def test_nested_dataclass_fields_are_named_by_their_path() -> None:
    form = InputForm(tasks.count_boxes)
    form.fields["boxes"].editor.value = '[{"corner": {"x": 1, "y": "2"}, "label": "a"}]'
    assert form.collect() is None
    assert "input 'boxes': item [0].corner.y: expected int, got '2' (str)" in form.errors["boxes"]


def test_labels_keep_one_column_and_wrap_long_names() -> None:
    import flyte_nb as fnb

    @fnb.task
    def long(a_parameter_name_that_is_much_longer_than_the_label_column_is_wide: int, b: int = 1) -> int:
        return b

    fields = list(InputForm(long).fields.values())
    assert {f.label.layout.width for f in fields} == {"220px"}
    assert {f.label.layout.flex for f in fields} == {"0 0 220px"}  # neither grows nor shrinks
    assert "overflow-wrap:anywhere" in fields[0].label.value  # wraps inside its column, not over the input
