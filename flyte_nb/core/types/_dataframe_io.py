"""Writing a DataFrame as a dataset directory and reading one back, as flytekit's pandas handlers do.

A parquet dataset is a directory holding one file named ``00000`` (flytekit's writer; readers also take
several part files, or a single parquet file as the URI); a csv dataset holds one file named ``.csv``.
Local data is read where it is; anything else through the store (an in-memory store, fsspec, a data
proxy that can read single objects but not list them). pandas and pyarrow are imported here only.
"""

from __future__ import annotations

import importlib
import io
import os
from dataclasses import dataclass
from typing import Any

from flyteidl.core import literals_pb2

from flyte_nb.core import uris
from flyte_nb.core.storage import BaseStore
from flyte_nb.errors import FlyteTypeError, StorageError

__all__ = [
    "CSV",
    "PARQUET",
    "DatasetHead",
    "check_columns",
    "pandas_module",
    "read_dataframe",
    "read_head",
    "write_dataframe",
]

PARQUET = "parquet"
CSV = "csv"
#: The single parquet file inside a dataset directory (flytekit's ``f"{0:05}"``) and the csv one.
PARQUET_PART = "00000"
CSV_PART = ".csv"


def pandas_module() -> Any:
    # Imported by name so type checkers need no pandas stubs; only reached when data is read or written.
    return importlib.import_module("pandas")


def write_dataframe(df: Any, fmt: str, store: BaseStore) -> str:
    """Write ``df`` as a new dataset directory in ``store``; return its URI."""
    uri = store.new_uri()
    try:
        if fmt == CSV:
            with store.open(uris.join(uri, CSV_PART), "wb") as fh:
                df.to_csv(fh, index=False)
        else:
            with store.open(uris.join(uri, PARQUET_PART), "wb") as fh:
                df.to_parquet(fh, coerce_timestamps="us", allow_truncated_timestamps=False)
    except StorageError:
        raise
    except Exception as exc:  # pyarrow/pandas refuse many column kinds, each with its own class
        raise FlyteTypeError(
            f"expected a DataFrame {fmt} can store, got one that failed: {type(exc).__name__}: {exc}. "
            "Use str column names and columns of plain dtypes."
        ) from exc
    return uri


def check_columns(have: list[str], want: list[str], where: str) -> None:
    missing = [c for c in want if c not in have and "." not in c]
    if missing:
        raise FlyteTypeError(
            f"expected the declared columns {want}, got {where} without {missing} (it has {have}). Pass data "
            "with these columns, or declare only the columns the data has."
        )


def _sources(uri: str, part: str, store: BaseStore) -> list[Any]:
    """What pandas reads for the dataset at ``uri``: a local path, or the bytes of each data file."""
    local = uris.local_path(uri) if store.is_local(uri) else None
    if local is not None:
        if os.path.isdir(local) and part == CSV_PART:
            return [os.path.join(local, CSV_PART)]
        if not os.path.exists(local):
            raise StorageError(f"Could not read {uri!r}: no dataset is there.")
        return [local]
    try:
        files = [f for f in store.list_files(uri) if not f.rsplit("/", 1)[-1].startswith(("_", "."))]
        if part == CSV_PART:
            files = [CSV_PART]
    except StorageError:
        files = [part]  # a store that cannot list (a data proxy) still reads flytekit's layout
    if not files:
        return [io.BytesIO(store.read_bytes(uri))]  # a dataset given as a single file
    return [io.BytesIO(store.read_bytes(uris.join(uri, f))) for f in files]


def _readable_format(sd: literals_pb2.StructuredDataset) -> str:
    """The dataset's format, parquet or csv (the two flyte_nb reads as DataFrames)."""
    fmt = sd.metadata.structured_dataset_type.format or PARQUET
    if fmt not in (PARQUET, CSV):
        raise FlyteTypeError(
            f"expected a parquet or csv dataset, got format {fmt!r} at {sd.uri!r}. Read it as a "
            "StructuredDataset and open it with the library that wrote it."
        )
    return fmt


def read_dataframe(sd: literals_pb2.StructuredDataset, columns: list[str], store: BaseStore) -> Any:
    """The DataFrame stored in ``sd`` with only ``columns`` (all of them when empty)."""
    pd = pandas_module()
    fmt = _readable_format(sd)
    sources = _sources(sd.uri.rstrip("/") or sd.uri, CSV_PART if fmt == CSV else PARQUET_PART, store)
    if fmt == CSV:
        frames = []
        for src in sources:
            if columns:
                check_columns(list(pd.read_csv(src, nrows=0).columns), columns, f"the csv dataset {sd.uri!r}")
                if isinstance(src, io.BytesIO):
                    src.seek(0)
            frames.append(pd.read_csv(src, usecols=columns or None))
    else:
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        if columns:
            first = sources[0]
            names = (
                ds.dataset(first, format="parquet").schema.names
                if isinstance(first, str)
                else pq.read_schema(first).names
            )
            check_columns(names, columns, f"the dataset {sd.uri!r}")
        frames = []
        for src in sources:
            if isinstance(src, io.BytesIO):
                src.seek(0)
            frames.append(pd.read_parquet(src, columns=columns or None))
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return frame[columns] if columns else frame


