"""Task functions defined at module level, so containers (and flytekit) can import them by name."""

from __future__ import annotations

import typing

from flyte_nb import Resources, dynamic, task


@task
def add(a: int, b: int = 3) -> int:
    """Add two ints.

    :param a: first
    :param b: second
    """
    return a + b


class Stats(typing.NamedTuple):
    mean: float
    count: int


@task
def stats(xs: float, n: int) -> Stats:
    return Stats(xs / n, n)


@task(
    retries=2,
    cache=True,
    cache_version="1.0",
    timeout=600,
    interruptible=True,
    requests=Resources(cpu="1", mem="1Gi"),
    limits=Resources(cpu="2", mem="2Gi"),
    environment={"FOO": "bar"},
)
def configured(a: int) -> str:
    return str(a)


@dynamic
def fan_out(n: int) -> int:
    total = 0
    for i in range(n):
        total = add(a=i, b=total)
    return total
