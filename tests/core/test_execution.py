"""Calling tasks in-process: argument binding, the literal round trip, hooks, errors and the cache."""

from __future__ import annotations

import dataclasses
import datetime
import traceback
from typing import Any, NamedTuple, Optional

import pytest
from flyteidl.core import identifier_pb2, literals_pb2

import flyte_nb as fnb
from flyte_nb.core.context import ExecutionParameters, FlyteContext
from flyte_nb.core.execution import LocalCache
from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import TaskInputError, TaskOutputError


class MeanCount(NamedTuple):
    mean: float
    count: int


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


class Box:
    """No Flyte type: travels as a pickle."""

    def __init__(self, v: int) -> None:
        self.v = v


@fnb.task
def add(a: int, b: int = 3) -> int:
    return a + b


@fnb.task
def nothing(a: int) -> None:
    return None


@fnb.task
def two(a: int) -> tuple[int, str]:
    return a, str(a)


@fnb.task
def named(xs: list[float]) -> MeanCount:
    return MeanCount(sum(xs) / len(xs), len(xs))


# ------------------------------------------------------------------------------------- call shapes


def test_keywords_positionals_and_python_defaults() -> None:
    assert add(a=1) == 4
    assert add(2) == 5
    assert add(2, 5) == 7
    assert add(2, b=1) == 3


def test_return_conventions() -> None:
    assert nothing(a=1) is None
    assert two(a=4) == (4, "4")
    result = named(xs=[1.0, 3.0])
    assert isinstance(result, MeanCount)
    assert result == MeanCount(2.0, 2)


def test_values_make_the_full_literal_round_trip() -> None:
    @fnb.task
    def echo(
        p: Point,
        when: datetime.datetime,
        maybe: Optional[int],  # noqa: UP045 - the typing spelling is what is under test
        box: Box,
    ) -> tuple[Point, datetime.datetime, int | None, int]:
        return p, when, maybe, box.v

    p, when, maybe, v = echo(Point(1, 2.5), datetime.datetime(2024, 1, 2, 3, 4), None, Box(7))
    assert p == Point(1, 2.5)
    # naive datetimes are taken as UTC and come back aware, exactly as on a cluster
    assert when == datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    assert maybe is None
    assert v == 7


def test_a_value_that_would_not_survive_a_cluster_does_not_survive_here() -> None:
    @fnb.task
    def keys(d: dict[str, int]) -> list[str]:
        return sorted(d)

    with pytest.raises(TaskInputError, match=r"Task '[\w.]*keys' input 'd'"):
        keys(d={1: 2})


# ----------------------------------------------------------------------------------------- bad input


def test_wrong_value_type_names_task_input_expected_and_received() -> None:
    with pytest.raises(TaskInputError) as err:
        add(a="3")
    msg = str(err.value)
    assert "input 'a'" in msg
    assert "int" in msg
    assert "'3'" in msg
    assert "str" in msg


def test_conversion_errors_are_shown_alone_not_as_a_chain_of_tracebacks() -> None:
    # A wrong value is one error with one message: the converters' nested errors (item [0] inside a
    # list…) are already in it, and showing their tracebacks too buried it under three tracebacks.
    @fnb.task
    def first(xs: list[int]) -> str:
        return xs[0]  # type: ignore[return-value]

    for call, error in ((lambda: first(xs=["a"]), TaskInputError), (lambda: first(xs=[1]), TaskOutputError)):
        with pytest.raises(error) as err:
            call()
        shown = "".join(traceback.format_exception(err.value))
        assert shown.count("Traceback (most recent call last)") == 1
        assert "The above exception was the direct cause" not in shown
        assert isinstance(err.value.__context__, (TypeError, ValueError))  # still there for debugging


def test_a_converter_fix_is_not_followed_by_a_second_generic_one() -> None:
    @fnb.task
    def either(b: list[int] | list[str]) -> int:
        return len(b)

    with pytest.raises(TaskInputError) as err:
        either(b=[])
    msg = str(err.value)
    assert "input 'b': expected a value matching exactly one variant" in msg
    assert msg.endswith("or narrow the annotation.")
    assert "change the annotation" not in msg


