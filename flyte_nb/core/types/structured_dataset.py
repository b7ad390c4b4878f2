"""``pandas.DataFrame`` and ``StructuredDataset`` ⇄ a ``StructuredDataset`` literal (flytekit 1.16's).

* LiteralType: ``{"structuredDatasetType": {"columns": [...], "format": <fmt>}}``, where
  ``Annotated[pd.DataFrame, kwtypes(a=int, b=str)]`` declares the columns (their literal types follow
  flytekit's column table, nested dicts and dataclasses flattened to ``a.b``) and a ``str`` in the
  ``Annotated`` arguments declares the format.
* Literal: ``{"structuredDataset": {"uri": <dir>, "metadata": {"structuredDatasetType": {...}}}}``; the
  directory holds one parquet file named ``00000`` (or, for the csv format, one file named ``.csv``).
  The columns are the declared ones.

As in flytekit: a DataFrame value is always written as parquet (whatever format the annotation says); a
``StructuredDataset(dataframe=df)`` is written in the annotation's format (parquet by default, or csv);
``StructuredDataset(uri=…, file_format=…)`` passes its URI through (a local one is uploaded outside a
plain local run) and its format is used when the type declares none; a ``StructuredDataset`` decoded
from a literal and returned unchanged keeps its literal. Decoding into a DataFrame reads only the
declared columns (the reader's own, else the ones the literal declares); decoding into a
``StructuredDataset`` reads nothing until ``.open(pd.DataFrame).all()``.

pandas and pyarrow are imported only when a DataFrame is written or read.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core import uris
from flyte_nb.core.storage import BaseStore, RawStore, as_store
from flyte_nb.core.types._common import received, scalar_kind, strip_annotated
from flyte_nb.core.types._data import StoredValue, current_store, labelled
from flyte_nb.core.types._dataframe_io import (
    CSV,
    PARQUET,
    DatasetHead,
    check_columns,
    pandas_module,
    read_dataframe,
    read_head,
    write_dataframe,
)
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError, StorageError, UnsupportedTypeError

__all__ = [
    "CSV",
    "PARQUET",
    "DatasetHead",
    "StructuredDataset",
    "StructuredDatasetTransformer",
    "StructuredDatasetType",
    "dataset_head",
    "dataset_is_remote",
]

#: flyteidl's message, exported under flytekit's name.
StructuredDatasetType = types_pb2.StructuredDatasetType

# flytekit's class docstring: pydantic puts it into the JSON schema of models holding a dataset, which
# is part of their literal type, so it must read exactly so.
_FLYTEKIT_DESCRIPTION = (
    "This is the user facing StructuredDataset class. Please don't confuse it with the literals.StructuredDataset\n"
    "class (that is just a model, a Python class representation of the protobuf)."
)


@dataclass(init=False, repr=False, eq=False)
class StructuredDataset(StoredValue):
    """A table a task takes or returns: a dataframe to write, or a URI to read lazily.

    Parameters
    ----------
    dataframe:
        A ``pandas.DataFrame`` to write (as parquet, or as csv when the type declares ``"csv"``).
    uri:
        Where an existing dataset is (a directory of parquet files, a parquet file, or a csv dataset).
    metadata:
        A flyteidl ``StructuredDatasetMetadata`` (set by flyte_nb when the dataset is decoded).
    file_format:
        The format of the data at ``uri`` (``"parquet"``, ``"csv"``), used when the type declares none.

    Notes
    -----
    ``sd.open(pd.DataFrame).all()`` reads the data, keeping only the declared columns.
    """

    _PYDANTIC_DESCRIPTION = _FLYTEKIT_DESCRIPTION

    # flytekit's fields: they shape the JSON schema of dataclasses and pydantic models holding a dataset.
    uri: Optional[str] = None  # noqa: UP045
    file_format: Optional[str] = ""  # noqa: UP045

    def __init__(
        self,
        dataframe: Any = None,
        uri: str | None = None,
        metadata: literals_pb2.StructuredDatasetMetadata | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - {"file_format"}
        if unknown:
            raise TypeError(
                f"StructuredDataset: unexpected keyword argument(s) {sorted(unknown)}. It takes dataframe, "
                "uri, metadata and file_format."
            )
        self._dataframe = dataframe
        self.uri = os.fspath(uri) if isinstance(uri, os.PathLike) else uri
        self.file_format = kwargs.get("file_format", "")
        self._metadata = metadata
        self._literal_sd: literals_pb2.StructuredDataset | None = None
        self._dataframe_type: Any = None
        self._already_uploaded = False
        self._store: BaseStore | None = None
        self._label = ""

    @classmethod
    def columns(cls) -> dict[str, Any]:
        """The declared columns of this class (none for plain ``StructuredDataset``)."""
        return {}

    @classmethod
    def column_names(cls) -> list[str]:
        """The names of :meth:`columns`."""
        return list(cls.columns())

    @property
    def dataframe(self) -> Any:
        """The dataframe this dataset was made from, or ``None`` for one read from a URI."""
        return self._dataframe

    @property
    def metadata(self) -> literals_pb2.StructuredDatasetMetadata | None:
        """The dataset's type as the reading task sees it (columns and format)."""
        return self._metadata

    @property
    def literal(self) -> literals_pb2.StructuredDataset | None:
        """The ``StructuredDataset`` literal this value was decoded from (or written as)."""
        return self._literal_sd

    def open(self, dataframe_type: Any) -> StructuredDataset:
        """Choose what :meth:`all` returns (``pd.DataFrame``); returns the dataset itself."""
        self._dataframe_type = dataframe_type
        return self

    def all(self) -> Any:
        """The whole dataset as the type chosen with :meth:`open` (only the declared columns)."""
        if self._dataframe_type is None:
            raise FlyteTypeError(
                "StructuredDataset.all(): expected a dataframe type chosen with open(), got none. "
                "Call sd.open(pd.DataFrame).all()."
            )
        if self._dataframe is not None:
            return self._check_type(self._dataframe)
        literal = self._literal_sd or _literal_from(self.uri, self.file_format)
        columns = list(self._metadata.structured_dataset_type.columns) if self._metadata is not None else []
        try:
            frame = read_dataframe(literal, [c.name for c in columns], self._reader())
        except StorageError as exc:
            raise StorageError(labelled(self._label, f"Cannot read this dataset: {exc}")) from exc
        return self._check_type(frame)

    def iter(self) -> Iterator[Any]:
        """The dataset as an iterator of dataframes (one here: the whole dataset)."""
        yield self.all()

    def _check_type(self, frame: Any) -> Any:
        if self._dataframe_type is not None and not isinstance(frame, self._dataframe_type):
            raise FlyteTypeError(
                f"StructuredDataset.open: expected a dataframe type flyte_nb can read into, got "
                f"{self._dataframe_type!r}. Open it as pandas.DataFrame."
            )
        return frame

    def __repr__(self) -> str:
        where = self._literal_sd.uri if self._literal_sd is not None else self.uri
        fmt = self.file_format or (
            self._literal_sd.metadata.structured_dataset_type.format if self._literal_sd is not None else ""
        )
        what = f"dataframe of {len(self._dataframe)} rows" if self._dataframe is not None else "not loaded"
        return f"StructuredDataset(uri={where!r}, file_format={fmt!r}, {what})"

    def _serialize(self) -> dict[str, Any]:
        literal = StructuredDatasetTransformer().to_literal(self, type(self), None, current_store())
        sd = literal.scalar.structured_dataset
        return {"uri": sd.uri, "file_format": sd.metadata.structured_dataset_type.format}

    @classmethod
    def _from_mapping(cls, value: Any, store: BaseStore) -> StructuredDataset:
        return _from_dict(value, cls, store)

    @classmethod
    def _pydantic_rebuild(cls, value: Any, deserializing: bool) -> Any:
        return _rebuild(value, deserializing)


