"""flyte_nb's type engine against flytekit 1.16's, case by case.

For every (type, value) case: the LiteralType is the same message, the Literal is the same message
(byte for byte where no URI differs, with the random parts of URIs normalised otherwise), flytekit decodes
flyte_nb's literal to the value it decodes from its own, and flyte_nb decodes flytekit's literal to it too.
"""

# The typing.Optional/Union spellings are what is being tested, next to the X | Y ones.
# ruff: noqa: UP007, UP045
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import math
import re
import typing
from collections.abc import Callable
from typing import Annotated, Any, Optional, Union

import numpy as np
import pandas as pd
import pydantic
import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict

from flyte_nb.core.storage import LocalStore
from flyte_nb.core.types import FlyteAnnotation, TypeEngine
from flyte_nb.errors import FlyteTypeError

pytestmark = pytest.mark.differential

UTC = dt.timezone.utc


# -- module-level types (pickled by reference, importable by both engines) --------------------------
class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Status(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"


class IntEnum(enum.Enum):
    ONE = 1


@dataclasses.dataclass
class Inner:
    x: int
    y: Optional[str] = None


@dataclasses.dataclass
class Outer:
    a: int
    b: float
    inner: Inner
    tags: list[str]
    opt: Optional[int] = None
    color: Color = Color.RED
    when: Optional[dt.datetime] = None
    m: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Misc:
    naive: dt.datetime
    aware: dt.datetime
    day: dt.date
    span: dt.timedelta
    u: Union[int, str]
    free: dict
    status: Status
    nested: list[list[int]]
    opt_list: Optional[list[Inner]] = None
    f: float = 1.0


@dataclasses.dataclass
class WithTuple:
    pair: tuple[int, str]
    blob: bytes = b""


class Custom:
    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Custom) and other.n == self.n

    def __hash__(self) -> int:
        return self.n


class PSub(pydantic.BaseModel):
    a: int
    b: Optional[str] = None


class PModel(pydantic.BaseModel):
    sub: PSub
    vals: list[float] = []
    n: int = 3


# A case: id, our annotation, flytekit's annotation (same unless it needs flytekit objects), values.
TypeFor = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    ours: Any
    values: tuple[Any, ...]
    theirs: TypeFor | None = None

    def their_type(self, fk: Any) -> Any:
        return self.ours if self.theirs is None else self.theirs(fk)


NAIVE = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
PLUS2 = dt.timezone(dt.timedelta(hours=2))

