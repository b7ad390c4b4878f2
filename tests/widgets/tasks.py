"""The task table the widget tests display: one task per interesting interface shape."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import time
import typing

import flyte_nb as fnb


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Box:
    corner: Point
    label: str


class Model:
    """A class without a Flyte type: it travels as a pickle."""

    def __init__(self, scale: int) -> None:
        self.scale = scale

    def __repr__(self) -> str:
        return f"Model(scale={self.scale})"


@fnb.task(retries=2, cache=True, cache_version="7", requests=fnb.Resources(cpu="1", mem="1Gi"), timeout=600)
def add(a: int, b: float = 2.5) -> float:
    """Add two numbers.

    :param a: the first number
    :param b: the second number
    :return: their sum
    """
    return a + b


@fnb.task
def everything(
    n: int,
    x: float = 0.5,
    s: str = "hi",
    flag: bool = True,
    when: datetime.datetime = datetime.datetime(2024, 1, 31, 12, 0),
    color: Color = Color.GREEN,
    speed: typing.Literal["fast", "slow"] = "slow",
    maybe: typing.Optional[int] = None,  # noqa: UP045 - the typing spelling is what users write too
    xs: list[int] = [1, 2],  # noqa: B006 - a default the form must show
    p: Point = Point(1, 2),  # noqa: B008
    m: Model = Model(3),  # noqa: B008
) -> str:
    """Echo every input."""
    return f"{n} {x} {s} {flag} {when.isoformat()} {color.value} {speed} {maybe} {xs} {p.x},{p.y} {m.scale}"


@fnb.task
def scale(m: Model, k: int = 2) -> int:
    """Use a pickled input."""
    return m.scale * k


@fnb.task
def fail(n: int) -> int:
    """Always fails."""
    raise ValueError(f"n must be negative, got {n}")


@fnb.task
def slow(seconds: float) -> int:
    """Sleeps in small steps (so a kernel run can be cancelled between them)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
    return 1


@fnb.task
def pair(a: int) -> tuple[int, str]:
    """Two outputs."""
    return a * 2, f"a={a}"


@fnb.task
def chatty(n: int) -> int:
    """Prints while it runs."""
    for i in range(n):
        print(f"step {i} of {n}")
    return n


@fnb.task
def count_boxes(boxes: list[Box]) -> int:
    """A list of nested dataclasses."""
    return len(boxes)


@fnb.task(retries=2)
def flaky(marker_dir: str) -> int:
    """Fails twice with a recoverable error, then returns the attempt number."""
    import os

    from flyte_nb.errors import RecoverableError

    attempt = fnb.FlyteContextManager.current_context().execution_params.attempt_number
    open(os.path.join(marker_dir, f"attempt-{attempt}"), "w").close()
    if attempt < 2:
        raise RecoverableError(f"transient failure on attempt {attempt}")
    return attempt


@dataclasses.dataclass
class Optim:
    lr: float
    steps: int


@fnb.task
def fit(weights: dict[str, float], opt: Optim, scales: list[float]) -> float:
    """Float collections and a dataclass with a float field, typed as JSON in the form."""
    return sum(weights.values()) * opt.lr * opt.steps * sum(scales)


@fnb.task
def many(n: int) -> list[int]:
    """A long result."""
    return list(range(n))


@fnb.task
def double(n: int) -> int:
    """A task to fan out over."""
    return 2 * n


@fnb.dynamic
def fan_out(xs: list[int]) -> list[int]:
    """One node per item."""
    return [double(n=x) for x in xs]


@fnb.dynamic
def misuse(n: int) -> int:
    """Arithmetic on a promise: refused while compiling, as on the cluster."""
    return double(n=n) + 1


CsvFile = fnb.FlyteFile["csv"]


@fnb.task
def table_file(rows: int) -> CsvFile:
    """A CSV file of ``rows`` rows, written in the task's working directory."""
    import os

    path = os.path.join(fnb.current_context().working_directory, "table.csv")
    with open(path, "w") as fh:
        fh.write("n,square\n" + "".join(f"{i},{i * i}\n" for i in range(rows)))
    return fnb.FlyteFile(path)


@fnb.task
def table_dataset(rows: int) -> fnb.StructuredDataset:
    """A parquet dataset of ``rows`` rows."""
    import pandas as pd

    return fnb.StructuredDataset(
        dataframe=pd.DataFrame({"n": range(rows), "square": [i * i for i in range(rows)]})
    )
