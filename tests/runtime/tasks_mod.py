"""Module-level tasks the runtime tests run through the container entrypoint (default resolver)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
import sys
import time
import typing

import flyte_nb as fnb
from flyte_nb.errors import RecoverableError


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int
    y: float
    label: str = "p"


class Opaque:
    """A class with no Flyte type: travels as a pickle."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value


@fnb.task
def add(a: int, b: int = 3) -> int:
    return a + b


@fnb.task
def no_inputs() -> str:
    return "hello"


@fnb.task
def nothing(a: int) -> None:
    print(f"side effect {a}")


@fnb.task
def everything(
    i: int,
    f: float,
    s: str,
    b: bool,
    dt: datetime.datetime,
    td: datetime.timedelta,
    li: list[int],
    ds: dict[str, float],
    raw: dict,  # type: ignore[type-arg]
    opt: typing.Optional[int],  # noqa: UP045 - the typing spelling is part of what is tested
    color: Color,
    point: Point,
    obj: Opaque,
) -> tuple[
    int,
    float,
    str,
    bool,
    datetime.datetime,
    datetime.timedelta,
    list[int],
    dict[str, float],
    dict,
    int | None,
    Color,
    Point,
    Opaque,
]:  # type: ignore[type-arg]
    return (
        i + 1,
        f * 2,
        s.upper(),
        not b,
        dt + datetime.timedelta(days=1),
        td * 2,
        [*li, 4],
        {k: v + 1 for k, v in ds.items()},
        {**raw, "seen": True},
        None if opt else 7,
        Color.GREEN if color is Color.RED else Color.RED,
        Point(point.x + 1, point.y, point.label + "!"),
        Opaque(obj.value + 1),
    )


@fnb.task
def fails(a: int) -> int:
    return helper_that_fails(a)


def helper_that_fails(a: int) -> int:
    raise ValueError(f"bad value {a}")


@fnb.task(retries=2)
def flaky(marker_dir: str) -> int:
    attempt = fnb.FlyteContextManager.current_context().execution_params.attempt_number
    with open(os.path.join(marker_dir, f"attempt-{attempt}"), "w") as fh:
        fh.write("x")
    if attempt < 2:
        raise RecoverableError(f"transient failure on attempt {attempt}")
    return attempt


@fnb.task(retries=3)
def always_recoverable() -> int:
    raise RecoverableError("still broken")


@fnb.task
def wrong_output(a: int) -> int:
    return "not an int"  # type: ignore[return-value]


@fnb.task
def sleepy(seconds: float) -> float:
    print("started", flush=True)
    time.sleep(seconds)
    return seconds


@fnb.task(timeout=1)
def slow_with_timeout() -> int:
    time.sleep(60)
    return 1


@fnb.task
def chatty(n: int) -> int:
    for i in range(n):
        print(f"line {i}", flush=True)
        print(f"err {i}", file=sys.stderr, flush=True)
    return n


@fnb.task
def big_string(n: int) -> str:
    return "x" * n


@fnb.task
def square(x: int) -> int:
    return x * x


@fnb.task
def total(xs: list[int]) -> int:
    return sum(xs)


@fnb.dynamic
def fan_out(n: int) -> int:
    squares = [square(x=i) for i in range(n)]
    return total(xs=squares)


@fnb.task
def env_info() -> dict[str, str]:
    ctx = fnb.FlyteContextManager.current_context()
    p = ctx.execution_params
    return {
        "execution_id": p.execution_id.name,
        "project": p.project,
        "domain": p.domain,
        "task_name": p.task_name,
        "attempt": str(p.attempt_number),
        "checkpoint": str(p.checkpoint_path),
        "prev_checkpoint": str(p.prev_checkpoint),
        "raw": p.raw_output_prefix,
        "cwd": os.getcwd(),
        "workdir_exists": str(os.path.isdir(p.get_working_directory())),
    }