CASES = [
    Case("int", int, (42, 0, -(2**63), 2**63 - 1)),
    Case("float", float, (3.5, 0.0, float("inf"), float("nan"), -1e-300)),
    Case("str", str, ("hello", "", "ünïcode ✓")),
    Case("bool", bool, (True, False)),
    Case("bytes", bytes, (b"\x00\x01",)),
    Case("none", type(None), (None,)),
    Case(
        "datetime",
        dt.datetime,
        (NAIVE, NAIVE.replace(tzinfo=UTC), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=PLUS2)),
    ),
    Case("date", dt.date, (dt.date(2024, 2, 29),)),
    Case(
        "timedelta",
        dt.timedelta,
        (dt.timedelta(days=1, seconds=3, microseconds=5), dt.timedelta(seconds=-1.5)),
    ),
    Case("List[int]", typing.List[int], ([1, 2, 3], [])),  # noqa: UP006 - both spellings are supported
    Case("list[str]", list[str], (["a", "b"],)),
    Case("List[List[int]]", list[list[int]], ([[1], [2, 3]],)),
    Case("Dict[str,int]", typing.Dict[str, int], ({"a": 1, "b": 2}, {})),  # noqa: UP006
    Case("dict[str,float]", dict[str, float], ({"x": 1.5},)),
    Case("dict", dict, ({"a": 1, "b": [1, 2], "c": {"d": None}, "e": 1.5, "f": "x", "g": True},)),
    Case("typing.Dict", typing.Dict, ({"a": 1},)),  # noqa: UP006
    Case("Dict[int,str]", dict[int, str], ({1: "a"},)),
    Case("Dict[str,Any]", dict[str, Any], ({"a": 1},)),
    Case("Optional[int]", Optional[int], (5, None)),
    Case("int|None", int | None, (5, None)),
    Case("Union[int,str]", Union[int, str], (5, "x")),
    Case("Union[float,int]", Union[float, int], (1.0, 1)),
    Case("Union[int,bool]", Union[int, bool], (True, 1)),
    Case("Union[int,str,None]", Union[int, str, None], (None,)),
    Case("Union[List[int],Dict[str,int]]", Union[list[int], dict[str, int]], ([1], {"a": 1})),
    Case("Optional[Inner]", Optional[Inner], (Inner(x=2, y="q"), None)),
    Case("Optional[Color]", Optional[Color], (Color.RED,)),
    Case("Optional[List[int]]", Optional[list[int]], ([1], None)),
    Case("Color", Color, (Color.GREEN,)),
    Case("Status", Status, (Status.OK,)),
    Case("Literal", typing.Literal["a", "b"], ("a",)),
    Case("Literal[int]", typing.Literal[1, 2], (2,)),
    Case("Inner", Inner, (Inner(x=1), Inner(x=1, y="z"))),
    Case(
        "Outer",
        Outer,
        (
            Outer(
                a=1,
                b=2.0,
                inner=Inner(3, "z"),
                tags=["t"],
                when=dt.datetime(2024, 1, 2, tzinfo=UTC),
                m={"k": 0.5},
            ),
        ),
    ),
    Case(
        "Misc",
        Misc,
        (
            Misc(
                naive=dt.datetime(2024, 1, 2, 3, 4, 5, 6),
                aware=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=PLUS2),
                day=dt.date(2024, 1, 2),
                span=dt.timedelta(seconds=90, microseconds=5),
                u="s",
                free={"k": [1, None]},
                status=Status.OK,
                nested=[[1], []],
                opt_list=[Inner(x=1)],
                f=2,
            ),
        ),
    ),
    Case("WithTuple", WithTuple, (WithTuple(pair=(1, "a"), blob=b"\x01"),)),
    Case("List[Inner]", list[Inner], ([Inner(x=1), Inner(x=2)],)),
    Case("Dict[str,Inner]", dict[str, Inner], ({"a": Inner(x=1)},)),
    Case("Any", Any, (5, "s")),
    Case("Custom", Custom, (Custom(3),)),
    Case("List[Custom]", list[Custom], ([Custom(1)],)),
    Case("Annotated[int,plain]", Annotated[int, "plain"], (7,)),
    Case(
        "Annotated[int,FlyteAnnotation]",
        Annotated[int, FlyteAnnotation({"foo": "bar", "n": 1})],
        (7,),
        lambda fk: Annotated[int, fk.FlyteAnnotation({"foo": "bar", "n": 1})],
    ),
    Case(
        "Optional[Annotated[int,FlyteAnnotation]]",
        Optional[Annotated[int, FlyteAnnotation({"foo": "bar"})]],
        (7, None),
        lambda fk: Optional[Annotated[int, fk.FlyteAnnotation({"foo": "bar"})]],
    ),
    Case(
        "List[Annotated[str,FlyteAnnotation]]",
        list[Annotated[str, FlyteAnnotation({"unit": "cm"})]],
        (["a"],),
        lambda fk: list[Annotated[str, fk.FlyteAnnotation({"unit": "cm"})]],
    ),
    Case(
        "Annotated[dict,allow_pickle]",
        Annotated[dict, collections.OrderedDict(allow_pickle=True)],
        ({"s": {1}},),
    ),
    Case("PSub", PSub, (PSub(a=1), PSub(a=2, b="x"))),
    Case("PModel", PModel, (PModel(sub=PSub(a=2, b="x"), vals=[1.5]),)),
    Case("DataFrame", pd.DataFrame, (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),)),
    Case(
        "DataFrame[columns]",
        Annotated[pd.DataFrame, collections.OrderedDict(a=int, b=str)],
        (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),),
    ),
    Case(
        "DataFrame[columns,csv]",
        Annotated[pd.DataFrame, collections.OrderedDict(a=int), "csv"],
        (pd.DataFrame({"a": [1, 2]}),),
    ),
    Case("ndarray", np.ndarray, (np.array([1, 2, 3], dtype=np.int64), np.zeros((2, 2)))),
    Case(
        "protobuf Struct",
        struct_pb2.Struct,
        (struct_pb2.Struct(fields={"a": struct_pb2.Value(number_value=1)}),),
    ),
]

# Values whose decoded form differs in ways equality does not see (or cannot compare).
_HEX32 = re.compile(r"[0-9a-f]{32}")


