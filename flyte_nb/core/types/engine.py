"""``TypeEngine``: dispatch from a Python type to its transformer.

PLACEHOLDER (skeleton): only int/float/str/bool/NoneType are wired here; the full engine replaces this.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import LocalStore, RawStore
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError

__all__ = ["TypeEngine"]


@functools.cache
def default_store() -> RawStore:
    """The store used when a caller passes none: local files under a temp dir made on first use."""
    return LocalStore()


class _Simple(TypeTransformer[Any]):
    def __init__(self, py: type, name: str, simple: int, field: str) -> None:
        self.py, self.name, self.simple, self.field = py, name, simple, field

    def handles(self, python_type: Any) -> bool:
        return python_type is self.py

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(simple=self.simple)

    def to_literal(self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore) -> literals_pb2.Literal:
        if type(value) is not self.py:
            raise FlyteTypeError(f"Expected value of type {self.py.__name__}, got {value!r} ({type(value).__name__}).")
        if self.py is type(None):
            return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(**{self.field: value})))

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        if self.py is type(None):
            return None
        return getattr(literal.scalar.primitive, self.field)


_TRANSFORMERS: list[TypeTransformer[Any]] = [
    _Simple(int, "int", types_pb2.INTEGER, "integer"),
    _Simple(float, "float", types_pb2.FLOAT, "float_value"),
    _Simple(str, "str", types_pb2.STRING, "string_value"),
    _Simple(bool, "bool", types_pb2.BOOLEAN, "boolean"),
    _Simple(type(None), "none", types_pb2.NONE, ""),
]


class TypeEngine:
    """Converts between Python values/types and Flyte literals/literal types."""

    @classmethod
    def get_transformer(cls, python_type: Any) -> TypeTransformer[Any]:
        if python_type is None:
            python_type = types.NoneType
        for t in _TRANSFORMERS:
            if t.handles(python_type):
                return t
        raise FlyteTypeError(f"No transformer for {python_type!r}")

    @classmethod
    def to_literal_type(cls, python_type: Any) -> types_pb2.LiteralType:
        return cls.get_transformer(python_type).get_literal_type(python_type)

    @classmethod
    def to_literal(cls, python_value: Any, python_type: Any, *, store: RawStore | None = None) -> literals_pb2.Literal:
        t = cls.get_transformer(python_type)
        return t.to_literal(python_value, python_type, t.get_literal_type(python_type), store or default_store())

    @classmethod
    def to_python_value(cls, literal: literals_pb2.Literal, python_type: Any, *, store: RawStore | None = None) -> Any:
        return cls.get_transformer(python_type).to_python_value(literal, python_type, store or default_store())

    @classmethod
    def to_literal_map(cls, values: Mapping[str, Any], python_types: Mapping[str, Any], *, store: RawStore | None = None) -> literals_pb2.LiteralMap:
        lm = literals_pb2.LiteralMap()
        for k, v in values.items():
            lm.literals[k].CopyFrom(cls.to_literal(v, python_types[k], store=store))
        return lm

    @classmethod
    def literal_map_to_python(cls, literal_map: literals_pb2.LiteralMap, python_types: Mapping[str, Any], *, store: RawStore | None = None) -> dict[str, Any]:
        return {k: cls.to_python_value(v, python_types[k], store=store) for k, v in literal_map.literals.items()}
