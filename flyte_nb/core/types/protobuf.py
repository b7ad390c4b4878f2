"""protobuf ``Message`` classes ⇄ a ``Struct`` in ``scalar.generic`` (flytekit's Protobuf-Transformer)."""

from __future__ import annotations

from typing import Any

from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, scalar_kind, struct_from
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError

__all__ = ["ProtobufTransformer"]


def _tag(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


class ProtobufTransformer(TypeTransformer[Message]):
    """A protobuf message class: its JSON form as a ``Struct``."""

    name = "Protobuf-Transformer"

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, Message)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(
            simple=types_pb2.STRUCT, metadata=struct_from({"pb_type": _tag(python_type)})
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if not isinstance(value, Message):
            raise FlyteTypeError(
                f"expected a {python_type.__name__} protobuf message, got {received(value)}. "
                f"Build it with {python_type.__name__}(...)."
            )
        if type(value) is struct_pb2.ListValue:
            from flyte_nb.core.types.engine import TypeEngine

            lit = literals_pb2.Literal()
            lit.collection.SetInParent()
            for v in value:
                lit.collection.literals.append(TypeEngine.to_literal(v, type(v), store=store))
            return lit
        generic = struct_pb2.Struct()
        generic.update(MessageToDict(value))
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=generic))

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        if not literal.scalar.HasField("generic"):
            raise FlyteTypeError(
                f"expected a struct literal for {python_type.__name__}, got {scalar_kind(literal)}. "
                "The value was produced for another type."
            )
        return ParseDict(MessageToDict(literal.scalar.generic), python_type())

    def describe(self, python_type: Any) -> str:
        return f"{python_type.__name__} (protobuf)"