# -- helpers ---------------------------------------------------------------------------------------
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        return isinstance(b, pd.DataFrame) and a.reset_index(drop=True).equals(b.reset_index(drop=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def _normalise(d: Any, prefixes: tuple[str, ...]) -> Any:
    if isinstance(d, dict):
        return {k: _normalise(v, prefixes) for k, v in d.items()}
    if isinstance(d, list):
        return [_normalise(v, prefixes) for v in d]
    if isinstance(d, str):
        for p in prefixes:
            if d.startswith(p):
                d = "{RAW}/" + d[len(p) :].lstrip("/")
        return _HEX32.sub("{HEX32}", d)
    return d


def _has_uri(msg: literals_pb2.Literal) -> bool:
    text = str(msg)
    return "uri:" in text or "pickle_file" in text


def _roundtrip(lit: literals_pb2.Literal) -> literals_pb2.Literal:
    out = literals_pb2.Literal()
    out.ParseFromString(lit.SerializeToString())
    return out


def _params() -> list[Any]:
    return [pytest.param(c, i, id=f"{c.id}-{i}") for c in CASES for i in range(len(c.values))]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(str(tmp_path_factory.mktemp("raw")))


# -- the comparisons -------------------------------------------------------------------------------
def test_the_table_covers_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_literal_type_equals_flytekit(flytekit: Any, case: Case) -> None:
    theirs = flytekit.TypeEngine.to_literal_type(case.their_type(flytekit)).to_flyte_idl()
    ours = TypeEngine.to_literal_type(case.ours)
    assert MessageToDict(ours) == MessageToDict(theirs)
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)


@pytest.mark.parametrize(("case", "index"), _params())
def test_literal_equals_flytekit_and_decodes_both_ways(
    flytekit: Any, store: LocalStore, case: Case, index: int
) -> None:
    fk, value = flytekit, case.values[index]
    their_type = case.their_type(fk)
    their_lt = fk.TypeEngine.to_literal_type(their_type)
    theirs = _roundtrip(fk.TypeEngine.to_literal(fk.ctx, value, their_type, their_lt).to_flyte_idl())
    ours = _roundtrip(TypeEngine.to_literal(value, case.ours, store=store))

    if _has_uri(ours) or _has_uri(theirs):
        prefixes = (store.raw_prefix, fk.ctx.file_access.raw_output_prefix)
        assert _normalise(MessageToDict(ours), prefixes) == _normalise(MessageToDict(theirs), prefixes)
    else:
        assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)

    expected = fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(theirs), their_type)
    from_ours_by_flytekit = fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(ours), their_type)
    assert _same(expected, from_ours_by_flytekit)
    assert _same(expected, TypeEngine.to_python_value(theirs, case.ours, store=store))
    assert _same(expected, TypeEngine.to_python_value(ours, case.ours, store=store))


ERROR_CASES = [
    pytest.param(float, 2, id="float-given-int"),
    pytest.param(Union[list[int], list[str]], [], id="ambiguous-empty-list"),
    pytest.param(Status, "ok", id="str-for-enum"),
    pytest.param(Any, None, id="pickle-none"),
    pytest.param(int, True, id="bool-for-int"),
    pytest.param(list[int], (1, 2), id="tuple-for-list"),
]


@pytest.mark.parametrize(("python_type", "value"), ERROR_CASES)
def test_values_flytekit_rejects_are_rejected(flytekit: Any, python_type: Any, value: Any) -> None:
    fk = flytekit
    with pytest.raises(Exception):  # noqa: B017 - flytekit raises several unrelated classes
        fk.TypeEngine.to_literal(fk.ctx, value, python_type, fk.TypeEngine.to_literal_type(python_type))
    with pytest.raises(FlyteTypeError):
        TypeEngine.to_literal(value, python_type)


