"""Small helpers shared by the transformer modules: Annotated unwrapping, literal building, messages."""

from __future__ import annotations

import reprlib
import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict

from flyte_nb.core.memo import bounded_memo
from flyte_nb.errors import FlyteNbError, FlyteTypeError

__all__ = [
    "CACHE_KEY_METADATA",
    "MSGPACK",
    "MSGPACK_ANNOTATION",
    "binary_literal",
    "decode_msgpack",
    "is_instance_or_rerun",
    "msgpack_bytes",
    "msgpack_decoder",
    "msgpack_encoder",
    "not_utf8",
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


class _ShortRepr(reprlib.Repr):
    def repr_instance(self, x: Any, level: int) -> str:
        try:
            text = repr(x)
        except Exception:  # noqa: BLE001 - a user's __repr__ can raise anything; the error message must still be written
            return f"<{type(x).__name__} object whose repr() failed>"
        return text if len(text) <= self.maxother else text[: self.maxother - 3] + "..."


def _short_repr() -> reprlib.Repr:
    short = _ShortRepr()
    # Depth-limited, so a deeply nested value cannot exhaust the stack while its error is being written;
    # wide enough that ordinary values read as their plain repr.
    short.maxlevel = 6
    short.maxlist = short.maxtuple = short.maxset = short.maxfrozenset = short.maxdeque = 20
    short.maxdict = 20
    short.maxstring = short.maxother = short.maxlong = 100
    return short


_SHORT_REPR = _short_repr()


def received(value: Any) -> str:
    """``'3' (str)``: a value and its type, shortened so a message stays one readable line.

    Never raises: a value whose ``__repr__`` fails (or recurses without end) is shown by its type.
    """
    try:
        text = _SHORT_REPR.repr(value)
    except Exception:  # noqa: BLE001 - a user's __repr__ can raise anything; the error message must still be written
        text = f"<{type(value).__name__} object whose repr() failed>"
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def not_utf8(value: str, exc: UnicodeEncodeError, what: str = "str") -> FlyteTypeError:
    """The error for a str Flyte cannot carry: it holds a lone surrogate (e.g. from bytes decoded with
    ``surrogateescape``), which UTF-8, and so protobuf, cannot encode."""
    bad = value[exc.start : exc.end]
    return FlyteTypeError(
        f"expected a {what} that is valid Unicode (Flyte strings are UTF-8), got {received(value)}, which "
        f"holds the lone surrogate {bad!r} at index {exc.start}. Pass the text without it, e.g. "
        "s.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace'), or the raw bytes as a file."
    )


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


# mashumaro codecs per type: building one generates code (milliseconds), using it is fast. Bounded, as
# the engine's memo is (flyte_nb.core.memo): re-run @dataclass cells make new classes.
@bounded_memo(256)
def msgpack_encoder(python_type: Any) -> Any:
    """The mashumaro msgpack encoder of ``python_type`` (as flytekit builds it)."""
    from mashumaro.codecs.msgpack import MessagePackEncoder

    return MessagePackEncoder(python_type)


@bounded_memo(256)
def msgpack_decoder(python_type: Any) -> Any:
    """The mashumaro msgpack decoder of ``python_type`` (lenient about map keys, as flytekit)."""
    import msgpack
    from mashumaro.codecs.msgpack import MessagePackDecoder

    return MessagePackDecoder(python_type, pre_decoder_func=lambda b: msgpack.loads(b, strict_map_key=False))


def msgpack_bytes(literal: literals_pb2.Literal, what: str) -> bytes:
    """The bytes of a msgpack ``Binary`` literal; a binary in another format is refused, naming ``what``."""
    binary = literal.scalar.binary
    if binary.tag != MSGPACK:
        raise FlyteTypeError(
            f"expected a msgpack binary for {what}, got binary tag {binary.tag!r}. "
            "Only the 'msgpack' format is supported."
        )
    return binary.value


def decode_msgpack(literal: literals_pb2.Literal, python_type: Any, what: str, fix: str) -> Any:
    """Decode a msgpack ``Binary`` literal into ``python_type`` with mashumaro, as flytekit does.

    Raises
    ------
    FlyteTypeError
        The binary is not msgpack, or its data does not fit ``python_type``; the message names ``what``
        (e.g. the dataclass), the decoder's own error, and ``fix``.
    """
    data = msgpack_bytes(literal, what)
    try:
        return msgpack_decoder(python_type).decode(data)
    except FlyteNbError:  # a value inside (a file field that cannot be read…) said what went wrong
        raise
    except Exception as exc:  # mashumaro and msgpack raise many types for data that does not fit
        raise FlyteTypeError(f"expected msgpack data for {what}, decoding failed: {exc}. {fix}") from exc


def scalar_kind(literal: literals_pb2.Literal) -> str:
    """A short name of what a literal holds (``primitive.integer``, ``collection``, ``binary``…) for messages."""
    kind = literal.WhichOneof("value")
    if kind != "scalar":
        return kind or "an empty literal"
    sk = literal.scalar.WhichOneof("value")
    if sk == "primitive":
        return f"primitive.{literal.scalar.primitive.WhichOneof('value')}"
    return sk or "an empty scalar"
