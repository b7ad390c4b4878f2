"""int, float, str, bool, None, datetime, date, timedelta: encoding, lenient decoding, errors."""

from __future__ import annotations

import datetime as dt
import math

import msgpack
import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf.json_format import MessageToDict

from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import FlyteTypeError
from tests.core.types.conftest import roundtrip

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("python_type", "simple"),
    [
        (int, types_pb2.INTEGER),
        (float, types_pb2.FLOAT),
        (str, types_pb2.STRING),
        (bool, types_pb2.BOOLEAN),
        (type(None), types_pb2.NONE),
        (None, types_pb2.NONE),
        (dt.datetime, types_pb2.DATETIME),
        (dt.date, types_pb2.DATETIME),
        (dt.timedelta, types_pb2.DURATION),
    ],
)
def test_literal_types(python_type: object, simple: int) -> None:
    assert TypeEngine.to_literal_type(python_type) == types_pb2.LiteralType(simple=simple)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("python_type", "value"),
    [
        (int, 42),
        (int, -(2**63)),
        (float, 3.5),
        (float, -0.0),
        (str, "héllo"),
        (str, ""),
        (bool, False),
        (type(None), None),
    ],
)
def test_round_trip_keeps_value_and_type(store: MemoryStore, python_type: type, value: object) -> None:
    out = roundtrip(value, python_type, store)
    assert out == value
    assert type(out) is type(value)


def test_nan_and_inf_survive(store: MemoryStore) -> None:
    assert math.isnan(roundtrip(float("nan"), float, store))
    assert roundtrip(float("-inf"), float, store) == float("-inf")


def test_naive_datetime_is_taken_as_utc_and_decodes_aware(store: MemoryStore) -> None:
    naive = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
    lit = TypeEngine.to_literal(naive, dt.datetime, store=store)
    assert MessageToDict(lit) == {"scalar": {"primitive": {"datetime": "2024-01-02T03:04:05.123456Z"}}}
    assert roundtrip(naive, dt.datetime, store) == naive.replace(tzinfo=UTC)


def test_aware_datetime_is_converted_to_utc(store: MemoryStore) -> None:
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    out = roundtrip(aware, dt.datetime, store)
    assert out == aware
    assert out.tzinfo is UTC
    assert out.hour == 1


def test_date_is_midnight_utc(store: MemoryStore) -> None:
    lit = TypeEngine.to_literal(dt.date(2024, 2, 29), dt.date, store=store)
    assert MessageToDict(lit)["scalar"]["primitive"]["datetime"] == "2024-02-29T00:00:00Z"
    assert roundtrip(dt.date(2024, 2, 29), dt.date, store) == dt.date(2024, 2, 29)


def test_negative_timedelta(store: MemoryStore) -> None:
    td = dt.timedelta(seconds=-1.5)
    assert (
        MessageToDict(TypeEngine.to_literal(td, dt.timedelta, store=store))["scalar"]["primitive"]["duration"]
        == "-1.500s"
    )
    assert roundtrip(td, dt.timedelta, store) == td


@pytest.mark.parametrize(
    ("python_type", "value", "fragment"),
    [
        (int, "3", "expected int, got '3' (str)"),
        (int, True, "bool is not int"),
        (int, 2.0, "expected int, got 2.0 (float)"),
        (float, 2, "Flyte does not widen int to float"),
        (str, 1, "expected str, got 1 (int)"),
        (bool, 1, "expected bool, got 1 (int)"),
        (int, None, "Optional[int]"),
        (type(None), 0, "expected None, got 0 (int)"),
        (dt.datetime, dt.date(2024, 1, 1), "expected datetime"),
        (dt.date, dt.datetime(2024, 1, 1), "subclasses such as datetime are not accepted"),
        (dt.timedelta, 5, "expected timedelta, got 5 (int)"),
    ],
)
def test_exact_type_check_on_encode(python_type: type, value: object, fragment: str) -> None:
    with pytest.raises(FlyteTypeError, match="expected") as info:
        TypeEngine.to_literal(value, python_type, store=MemoryStore())
    assert fragment in str(info.value)


def test_int_out_of_int64_range_is_a_clear_error() -> None:
    with pytest.raises(FlyteTypeError, match="64-bit range"):
        TypeEngine.to_literal(2**63, int, store=MemoryStore())


def _prim(**kw: object) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(**kw)))  # type: ignore[arg-type]


def _msgpack(value: object) -> literals_pb2.Literal:
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=msgpack.dumps(value), tag="msgpack"))
    )


def test_int_target_truncates_a_console_float() -> None:
    assert TypeEngine.to_python_value(_prim(float_value=3.9), int) == 3


@pytest.mark.parametrize(
    ("literal", "python_type", "expected"),
    [
        # a falsy value of the transformer's own field is still its own (0, 0.0, "", False)
        (_prim(integer=0), int, 0),
        (_prim(float_value=0.0), float, 0.0),
        (_prim(string_value=""), str, ""),
        (_prim(boolean=False), bool, False),
        # another member of the oneof reads as the field's default: the full decoding decides
        (_prim(float_value=2.5), int, 2),
        (_prim(integer=3), float, 3.0),
    ],
)
def test_primitives_read_their_own_falsy_values_and_convert_the_others(
    literal: literals_pb2.Literal, python_type: type, expected: object
) -> None:
    out = TypeEngine.to_python_value(literal, python_type)
    assert out == expected
    assert type(out) is python_type


@pytest.mark.parametrize(
    ("literal", "python_type"), [(_prim(integer=0), str), (_prim(string_value=""), bool)]
)
def test_a_falsy_primitive_of_another_type_is_refused(
    literal: literals_pb2.Literal, python_type: type
) -> None:
    with pytest.raises(FlyteTypeError, match="expected a literal holding"):
        TypeEngine.to_python_value(literal, python_type)


def test_float_target_accepts_an_integer() -> None:
    out = TypeEngine.to_python_value(_prim(integer=2), float)
    assert out == 2.0
    assert type(out) is float


@pytest.mark.parametrize(
    ("python_type", "packed", "expected"),
    [
        (int, 5, 5),
        (float, 1.5, 1.5),
        (str, "s", "s"),
        (bool, True, True),
        (type(None), None, None),
        (dt.datetime, "2024-01-02T03:04:05+00:00", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (dt.date, "2024-01-02", dt.date(2024, 1, 2)),
        (dt.timedelta, 90.5, dt.timedelta(seconds=90.5)),
    ],
)
def test_every_simple_type_accepts_msgpack_binary(
    python_type: type, packed: object, expected: object
) -> None:
    assert TypeEngine.to_python_value(_msgpack(packed), python_type) == expected


def test_msgpack_of_the_wrong_type_is_rejected() -> None:
    with pytest.raises(FlyteTypeError, match=r"expected msgpack float, got 5 \(int\)"):
        TypeEngine.to_python_value(_msgpack(5), float)


def test_a_literal_of_another_type_is_rejected_naming_both() -> None:
    with pytest.raises(FlyteTypeError, match=r"expected a literal holding int, got primitive\.string_value"):
        TypeEngine.to_python_value(_prim(string_value="x"), int)
    with pytest.raises(FlyteTypeError, match="holding None"):
        TypeEngine.to_python_value(_prim(integer=1), type(None))


def test_unknown_binary_tag_is_rejected() -> None:
    lit = literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=b"x", tag="json")))
    with pytest.raises(FlyteTypeError, match="'json'"):
        TypeEngine.to_python_value(lit, int)
