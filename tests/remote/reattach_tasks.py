"""Tasks with outputs of every kind, submitted by tests/remote/test_reattach.py and read back without them
(defined in a module: the container imports them by name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

import flyte_nb as fnb
from tests.remote.tasks import Model, Stats


@dataclass
class Layer:
    width: int
    activation: str = "relu"


@dataclass
class Metrics:
    accuracy: float
    labels: list[str]
    best: Layer
    layers: list[Layer]
    note: Optional[str] = None  # noqa: UP045 - the spelling a flytekit user writes


@fnb.task
def evaluate(n: int, tags: dict[str, int]) -> Metrics:
    return Metrics(n / 10, sorted(tags), Layer(n), [Layer(1), Layer(2, "tanh")], note=None)


@fnb.task
def pair(x: int) -> tuple[int, str]:
    return x * 2, f"x={x}"


@fnb.task
def stats_by_name(xs: list[float], weights: dict[str, float]) -> Stats:
    return Stats(int(sum(xs)), sum(weights.values()))


@fnb.task
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"i": list(range(n)), "sq": [i * i for i in range(n)]})


@fnb.task(pickle_untyped=True)
def model(weight: float) -> Model:
    return Model(weight)


@fnb.task(pickle_untyped=True)
def opaque(weight: float):  # type: ignore[no-untyped-def]
    # `container_only` is importable where the task runs (the stand-in's containers), not in the test
    # process: the pickle refers to its class by module, which the notebook side cannot import.
    import container_only  # type: ignore[import-not-found]

    return container_only.Secretive(weight)
