"""Primitive types: int, float, str, bool, None, datetime, date, timedelta.

Encoding checks the value's type *exactly*, as flytekit does (``True`` is not an int, ``2`` is not a
float). Decoding is lenient in the same ways flytekit's is: an int target accepts a float (truncated, for
values typed in the Flyte console), a float target accepts an int, and every simple type accepts a
msgpack ``Binary`` (what Flyte's attribute-path resolution hands a task for ``dc.field`` inputs).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import msgpack
from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import MSGPACK, not_utf8, received, scalar_kind
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError

__all__ = ["SIMPLE_TRANSFORMERS", "SimpleTransformer"]

_UTC = _dt.timezone.utc
_NoneType = type(None)
Literal = literals_pb2.Literal


class SimpleTransformer(TypeTransformer[Any]):
    """One primitive Python type ⇄ one ``SimpleType``.

    Parameters
    ----------
    py:
        The Python type (matched exactly).
    name:
        flytekit's transformer name (the union tag).
    simple:
        The ``types_pb2.SimpleType`` enum value.
    """

    def __init__(self, py: type, name: str, simple: int) -> None:
        self.py = py
        self.name = name
        self.simple = simple
        self._lt = types_pb2.LiteralType(simple=simple)  # type: ignore[arg-type]

    def handles(self, python_type: Any) -> bool:
        return python_type is self.py

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        out = types_pb2.LiteralType()
        out.CopyFrom(self._lt)
        return out

    def describe(self, python_type: Any) -> str:
        return "None" if self.py is _NoneType else self.py.__name__

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return self.py

    # -- encoding -------------------------------------------------------------------------------
    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        literal = Literal()
        self.to_literal_into(literal, value, python_type, expected, store)
        return literal

    def to_literal_into(
        self,
        target: literals_pb2.Literal,
        value: Any,
        python_type: Any,
        expected: types_pb2.LiteralType,
        store: RawStore,
    ) -> None:
        # Written in place: a separate literal copied into a LiteralMap entry, or nested constructors
        # (Literal(scalar=Scalar(primitive=...)), each copying into its parent) were most of a primitive's
        # encoding time on every task call. int, float, str and bool override this method itself (one
        # call less per value: these are the values of most task calls).
        if type(value) is not self.py:
            raise self._mismatch(value)
        self._encode_into(target, value)

    def _encode_into(self, target: literals_pb2.Literal, value: Any) -> None:
        raise NotImplementedError  # pragma: no cover - every registered instance overrides it

    def _mismatch(self, value: Any) -> FlyteTypeError:
        want = self.describe(self.py)
        got = type(value).__name__
        if value is None:
            fix = f"Pass a value of type {want}, or annotate it as Optional[{want}] to allow None."
        elif self.py is float and type(value) is int:
            fix = f"Flyte does not widen int to float: pass {float(value)!r}, or annotate it as Union[int, float]."
        elif self.py is int and type(value) is bool:
            fix = f"bool is not int in Flyte: pass int({value!r}), or annotate it as bool."
        elif isinstance(value, self.py):
            fix = f"Pass a plain {want}: {want}(value) (subclasses such as {got} are not accepted)."
        else:
            fix = f"Convert it first, or annotate it as {got}."
        return FlyteTypeError(f"expected {want}, got {received(value)}. {fix}")

    # -- decoding -------------------------------------------------------------------------------
    #: The ``Primitive`` field a value of this type is written to (``None``: not a plain primitive).
    primitive_field: str | None = None

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        field = self.primitive_field
        if field is not None:
            # What this transformer writes, read directly. Reading an unset message gives an empty one
            # (nothing is changed), and an unset member of the oneof reads 0, 0.0, "" or False: a value
            # that reads true is this transformer's own (one WhichOneof call less per value, on every
            # task call). Anything else falls through to the full decoding below.
            primitive = literal.scalar.primitive
            value = getattr(primitive, field)
            if value or primitive.WhichOneof("value") == field:
                return value
        scalar = literal.scalar
        kind = scalar.WhichOneof("value")
        if kind == "binary":
            return self._from_binary(scalar.binary)
        return self._decode(literal, scalar, kind)

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        raise NotImplementedError  # pragma: no cover

    def _cannot(self, literal: literals_pb2.Literal) -> FlyteTypeError:
        want = self.describe(self.py)
        return FlyteTypeError(
            f"expected a literal holding {want}, got {scalar_kind(literal)}. "
            f"The value was produced for another type; declare the input as the producer's type."
        )

    def _from_binary(self, binary: literals_pb2.Binary) -> Any:
        if binary.tag != MSGPACK:
            raise FlyteTypeError(
                f"expected a msgpack binary for {self.describe(self.py)}, got binary tag {binary.tag!r}. "
                "Only the 'msgpack' format is supported."
            )
        value = msgpack.loads(binary.value, strict_map_key=False)
        return self._check_unpacked(value)

    def _check_unpacked(self, value: Any) -> Any:
        if type(value) is not self.py:
            raise FlyteTypeError(
                f"expected msgpack {self.describe(self.py)}, got {received(value)}. "
                "Declare the input with the type the producer wrote."
            )
        return value


class _Int(SimpleTransformer):
    primitive_field = "integer"

    def to_literal_into(
        self,
        target: literals_pb2.Literal,
        value: Any,
        python_type: Any,
        expected: types_pb2.LiteralType,
        store: RawStore,
    ) -> None:
        if type(value) is not int:
            raise self._mismatch(value)
        try:
            target.scalar.primitive.integer = value
        except ValueError:
            raise FlyteTypeError(
                f"expected int in the 64-bit range, got {received(value)}. "
                "Pass a smaller int, or a str/float, or annotate it as typing.Any to pickle it."
            ) from None

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive":
            primitive = scalar.primitive
            pk = primitive.WhichOneof("value")
            if pk == "integer":
                return primitive.integer
            if pk == "float_value":
                # The Flyte console sends every number as a float; flytekit truncates it back.
                return int(primitive.float_value)
        raise self._cannot(literal)


class _Float(SimpleTransformer):
    primitive_field = "float_value"

    def to_literal_into(
        self,
        target: literals_pb2.Literal,
        value: Any,
        python_type: Any,
        expected: types_pb2.LiteralType,
        store: RawStore,
    ) -> None:
        if type(value) is not float:
            raise self._mismatch(value)
        target.scalar.primitive.float_value = value

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive":
            primitive = scalar.primitive
            pk = primitive.WhichOneof("value")
            if pk == "float_value":
                return primitive.float_value
            if pk == "integer":
                return float(primitive.integer)
        raise self._cannot(literal)


class _Str(SimpleTransformer):
    primitive_field = "string_value"

    def to_literal_into(
        self,
        target: literals_pb2.Literal,
        value: Any,
        python_type: Any,
        expected: types_pb2.LiteralType,
        store: RawStore,
    ) -> None:
        if type(value) is not str:
            raise self._mismatch(value)
        try:
            target.scalar.primitive.string_value = value
        except UnicodeEncodeError as exc:
            raise not_utf8(value, exc) from None

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive":
            primitive = scalar.primitive
            if primitive.WhichOneof("value") == "string_value":
                return primitive.string_value
        raise self._cannot(literal)


class _Bool(SimpleTransformer):
    primitive_field = "boolean"

    def to_literal_into(
        self,
        target: literals_pb2.Literal,
        value: Any,
        python_type: Any,
        expected: types_pb2.LiteralType,
        store: RawStore,
    ) -> None:
        if type(value) is not bool:
            raise self._mismatch(value)
        target.scalar.primitive.boolean = value

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive":
            primitive = scalar.primitive
            if primitive.WhichOneof("value") == "boolean":
                return primitive.boolean
        raise self._cannot(literal)


class _None(SimpleTransformer):
    def _encode_into(self, target: literals_pb2.Literal, value: Any) -> None:
        target.scalar.none_type.SetInParent()

    def _mismatch(self, value: Any) -> FlyteTypeError:
        return FlyteTypeError(
            f"expected None, got {received(value)}. Return nothing, or annotate the value with its type."
        )

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "none_type":
            return None
        raise self._cannot(literal)


class _Datetime(SimpleTransformer):
    def _encode_into(self, target: literals_pb2.Literal, value: Any) -> None:
        # flytekit takes a naive datetime as UTC and converts an aware one to UTC (the offset is lost).
        if value.tzinfo is not None:
            value = value.astimezone(_UTC).replace(tzinfo=None)
        target.scalar.primitive.datetime.FromDatetime(value)

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive" and scalar.primitive.WhichOneof("value") == "datetime":
            return scalar.primitive.datetime.ToDatetime(tzinfo=_UTC)
        raise self._cannot(literal)

    def _check_unpacked(self, value: Any) -> Any:
        # mashumaro writes datetimes as isoformat strings inside msgpack.
        if isinstance(value, str):
            return _dt.datetime.fromisoformat(value)
        return super()._check_unpacked(value)


class _Date(SimpleTransformer):
    def _encode_into(self, target: literals_pb2.Literal, value: Any) -> None:
        target.scalar.primitive.datetime.FromDatetime(_dt.datetime.combine(value, _dt.time.min))

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive" and scalar.primitive.WhichOneof("value") == "datetime":
            return scalar.primitive.datetime.ToDatetime().date()
        raise self._cannot(literal)

    def _check_unpacked(self, value: Any) -> Any:
        if isinstance(value, str):
            return _dt.date.fromisoformat(value)
        return super()._check_unpacked(value)


class _Timedelta(SimpleTransformer):
    def _encode_into(self, target: literals_pb2.Literal, value: Any) -> None:
        target.scalar.primitive.duration.FromTimedelta(value)

    def _decode(self, literal: literals_pb2.Literal, scalar: literals_pb2.Scalar, kind: str | None) -> Any:
        if kind == "primitive" and scalar.primitive.WhichOneof("value") == "duration":
            return scalar.primitive.duration.ToTimedelta()
        raise self._cannot(literal)

    def _check_unpacked(self, value: Any) -> Any:
        # mashumaro writes a timedelta as its total seconds (a float).
        if type(value) in (int, float):
            return _dt.timedelta(seconds=value)
        return super()._check_unpacked(value)


#: Exact Python type -> its transformer; the engine looks these up first.
SIMPLE_TRANSFORMERS: dict[type, SimpleTransformer] = {
    t.py: t
    for t in (
        _Int(int, "int", types_pb2.INTEGER),
        _Float(float, "float", types_pb2.FLOAT),
        _Str(str, "str", types_pb2.STRING),
        _Bool(bool, "bool", types_pb2.BOOLEAN),
        _None(_NoneType, "none", types_pb2.NONE),
        _Datetime(_dt.datetime, "datetime", types_pb2.DATETIME),
        _Date(_dt.date, "date", types_pb2.DATETIME),
        _Timedelta(_dt.timedelta, "timedelta", types_pb2.DURATION),
    )
}
