"""Generator tasks as flytekit 1.16: ``-> Iterator[T]`` is a collection of ``T``; the caller gets an iterator."""

from __future__ import annotations

import collections.abc
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from flyteidl.core import types_pb2

import flyte_nb as fnb
from flyte_nb.errors import TaskDefinitionError, TaskExecutionError, UnsupportedTypeError


@fnb.task
def evens(n: int) -> Iterator[int]:
    for i in range(n):
        yield i * 2


@fnb.task
def words(text: str) -> typing.Iterator[str]:
    yield from text.split()


@fnb.task
def ranged(n: int) -> Iterator[int]:
    return iter(range(n))  # not a generator function: any iterable is the output


@fnb.task
def total(xs: Iterator[int]) -> int:
    return sum(xs)


@fnb.task
def nothing() -> Iterator[int]:
    yield from ()


@fnb.task
def breaks(n: int) -> Iterator[int]:
    yield n
    raise ValueError(f"no more after {n}")


def test_the_literal_type_is_a_collection_of_the_items() -> None:
    out = evens.interface.outputs.variables["o0"].type
    assert out == types_pb2.LiteralType(collection_type=types_pb2.LiteralType(simple=types_pb2.INTEGER))
    assert total.interface.inputs.variables["xs"].type == out


def test_the_caller_gets_an_iterator_over_the_values() -> None:
    result = evens(n=3)
    assert not isinstance(result, list)
    assert isinstance(result, collections.abc.Iterator)
    assert len(result) == 3
    assert list(result) == [0, 2, 4]
    assert list(result) == [0, 2, 4]  # iter() starts again, as flytekit's FlyteIterator does
    assert list(words(text="a b")) == ["a", "b"]
    assert list(ranged(n=2)) == [0, 1]
    assert list(nothing()) == []


def test_iterators_pass_between_tasks() -> None:
    assert total(xs=evens(n=4)) == 12
    assert total(xs=iter([1, 2])) == 3
    assert total(xs=[5]) == 5


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_sandbox_runs_return_an_iterator(mode: str) -> None:
    assert list(fnb.SandboxExecutor(mode=mode).run(evens, n=2)) == [0, 2]


def test_an_error_in_the_generator_body_is_the_tasks_own() -> None:
    with pytest.raises(ValueError, match="no more after 1"):
        breaks(n=1)
    with pytest.raises(TaskExecutionError) as info:
        fnb.SandboxExecutor(mode="process").run(breaks, n=1)
    assert info.value.code == "USER:ValueError"
    assert "no more after 1" in str(info.value)


def _gen_int(n: int) -> int:
    yield n  # type: ignore[misc]


def _gen_list(n: int) -> list[int]:
    yield n  # type: ignore[misc]


def _gen_none(n: int) -> None:
    yield n  # type: ignore[misc]


def _gen_two(n: int) -> tuple[Iterator[int], int]:
    yield n  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fn", "problem"),
    [
        (_gen_int, "declares int"),
        (_gen_list, "declares list[int]"),
        (_gen_none, "declares no output"),
        (_gen_two, "declares Iterator[int], int"),
    ],
)
def test_generators_flytekit_cannot_run_are_refused_at_definition(fn: Any, problem: str) -> None:
    # flytekit accepts these and fails when they run ("Expected value of type int but got <generator>").
    with pytest.raises(TaskDefinitionError) as info:
        fnb.task(fn)
    message = str(info.value)
    assert "a generator function (it uses yield) must be annotated -> Iterator[T]" in message
    assert problem in message


def test_a_dynamic_generator_is_refused() -> None:
    def gen(n: int) -> Iterator[int]:
        yield n

    with pytest.raises(TaskDefinitionError, match="a dynamic task cannot be a generator"):
        fnb.dynamic(gen)


@pytest.mark.parametrize("bare", [typing.Iterator, collections.abc.Iterator])
def test_a_bare_iterator_is_refused(bare: Any) -> None:
    def f(n: int) -> Any:
        return iter([n])

    f.__annotations__ = {"n": int, "return": bare}
    with pytest.raises(UnsupportedTypeError, match="iterator annotation with its item type"):
        fnb.task(f)


def test_optional_iterator_is_a_union_tagged_typed_iterator() -> None:
    lt = fnb.TypeEngine.to_literal_type(typing.Optional[Iterator[int]])  # noqa: UP045
    assert [v.structure.tag for v in lt.union_type.variants] == ["Typed Iterator", "none"]
