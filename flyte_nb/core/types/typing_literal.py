"""``typing.Literal["a", "b"]`` ⇄ the values' simple type, with the allowed values as an annotation."""

from __future__ import annotations

import datetime as _dt
import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, struct_from
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError

__all__ = ["LiteralValuesTransformer"]

_SIMPLE = {
    str: types_pb2.STRING,
    int: types_pb2.INTEGER,
    float: types_pb2.FLOAT,
    bool: types_pb2.BOOLEAN,
    _dt.datetime: types_pb2.DATETIME,
    _dt.timedelta: types_pb2.DURATION,
}


def _base_type(python_type: Any) -> type:
    values = typing.get_args(python_type)
    base = type(values[0])
    if any(type(v) is not base for v in values) or base not in _SIMPLE:
        raise UnsupportedTypeError(
            f"expected a typing.Literal whose values share one of the types str/int/float/bool, got "
            f"{python_type!r} with types {sorted({type(v).__name__ for v in values})}. "
            "Split it into a Union of Literals or use an Enum."
        )
    return base


class LiteralValuesTransformer(TypeTransformer[Any]):
    """``typing.Literal[...]`` (values of one simple type)."""

    name = "LiteralTypeTransformer"

    def handles(self, python_type: Any) -> bool:
        return typing.get_origin(python_type) is typing.Literal

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        base = _base_type(python_type)
        return types_pb2.LiteralType(
            simple=_SIMPLE[base],
            annotation=types_pb2.TypeAnnotation(
                annotations=struct_from({"literal_values": list(typing.get_args(python_type))})
            ),
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        allowed = typing.get_args(python_type)
        if value not in allowed or type(value) is not _base_type(python_type):
            raise FlyteTypeError(
                f"expected one of {list(allowed)}, got {received(value)}. Pass one of the allowed values."
            )
        return TypeEngine.to_literal(value, _base_type(python_type), store=store)

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        return TypeEngine.to_python_value(literal, _base_type(python_type), store=store)

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        values = literal_type.annotation.annotations.fields["literal_values"].list_value
        from google.protobuf.json_format import MessageToDict

        return typing.Literal[tuple(MessageToDict(values))]

    def describe(self, python_type: Any) -> str:
        return "Literal[" + ", ".join(repr(v) for v in typing.get_args(python_type)) + "]"
