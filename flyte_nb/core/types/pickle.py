"""The pickle fallback: ``typing.Any``, ``bytes`` and classes with no Flyte type as ``PythonPickle`` blobs.

A value is ``cloudpickle.dumps``-ed and written through the :class:`RawStore` at
``<raw prefix>/<random 32 hex>/<md5 of the bytes>``, the layout flytekit uses, so flytekit can read what
flyte_nb wrote and the other way round. A pickle is only readable by the same Python minor version with
the same libraries installed; interfaces mark pickled variables so this is never a surprise.
"""

from __future__ import annotations

import hashlib
import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, scalar_kind, struct_from
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError

__all__ = ["PICKLE_FORMAT", "PickleTransformer", "read_pickle", "write_pickle"]

#: The blob format flytekit uses for pickled values.
PICKLE_FORMAT = "PythonPickle"


def write_pickle(value: Any, store: RawStore) -> str:
    """Pickle ``value`` into ``store``; return its URI ``<raw>/<hex32>/<md5>``."""
    import cloudpickle

    try:
        data = cloudpickle.dumps(value)
    except Exception as exc:
        raise FlyteTypeError(
            f"expected a picklable value, got {received(value)}: {type(exc).__name__}: {exc}. "
            "Give it a Flyte type (dataclass, list, dict …) or make it picklable."
        ) from exc
    uri = store.new_uri(hashlib.md5(data).hexdigest())
    store.write_bytes(uri, data)
    return uri


def read_pickle(uri: str, store: RawStore) -> Any:
    """Load the pickle at ``uri`` from ``store``."""
    import cloudpickle

    data = store.read_bytes(uri)
    try:
        return cloudpickle.loads(data)
    except Exception as exc:
        raise FlyteTypeError(
            f"expected a readable pickle at {uri!r}, got an error: {type(exc).__name__}: {exc}. "
            "Pickles need the same Python minor version and the same libraries as the writer."
        ) from exc


def _class_name(python_type: Any) -> str:
    if python_type is typing.Any:
        return "Any"
    return getattr(python_type, "__name__", None) or str(python_type)


class PickleTransformer(TypeTransformer[Any]):
    """Anything without a Flyte type ⇄ ``Blob{format: PythonPickle}``."""

    name = "FlytePickle"

    def handles(self, python_type: Any) -> bool:
        return True

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(
            blob=types_pb2.BlobType(format=PICKLE_FORMAT, dimensionality=types_pb2.BlobType.SINGLE),
            metadata=struct_from({"python_class_name": str(python_type)}),
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if value is None:
            raise FlyteTypeError(
                f"expected a value to pickle for {self.describe(python_type)}, got None (NoneType). "
                "None cannot be pickled as a Flyte value: annotate it as Optional[...] to allow None."
            )
        uri = write_pickle(value, store)
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                blob=literals_pb2.Blob(
                    metadata=literals_pb2.BlobMetadata(type=types_pb2.BlobType(format=PICKLE_FORMAT)),
                    uri=uri,
                )
            )
        )

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        if not literal.scalar.HasField("blob"):
            raise FlyteTypeError(
                f"expected a PythonPickle blob for {self.describe(python_type)}, got {scalar_kind(literal)}. "
                "The value was produced for another type."
            )
        return read_pickle(literal.scalar.blob.uri, store)

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return typing.Any

    def describe(self, python_type: Any) -> str:
        return f"pickle ({_class_name(python_type)})"

    def is_pickled(self, python_type: Any) -> bool:
        return True