def dataset_is_remote(sd: StructuredDataset) -> bool:
    """True when reading ``sd`` means downloading: its data is neither a dataframe in this process, nor
    in an in-kernel call's memory, nor on this machine's disk (for the store it was decoded with)."""
    if sd.dataframe is not None:
        return False
    uri = sd.literal.uri if sd.literal is not None else (sd.uri or "")
    store = sd._reader()
    owns = getattr(store, "owns", None)
    return not (store.is_local(uri) or (callable(owns) and owns(uri)))


def dataset_head(sd: StructuredDataset, rows: int = 10) -> DatasetHead:
    """The column schema and first ``rows`` rows of ``sd``, reading as little of it as its format allows
    (see :func:`~flyte_nb.core.types._dataframe_io.read_head`); a dataset made from a dataframe is read
    from that dataframe. Declared columns select the columns, as reading the dataset does.

    Raises
    ------
    StorageError
        The data cannot be read (the message names the variable when ``sd`` was a task's input/output).
    """
    declared_names = (
        [c.name for c in sd.metadata.structured_dataset_type.columns] if sd.metadata is not None else []
    )
    frame = sd.dataframe
    if frame is not None:
        schema = [(str(c), str(t)) for c, t in frame.dtypes.items()]
        return DatasetHead(schema, frame.head(rows), len(frame), None)
    literal = sd.literal or _literal_from(sd.uri, sd.file_format)
    try:
        return read_head(literal, declared_names, sd._reader(), rows)
    except StorageError as exc:
        raise StorageError(labelled(sd._label, f"Cannot read this dataset: {exc}")) from exc


