"""Enums with str values (also ``class E(str, Enum)``) ⇄ ``EnumType`` / a ``string_value`` primitive."""

from __future__ import annotations

import enum
from typing import Any

import msgpack
from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.memo import BoundedMemo
from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import MSGPACK, is_instance_or_rerun, received, scalar_kind
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError

__all__ = ["EnumTransformer"]

# The same values make the same guessed class, so values decoded twice compare equal.
_guessed: BoundedMemo[tuple[str, ...], type[enum.Enum]] = BoundedMemo(256)


class EnumTransformer(TypeTransformer[enum.Enum]):
    """A str-valued ``enum.Enum`` subclass ⇄ its member values."""

    name = "DefaultEnumTransformer"

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, enum.Enum)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        bad = [m for m in python_type if not isinstance(m.value, str)]
        if bad:
            m = bad[0]
            raise UnsupportedTypeError(
                f"expected an Enum whose values are all str, got {python_type.__name__}.{m.name} = "
                f"{received(m.value)}. Flyte enums carry strings: give the members str values "
                f"(e.g. {m.name} = {str(m.value)!r}), or annotate the parameter with the value type."
            )
        return types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=[m.value for m in python_type]))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if not (isinstance(value, enum.Enum) and is_instance_or_rerun(value, python_type)):
            hint = ""
            if isinstance(value, str) and value in python_type._value2member_map_:
                hint = f"Pass {python_type.__name__}({value!r}). "
            raise FlyteTypeError(
                f"expected a member of {self.describe(python_type)}, got {received(value)}. "
                f"{hint}A plain str is not converted to an Enum member."
            )
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value.value))
        )

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        scalar = literal.scalar
        if scalar.HasField("binary") and scalar.binary.tag == MSGPACK:
            raw = msgpack.loads(scalar.binary.value)
        elif scalar.primitive.WhichOneof("value") == "string_value":
            raw = scalar.primitive.string_value
        else:
            raise FlyteTypeError(
                f"expected a string literal for {self.describe(python_type)}, got {scalar_kind(literal)}. "
                "The value was produced for another type."
            )
        try:
            return python_type(raw)
        except ValueError:
            raise FlyteTypeError(
                f"expected one of {[m.value for m in python_type]} for {python_type.__name__}, got "
                f"{received(raw)}. The Enum changed since the value was written; add the member back."
            ) from None

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        values = tuple(literal_type.enum_type.values)
        known = _guessed.get(values)
        if known is not None:
            return known
        # flytekit's name for it; the qualname says what it is, a class made here (mashumaro, decoding a
        # generated dataclass with such a field, then takes the class itself instead of a module lookup).
        make: Any = enum.Enum  # its members are known at runtime only
        made: type[enum.Enum] = make(
            "DynamicEnum",
            {v: v for v in values},
            qualname="EnumTransformer.guess_python_type.<locals>.DynamicEnum",
        )
        _guessed.put(values, made)
        return made

    def describe(self, python_type: Any) -> str:
        return "enum(" + ", ".join(str(m.value) for m in python_type) + ")"
