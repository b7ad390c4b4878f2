"""Module-level tasks over numpy, pandas and pydantic types (kept apart: these are slow to import)."""

from __future__ import annotations

import datetime
import typing

import numpy
import pandas
import pydantic

import flyte_nb as fnb


@fnb.task
def big_array(n: int) -> numpy.ndarray:
    return numpy.arange(n, dtype=numpy.float64)


class Settings(pydantic.BaseModel):
    name: str
    depth: int = 2


class Summary(typing.NamedTuple):
    day: datetime.date
    choice: str
    either: typing.Union[int, str]  # noqa: UP007 - the typing spelling is part of what is tested
    scaled: typing.Annotated[int, fnb.FlyteAnnotation({"unit": "m"})]
    model: Settings
    frame: pandas.DataFrame
    array: numpy.ndarray


@fnb.task
def more_types(
    day: datetime.date,
    choice: typing.Literal["a", "b"],
    either: typing.Union[int, str],  # noqa: UP007
    scaled: typing.Annotated[int, fnb.FlyteAnnotation({"unit": "m"})],
    model: Settings,
    frame: pandas.DataFrame,
    array: numpy.ndarray,
) -> Summary:
    return Summary(
        day + datetime.timedelta(days=1),
        "b" if choice == "a" else "a",
        either * 2,
        scaled * 10,
        Settings(name=model.name.upper(), depth=model.depth + 1),
        frame.assign(total=frame["x"] * 2),
        array[::-1].copy(),
    )