def _rebuild(value: Any, deserializing: bool) -> Any:
    if not deserializing:
        if "_literal_sd" not in getattr(value, "__dict__", {}):
            return type(value)(uri=value.uri, file_format=value.file_format)
        return value
    return _from_dict({"uri": value.uri, "file_format": value.file_format}, type(value), current_store())


def _received(value: Any) -> str:
    """``received()`` for messages, with a dataframe summarised on one line."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2:
        return f"a {type(value).__name__} of {shape[0]} rows and {shape[1]} columns"
    return received(value)


def _literal_from(uri: str | None, fmt: str | None) -> literals_pb2.StructuredDataset:
    if not uri:
        raise FlyteTypeError(
            "expected a StructuredDataset with a dataframe or a uri, got neither. Pass "
            "StructuredDataset(dataframe=df) or StructuredDataset(uri=..., file_format='parquet')."
        )
    sdt = types_pb2.StructuredDatasetType(format=fmt or "")
    return literals_pb2.StructuredDataset(
        uri=uri, metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=sdt)
    )


def _from_dict(value: Any, cls: type[StructuredDataset], store: BaseStore) -> StructuredDataset:
    uri = value.get("uri") if isinstance(value, dict) else None
    if uri is None:
        raise FlyteTypeError(
            f"expected a StructuredDataset as {{'uri': …, 'file_format': …}}, got {received(value)}. The value "
            "was not written by flyte_nb or flytekit for a StructuredDataset field."
        )
    literal = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(structured_dataset=_literal_from(uri, value.get("file_format")))
    )
    return StructuredDatasetTransformer().to_python_value(literal, cls, store)  # type: ignore[no-any-return]


# ---- annotations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Declared:
    """What an annotation declares: the base class, the columns, the format, an arrow schema."""

    base: Any
    columns: dict[str, Any]
    fmt: str
    arrow_schema: Any = None


def declared(python_type: Any) -> _Declared:
    """flytekit's ``extract_cols_and_format`` for ``Annotated[T, columns, "format", pa.Schema]``."""
    base, metadata = strip_annotated(python_type)
    columns: dict[str, Any] = {}
    fmt, schema = "", None
    pa = sys.modules.get("pyarrow")
    for m in metadata:
        if isinstance(m, str):
            if fmt:
                raise UnsupportedTypeError(
                    f"expected at most one format in {python_type!r}, got {fmt!r} and {m!r}. Keep one."
                )
            fmt = m
        elif isinstance(m, dict):
            columns = dict(m)
        elif isinstance(m, type) and hasattr(m, "__annotations__"):  # a dataclass/TypedDict of columns
            columns = dict(m.__annotations__)
        elif pa is not None and isinstance(m, pa.lib.Schema):
            schema = m
    return _Declared(base, columns, fmt, schema)


