"""The in-kernel call: the contexts it builds, and the plain task's one-frame call against the general path."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import pytest
from flyteidl.core.literals_pb2 import Literal, Primitive, Scalar
from flyteidl.core.types_pb2 import LiteralType, SimpleType

import flyte_nb as fnb
from flyte_nb.core import function_task
from flyte_nb.core.context import (
    ExecutionMode,
    ExecutionParameters,
    FlyteContext,
    FlyteContextManager,
    default_context,
)
from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import custom
from flyte_nb.core.types.engine import forget_cached_types


def _fields(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def test_the_default_context_is_what_the_constructors_make() -> None:
    built, made = default_context(), FlyteContext()
    assert type(built) is FlyteContext
    assert type(built.execution_params) is ExecutionParameters
    mine, theirs = _fields(built), _fields(made)
    assert type(mine.pop("store")) is type(theirs.pop("store")) is MemoryStore
    params, their_params = _fields(mine.pop("execution_params")), _fields(theirs.pop("execution_params"))
    assert mine == theirs
    assert abs(params.pop("execution_date") - their_params.pop("execution_date")).total_seconds() < 60  # type: ignore[operator]
    assert params == their_params
    # default factories run per context: a deck added to one run is not in the next one's list
    other = default_context()
    assert other.execution_params.decks is not built.execution_params.decks
    assert other.execution_params.extra is not built.execution_params.extra


def test_the_default_context_takes_the_calls_store() -> None:
    store = MemoryStore()
    assert default_context(store).store is store
    assert default_context().store is not default_context().store


def test_with_changes_only_what_it_is_given() -> None:
    ctx = default_context()
    assert ctx.with_(mode=ExecutionMode.LOCAL, compilation_state=None) is ctx  # nothing changes: shared
    changed = ctx.with_(mode=ExecutionMode.TASK_EXECUTION)
    assert changed is not ctx
    assert changed.mode is ExecutionMode.TASK_EXECUTION
    assert ctx.mode is ExecutionMode.LOCAL  # the original is untouched (contexts are immutable)
    assert _fields(changed) == {**_fields(ctx), "mode": ExecutionMode.TASK_EXECUTION}
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.mode = ExecutionMode.LOCAL  # type: ignore[misc]
    with pytest.raises(TypeError, match="no_such_field"):
        ctx.with_(no_such_field=1)


def test_with_context_nests_and_restores() -> None:
    outer, inner = default_context(), default_context()
    with FlyteContextManager.with_context(outer) as got:
        assert got is outer
        assert FlyteContextManager.current_context() is outer
        with FlyteContextManager.with_context(inner):
            assert FlyteContextManager.current_context() is inner
        assert FlyteContextManager.current_context() is outer
    assert FlyteContextManager.current_context() not in (outer, inner)  # a fresh default again


# ------------------------------------------------------- the plain task's call vs the general path
#
# A plain task's call (flyte_nb.core.local_call.call_plain) does in one frame what the general path
# (Task.__call__ -> local_execute -> sandbox_execute -> dispatch_execute) does through the hooks. Every
# task and call below runs through both; results, errors (type, message, chaining) and what the task saw
# must be the same.


class MeanCount(NamedTuple):
    mean: float
    count: int


class Only(NamedTuple):
    value: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


class Box:
    """No Flyte type: travels as a pickle."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and other.v == self.v


HASHED: list[int] = []


def _hash(value: int) -> str:
    HASHED.append(value)
    return f"h{value}"


@fnb.task
def add(a: int, b: int = 3) -> int:
    return a + b


@fnb.task
def scalars(f: float, s: str, flag: bool) -> tuple[float, str, bool]:
    return f * 2, s + "!", not flag


@fnb.task
def nothing(a: int) -> None:
    return None


@fnb.task
def forgot(a: int):  # type: ignore[no-untyped-def]  # returns a value but declares no output
    return a


@fnb.task
def stats(xs: list[float]) -> MeanCount:
    return MeanCount(sum(xs) / len(xs), len(xs))


