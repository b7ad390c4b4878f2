"""Dataclasses ⇄ msgpack ``Binary`` under a ``STRUCT`` type with JSON schema and ``dataclassType``.

This is flytekit 1.16's default dataclass format:

* LiteralType: ``simple=STRUCT``; ``metadata`` is mashumaro's ``build_json_schema(cls).to_dict()``;
  ``structure.dataclass_type`` maps each field to its LiteralType (fields with no Flyte type are left
  out, silently, as flytekit does); ``annotation`` is the msgpack cache-key annotation.
* Literal: mashumaro ``MessagePackEncoder(cls).encode(value)`` as a msgpack ``Binary``.
* Decoding accepts that Binary and the pre-1.14 ``scalar.generic`` Struct (whose numbers are all
  doubles, so int fields are converted back).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import (
    MSGPACK_ANNOTATION,
    binary_literal,
    decode_msgpack,
    is_instance_or_rerun,
    msgpack_decoder,
    msgpack_encoder,
    received,
    scalar_kind,
    struct_from,
)
from flyte_nb.core.types._data import converting_with, with_path_objects
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine, is_union
from flyte_nb.errors import FlyteTypeError, StorageError, UnsupportedTypeError

__all__ = ["DataclassTransformer", "struct_literal_type"]


def struct_literal_type(schema: dict[str, Any] | None, field_types: dict[str, Any]) -> types_pb2.LiteralType:
    """The STRUCT LiteralType flytekit gives dataclasses and pydantic models.

    Fields whose type has no LiteralType are dropped from ``dataclass_type`` (flytekit's behaviour).
    """
    lt = types_pb2.LiteralType(
        simple=types_pb2.STRUCT,
        annotation=types_pb2.TypeAnnotation(annotations=struct_from(MSGPACK_ANNOTATION)),
    )
    if schema is not None:
        lt.metadata.CopyFrom(struct_from(schema))
    lt.structure.SetInParent()
    for name, field_type in field_types.items():
        try:
            field_lt = TypeEngine.to_literal_type(field_type)
        except (FlyteTypeError, TypeError, ValueError):  # flytekit skips unmappable fields silently
            continue
        lt.structure.dataclass_type[name].CopyFrom(field_lt)
    return lt


def _fix_ints(python_type: Any, value: Any) -> Any:
    """Turn the doubles of a Struct back into ints where the dataclass declares int."""
    if value is None:
        return None
    if is_union(python_type):
        args = [a for a in typing.get_args(python_type) if a is not type(None)]
        python_type = args[0] if len(args) == 1 else Any
    if python_type is int and isinstance(value, float):
        return int(value)
    origin = typing.get_origin(python_type)
    if isinstance(value, list) and origin is list:
        (item,) = typing.get_args(python_type)
        return [_fix_ints(item, v) for v in value]
    if isinstance(value, dict) and origin is dict:
        _, vt = typing.get_args(python_type)
        return {k: _fix_ints(vt, v) for k, v in value.items()}
    if isinstance(value, dict) and dataclasses.is_dataclass(python_type):
        hints = typing.get_type_hints(python_type)
        return {k: _fix_ints(hints.get(k, Any), v) for k, v in value.items()}
    return value


class DataclassTransformer(TypeTransformer[Any]):
    """``@dataclass`` classes (mashumaro msgpack)."""

    name = "Object-Dataclass-Transformer"
    flyte_annotation_allowed = False

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and dataclasses.is_dataclass(python_type)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        schema: dict[str, Any] | None
        try:
            from mashumaro.jsonschema import build_json_schema

            schema = build_json_schema(python_type).to_dict()
        except Exception:  # noqa: BLE001 - mashumaro raises many types for what it cannot describe; flytekit goes on without a schema too
            schema = None
        hints = typing.get_type_hints(python_type)
        fields = {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(python_type)}
        return struct_literal_type(schema, fields)

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        import msgpack

        if type(value) is dict:  # flytekit lets a plain dict stand in for the dataclass
            return binary_literal(msgpack.dumps(value))
        if not (dataclasses.is_dataclass(type(value)) and is_instance_or_rerun(value, python_type)):
            raise FlyteTypeError(
                f"expected a {python_type.__name__} instance, got {received(value)}. "
                f"Build it with {python_type.__name__}(...)."
            )
        try:
            encoder = msgpack_encoder(python_type)
        except Exception as exc:
            raise FlyteTypeError(
                f"expected {python_type.__name__} to have fields msgpack can encode, got an error: {exc}. "
                "Give every field a Flyte-compatible type (int, str, list[T], nested dataclasses …)."
            ) from exc
        try:
            # Files, directories and datasets in fields convert through this call's store.
            with converting_with(store):
                return binary_literal(encoder.encode(with_path_objects(value, python_type)))
        except (FlyteTypeError, StorageError):
            raise
        except Exception as exc:
            raise FlyteTypeError(
                f"expected a {python_type.__name__} whose field values match their annotations, got "
                f"{received(value)}: {type(exc).__name__}: {exc}. Fix the field values."
            ) from exc

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        scalar = literal.scalar
        if scalar.HasField("binary"):
            with converting_with(store):  # files inside the dataclass read through the run's store
                return decode_msgpack(
                    literal,
                    python_type,
                    python_type.__name__,
                    "The dataclass changed since the value was written; make new fields optional.",
                )
        if scalar.HasField("generic"):
            from google.protobuf.json_format import MessageToDict
            from mashumaro.codecs.basic import decode

            data = _fix_ints(python_type, MessageToDict(scalar.generic))
            try:
                with converting_with(store):
                    return decode(data, python_type)
            except (FlyteTypeError, StorageError):
                raise
            except Exception as exc:
                raise FlyteTypeError(
                    f"expected a struct matching {python_type.__name__}, got {received(data)}: {exc}. "
                    "The dataclass changed since the value was written; make new fields optional."
                ) from exc
        raise FlyteTypeError(
            f"expected a msgpack binary or struct for {python_type.__name__}, got {scalar_kind(literal)}. "
            "The value was produced for another type."
        )

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return dict

    def describe(self, python_type: Any) -> str:
        return f"{python_type.__name__} (dataclass)"

    def validate(self, python_type: Any) -> None:
        try:
            msgpack_encoder(python_type)
            msgpack_decoder(python_type)
        except Exception as exc:
            raise UnsupportedTypeError(
                f"expected a dataclass whose fields msgpack can encode, got {python_type.__name__}: {exc}. "
                "Give every field a Flyte-compatible type (int, str, list[T], dict[str, T], nested "
                "dataclasses …); a field of an arbitrary class cannot be pickled inside a dataclass."
            ) from exc

    def is_pickled(self, python_type: Any) -> bool:
        return False