def _flat(columns: dict[str, Any], parent: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, t in columns.items():
        key = f"{parent}.{name}" if parent else name
        if isinstance(t, dict):
            out.update(_flat(t, key))
        elif dataclasses.is_dataclass(t) and isinstance(t, type):
            import typing

            out.update(_flat(typing.get_type_hints(t), key))
        else:
            out[key] = t
    return out


def _simple_columns() -> dict[Any, int]:
    table: dict[Any, int] = {
        int: types_pb2.INTEGER,
        float: types_pb2.FLOAT,
        bool: types_pb2.BOOLEAN,
        str: types_pb2.STRING,
        datetime.datetime: types_pb2.DATETIME,
        datetime.timedelta: types_pb2.DURATION,
    }
    np = sys.modules.get("numpy")  # a numpy column type means numpy is loaded
    if np is not None:
        for t in (np.int32, np.int64, np.uint32, np.uint64):
            table[t] = types_pb2.INTEGER
        table.update({np.float32: types_pb2.FLOAT, np.float64: types_pb2.FLOAT, np.bool_: types_pb2.BOOLEAN})
        table.update({np.datetime64: types_pb2.DATETIME, np.timedelta64: types_pb2.DURATION})
        table.update({np.bytes_: types_pb2.STRING, np.str_: types_pb2.STRING, np.object_: types_pb2.STRING})
    return table


def _column_type(name: str, t: Any) -> types_pb2.LiteralType:
    """flytekit's column literal types: simple types, numpy scalars, lists and dicts of them."""
    simple = _simple_columns().get(t)
    if simple is not None:
        return types_pb2.LiteralType(simple=simple)  # type: ignore[arg-type]
    import typing

    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list and args:
        return types_pb2.LiteralType(collection_type=_column_type(name, args[0]))
    if origin is dict and len(args) == 2:
        return types_pb2.LiteralType(map_value_type=_column_type(name, args[1]))
    raise UnsupportedTypeError(
        f"expected a column type StructuredDataset supports for column {name!r}, got {t!r}. Use int, float, "
        "str, bool, datetime, timedelta, a numpy scalar type, or a list/dict of them."
    )


def dataset_type(python_type: Any) -> types_pb2.StructuredDatasetType:
    """The ``StructuredDatasetType`` an annotation declares (columns, format, arrow schema)."""
    d = declared(python_type)
    out = types_pb2.StructuredDatasetType(format=d.fmt)
    for name, t in _flat(d.columns).items():
        out.columns.add(name=name, literal_type=_column_type(name, t))
    if d.arrow_schema is not None:
        out.external_schema_type = "arrow"
        out.external_schema_bytes = d.arrow_schema.to_string().encode()
    return out


def _is_dataset_class(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, StructuredDataset)


# ---- the transformer ------------------------------------------------------------------------------


def _literal(uri: str, sdt: types_pb2.StructuredDatasetType) -> literals_pb2.Literal:
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(
            structured_dataset=literals_pb2.StructuredDataset(
                uri=uri, metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=sdt)
            )
        )
    )


