"""Plain flytekit tasks (imported only by the tests that run them through flytekit's FlyteRemote)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

from flytekit import task


@task
def fk_add(a: int, b: int = 3) -> int:
    return a + b


@task
def fk_divmod(a: int, b: int) -> typing.Tuple[int, int]:  # noqa: UP006 - the spelling flytekit users write
    return a // b, a % b


@dataclass
class Point:
    x: float
    y: float
    label: str = "origin"


@dataclass
class Shape:
    name: str
    corners: typing.List[Point]  # noqa: UP006
    center: Point


@task
def fk_square(side: float, name: str) -> Shape:
    half = side / 2
    corners = [
        Point(-half, -half, "a"),
        Point(half, -half, "b"),
        Point(half, half, "c"),
        Point(-half, half, "d"),
    ]
    return Shape(name=name, corners=corners, center=Point(0.0, 0.0))
