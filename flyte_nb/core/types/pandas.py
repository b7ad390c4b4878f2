"""``pandas.DataFrame`` ⇄ a ``StructuredDataset`` (a directory holding one parquet file named ``00000``).

pandas (and pyarrow, for parquet) are imported only when this transformer runs, i.e. for DataFrame
annotations. As in flytekit:

* ``Annotated[pd.DataFrame, {"a": int, "b": str}]`` declares columns (they go into the LiteralType and
  are copied into every literal; decoding reads only those columns);
* a ``str`` in the ``Annotated`` arguments sets the LiteralType's format, but a DataFrame value is always
  written as parquet and its literal says ``"parquet"``.

The parquet bytes are made in memory and written through the RawStore at ``<raw>/<hex32>/00000``.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, scalar_kind, strip_annotated
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError

__all__ = ["DataFrameTransformer"]

PARQUET = "parquet"
#: The single file inside a dataset directory (flytekit's ``f"{0:05}"``).
PART_NAME = "00000"


def _pandas() -> Any:
    # Imported by name so type checkers need no pandas stubs; only reached for DataFrame annotations.
    return importlib.import_module("pandas")


def _columns_and_format(python_type: Any) -> tuple[dict[str, Any], str]:
    _, metadata = strip_annotated(python_type)
    columns: dict[str, Any] = {}
    fmt = ""
    for m in metadata:
        if isinstance(m, str):
            if fmt:
                raise UnsupportedTypeError(
                    f"expected at most one format in {python_type!r}, got {fmt!r} and {m!r}. Keep one."
                )
            fmt = m
        elif isinstance(m, dict):
            columns = dict(m)
        elif hasattr(m, "__annotations__") and isinstance(m, type):  # a dataclass/TypedDict of columns
            columns = dict(m.__annotations__)
    return columns, fmt


def _dataset_type(python_type: Any) -> types_pb2.StructuredDatasetType:
    from flyte_nb.core.types.engine import TypeEngine

    columns, fmt = _columns_and_format(python_type)
    out = types_pb2.StructuredDatasetType(format=fmt)
    for name, col_type in columns.items():
        out.columns.add(name=name, literal_type=TypeEngine.to_literal_type(col_type))
    return out


class DataFrameTransformer(TypeTransformer[Any]):
    """``pd.DataFrame`` (optionally ``Annotated`` with columns and format) ⇄ StructuredDataset."""

    name = "StructuredDataset Transformer"
    wants_annotated = True

    def handles(self, python_type: Any) -> bool:
        import sys

        pd = sys.modules.get("pandas")
        inner, _ = strip_annotated(python_type)
        return pd is not None and isinstance(inner, type) and issubclass(inner, pd.DataFrame)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(structured_dataset_type=_dataset_type(python_type))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        pd = _pandas()

        if not isinstance(value, pd.DataFrame):
            raise FlyteTypeError(
                f"expected a pandas.DataFrame, got {received(value)}. Pass pd.DataFrame(value)."
            )
        buf = io.BytesIO()
        try:
            value.to_parquet(buf, coerce_timestamps="us", allow_truncated_timestamps=False)
        except Exception as exc:
            raise FlyteTypeError(
                f"expected a DataFrame parquet can store, got one that failed: {type(exc).__name__}: {exc}. "
                "Use str column names and columns of plain dtypes."
            ) from exc
        uri = store.new_uri()
        # getvalue() hands over BytesIO's own buffer; getbuffer() would make the store copy it again.
        store.write_bytes(f"{uri}/{PART_NAME}", buf.getvalue())
        sd_type = _dataset_type(python_type)
        sd_type.format = PARQUET  # the value's own format, whatever the annotation says
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                structured_dataset=literals_pb2.StructuredDataset(
                    uri=uri,
                    metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=sd_type),
                )
            )
        )

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        pd = _pandas()

        if not literal.scalar.HasField("structured_dataset"):
            raise FlyteTypeError(
                f"expected a structured dataset literal for a DataFrame, got {scalar_kind(literal)}. "
                "The value was produced for another type."
            )
        sd = literal.scalar.structured_dataset
        fmt = sd.metadata.structured_dataset_type.format or PARQUET
        if fmt != PARQUET:
            raise FlyteTypeError(
                f"expected a parquet dataset, got format {fmt!r} at {sd.uri!r}. "
                "Only parquet datasets can be read into a DataFrame here."
            )
        uri = sd.uri.rstrip("/")
        try:
            data = store.read_bytes(f"{uri}/{PART_NAME}")
        except OSError:
            data = store.read_bytes(uri)  # a dataset given as a single parquet file
        columns = list(_columns_and_format(python_type)[0]) or None
        return pd.read_parquet(io.BytesIO(data), columns=columns)

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        pd = _pandas()

        return pd.DataFrame

    def describe(self, python_type: Any) -> str:
        return "dataframe"
