"""Tasks the remote tests submit (defined in a module: the container imports them by name)."""

from __future__ import annotations

import time
from typing import NamedTuple

import flyte_nb as fnb


class Model:
    """No Flyte type: travels as a pickle."""

    def __init__(self, weight: float) -> None:
        self.weight = weight


class Stats(NamedTuple):
    total: int
    mean: float


@fnb.task
def add(a: int, b: int = 3) -> int:
    return a + b


@fnb.task
def stats(xs: list[int]) -> Stats:
    return Stats(sum(xs), sum(xs) / len(xs))


@fnb.task
def divide(a: float, b: float) -> float:
    return a / b


@fnb.task(pickle_untyped=True)
def scale(model: Model, k: float) -> Model:
    return Model(model.weight * k)


@fnb.task
def sleepy(seconds: float) -> str:
    time.sleep(seconds)
    return "woke up"


@fnb.task
def big(n: int) -> str:
    return "x" * n


@fnb.task(task_resolver=fnb.notebook_task_resolver)
def shipped(name: str, times: int = 2) -> str:
    """Shipped as a pickled payload through the data proxy, as a notebook cell's task is."""
    return " ".join([f"hello {name}"] * times)
