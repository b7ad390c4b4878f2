"""The same 16-way fan-out as flytekit tasks (imported only in flytekit's own processes)."""

from __future__ import annotations

from flytekit import dynamic, task


@task
def square(x: int) -> int:
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@dynamic
def fan_out(n: int) -> int:
    return total(xs=[square(x=i) for i in range(n)])
