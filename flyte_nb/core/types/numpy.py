"""``numpy.ndarray`` ⇄ a ``NumpyArray`` blob (an ``.npy`` file written with ``np.save``).

numpy is imported only when this transformer runs, which happens only for ndarray annotations (so numpy
is already loaded). The array is serialised in memory and written through the RawStore at
``<raw>/<hex32>/<hex32>.npy``, flytekit's layout; a MemoryStore therefore never touches disk.
``Annotated[np.ndarray, {"allow_pickle": True}]`` allows object arrays, as in flytekit.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, scalar_kind, strip_annotated
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError

__all__ = ["NUMPY_FORMAT", "NumpyArrayTransformer"]

#: The blob format flytekit uses for arrays.
NUMPY_FORMAT = "NumpyArray"


def _options(python_type: Any) -> dict[str, Any]:
    _, metadata = strip_annotated(python_type)
    out: dict[str, Any] = {}
    for m in metadata:
        if isinstance(m, dict):
            out.update(m)
    return out


def _npy_bytes(value: Any, *, allow_pickle: bool) -> bytes:
    """The ``.npy`` file ``np.save`` writes for ``value``, made with a single copy of the data.

    ``np.save`` into a ``BytesIO`` copies a large array three times (chunks, buffer growth, ``getvalue``);
    for the common case (a contiguous array of plain values) the header is written by numpy's own
    format module and the data is joined to it in one copy, giving the same bytes.
    """
    import numpy as np
    from numpy.lib import format as npy

    if not value.dtype.hasobject and (value.flags.c_contiguous or value.flags.f_contiguous):
        header = io.BytesIO()
        try:
            # np.save writes format 1.0 whenever the header fits it; otherwise fall through to np.save.
            npy.write_array_header_1_0(header, npy.header_data_from_array_1_0(value))
        except ValueError:
            pass
        else:
            # A C-ordered view of the memory as it is (an F-ordered array is stored transposed).
            body = value if value.flags.c_contiguous else value.T
            return b"".join((header.getbuffer(), body.reshape(-1).view(np.uint8)))
    buf = io.BytesIO()
    try:
        np.save(buf, value, allow_pickle=allow_pickle)
    except ValueError as exc:
        raise FlyteTypeError(
            f"expected an array without Python objects, got dtype {value.dtype}: {exc}. "
            "Use a numeric dtype, or annotate it as Annotated[np.ndarray, {'allow_pickle': True}]."
        ) from exc
    return buf.getvalue()


def _from_npy_bytes(data: bytes) -> Any:
    """The array in ``.npy`` bytes with one copy (``np.load`` makes three), or ``None`` for object
    arrays and header versions numpy's public readers do not cover (``np.load`` handles those)."""
    import numpy as np
    from numpy.lib import format as npy

    fp = io.BytesIO(data)
    try:
        version = npy.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(fp)
        else:
            return None
    except ValueError:
        return None
    if dtype.hasobject:
        return None
    count = 1
    for n in shape:
        count *= n
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=fp.tell())
    array = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return array.copy(order="K")  # writable and independent of the stored bytes, as np.load returns


class NumpyArrayTransformer(TypeTransformer[Any]):
    """``np.ndarray`` ⇄ ``Blob{format: NumpyArray}``."""

    name = "Numpy Array"
    wants_annotated = True

    def handles(self, python_type: Any) -> bool:
        import sys

        np = sys.modules.get("numpy")
        return np is not None and isinstance(python_type, type) and issubclass(python_type, np.ndarray)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(
            blob=types_pb2.BlobType(format=NUMPY_FORMAT, dimensionality=types_pb2.BlobType.SINGLE)
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        import numpy as np

        if not isinstance(value, np.ndarray):
            raise FlyteTypeError(f"expected a numpy.ndarray, got {received(value)}. Pass np.asarray(value).")
        data = _npy_bytes(value, allow_pickle=bool(_options(python_type).get("allow_pickle", False)))
        uri = store.new_uri(f"{uuid.uuid4().hex}.npy")
        store.write_bytes(uri, data)
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                blob=literals_pb2.Blob(
                    metadata=literals_pb2.BlobMetadata(type=self.get_literal_type(python_type).blob), uri=uri
                )
            )
        )

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        import numpy as np

        if not literal.scalar.HasField("blob"):
            raise FlyteTypeError(
                f"expected a NumpyArray blob, got {scalar_kind(literal)}. The value was produced for another type."
            )
        opts = _options(python_type)
        data = store.read_bytes(literal.scalar.blob.uri)
        array = _from_npy_bytes(data)
        if array is not None:
            return array
        return np.load(io.BytesIO(data), allow_pickle=bool(opts.get("allow_pickle", False)))

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        import numpy as np

        return np.ndarray

    def describe(self, python_type: Any) -> str:
        return "ndarray"
