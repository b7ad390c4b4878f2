"""Bad values get clear errors, never a raw error from a dependency or from the error helper itself:
inputs whose repr fails or that nest deeply, strings that are not Unicode, dataclass fields of the wrong
type, payload records that hold no task, annotations naming nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
import sys
import typing

import cloudpickle
import pytest

import flyte_nb as fnb
from flyte_nb.core.notebook_resolver import PayloadHeader, encode_payload, notebook_task_resolver
from flyte_nb.errors import ResolverError, TaskInputError, TaskOutputError, UnsupportedTypeError


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


@dataclasses.dataclass
class Inner:
    x: int


@dataclasses.dataclass
class Holder:
    thing: Missing  # type: ignore[name-defined]  # noqa: F821 - the undefined name is the point


@dataclasses.dataclass
class Outer:
    inner: Inner
    name: str = "o"


@fnb.task
def takes_ints(v: list[int]) -> int:
    return len(v)


@fnb.task
def takes_any(v: typing.Any) -> int:
    return 1


@fnb.task
def takes_str(s: str) -> str:
    return s


@fnb.task
def takes_str_map(d: dict[str, int]) -> int:
    return len(d)


@fnb.task
def returns_str(n: int) -> str:
    return "x\udcff" * n


@fnb.task
def takes_outer(o: Outer) -> int:
    return o.inner.x


def _nested(depth: int) -> list[typing.Any]:
    value: list[typing.Any] = []
    for _ in range(depth):
        value = [value]
    return value


# ---- the error helper never fails ------------------------------------------------------------------


def test_an_input_whose_repr_raises_is_named_by_its_type() -> None:
    with pytest.raises(TaskInputError) as info:
        takes_ints(v=[BadRepr()])
    assert str(info.value).startswith(
        "Task 'tests.core.test_clear_errors.takes_ints' input 'v': item [0]: expected int, got <BadRepr object whose repr() failed> (BadRepr)."
    )


@pytest.mark.parametrize("depth", [200, sys.getrecursionlimit() * 5])
def test_a_deeply_nested_input_gets_a_short_message_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(TaskInputError) as info:
        takes_ints(v=_nested(depth))
    message = str(info.value)
    assert "expected int, got [[[[[[[...]]]]]]] (list)" in message
    assert len(message) < 400


def test_a_deeply_nested_value_to_pickle_is_a_clear_input_error() -> None:
    with pytest.raises(TaskInputError) as info:
        takes_any(v=_nested(sys.getrecursionlimit() * 5))
    assert "expected a picklable value, got [[[[[[[...]]]]]]] (list)" in str(info.value)


# ---- strings Flyte cannot carry ----------------------------------------------------------------------


def test_a_lone_surrogate_in_a_str_input_is_named_with_its_position() -> None:
    with pytest.raises(TaskInputError) as info:
        takes_str(s="ab\udc80c")
    message = str(info.value)
    assert message.startswith(
        "Task 'tests.core.test_clear_errors.takes_str' input 's': expected a str that is valid Unicode (Flyte strings are UTF-8), got "
        "'ab\\udc80c' (str), which holds the lone surrogate '\\udc80' at index 2."
    )
    assert "surrogates not allowed" not in message
    assert message.count("Pass") == 1  # the fix is said once, not followed by a generic one


def test_a_lone_surrogate_in_a_map_key_and_in_an_output() -> None:
    with pytest.raises(TaskInputError, match=r"expected a str key that is valid Unicode.*at index 1"):
        takes_str_map(d={"a\udc80": 1})
    with pytest.raises(TaskOutputError, match=r"output 'o0': expected a str that is valid Unicode"):
        returns_str(n=1)


# ---- dataclass fields of the wrong type --------------------------------------------------------------


def test_a_dataclass_field_of_the_wrong_type_names_field_expected_type_and_value() -> None:
    with pytest.raises(TaskInputError) as info:
        takes_outer(o=Outer(inner=Inner(x="seven")))  # type: ignore[arg-type]
    message = str(info.value)
    assert "field Outer.inner -> Inner.x: expected int, got 'seven' (str)." in message
    assert "pass a value of type int there" in message
    assert "The dataclass changed since the value was written" not in message


# ---- annotations naming nothing ----------------------------------------------------------------------


def test_a_dataclass_annotation_naming_an_undefined_type_is_refused_at_definition() -> None:
    with pytest.raises(UnsupportedTypeError) as info:

        @fnb.task
        def f(h: Holder) -> int:
            return 1

    assert "expected the annotations of Holder to name defined types, got 'Missing'" in str(info.value)
    assert "Import or define Missing before Holder." in str(info.value)


# ---- payload records ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "got"),
    [
        ({"task": None}, "a record whose 'task' is NoneType"),
        ({"task": 42}, "a record whose 'task' is int"),
        ([1], "a list"),
    ],
)
def test_a_payload_record_holding_no_task_says_what_it_holds(
    tmp_path: pathlib.Path, record: object, got: str
) -> None:
    header = PayloadHeader(
        format=1,
        python=".".join(map(str, sys.version_info[:3])),
        cloudpickle=cloudpickle.__version__,
        flyte_nb=fnb.__version__,
        task="t",
    )
    path = tmp_path / "t.fnb.pkl.gz"
    path.write_bytes(encode_payload(header, cloudpickle.dumps(record)))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ResolverError) as info:
        notebook_task_resolver.load_task(["payload", str(path), "sha256", digest, "task-name", "t"])
    message = str(info.value)
    assert f"expected a record holding a flyte_nb task under 'task', got {got}." in message
    assert "got None" not in message