@fnb.task
def only_tuple(a: int) -> Only:
    return Only(a)


@fnb.task
def only_value(a: int) -> Only:
    return a  # type: ignore[return-value]  # a one-field NamedTuple may be returned as its value


@fnb.task
def short(a: int) -> tuple[int, int]:
    return (a,)  # type: ignore[return-value]


@fnb.task
def wrong(a: int) -> str:
    return a  # type: ignore[return-value]


@fnb.task
def containers(xs: list[int], d: dict[str, int], maybe: int | None = None) -> dict[str, list[int]]:
    return {k: [*xs, v, maybe or 0] for k, v in d.items()}


@fnb.task
def structured(
    p: Point, c: Color, when: datetime.datetime, box: Box
) -> tuple[Point, Color, datetime.datetime, Box]:
    return Point(p.x + 1, p.y), c, when, Box(box.v + 1)


@fnb.task
def either(v: int | str) -> int | str:
    return v


@fnb.task
def hashed(a: Annotated[int, fnb.HashMethod(_hash)]) -> Annotated[int, fnb.HashMethod(_hash)]:
    return a + 1


@fnb.task
def boom(a: int) -> int:
    raise KeyError(f"no {a}")


@fnb.task
def first_char(path: fnb.FlyteFile) -> tuple[str, fnb.FlyteFile]:
    with open(path) as fh:
        return fh.read(1), path


@fnb.task
def spec() -> int:
    from flyteidl.core import dynamic_job_pb2

    return dynamic_job_pb2.DynamicJobSpec()  # type: ignore[return-value]


CALLS: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = [
    ("ints", add, (), {"a": 1, "b": 2}),
    ("a Python default", add, (), {"a": 1}),
    ("positionals", add, (4, 5), {}),
    ("a positional and a keyword", add, (4,), {"b": 1}),
    ("a wrong type", add, (), {"a": "3"}),
    ("bool for int", add, (), {"a": True}),
    ("an int out of range", add, (), {"a": 2**70}),
    ("None for int", add, (), {"a": None}),
    ("an unknown input", add, (), {"a": 1, "c": 2}),
    ("a missing input", add, (), {"b": 1}),
    ("both positional and keyword", add, (1,), {"a": 2}),
    ("too many positionals", add, (1, 2, 3), {}),
    ("float, str, bool", scalars, (), {"f": 1.5, "s": "hé", "flag": True}),
    ("int for float", scalars, (), {"f": 1, "s": "x", "flag": False}),
    ("a str that is not UTF-8", scalars, (), {"f": 1.0, "s": "\ud800", "flag": False}),
    ("no output", nothing, (), {"a": 1}),
    ("a value without an output", forgot, (), {"a": 1}),
    ("a NamedTuple", stats, (), {"xs": [1.0, 2.0]}),
    ("a one-field NamedTuple", only_tuple, (), {"a": 1}),
    ("a one-field NamedTuple's value", only_value, (), {"a": 1}),
    ("too few outputs", short, (), {"a": 1}),
    ("a wrong output type", wrong, (), {"a": 1}),
    ("containers", containers, (), {"xs": [1, 2], "d": {"k": 3}, "maybe": 4}),
    ("Optional left out", containers, (), {"xs": [], "d": {}}),
    ("a wrong item", containers, (), {"xs": [1, "2"], "d": {}}),
    ("dict keys that are not str", containers, (), {"xs": [], "d": {1: 2}}),
    (
        "dataclass, enum, datetime, pickle",
        structured,
        (),
        {"p": Point(1, 2.5), "c": Color.BLUE, "when": datetime.datetime(2024, 1, 2, 3, 4), "box": Box(1)},
    ),
    (
        "a wrong enum",
        structured,
        (),
        {"p": Point(1), "c": "red", "when": datetime.datetime(2024, 1, 1), "box": Box(1)},
    ),
    ("a union", either, (), {"v": "x"}),
    ("a union it does not hold", either, (), {"v": 1.5}),
    ("HashMethod", hashed, (), {"a": 1}),
    ("a user exception", boom, (), {"a": 1}),
    ("a DynamicJobSpec returned", spec, (), {}),
]