class StructuredDatasetTransformer(TypeTransformer[Any]):
    """``pd.DataFrame`` / ``StructuredDataset`` (optionally ``Annotated`` with columns and format)."""

    name = "StructuredDataset Transformer"
    wants_annotated = True

    def handles(self, python_type: Any) -> bool:
        base = declared(python_type).base
        pd = sys.modules.get("pandas")
        return _is_dataset_class(base) or (
            pd is not None and isinstance(base, type) and issubclass(base, pd.DataFrame)
        )

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(structured_dataset_type=dataset_type(python_type))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType | None, store: RawStore
    ) -> literals_pb2.Literal:
        full = as_store(store)
        base = declared(python_type).base
        sdt = types_pb2.StructuredDatasetType()
        sdt.CopyFrom(
            expected.structured_dataset_type
            if expected is not None and expected.HasField("structured_dataset_type")
            else dataset_type(python_type)
        )
        if _is_dataset_class(base) and not isinstance(value, StructuredDataset):
            raise FlyteTypeError(
                f"expected a StructuredDataset, got {_received(value)}. Wrap a dataframe as "
                "StructuredDataset(dataframe=df), or annotate the variable as pd.DataFrame."
            )
        if isinstance(value, StructuredDataset):
            return self._dataset_literal(value, sdt, full)
        pd = pandas_module()
        if not isinstance(value, pd.DataFrame):
            raise FlyteTypeError(
                f"expected a pandas.DataFrame, got {received(value)}. Pass pd.DataFrame(value)."
            )
        return self._frame_literal(value, sdt, PARQUET, full)  # flytekit: a raw DataFrame is always parquet

    def _frame_literal(
        self, df: Any, sdt: types_pb2.StructuredDatasetType, fmt: str, store: BaseStore
    ) -> literals_pb2.Literal:
        check_columns([str(c) for c in df.columns], [c.name for c in sdt.columns], "a DataFrame")
        if fmt not in (PARQUET, CSV):
            raise FlyteTypeError(
                f"expected the format parquet or csv to write a DataFrame in, got {fmt!r}. Declare one of them."
            )
        uri = write_dataframe(df, fmt, store)
        sdt.format = fmt
        return _literal(uri, sdt)

    def _dataset_literal(
        self, value: StructuredDataset, sdt: types_pb2.StructuredDatasetType, store: BaseStore
    ) -> literals_pb2.Literal:
        if value._literal_sd is not None:
            if value.dataframe is not None and not value._already_uploaded:
                raise FlyteTypeError(
                    "expected a StructuredDataset with either a literal or a dataframe, got both. Make a new "
                    "StructuredDataset(dataframe=...) for new data."
                )
            return literals_pb2.Literal(scalar=literals_pb2.Scalar(structured_dataset=value._literal_sd))
        if value.dataframe is None:
            uri = _literal_from(value.uri, value.file_format).uri
            if not uris.is_remote(uri):
                uri = self._local_dataset(uri, store)
            if not sdt.format and value.file_format:
                sdt.format = value.file_format
            return _literal(uri, sdt)
        pd = pandas_module()
        if not isinstance(value.dataframe, pd.DataFrame):
            raise FlyteTypeError(
                f"expected a StructuredDataset of a pandas.DataFrame, got one of {_received(value.dataframe)}. "
                "Pass a pandas.DataFrame."
            )
        literal = self._frame_literal(value.dataframe, sdt, sdt.format or PARQUET, store)
        value._literal_sd = literal.scalar.structured_dataset
        value._already_uploaded = True
        return literal

    @staticmethod
    def _local_dataset(uri: str, store: BaseStore) -> str:
        path = uris.local_path(uri) or uri
        if not os.path.exists(path):
            where = f" (relative paths are resolved from {os.getcwd()})" if not os.path.isabs(path) else ""
            raise FlyteTypeError(
                f"expected an existing dataset file or directory, got {uri!r}, which does not exist{where}. "
                "Check the path, or pass a remote URI (s3://…)."
            )
        if store.keep_local_paths:
            return uri
        return store.upload_dir(path) if os.path.isdir(path) else store.upload_file(path)

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        full = as_store(store)
        d = declared(python_type)
        scalar = literal.scalar
        if scalar.HasField("binary") or scalar.HasField("generic"):
            from flyte_nb.core.types.file import _embedded_dict

            embedded = _embedded_dict(literal)
            literal = literals_pb2.Literal(
                scalar=literals_pb2.Scalar(
                    structured_dataset=_literal_from(embedded.get("uri"), embedded.get("file_format"))
                )
            )
        if not literal.scalar.HasField("structured_dataset"):
            raise FlyteTypeError(
                f"expected a structured dataset literal, got {scalar_kind(literal)}. The value was produced "
                "for another type."
            )
        sd = literal.scalar.structured_dataset
        incoming = sd.metadata.structured_dataset_type
        sdt = types_pb2.StructuredDatasetType(
            format=incoming.format,
            external_schema_type=incoming.external_schema_type,
            external_schema_bytes=incoming.external_schema_bytes,
        )
        declared_columns = dataset_type(python_type).columns
        sdt.columns.extend(declared_columns if declared_columns else incoming.columns)
        if _is_dataset_class(d.base):
            out = d.base(metadata=literals_pb2.StructuredDatasetMetadata(structured_dataset_type=sdt))
            out._literal_sd = sd
            out.file_format = incoming.format
            out._store = full
            return out
        return read_dataframe(sd, [c.name for c in sdt.columns], full)

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return StructuredDataset

    def describe(self, python_type: Any) -> str:
        d = declared(python_type)
        what = "structured dataset" if _is_dataset_class(d.base) else "dataframe"
        if d.columns:
            what += f"[{', '.join(_flat(d.columns))}]"
        return what