# ---- the start of a dataset, for previews ----------------------------------------------------------

#: Bytes of a csv dataset read to find its first rows.
CSV_HEAD_BYTES = 256 * 1024
#: pyarrow's read buffer for the column chunks of a dataset's first rows.
PARQUET_READ_BUFFER = 64 * 1024


@dataclass(frozen=True)
class DatasetHead:
    """The start of a dataset, read without reading the rest of it.

    Attributes
    ----------
    columns:
        ``(name, type)`` of every stored column, the type as the file stores it (arrow's, or pandas'
        dtype for csv).
    frame:
        The first rows as a ``pandas.DataFrame`` (only the declared columns when there are some).
    total_rows:
        How many rows the dataset holds, when its format says so without reading them (parquet
        footers), else ``None``.
    files:
        How many data files the dataset is made of, when known.
    """

    columns: list[tuple[str, str]]
    frame: Any
    total_rows: int | None
    files: int | None


def _data_files(uri: str, fmt: str, store: BaseStore) -> list[str]:
    """The URIs of the data files of the dataset at ``uri`` (the URI itself for a single-file dataset)."""
    local = uris.local_path(uri) if store.is_local(uri) else None
    if local is not None:
        if not os.path.exists(local):
            raise StorageError(f"Could not read {uri!r}: no dataset is there.")
        if not os.path.isdir(local):
            return [uri]
        names = [CSV_PART] if fmt == CSV else sorted(os.listdir(local))
        return [uris.join(uri, n) for n in names if n == CSV_PART or not n.startswith(("_", "."))]
    try:
        names = [f for f in store.list_files(uri) if not f.rsplit("/", 1)[-1].startswith(("_", "."))]
        if fmt == CSV:
            names = [CSV_PART]
    except StorageError:
        names = [CSV_PART if fmt == CSV else PARQUET_PART]  # a store that cannot list reads flytekit's layout
    return [uris.join(uri, n) for n in names] if names else [uri]


def read_head(
    sd: literals_pb2.StructuredDataset, columns: list[str], store: BaseStore, rows: int
) -> DatasetHead:
    """The schema and first ``rows`` rows of the dataset ``sd`` (only ``columns`` when given).

    Reads as little as the format allows: a parquet dataset's first file's footer and the first pages of
    its columns (the other files' footers only to count rows, when there are few), a csv dataset's first
    ``CSV_HEAD_BYTES`` bytes.
    """
    pd = pandas_module()
    fmt = _readable_format(sd)
    files = _data_files(sd.uri.rstrip("/") or sd.uri, fmt, store)
    if fmt == CSV:
        with store.open(files[0], "rb") as fh:
            head = fh.read(CSV_HEAD_BYTES)
        complete = len(head) < CSV_HEAD_BYTES
        if not complete:  # the last line read may be cut short
            head = head[: head.rfind(b"\n") + 1]
        frame = pd.read_csv(io.BytesIO(head), nrows=rows)
        schema = [(str(c), str(t)) for c, t in frame.dtypes.items()]
        if columns:
            check_columns(list(frame.columns), columns, f"the csv dataset {sd.uri!r}")
            frame = frame[columns]
        total = len(pd.read_csv(io.BytesIO(head), usecols=[0])) if complete else None
        return DatasetHead(schema, frame, total, len(files))
    import pyarrow.parquet as pq

    with store.open(files[0], "rb") as fh:
        # buffered, not pre-buffered: the first rows cost the first pages of each column, not the whole
        # row group (a dataset written in one piece is one row group)
        parquet = pq.ParquetFile(fh, buffer_size=PARQUET_READ_BUFFER, pre_buffer=False)
        names = parquet.schema_arrow.names
        if columns:
            check_columns(names, columns, f"the dataset {sd.uri!r}")
        schema = [(f.name, str(f.type)) for f in parquet.schema_arrow]
        batches = parquet.iter_batches(batch_size=max(rows, 1), columns=columns or None)
        first = next(batches, None)
        frame = first.to_pandas() if first is not None else parquet.schema_arrow.empty_table().to_pandas()
        count: int | None = parquet.metadata.num_rows
    frame = frame.head(rows)
    if len(files) > 1:
        count = _parquet_rows(files, store) if len(files) <= 20 else None
    return DatasetHead(schema, frame[columns] if columns else frame, count, len(files))


def _parquet_rows(files: list[str], store: BaseStore) -> int:
    import pyarrow.parquet as pq

    total = 0
    for uri in files:
        with store.open(uri, "rb") as fh:
            total += pq.ParquetFile(fh).metadata.num_rows
    return total