@pytest.mark.parametrize(
    "python_type",
    [
        pytest.param(list, id="bare-list"),
        pytest.param(tuple, id="tuple"),
        pytest.param(tuple[int, str], id="Tuple[int,str]"),
        pytest.param(IntEnum, id="int-enum"),
    ],
)
def test_annotations_flytekit_rejects_are_rejected(flytekit: Any, python_type: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017
        flytekit.TypeEngine.to_literal_type(python_type)
    with pytest.raises(FlyteTypeError):
        TypeEngine.validate_annotation(python_type)


def test_flytekit_reads_union_variant_tags_we_write(flytekit: Any) -> None:
    """Every tag flyte_nb writes is the transformer name flytekit looks variants up by."""
    fk = flytekit
    for case in CASES:
        if typing.get_origin(case.ours) is not Union:
            continue
        ours = TypeEngine.to_literal_type(case.ours)
        tags = [v.structure.tag for v in ours.union_type.variants]
        theirs = [fk.TypeEngine.get_transformer(a).name for a in typing.get_args(case.their_type(fk))]
        assert tags == theirs


def test_guess_python_type_decodes_flytekit_literals(flytekit: Any, store: LocalStore) -> None:
    fk = flytekit
    t = dict[str, list[Optional[int]]]
    value = {"a": [1, None], "b": []}
    theirs = fk.TypeEngine.to_literal(fk.ctx, value, t, fk.TypeEngine.to_literal_type(t)).to_flyte_idl()
    guessed = TypeEngine.guess_python_type(
        types_pb2.LiteralType.FromString(fk.TypeEngine.to_literal_type(t).to_flyte_idl().SerializeToString())
    )
    assert TypeEngine.to_python_value(theirs, guessed, store=store) == value


# -- lenient decoding: literals flytekit accepts that neither engine writes for the type -------------
def _binary(value: Any) -> literals_pb2.Literal:
    import msgpack

    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=msgpack.dumps(value), tag="msgpack"))
    )


def _primitive(**kw: Any) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(**kw)))


def _struct(data: dict[str, Any]) -> literals_pb2.Literal:
    generic = struct_pb2.Struct()
    generic.update(data)
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=generic))


FOREIGN = [
    pytest.param(_primitive(float_value=3.7), int, id="console-float-to-int"),
    pytest.param(_primitive(integer=2), float, id="integer-to-float"),
    pytest.param(_binary(5), int, id="msgpack-int"),
    pytest.param(_binary("s"), str, id="msgpack-str"),
    pytest.param(_binary(True), bool, id="msgpack-bool"),
    pytest.param(_binary(2.5), float, id="msgpack-float"),
    pytest.param(_binary("2024-01-02T03:04:05+02:00"), dt.datetime, id="msgpack-datetime"),
    pytest.param(_binary("2024-01-02"), dt.date, id="msgpack-date"),
    pytest.param(_binary(90.000005), dt.timedelta, id="msgpack-timedelta"),
    pytest.param(_binary([1, 2]), list[int], id="msgpack-list"),
    pytest.param(_binary({"a": [1.5]}), dict[str, list[float]], id="msgpack-typed-dict"),
    pytest.param(_binary({"x": 1, "y": None}), Inner, id="msgpack-dataclass"),
    pytest.param(_binary({"x": 1, "extra": 2}), Inner, id="msgpack-dataclass-unknown-key"),
    pytest.param(_struct({"x": 4, "y": "s"}), Inner, id="struct-dataclass"),
    pytest.param(_struct({"a": 1, "b": [True]}), dict, id="struct-dict"),
    pytest.param(_struct({"a": 1}), PSub, id="struct-pydantic"),
    pytest.param(_primitive(integer=5), Optional[int], id="bare-int-for-optional"),
    pytest.param(_binary(5), Union[int, str], id="msgpack-for-union"),
    pytest.param(_primitive(string_value="green"), Color, id="str-to-enum"),
]


@pytest.mark.parametrize(("literal", "python_type"), FOREIGN)
def test_lenient_decoding_matches_flytekit(
    flytekit: Any, store: LocalStore, literal: literals_pb2.Literal, python_type: Any
) -> None:
    fk = flytekit
    expected = fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(literal), python_type)
    assert _same(expected, TypeEngine.to_python_value(literal, python_type, store=store))


@pytest.mark.parametrize(
    ("python_type", "value"),
    [
        pytest.param(Inner, Inner(x=3, y="q"), id="dataclass"),
        pytest.param(dict, {"a": 1, "b": "x"}, id="dict"),
    ],
)
def test_we_decode_flytekits_pre_1_14_format(
    flytekit: Any, store: LocalStore, monkeypatch: pytest.MonkeyPatch, python_type: Any, value: Any
) -> None:
    fk = flytekit
    monkeypatch.setenv("FLYTE_USE_OLD_DC_FORMAT", "true")
    old = fk.TypeEngine.to_literal(fk.ctx, value, python_type, fk.TypeEngine.to_literal_type(python_type))
    old_pb = old.to_flyte_idl()
    assert old_pb.scalar.HasField("generic")
    assert _same(
        fk.TypeEngine.to_python_value(fk.ctx, old, python_type),
        TypeEngine.to_python_value(old_pb, python_type, store=store),
    )
