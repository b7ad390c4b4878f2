"""The 16-way fan-out as flyte_nb module tasks (the container entrypoint loads them by module and name)."""

from __future__ import annotations

import flyte_nb as fnb


@fnb.task
def square(x: int) -> int:
    return x * x


@fnb.task
def total(xs: list[int]) -> int:
    return sum(xs)


@fnb.dynamic
def fan_out(n: int) -> int:
    return total(xs=[square(x=i) for i in range(n)])
