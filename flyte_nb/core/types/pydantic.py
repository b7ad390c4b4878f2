"""pydantic v2 ``BaseModel`` ⇄ msgpack ``Binary`` (flytekit's built-in pydantic transformer).

Used only when pydantic is already imported (an annotation that is a pydantic model implies it is):
this module is imported lazily and never imports pydantic itself. The value goes through
``model_dump_json`` (JSON mode: datetimes with ``Z``, timedeltas as ISO durations, enums as values) and
is then msgpack-encoded; the schema in ``metadata`` is ``model_json_schema()``.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import (
    binary_literal,
    is_instance_or_rerun,
    msgpack_bytes,
    received,
    scalar_kind,
)
from flyte_nb.core.types._data import converting_with
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.dataclass import struct_literal_type
from flyte_nb.errors import FlyteTypeError, StorageError

__all__ = ["PydanticTransformer"]


class PydanticTransformer(TypeTransformer[Any]):
    """pydantic v2 models."""

    name = "Pydantic Transformer"

    def handles(self, python_type: Any) -> bool:
        import sys

        pydantic = sys.modules.get("pydantic")
        return (
            pydantic is not None
            and isinstance(python_type, type)
            and issubclass(python_type, pydantic.BaseModel)
        )

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        fields = {name: info.annotation for name, info in python_type.model_fields.items()}
        return struct_literal_type(python_type.model_json_schema(), fields)

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if not (hasattr(value, "model_dump_json") and is_instance_or_rerun(value, python_type)):
            raise FlyteTypeError(
                f"expected a {python_type.__name__} instance, got {received(value)}. "
                f"Build it with {python_type.__name__}(...) or {python_type.__name__}.model_validate(...)."
            )
        with converting_with(store):  # files, directories and datasets in fields use this call's store
            return binary_literal(msgpack.dumps(json.loads(value.model_dump_json())))

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        scalar = literal.scalar
        if scalar.HasField("binary"):
            text = json.dumps(
                msgpack.loads(msgpack_bytes(literal, python_type.__name__), strict_map_key=False)
            )
        elif scalar.HasField("generic"):
            from google.protobuf.json_format import MessageToJson

            text = MessageToJson(scalar.generic)
        else:
            raise FlyteTypeError(
                f"expected a msgpack binary or struct for {python_type.__name__}, got {scalar_kind(literal)}. "
                "The value was produced for another type."
            )
        try:
            with converting_with(store):
                return python_type.model_validate_json(text, strict=False, context={"deserialize": True})
        except (FlyteTypeError, StorageError):
            raise
        except Exception as exc:
            raise FlyteTypeError(
                f"expected data valid for {python_type.__name__}, validation failed: {exc}. "
                "The model changed since the value was written; make new fields optional."
            ) from exc

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return dict

    def describe(self, python_type: Any) -> str:
        return f"{python_type.__name__} (pydantic)"