def test_missing_input_without_default() -> None:
    with pytest.raises(TaskInputError, match=r"missing input\(s\) \['a'\].*Pass a=\.\.\."):
        add()


def test_unknown_input_lists_the_real_ones() -> None:
    with pytest.raises(TaskInputError, match=r"unknown input\(s\) \['c'\]; its inputs are \['a', 'b'\]"):
        add(a=1, c=2)


def test_positional_and_keyword_collision() -> None:
    with pytest.raises(TaskInputError, match=r"input 'a': given both positionally .* and by keyword"):
        add(1, a=2)


def test_too_many_positionals() -> None:
    with pytest.raises(TaskInputError, match=r"takes 2 input\(s\).*got 3 positional"):
        add(1, 2, 3)


def test_wrong_number_of_outputs_names_the_function() -> None:
    @fnb.task
    def short(a: int) -> tuple[int, int]:
        return (a,)  # type: ignore[return-value]

    with pytest.raises(
        TaskOutputError, match=r"Task '[\w.]*short' returned 1 value\(s\).*declares 2 outputs \(o0, o1\)"
    ):
        short(a=1)


def test_wrong_output_type_names_the_output() -> None:
    @fnb.task
    def wrong(a: int) -> str:
        return a  # type: ignore[return-value]

    with pytest.raises(TaskOutputError, match=r"Task '[\w.]*wrong' output 'o0': .*str.*1 \(int\)"):
        wrong(a=1)


def test_returning_a_value_without_outputs_is_an_error_not_silent_loss() -> None:
    def forgot(a: int):  # type: ignore[no-untyped-def]
        return a * 2

    t = fnb.task(forgot)
    with pytest.raises(TaskOutputError, match=r"declares no outputs.*Annotate the return type"):
        t(a=1)


def test_user_exceptions_propagate_unchanged() -> None:
    class Boom(Exception):
        pass

    @fnb.task
    def fails(a: int) -> int:
        raise Boom(f"bad {a}")

    with pytest.raises(Boom, match="bad 3"):
        fails(a=3)


# ------------------------------------------------------------------------------- seed entry points


def test_dispatch_execute_takes_and_returns_literal_maps() -> None:
    store = MemoryStore()
    inputs = TypeEngine.to_literal_map({"a": 2}, {"a": int}, store=store)
    out = add.dispatch_execute(FlyteContext(store=store), inputs)
    assert isinstance(out, literals_pb2.LiteralMap)
    assert out.literals["o0"].scalar.primitive.integer == 5  # b took its Python default


def test_dispatch_execute_rejects_unknown_literal_inputs() -> None:
    store = MemoryStore()
    inputs = TypeEngine.to_literal_map({"a": 2, "z": 1}, {"a": int, "z": int}, store=store)
    with pytest.raises(TaskInputError, match=r"unknown input\(s\) \['z'\]"):
        add.dispatch_execute(FlyteContext(store=store), inputs)


def test_sandbox_execute_runs_in_local_mode() -> None:
    from flyte_nb.core.context import ExecutionMode

    store = MemoryStore()
    inputs = TypeEngine.to_literal_map({"a": 1, "b": 1}, {"a": int, "b": int}, store=store)
    out = add.sandbox_execute(FlyteContext(store=store, mode=ExecutionMode.TASK_EXECUTION), inputs)
    assert out.literals["o0"].scalar.primitive.integer == 2
    assert add.local_execution_mode() is ExecutionMode.LOCAL


def test_pre_and_post_execute_hooks_are_honoured() -> None:
    seen: list[Any] = []

    class Hooked(fnb.PythonFunctionTask[None]):
        def pre_execute(self, user_params: ExecutionParameters | None) -> ExecutionParameters | None:
            assert user_params is not None
            seen.append(("pre", user_params.execution_id.name))
            changed = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="changed")
            return user_params.with_(execution_id=changed)

        def post_execute(self, user_params: ExecutionParameters | None, rval: Any) -> Any:
            assert user_params is not None
            seen.append(("post", user_params.execution_id.name, rval))
            return rval * 10

    def double(a: int) -> int:
        return a * 2

    t = Hooked(None, double)
    assert t(a=2) == 40
    assert seen == [("pre", "local"), ("post", "changed", 4)]


