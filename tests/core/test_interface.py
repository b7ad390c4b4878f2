"""Interface extraction: output naming, descriptions, pickled variables and definition-time errors."""

from __future__ import annotations

import enum
import typing
from typing import Any, NamedTuple, Optional

import pytest
from flyteidl.core import types_pb2

import flyte_nb as fnb
from flyte_nb.errors import TaskDefinitionError, UnsupportedTypeError


def _outputs(t: fnb.PythonFunctionTask[Any]) -> dict[str, int]:
    return {k: v.type.simple for k, v in t.interface.outputs.variables.items()}


class Pair(NamedTuple):
    left: int
    right: str


One = NamedTuple("One", [("result", float)])  # noqa: UP014 - the functional form is under test


class Model:
    """A class with no Flyte type."""


class Level(enum.Enum):
    LOW = 1


def test_single_return_is_o0() -> None:
    @fnb.task
    def f(a: int) -> str:
        return str(a)

    assert _outputs(f) == {"o0": types_pb2.STRING}
    assert list(f.python_interface.inputs) == ["a"]


def test_tuple_returns_are_numbered_in_order() -> None:
    @fnb.task
    def f(a: int) -> typing.Tuple[int, str, float]:  # noqa: UP006 - users still write Tuple
        return a, "x", 1.0

    @fnb.task
    def g(a: int) -> tuple[int, str]:
        return a, "x"

    assert list(f.python_interface.outputs) == ["o0", "o1", "o2"]
    assert _outputs(g) == {"o0": types_pb2.INTEGER, "o1": types_pb2.STRING}


def test_bare_tuple_annotation_declares_several_outputs() -> None:
    def f(a: int) -> (int, str):  # type: ignore[syntax]
        return a, "x"

    t = fnb.task(f)
    assert _outputs(t) == {"o0": types_pb2.INTEGER, "o1": types_pb2.STRING}


def test_named_tuple_returns_use_field_names_and_keep_the_class_locally() -> None:
    @fnb.task
    def f(a: int) -> Pair:
        return Pair(a, "x")

    @fnb.task
    def g(a: int) -> One:
        return One(1.5)

    assert list(f.python_interface.outputs) == ["left", "right"]
    assert f.python_interface.output_tuple_name == "Pair"
    assert _outputs(g) == {"result": types_pb2.FLOAT}
    assert g.python_interface.output_tuple_name == "One"


@pytest.mark.parametrize("ann", ["-> None", ""])
def test_none_or_missing_return_means_no_outputs(ann: str) -> None:
    ns: dict[str, Any] = {}
    exec(f"def f(a: int) {ann}:\n    pass", ns)
    t = fnb.task(ns["f"])
    assert len(t.interface.outputs.variables) == 0
    assert t.interface.HasField("outputs")


def test_no_parameters_gives_empty_inputs() -> None:
    @fnb.task
    def f() -> int:
        return 1

    assert t_inputs(f) == {}
    assert f.interface.HasField("inputs")


def t_inputs(t: fnb.PythonFunctionTask[Any]) -> dict[str, Any]:
    return dict(t.interface.inputs.variables)


def test_pickle_untyped_turns_unannotated_into_pickled_any() -> None:
    def f(a, b: int):  # type: ignore[no-untyped-def]
        return a

    t = fnb.task(pickle_untyped=True)(f)
    assert t.python_interface.inputs == {"a": Any, "b": int}
    assert t.python_interface.outputs == {"o0": Any}
    assert t.interface.inputs.variables["a"].type.blob.format == "PythonPickle"
    assert set(t.pickled) == {"a", "o0"}
    assert "pickle_untyped" in t.pickled["a"]


def test_pickle_untyped_keeps_explicit_none_return() -> None:
    def f(a) -> None:  # type: ignore[no-untyped-def]
        return None

    t = fnb.task(pickle_untyped=True)(f)
    assert t.python_interface.outputs == {}


def test_pickle_untyped_function_that_never_returns_a_value_is_refused_with_the_fix() -> None:
    # flytekit refuses it too; otherwise every call failed with "got None (NoneType)" for output o0.
    def log(a):  # type: ignore[no-untyped-def]
        print(a)
        if a:
            return

    with pytest.raises(TaskDefinitionError) as info:
        fnb.task(pickle_untyped=True)(log)
    msg = str(info.value)
    assert "Task 'tests.core.test_interface.log'" in msg
    assert "never returns a value" in msg
    assert "Annotate it `-> None`" in msg

    def maybe(a):  # type: ignore[no-untyped-def]
        if a:
            return None
        return [a]

    assert fnb.task(pickle_untyped=True)(maybe)(a=0) == [0]


def test_classes_without_a_flyte_type_are_marked_pickled() -> None:
    @fnb.task
    def f(m: Model, n: int) -> list[Model]:
        return [m]

    assert set(f.pickled) == {"m", "o0"}
    assert "pickle" in f.pickled["m"]
    assert "n" not in f.pickled


def test_ignore_input_vars_leaves_parameters_out() -> None:
    def f(a: int, debug: bool = False) -> int:
        return a

    t = fnb.PythonFunctionTask(None, f, ignore_input_vars=["debug"])
    assert list(t.interface.inputs.variables) == ["a"]
    assert t.ignore_input_vars == ["debug"]
    assert t(a=3) == 3


