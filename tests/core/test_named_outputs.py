"""Several outputs come back as a named tuple, as in flytekit: ``res.o0`` and ``a, b = res`` both work."""

from __future__ import annotations

import pickle
from typing import NamedTuple

import cloudpickle
import pytest

import flyte_nb as fnb


@fnb.task
def two(a: int) -> tuple[int, str]:
    return a, str(a)


class Stats(NamedTuple):
    mean: float
    count: int


@fnb.task
def stats(a: int) -> Stats:
    return Stats(1.5, a)


Single = NamedTuple("Single", [("result", int)])  # noqa: UP014 - the functional form is what is tested


@fnb.task
def single(a: int) -> Single:
    return Single(a)


@fnb.task
def one(a: int) -> int:
    return a


def test_several_outputs_are_a_default_named_tuple() -> None:
    res = two(a=1)
    assert type(res).__name__ == "DefaultNamedTupleOutput"  # flytekit's class name
    assert res._fields == ("o0", "o1")
    assert (res.o0, res.o1) == (1, "1")
    a, b = res
    assert (a, b) == (1, "1")
    assert res == (1, "1")
    assert repr(res) == "DefaultNamedTupleOutput(o0=1, o1='1')"


def test_declared_named_tuples_come_back_as_that_class() -> None:
    res = stats(a=3)
    assert type(res) is Stats
    assert (res.mean, res.count) == (1.5, 3)
    assert single(a=2) == Single(2)
    assert type(single(a=2)) is Single
    assert one(a=4) == 4  # one plain output stays the bare value


def test_the_named_tuple_pickles_by_value() -> None:
    res = two(a=5)
    for module in (pickle, cloudpickle):
        back = module.loads(module.dumps(res))
        assert back == res
        assert back.o1 == "5"
        assert type(back).__name__ == "DefaultNamedTupleOutput"


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_sandbox_runs_return_the_same_shape(mode: str) -> None:
    res = fnb.SandboxExecutor(mode=mode).run(two, a=7)
    assert (res.o0, res.o1) == (7, "7")
    assert fnb.SandboxExecutor(mode=mode).run(stats, a=2).count == 2