def test_execute_and_local_execute_take_native_keywords() -> None:
    assert add.execute(a=1, b=1) == 2
    assert add.local_execute(FlyteContext(), a=1) == 4


# ------------------------------------------------------------------------------------------- cache


def _counting_task(**options: Any) -> tuple[fnb.PythonFunctionTask[Any], list[int]]:
    calls: list[int] = []

    def work(a: int, noise: int = 0) -> int:
        calls.append(a)
        return a * 2

    return fnb.task(**options)(work), calls


def test_cache_memoises_by_inputs() -> None:
    t, calls = _counting_task(cache=True, cache_version="1")
    assert t(a=1) == 2
    assert t(a=1) == 2
    assert t(a=2) == 4
    assert calls == [1, 2]
    assert len(t.local_cache) == 2


def test_without_cache_every_call_runs() -> None:
    t, calls = _counting_task()
    t(a=1)
    t(a=1)
    assert calls == [1, 1]


def test_cache_ignore_input_vars_leaves_them_out_of_the_key() -> None:
    t, calls = _counting_task(cache=True, cache_version="1", cache_ignore_input_vars=["noise"])
    t(a=1, noise=1)
    t(a=1, noise=2)
    assert calls == [1]


def test_cache_version_is_part_of_the_key_with_a_shared_cache() -> None:
    shared = LocalCache()
    t1, calls1 = _counting_task(cache=True, cache_version="1")
    t2, calls2 = _counting_task(cache=True, cache_version="2")
    t3, calls3 = _counting_task(cache=True, cache_version="1")
    for t in (t1, t2, t3):
        t.local_cache = shared
    t1(a=5)
    t2(a=5)
    t3(a=5)  # a re-definition with the same name and version: served from the shared cache
    assert (calls1, calls2, calls3) == ([5], [5], [])


def test_cache_hits_for_equal_pickled_inputs() -> None:
    calls: list[int] = []

    @fnb.task(cache=True, cache_version="1")
    def unbox(b: Box) -> int:
        calls.append(b.v)
        return b.v

    assert unbox(b=Box(3)) == 3
    assert unbox(b=Box(3)) == 3
    assert calls == [3]


def test_cached_results_are_fresh_copies() -> None:
    @fnb.task(cache=True, cache_version="1")
    def make(n: int) -> list[int]:
        return list(range(n))

    first = make(n=3)
    first.append(99)
    assert make(n=3) == [0, 1, 2]


def test_calls_keep_pickled_values_in_memory() -> None:
    seen: list[str] = []

    class Spy(fnb.PythonFunctionTask[None]):
        def dispatch_execute(self, ctx: FlyteContext, input_literal_map: literals_pb2.LiteralMap) -> Any:
            seen.append(type(ctx.store).__name__)
            seen.append(input_literal_map.literals["b"].scalar.blob.uri.split(":", 1)[0])
            return super().dispatch_execute(ctx, input_literal_map)

    def unbox(b: Box) -> int:
        return b.v

    assert Spy(None, unbox)(b=Box(4)) == 4
    assert seen == ["MemoryStore", "memory"]


def test_cache_serialize_makes_concurrent_equal_calls_compute_once() -> None:
    import threading
    import time

    calls: list[int] = []

    @fnb.task(cache=True, cache_version="1", cache_serialize=True)
    def slow(a: int) -> int:
        calls.append(a)
        time.sleep(0.05)
        return a

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(slow(a=1))) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [1, 1, 1]
    assert calls == [1]


def test_a_bug_in_a_converter_surfaces_with_its_traceback_not_as_a_user_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only flyte_nb's own type errors become TaskInputError/TaskOutputError; anything else is a bug and
    keeps its type and traceback."""

    @fnb.task
    def ident(x: int) -> int:
        return x

    def broken(*args: object, **kwargs: object) -> object:
        raise TypeError("internal slip")

    converter = TypeEngine.get_transformer(int)  # the int converter, however a call reaches it
    monkeypatch.setattr(converter, "to_literal", broken)
    monkeypatch.setattr(converter, "to_literal_into", broken)
    with pytest.raises(TypeError, match="internal slip") as info:
        ident(x=1)
    assert not isinstance(info.value, (TaskInputError, TaskOutputError))
