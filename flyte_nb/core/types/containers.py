"""Typed containers: ``list[T]`` (a LiteralCollection) and ``dict[str, T]`` (a LiteralMap).

Encoding checks for an exact ``list``/``dict`` (as flytekit does: a tuple is not a list). Decoding also
accepts a msgpack ``Binary``, which Flyte produces when a task input is bound to a field of a dataclass.
"""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import decode_msgpack, not_utf8, received, scalar_kind
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine
from flyte_nb.errors import FlyteTypeError

__all__ = ["ListTransformer", "TypedDictTransformer", "decode_msgpack_typed"]


def decode_msgpack_typed(literal: literals_pb2.Literal, python_type: Any) -> Any:
    """Decode a msgpack ``Binary`` literal into ``python_type`` with mashumaro (as flytekit does)."""
    return decode_msgpack(
        literal,
        python_type,
        TypeEngine.describe(python_type),
        "Declare the input with the type the producer wrote.",
    )


def _decode_item(literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
    # Items go through the engine so offloaded literals are resolved at any depth.
    return TypeEngine.to_python_value(literal, python_type, store=store)


class ListTransformer(TypeTransformer[list[Any]]):
    """``list[T]`` / ``typing.List[T]`` ⇄ ``LiteralCollection``."""

    name = "Typed List"

    def handles(self, python_type: Any) -> bool:
        return typing.get_origin(python_type) is list and len(typing.get_args(python_type)) == 1

    @staticmethod
    def item_type(python_type: Any) -> Any:
        """``T`` of ``list[T]``."""
        return typing.get_args(python_type)[0]

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(collection_type=TypeEngine.to_literal_type(self.item_type(python_type)))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if type(value) is not list:
            fix = "Pass list(value)." if isinstance(value, (list, tuple, set)) else "Pass a list."
            raise FlyteTypeError(f"expected {self.describe(python_type)}, got {received(value)}. {fix}")
        item_type = self.item_type(python_type)
        lit = literals_pb2.Literal()
        lit.collection.SetInParent()  # an empty list is {"collection": {}}, not an empty literal
        items = lit.collection.literals
        for i, item in enumerate(value):
            try:
                items.append(TypeEngine.to_literal(item, item_type, store=store))
            except FlyteTypeError as exc:  # noqa: PERF203 - per-item context is the point
                raise type(exc)(f"item [{i}]: {exc}") from exc
        return lit

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        item_type = self.item_type(python_type)
        if literal.HasField("collection"):
            return [_decode_item(x, item_type, store) for x in literal.collection.literals]
        if literal.scalar.HasField("binary"):
            return decode_msgpack_typed(literal, python_type)
        raise FlyteTypeError(
            f"expected a collection literal for {self.describe(python_type)}, got {scalar_kind(literal)}. "
            "The value was produced for another type."
        )

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return list[TypeEngine.guess_python_type(literal_type.collection_type)]  # type: ignore[misc]

    def describe(self, python_type: Any) -> str:
        return f"list[{TypeEngine.describe(self.item_type(python_type))}]"

    def validate(self, python_type: Any) -> None:
        TypeEngine.validate_annotation(self.item_type(python_type))

    def is_pickled(self, python_type: Any) -> bool:
        return TypeEngine.is_pickled(self.item_type(python_type))


class TypedDictTransformer(TypeTransformer[dict[str, Any]]):
    """``dict[str, T]`` / ``typing.Dict[str, T]`` ⇄ ``LiteralMap`` (key order is not kept on the wire)."""

    name = "Typed Dict"

    def handles(self, python_type: Any) -> bool:
        args = typing.get_args(python_type)
        return typing.get_origin(python_type) is dict and len(args) == 2 and args[0] is str

    @staticmethod
    def value_type(python_type: Any) -> Any:
        """``T`` of ``dict[str, T]``."""
        return typing.get_args(python_type)[1]

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(map_value_type=TypeEngine.to_literal_type(self.value_type(python_type)))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if type(value) is not dict:
            raise FlyteTypeError(
                f"expected {self.describe(python_type)}, got {received(value)}. Pass a dict."
            )
        value_type = self.value_type(python_type)
        lit = literals_pb2.Literal()
        literals = lit.map.literals
        lit.map.SetInParent()  # an empty dict is {"map": {}}, not an empty literal
        for key, item in value.items():
            if type(key) is not str:
                raise FlyteTypeError(
                    f"expected str keys for {self.describe(python_type)}, got key {received(key)}. "
                    "Convert the keys with str(), or annotate the value as plain dict (msgpack keeps any key)."
                )
            try:
                slot = literals[key]
            except UnicodeEncodeError as exc:
                raise not_utf8(key, exc, "str key") from None
            try:
                slot.CopyFrom(TypeEngine.to_literal(item, value_type, store=store))
            except FlyteTypeError as exc:
                raise type(exc)(f"key {key!r}: {exc}") from exc
        return lit

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        value_type = self.value_type(python_type)
        if literal.HasField("map"):
            return {k: _decode_item(v, value_type, store) for k, v in literal.map.literals.items()}
        if literal.scalar.HasField("binary"):
            return decode_msgpack_typed(literal, python_type)
        raise FlyteTypeError(
            f"expected a map literal for {self.describe(python_type)}, got {scalar_kind(literal)}. "
            "The value was produced for another type."
        )

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return dict[str, TypeEngine.guess_python_type(literal_type.map_value_type)]  # type: ignore[misc]

    def describe(self, python_type: Any) -> str:
        return f"dict[str, {TypeEngine.describe(self.value_type(python_type))}]"

    def validate(self, python_type: Any) -> None:
        TypeEngine.validate_annotation(self.value_type(python_type))

    def is_pickled(self, python_type: Any) -> bool:
        return TypeEngine.is_pickled(self.value_type(python_type))
