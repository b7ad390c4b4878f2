"""Plain module-level functions that both flytekit and flyte_nb turn into tasks, for differential tests.

No ``from __future__ import annotations`` here on purpose: a few annotations are built by factories
(``FlyteAnnotation`` and DataFrame columns exist once per engine), and those must be real objects, not
strings resolved against module globals.
"""
# The typing spellings users write (List, Dict, Optional…) are what is being compared.
# ruff: noqa: UP006, UP007, UP035, UP045

import dataclasses
import datetime as dt
import enum
import typing
from collections.abc import Callable
from typing import Annotated, Any, Dict, List, Literal, NamedTuple, Optional, Tuple, Union

import numpy as np
import pandas as pd
import pydantic
from google.protobuf import struct_pb2


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Status(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"


@dataclasses.dataclass
class Inner:
    x: int
    y: Optional[str] = None


@dataclasses.dataclass
class Outer:
    a: int
    b: float
    inner: Inner
    tags: List[str]
    color: Color = Color.RED
    when: Optional[dt.datetime] = None
    m: Dict[str, float] = dataclasses.field(default_factory=dict)


class PSub(pydantic.BaseModel):
    a: int
    b: Optional[str] = None


class PModel(pydantic.BaseModel):
    sub: PSub
    vals: List[float] = []


class Custom:
    """A class with no Flyte type: pickled."""

    def __init__(self, n: int) -> None:
        self.n = n


class Stats(NamedTuple):
    mean: float
    count: int
    label: str


class Single(NamedTuple):
    result: int


Functional = NamedTuple("Functional", [("left", int), ("right", str)])  # noqa: UP014


def f_int(a: int) -> int:
    return a


def f_float(a: float) -> float:
    return a


def f_str(a: str) -> str:
    return a


def f_bool(a: bool) -> bool:
    return a


def f_datetime(a: dt.datetime) -> dt.datetime:
    return a


def f_date(a: dt.date) -> dt.date:
    return a


def f_timedelta(a: dt.timedelta) -> dt.timedelta:
    return a


def f_returns_none(a: int) -> None:
    return None


def f_no_return_annotation(a: int):  # type: ignore[no-untyped-def]
    return None


def f_none_input(a: None) -> int:
    return 1


def f_no_inputs() -> int:
    return 1


def f_list(a: list[int]) -> list[str]:
    return [str(x) for x in a]


def f_typing_list(a: List[float]) -> List[List[int]]:
    return [[int(x)] for x in a]


def f_dict(a: dict[str, int]) -> dict[str, list[float]]:
    return {k: [float(v)] for k, v in a.items()}


def f_typing_dict(a: Dict[str, str]) -> Dict[str, Dict[str, int]]:
    return {k: {v: 1} for k, v in a.items()}


def f_untyped_dict(a: dict) -> dict:  # type: ignore[type-arg]
    return a


def f_non_str_keys(a: Dict[int, str]) -> typing.Dict:  # type: ignore[type-arg]
    return a


def f_optional(a: Optional[int]) -> Optional[str]:
    return None if a is None else str(a)


def f_pipe_union(a: int | None) -> str | None:
    return None if a is None else str(a)


def f_union(a: Union[int, str, float]) -> Union[List[int], Dict[str, int]]:
    return [1]


def f_union_with_none(a: Union[int, str, None], b: Optional[List[int]]) -> List[Optional[int]]:
    return [None]


def f_nested_union(
    a: Union[int, Union[str, bool]], b: Union[dt.date, dt.datetime]
) -> Union[dt.timedelta, None]:
    return None


def f_enum(c: Color) -> Status:
    return Status.OK


def f_optional_enum(c: Optional[Color]) -> List[Color]:
    return [Color.RED]


def f_literal(a: Literal["a", "b"]) -> Literal["x", "y"]:
    return "x"


def f_annotated_plain(a: Annotated[int, "plain"]) -> Annotated[str, "note"]:
    return str(a)


def f_dataclass(p: Inner) -> Outer:
    return Outer(1, 1.0, p, [])


def f_dataclass_containers(xs: List[Inner], m: Dict[str, Inner]) -> Optional[Inner]:
    return None


def f_pydantic(m: PModel) -> PSub:
    return m.sub


def f_optional_pydantic(m: Optional[PSub]) -> List[PModel]:
    return []


def f_any(a: Any) -> Any:
    return a


def f_custom(c: Custom) -> List[Custom]:
    return [c]


def f_custom_in_dict(d: Dict[str, Custom]) -> Optional[Custom]:
    return None


def f_bytes(b: bytes) -> bytes:
    return b


def f_untyped(a, b: int):  # type: ignore[no-untyped-def]
    return a


def f_tuple_out(a: int) -> Tuple[int, str, float]:
    return a, "", 1.0


def f_builtin_tuple_out(a: int) -> tuple[int, List[str]]:
    return a, []


def f_namedtuple(a: int) -> Stats:
    return Stats(1.0, 1, "x")


def f_functional_namedtuple(a: int) -> Functional:
    return Functional(1, "x")


def f_one_field_namedtuple(a: int) -> Single:
    return Single(1)


def f_defaults(a: int, b: str = "hi", d: Optional[int] = None, e: List[int] = [1, 2]) -> int:  # noqa: B006
    return a


def f_numpy(a: np.ndarray) -> np.ndarray:
    return a


def f_dataframe(df: pd.DataFrame) -> pd.DataFrame:
    return df


def f_protobuf(s: struct_pb2.Struct) -> struct_pb2.Struct:
    return s


def f_ignored(a: int, debug: bool = False) -> int:
    return a


def f_doc_rest(a: int, b: int, c: int) -> Tuple[int, int]:
    """Add things up.

    A longer description
    over two lines.

    :param a: the a input
    :param b: the b input,
        continued on a second line
    :return: both outputs
    """
    return a, b


def f_doc_google(x: int, y: str) -> Stats:
    """Google style.

    Args:
        x: the x value
        y: the y value

    Returns:
        Stats: the statistics
    """
    return Stats(1.0, x, y)


def f_doc_numpy(x: int) -> Tuple[int, int]:
    """Numpy style.

    Parameters
    ----------
    x : int
        the x value

    Returns
    -------
    o0 : int
        first output
    o1 : int
        second output
    """
    return x, x


def f_doc_partial(x: int, y: int) -> int:
    """Only one parameter is documented.

    :param y: why
    """
    return x


# -- factories: annotations made of objects that each engine defines for itself ---------------------


def f_iterator_out(n: int) -> typing.Iterator[int]:
    yield n


def f_iterator_in(xs: typing.Iterator[str], ys: Optional[typing.Iterator[Inner]]) -> typing.Iterator[Color]:
    return iter([Color.RED])


def _module_level(source: str, name: str, **names: Any) -> Callable[..., Any]:
    """Define ``name`` from ``source`` at this module's level (so neither library sees a nested function)."""
    import linecache

    namespace: dict[str, Any] = {**globals(), **names}
    filename = f"<{__name__}.{name}>"
    # flytekit reads the source of task functions: make it findable, as for a file
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    fn: Callable[..., Any] = namespace[name]
    return fn


def make_flyte_annotated(flyte_annotation: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """``FlyteAnnotation`` on an input, inside a list, and inside an Optional."""
    source = (
        "def f_flyte_annotated(\n"
        "    a: Annotated[int, FA({'foo': 'bar', 'n': 1})],\n"
        "    b: List[Annotated[str, FA({'unit': 'cm'})]],\n"
        "    c: Optional[Annotated[int, FA({'foo': 'bar'})]],\n"
        ") -> Annotated[float, FA({'out': True})]:\n"
        "    return 1.0\n"
    )
    return _module_level(source, "f_flyte_annotated", FA=flyte_annotation)


def make_dataframe_columns(columns: Any) -> Callable[..., Any]:
    """A DataFrame with declared columns (``kwtypes(a=int, b=str)`` in flytekit, a dict in flyte_nb)."""
    source = (
        "def f_dataframe_columns(df: Annotated[pd.DataFrame, COLS]) -> Annotated[pd.DataFrame, COLS, 'csv']:\n"
        "    return df\n"
    )
    return _module_level(source, "f_dataframe_columns", COLS=columns)


PICKLE_UNTYPED = {"f_untyped"}
IGNORED_INPUTS = {"f_ignored": ["debug"]}
PLAIN = sorted(name for name, obj in list(globals().items()) if name.startswith("f_") and callable(obj))