UNBOUND = {"both positional and keyword", "too many positionals"}


def _outcome(call: Any) -> tuple[Any, ...]:
    """What a user sees of a call: the value (and its type) or the error (type, message and chaining)."""
    try:
        result = call()
    except Exception as exc:  # broad: the outcome of any failure is compared between the paths
        return (
            "raised",
            type(exc),
            str(exc),
            type(exc.__cause__),
            exc.__suppress_context__,
            type(exc.__context__),
        )
    return (
        "returned",
        type(result),
        result,
        [type(v) for v in result] if isinstance(result, tuple) else None,
    )


@pytest.fixture
def plain_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the task names that function_task sends to call_plain."""
    seen: list[str] = []
    real = function_task.call_plain

    def spy(task: Any, ctx: Any, kwargs: dict[str, Any]) -> Any:
        seen.append(task.name)
        return real(task, ctx, kwargs)

    monkeypatch.setattr(function_task, "call_plain", spy)
    return seen


@pytest.mark.parametrize(("what", "task", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
def test_a_plain_call_is_the_general_path(
    what: str, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], plain_calls: list[str]
) -> None:
    HASHED.clear()
    general = _outcome(lambda: fnb.Task.__call__(task, *args, **kwargs))
    general_hashes = list(HASHED)
    assert not plain_calls  # Task.__call__ is the general path
    HASHED.clear()
    plain = _outcome(lambda: task(*args, **kwargs))
    # arguments that cannot be bound to the inputs are refused before either path starts
    assert plain_calls == ([] if what in UNBOUND else [task.name])
    assert plain == general
    assert list(HASHED) == general_hashes  # a HashMethod runs for the same values


def test_a_file_is_read_in_place_by_both_paths(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("xyz")
    for call in (
        lambda: fnb.Task.__call__(first_char, path=fnb.FlyteFile(str(src))),
        lambda: first_char(path=str(src)),
    ):
        char, out = call()
        assert char == "x"
        assert os.fspath(out) == str(src)  # no copy: the kernel's file itself


def _seen_by_the_task() -> dict[str, Any]:
    ctx = FlyteContextManager.current_context()
    params = fnb.current_context()
    assert params is ctx.execution_params
    return {
        "store": type(ctx.store),
        "mode": ctx.mode,
        "compilation_state": ctx.compilation_state,
        "serialization_settings": ctx.serialization_settings,
        "params": {
            k: v for k, v in _fields(params).items() if k not in ("execution_date", "working_directory")
        },
        "task_id": params.task_id,
    }


@fnb.task
def look() -> int:
    SEEN.append(_seen_by_the_task())
    return 0


SEEN: list[dict[str, Any]] = []


@pytest.mark.parametrize("pushed", [False, True], ids=["nothing pushed", "a context pushed"])
def test_the_task_sees_the_same_context_on_both_paths(pushed: bool) -> None:
    SEEN.clear()
    outer = default_context().with_(mode=ExecutionMode.TASK_EXECUTION)
    for call in (lambda: fnb.Task.__call__(look), look):
        if pushed:
            with FlyteContextManager.with_context(outer):
                call()
        else:
            call()
    general, plain = SEEN
    assert plain == general
    assert plain["store"] is MemoryStore
    assert plain["mode"] is ExecutionMode.LOCAL  # a call in the kernel runs locally, whatever was pushed


def test_a_task_called_inside_a_task_shares_its_execution_parameters() -> None:
    @fnb.task
    def inner() -> int:
        SEEN.append({"params": fnb.current_context(), "store": FlyteContextManager.current_context().store})
        return 1

    @fnb.task
    def outer() -> int:
        SEEN.append({"params": fnb.current_context(), "store": FlyteContextManager.current_context().store})
        return inner()

    SEEN.clear()
    assert outer() == 1
    (out, inn) = SEEN
    assert inn["params"] is out["params"]  # one execution, as on the general path
    assert inn["store"] is not out["store"]  # each call has its own store


def test_each_call_has_its_own_execution_parameters() -> None:
    SEEN.clear()

    @fnb.task
    def deck_count() -> int:
        fnb.Deck("mine")
        return len(fnb.current_context().decks)

    assert deck_count() == deck_count() == 1  # the second call does not see the first one's deck


# ------------------------------------------------------------------------ which calls take the plain path


class HookedExecute(fnb.PythonFunctionTask[None]):
    def execute(self, **kwargs: Any) -> Any:
        return super().execute(**kwargs) * 10


class HookedDispatch(fnb.PythonFunctionTask[None]):
    def dispatch_execute(self, ctx: FlyteContext, input_literal_map: Any) -> Any:
        return super().dispatch_execute(ctx, input_literal_map)


def _double(a: int) -> int:
    return a * 2


def _items(n: int) -> Iterator[int]:
    yield from range(n)


@fnb.dynamic
def fan(n: int) -> list[int]:
    return [add(a=i) for i in range(n)]


def test_only_plain_tasks_take_the_plain_path(plain_calls: list[str]) -> None:
    cached = fnb.task(cache=True, cache_version="1")(_double)
    decked = fnb.task(enable_deck=True)(_double)
    generator = fnb.task(_items)
    assert cached(a=2) == decked(a=2) == 4
    assert list(generator(n=3)) == [0, 1, 2]
    assert HookedExecute(None, _double)(a=1) == 20  # an overridden hook is honoured
    assert HookedDispatch(None, _double)(a=1) == 2
    assert fan(n=2) == [3, 4]  # the dynamic task is not plain; its sub-tasks run as nodes
    assert not plain_calls
    assert fnb.task(_double)(a=3) == 6
    assert plain_calls[-1].endswith("_double")


def test_a_cell_body_task_takes_the_plain_path(plain_calls: list[str]) -> None:
    from flyte_nb.core.cell_body import CellBodyTask

    cell = CellBodyTask(None, _double)
    assert cell(a=4) == 8
    assert plain_calls == [cell.name]


def test_a_call_while_a_dynamic_body_compiles_adds_a_node(plain_calls: list[str]) -> None:
    from flyte_nb.core.function_task import PythonFunctionTask

    spec = fan.compile_into_workflow(default_context(), fan.task_function, n=2)
    assert len(spec.nodes) == 2
    assert isinstance(fan, PythonFunctionTask)
    assert not plain_calls


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


WRITTEN: list[float] = []


class CelsiusTransformer(fnb.TypeTransformer[Celsius]):
    """A custom type's transformer, written for flytekit."""

    def __init__(self) -> None:
        super().__init__(name="celsius", t=Celsius)

    def get_literal_type(self, t: Any) -> LiteralType:
        return LiteralType(simple=SimpleType.STRING)

    def to_literal(self, ctx: Any, python_val: Any, python_type: Any, expected: Any) -> Literal:
        WRITTEN.append(python_val.degrees)
        return Literal(scalar=Scalar(primitive=Primitive(string_value=str(python_val.degrees))))

    def to_python_value(self, ctx: Any, lv: Literal, expected_python_type: Any) -> Any:
        return Celsius(float(lv.scalar.primitive.string_value))


@fnb.task
def warm(t: Celsius) -> float:
    return t.degrees


def test_a_type_registered_after_a_call_is_used_by_the_next_call() -> None:
    WRITTEN.clear()
    saved = dict(custom._REGISTRY)
    try:
        assert warm(t=Celsius(1.0)) == 1.0  # pickled: no transformer yet
        fnb.TypeEngine.register(CelsiusTransformer())
        assert warm(t=Celsius(2.0)) == 2.0
        assert WRITTEN == [2.0]  # the call converted with the new transformer, not a remembered one
    finally:
        custom._REGISTRY.clear()
        custom._REGISTRY.update(saved)
        forget_cached_types()