def test_ignore_input_vars_without_default_is_rejected() -> None:
    def f(a: int, debug: bool) -> int:
        return a

    with pytest.raises(TaskDefinitionError, match=r"debug.*no default"):
        fnb.PythonFunctionTask(None, f, ignore_input_vars=["debug"])


def test_defaults_are_recorded_but_never_in_the_typed_interface() -> None:
    @fnb.task
    def f(a: int, b: str = "hi", d: Optional[int] = None) -> int:  # noqa: UP045
        return a

    assert f.python_interface.defaults == {"b": "hi", "d": None}
    assert f.python_interface.required_inputs == ["a"]
    assert all(not v.HasField("artifact_partial_id") for v in f.interface.inputs.variables.values())


# ------------------------------------------------------------------------------------- descriptions


def _desc(t: fnb.PythonFunctionTask[Any]) -> tuple[dict[str, str], dict[str, str]]:
    return (
        {k: v.description for k, v in t.interface.inputs.variables.items()},
        {k: v.description for k, v in t.interface.outputs.variables.items()},
    )


def test_rest_docstring_descriptions_and_shared_return() -> None:
    @fnb.task
    def f(a: int, b: int, c: int) -> tuple[int, int]:
        """Short line.

        Longer text.

        :param a: the a input
        :param b: the b input,
            continued on a second line
        :return: both outputs
        """
        return a, b

    ins, outs = _desc(f)
    assert ins == {"a": "the a input", "b": "the b input,\ncontinued on a second line", "c": "c"}
    assert outs == {"o0": "both outputs", "o1": "both outputs"}
    assert f.docs is not None
    assert f.docs.short_description == "Short line."
    assert f.docs.long_description.value == "Longer text."


def test_google_docstring() -> None:
    @fnb.task
    def f(x: int) -> Pair:
        """Do it.

        Args:
            x: the x

        Returns:
            Pair: the outputs
        """
        return Pair(x, "")

    assert _desc(f) == ({"x": "the x"}, {"left": "the outputs", "right": "the outputs"})


def test_numpy_docstring_maps_named_returns() -> None:
    @fnb.task
    def f(x: int) -> tuple[int, int]:
        """Do it.

        Parameters
        ----------
        x : int
            the x

        Returns
        -------
        o0 : int
            first
        o1 : int
            second
        """
        return x, x

    assert _desc(f) == ({"x": "the x"}, {"o0": "first", "o1": "second"})


def test_undocumented_variables_are_described_by_name() -> None:
    @fnb.task
    def f(x: int) -> int:
        return x

    assert _desc(f) == ({"x": "x"}, {"o0": "o0"})
    assert f.docs is not None
    assert f.docs.short_description == ""


# ------------------------------------------------------------------------------------------ errors


def test_unannotated_parameter_names_function_variable_and_fix() -> None:
    def train(n):  # type: ignore[no-untyped-def]
        return n

    with pytest.raises(TaskDefinitionError) as err:
        fnb.task(train)
    msg = str(err.value)
    assert msg.startswith("Task 'tests.core.test_interface.train' input 'n'")
    assert "pickle_untyped=True" in msg
    assert "--pickle-untyped" in msg


@pytest.mark.parametrize(
    ("annotation", "var"),
    [("list", "x"), ("tuple[int, int]", "x"), ("typing.Tuple[int, str]", "x")],
)
def test_unsupported_input_annotation_names_function_and_variable(annotation: str, var: str) -> None:
    ns: dict[str, Any] = {"typing": typing}
    exec(f"def broken({var}: {annotation}) -> int:\n    return 1", ns)
    with pytest.raises(UnsupportedTypeError) as err:
        fnb.task(ns["broken"])
    assert str(err.value).startswith(f"Task 'broken' input '{var}': ")  # exec'd: no module, bare name


def test_unsupported_output_annotation_is_named() -> None:
    def broken(x: int) -> list:  # type: ignore[type-arg]
        return [x]

    with pytest.raises(UnsupportedTypeError, match=r"^Task '[\w.]*broken' output 'o0': "):
        fnb.task(broken)


def test_int_enum_input_is_rejected_at_definition() -> None:
    def broken(level: Level) -> int:
        return 1

    with pytest.raises(UnsupportedTypeError, match=r"Task '[\w.]*broken' input 'level'"):
        fnb.task(broken)


def test_one_element_tuple_return_is_rejected() -> None:
    def broken(x: int) -> tuple[int]:
        return (x,)

    with pytest.raises(TaskDefinitionError, match=r"Task '[\w.]*broken' return"):
        fnb.task(broken)


def test_star_args_are_rejected() -> None:
    def broken(*xs: int) -> int:
        return sum(xs)

    with pytest.raises(TaskDefinitionError, match=r"\*args and \*\*kwargs"):
        fnb.task(broken)


def test_unresolvable_forward_reference_is_a_definition_error() -> None:
    def broken(x: "Missing") -> int:  # type: ignore[name-defined]  # noqa: F821, UP037
        return 1

    with pytest.raises(TaskDefinitionError, match=r"Task '[\w.]*broken'.*cannot be evaluated"):
        fnb.task(broken)
