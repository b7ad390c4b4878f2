"""Small helpers shared by the transformer modules: Annotated unwrapping, literal building, messages."""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict

__all__ = [
    "CACHE_KEY_METADATA",
    "MSGPACK",
    "MSGPACK_ANNOTATION",
    "binary_literal",
    "is_instance_or_rerun",
    "received",
    "scalar_kind",
    "strip_annotated",
    "struct_from",
    "with_tag",
]

#: The binary tag flytekit writes for msgpack-encoded values.
MSGPACK = "msgpack"
#: The LiteralType annotation key Flyte reads when computing cache keys.
CACHE_KEY_METADATA = "cache-key-metadata"
#: ``{"cache-key-metadata": {"serialization-format": "msgpack"}}`` as flytekit puts it on STRUCT types.
MSGPACK_ANNOTATION: dict[str, Any] = {CACHE_KEY_METADATA: {"serialization-format": MSGPACK}}

_ANNOTATED = type(typing.Annotated[int, "x"])


def strip_annotated(python_type: Any) -> tuple[Any, tuple[Any, ...]]:
    """``(T, metadata)`` for ``Annotated[T, *metadata]``; ``(python_type, ())`` otherwise."""
    if type(python_type) is _ANNOTATED:
        return getattr(python_type, "__origin__"), getattr(python_type, "__metadata__")  # noqa: B009
    return python_type, ()


def is_instance_or_rerun(value: Any, cls: type) -> bool:
    """``isinstance(value, cls)``, or ``value``'s class is an earlier definition of ``cls``.

    Re-running a notebook cell redefines its classes; values made before still have the right shape,
    and refusing them would be a notebook-only failure that a cluster never shows.
    """
    if isinstance(value, cls):
        return True
    t = type(value)
    return t.__qualname__ == cls.__qualname__ and t.__module__ == cls.__module__


def received(value: Any) -> str:
    """``'3' (str)``: a value and its type, shortened so a message stays one readable line."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def struct_from(data: dict[str, Any]) -> struct_pb2.Struct:
    """A protobuf ``Struct`` holding ``data`` (numbers become doubles, as on the wire)."""
    out = struct_pb2.Struct()
    ParseDict(data, out)
    return out


def with_tag(literal_type: types_pb2.LiteralType, tag: str) -> types_pb2.LiteralType:
    """A copy of ``literal_type`` whose ``structure`` is replaced by ``{tag}`` (union variants do this)."""
    out = types_pb2.LiteralType()
    out.CopyFrom(literal_type)
    out.structure.Clear()
    out.structure.tag = tag
    return out


def binary_literal(data: bytes) -> literals_pb2.Literal:
    """``{"scalar": {"binary": {"value": data, "tag": "msgpack"}}}``."""
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=data, tag=MSGPACK))
    )


def scalar_kind(literal: literals_pb2.Literal) -> str:
    """A short name of what a literal holds (``primitive.integer``, ``collection``, ``binary``…) for messages."""
    kind = literal.WhichOneof("value")
    if kind != "scalar":
        return kind or "an empty literal"
    sk = literal.scalar.WhichOneof("value")
    if sk == "primitive":
        return f"primitive.{literal.scalar.primitive.WhichOneof('value')}"
    return sk or "an empty scalar"
