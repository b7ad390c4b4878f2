"""Untyped ``dict`` (also ``typing.Dict`` and ``Dict[K, V]`` with non-str keys) ⇄ msgpack ``Binary``.

The LiteralType is ``STRUCT`` with the ``cache-key-metadata`` annotation; the value is encoded with
mashumaro's ``MessagePackEncoder`` for the annotation, so int keys stay ints and key order is kept.
Decoding also accepts the pre-1.14 formats: a ``Struct`` in ``scalar.generic`` (``{"format": "json"}``)
and the pickled form ``{"pickle_file": uri}`` that ``Annotated[dict, {"allow_pickle": True}]`` writes.
"""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import (
    MSGPACK_ANNOTATION,
    binary_literal,
    decode_msgpack,
    msgpack_encoder,
    received,
    scalar_kind,
    strip_annotated,
    struct_from,
)
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError

__all__ = ["UntypedDictTransformer"]


def _allow_pickle(metadata: tuple[Any, ...]) -> bool:
    # flytekit's kwtypes(allow_pickle=True) is an OrderedDict inside Annotated.
    return any(isinstance(m, dict) and m.get("allow_pickle") is True for m in metadata)


class UntypedDictTransformer(TypeTransformer[dict[Any, Any]]):
    """``dict`` with no (or non-str) key type ⇄ msgpack ``Binary`` under a STRUCT type."""

    name = "Typed Dict"
    wants_annotated = True

    def handles(self, python_type: Any) -> bool:
        if python_type is dict:
            return True
        args = typing.get_args(python_type)
        return typing.get_origin(python_type) is dict and (not args or args[0] is not str)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(
            simple=types_pb2.STRUCT,
            annotation=types_pb2.TypeAnnotation(annotations=struct_from(MSGPACK_ANNOTATION)),
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        inner, metadata = strip_annotated(python_type)
        if type(value) is not dict:
            raise FlyteTypeError(f"expected {self.describe(inner)}, got {received(value)}. Pass a dict.")
        try:
            return binary_literal(msgpack_encoder(inner).encode(value))
        except Exception as exc:
            if _allow_pickle(metadata):
                return self._pickled(value, store)
            raise FlyteTypeError(
                f"expected a dict msgpack can encode (str/int/float/bool/None, lists and dicts of them), got "
                f"{received(value)}: {exc}. Use dict[str, T] with a Flyte type T, or "
                "Annotated[dict, {'allow_pickle': True}] to pickle it."
            ) from exc

    @staticmethod
    def _pickled(value: Any, store: RawStore) -> literals_pb2.Literal:
        from flyte_nb.core.types.pickle import write_pickle

        lit = literals_pb2.Literal(
            scalar=literals_pb2.Scalar(generic=struct_from({"pickle_file": write_pickle(value, store)}))
        )
        lit.metadata["format"] = "pickle"
        return lit

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        inner, _ = strip_annotated(python_type)
        scalar = literal.scalar
        if scalar.HasField("binary"):
            return decode_msgpack(
                literal, inner, self.describe(inner), "Declare the input with the type the producer wrote."
            )
        if scalar.HasField("generic"):
            from google.protobuf.json_format import MessageToDict

            if literal.metadata.get("format") == "pickle":
                from flyte_nb.core.types.pickle import read_pickle

                return read_pickle(scalar.generic.fields["pickle_file"].string_value, store)
            return MessageToDict(scalar.generic)
        raise FlyteTypeError(
            f"expected a msgpack binary or struct literal for {self.describe(inner)}, got "
            f"{scalar_kind(literal)}. The value was produced for another type."
        )

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return dict

    def describe(self, python_type: Any) -> str:
        inner, _ = strip_annotated(python_type)
        args = typing.get_args(inner)
        if args:
            names = [a.__name__ if isinstance(a, type) else str(a) for a in args]
            return f"dict[{', '.join(names)}]"
        return "dict"
