"""``FlyteFile`` (and ``os.PathLike``) ⇄ a single-part ``Blob`` literal, as flytekit 1.16 writes them.

* LiteralType: ``{"blob": {"format": <ext>}}`` (``""`` for plain ``FlyteFile`` and ``os.PathLike``);
  ``FlyteFile["csv"]`` declares the format ``"csv"``.
* Literal: ``Blob{metadata.type = that BlobType, uri}``; ``FlyteFile.metadata`` goes to
  ``Literal.metadata``.

Where the URI comes from (flytekit's rules):

* a remote URI (``s3://``, ``gs://``, ``memory://``…) passes through untouched;
* a file decoded from a literal and returned unchanged keeps that literal's URI;
* a local file is uploaded to ``<raw prefix>/<random 32 hex>/<basename>``, except in a plain local run
  (the store's ``keep_local_paths``: a task called in the kernel), where the literal keeps its path and
  the task reads the user's file in place;
* ``os.PathLike`` annotations never upload.

Decoding gives a ``FlyteFile`` whose data is fetched lazily: a local file is used where it is, a remote
one is downloaded through the store it was decoded with on ``os.fspath(f)`` / ``open(f)`` /
``f.download()``, and ``f.open(mode)`` streams it without a local copy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Optional, Union

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core import uris
from flyte_nb.core.storage import BaseStore, RawStore, as_store
from flyte_nb.core.types._common import received, scalar_kind
from flyte_nb.core.types._data import StoredPath, current_store, download_path, format_class, labelled
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError, StorageError

__all__ = ["FlyteFile", "FlyteFilePathTransformer"]

SINGLE = types_pb2.BlobType.SINGLE


def _noop() -> None:
    return None


@dataclass(init=False, repr=False, eq=False)
class FlyteFile(StoredPath):
    """A file a task takes or returns: a local path or a URI, downloaded only when it is read.

    Parameters
    ----------
    path:
        A local path, or a URI (``s3://bucket/key.csv``, ``file:///…``). A local file returned by a task
        running in a container is uploaded under the run's raw output prefix; in the kernel it is used
        where it is.
    downloader:
        Called once before the file is first read locally (flytekit's hook for custom fetching).
    remote_path:
        Where to upload a local file instead of a random location under the raw prefix; ``False``
        never uploads it.
    metadata:
        String key/values that travel with the literal (``Literal.metadata``).

    Notes
    -----
    ``FlyteFile["csv"]`` declares the file's format: the interface says ``csv``, and a local file with
    another extension is refused. ``os.fspath(f)``, ``open(f)`` and ``f.download()`` give a local path
    (downloading a remote file first, once); ``f.open("rb")`` streams it; ``f.remote_source`` is the URI
    the file came from.
    """

    _KIND = "FlyteFile"
    _FORMAT_CLASS_NAME = "_SpecificFormatClass"  # flytekit's name for FlyteFile[fmt] classes

    # The fields, their types and defaults are flytekit's: dataclass and pydantic JSON schemas of types
    # holding a FlyteFile are part of the wire format.
    path: Union[str, os.PathLike] = None  # type: ignore[type-arg,assignment]  # noqa: UP007
    metadata: Optional[dict[str, str]] = None  # noqa: UP045

    def __init__(
        self,
        path: str | os.PathLike[str],
        downloader: Callable[[], Any] | None = None,
        remote_path: str | os.PathLike[str] | bool | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.metadata = metadata
        self._downloader = downloader or _noop
        self._downloaded = False
        self._remote_path = remote_path
        self._remote_source: str | None = None
        self._literal_uri: str | None = None  # the literal this was decoded from (returned unchanged)
        self._store: BaseStore | None = None
        self._label = ""
        self._local_path = str(path) if path is not None else ""
        text = str(path) if path is not None else ""
        if text and uris.is_remote(text):
            self._remote_source = text
            self._local_path = download_path(text)
        elif text.startswith("file://"):
            self._local_path = uris.local_path(text) or text

    # -- flytekit's class API ---------------------------------------------------------------------
    @classmethod
    def new_remote_file(cls, name: str | None = None, alt: str | None = None) -> FlyteFile:
        """A new file under the current run's raw output prefix, to write with ``open("wb")``.

        ``name`` replaces the random last part of the path; ``alt`` replaces the bucket.
        """
        return cls(path=new_remote_path(current_store().raw_prefix, name, alt))

    @classmethod
    def from_source(cls, source: str | os.PathLike[str]) -> FlyteFile:
        """A ``FlyteFile`` for an existing file, as if a task had received it as an input."""
        literal = literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                blob=literals_pb2.Blob(
                    metadata=literals_pb2.BlobMetadata(type=types_pb2.BlobType()), uri=os.fspath(source)
                )
            )
        )
        return FlyteFilePathTransformer().to_python_value(literal, cls, current_store())  # type: ignore[no-any-return]

    @classmethod
    def new(cls, filename: str | os.PathLike[str]) -> FlyteFile:
        """A new file in the running task's working directory (``filename`` must be relative)."""
        if os.path.isabs(filename):
            raise FlyteTypeError(
                f"FlyteFile.new: expected a relative file name, got {os.fspath(filename)!r}. "
                "Pass a name such as 'out.csv'; it is created in the task's working directory."
            )
        from flyte_nb.core.context import FlyteContextManager

        params = FlyteContextManager.current_context().execution_params
        return cls(path=os.path.join(params.get_working_directory(), filename))

    # -- reading ----------------------------------------------------------------------------------
    @property
    def downloaded(self) -> bool:
        """True once the file's data is available at its local path."""
        return self._downloaded

    @property
    def remote_path(self) -> str | os.PathLike[str] | bool | None:
        """The upload destination given to the constructor (``False``: never upload)."""
        return self._remote_path

    def __fspath__(self) -> str:
        if not self._downloaded:
            self._fetch()
            self._downloaded = True
        return self._local_path

    def download(self) -> str:
        """Fetch the file (once) and return its local path."""
        return self.__fspath__()

    def _fetch(self) -> None:
        if self._downloader is not _noop or self._remote_source is None:
            self._downloader()
            return
        os.makedirs(os.path.dirname(self._local_path), exist_ok=True)
        try:
            self._reader().get_file(self._remote_source, self._local_path)
        except StorageError as exc:
            raise StorageError(labelled(self._label, f"Cannot download this file: {exc}")) from exc

    @contextlib.contextmanager
    def open(
        self, mode: str, cache_type: str | None = None, cache_options: dict[str, Any] | None = None
    ) -> Iterator[IO[Any]]:
        """A file object on the data itself: reading streams a remote file without a local copy, and
        writing (``"wb"``) to a :meth:`new_remote_file` stores it when the block ends."""
        target = self._remote_source or (self._remote_path if isinstance(self._remote_path, str) else None)
        target = target or self._local_path
        try:
            handle = self._reader().open(target, mode)
        except StorageError as exc:
            raise StorageError(labelled(self._label, str(exc))) from exc
        try:
            yield handle
        except BaseException:
            abort = getattr(handle, "abort", None)
            if abort is not None:
                abort()
            raise
        finally:
            handle.close()

    # -- value semantics --------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, FlyteFile):
            return (
                self.path == other.path
                and self._remote_path == other._remote_path
                and self.extension() == other.extension()
            )
        return bool(self.path == other)

    def __hash__(self) -> int:
        return hash(str(self.path))

    # -- dataclasses (mashumaro) and pydantic -----------------------------------------------------
    def _serialize(self) -> dict[str, Any]:
        literal = FlyteFilePathTransformer().to_literal(self, type(self), None, current_store())  # type: ignore[arg-type]
        out: dict[str, Any] = {"path": literal.scalar.blob.uri}
        if literal.metadata:
            out["metadata"] = dict(literal.metadata)
        return out

    @classmethod
    def _from_mapping(cls, value: Any, store: BaseStore) -> FlyteFile:
        return file_from_dict(value, cls, store)

    @classmethod
    def _pydantic_rebuild(cls, value: Any, deserializing: bool) -> Any:
        return _rebuild(value, deserializing)


def _rebuild(value: Any, deserializing: bool) -> Any:
    """A validated pydantic field value as a working FlyteFile (pydantic bypasses ``__init__``)."""
    if not deserializing and "_remote_source" in getattr(value, "__dict__", {}):
        return value
    return file_from_dict({"path": value.path, "metadata": value.metadata}, type(value), current_store())


def new_remote_path(raw_prefix: str, name: str | None, alt: str | None) -> str:
    """``<raw prefix>/<name or random 32 hex>``, with ``alt`` replacing the bucket (flytekit's rule)."""
    import uuid

    prefix = raw_prefix.rstrip("/")
    if alt and "://" in prefix:
        scheme, rest = prefix.split("://", 1)
        parts = rest.split("/", 1)
        prefix = f"{scheme}://{alt}" + (f"/{parts[1]}" if len(parts) > 1 else "")
    return uris.join(prefix, name or uuid.uuid4().hex)


def file_from_dict(value: Any, cls: type[FlyteFile], store: BaseStore) -> FlyteFile:
    """The FlyteFile a dataclass/pydantic field holds as ``{"path": uri, "metadata": …}``."""
    path = value.get("path") if isinstance(value, dict) else None
    if path is None:
        raise FlyteTypeError(
            f"expected a FlyteFile as {{'path': <uri>}}, got {received(value)}. The value was not written "
            "by flyte_nb or flytekit for a FlyteFile field."
        )
    literal = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(
            blob=literals_pb2.Blob(metadata=literals_pb2.BlobMetadata(type=types_pb2.BlobType()), uri=path)
        )
    )
    for key, item in (value.get("metadata") or {}).items():
        literal.metadata[key] = item
    return FlyteFilePathTransformer().to_python_value(literal, cls, store)  # type: ignore[no-any-return]


# ---- the transformer ------------------------------------------------------------------------------


def _format_of(python_type: Any) -> str:
    return (
        python_type.extension()
        if isinstance(python_type, type) and issubclass(python_type, FlyteFile)
        else ""
    )


def check_local_file(source: str, fmt: str) -> str:
    """The local path of ``source`` after checking it is an existing file of format ``fmt``."""
    path = uris.local_path(source) or source
    if os.path.isdir(path):
        raise FlyteTypeError(
            f"expected a file, got the directory {source!r}. Declare the variable as FlyteDirectory to "
            "pass a whole directory, or pass a file inside it."
        )
    if not os.path.isfile(path):
        where = f" (relative paths are resolved from {os.getcwd()})" if not os.path.isabs(path) else ""
        raise FlyteTypeError(
            f"expected an existing file, got {source!r}, which does not exist{where}. Check the path, or "
            "pass a remote URI (s3://…) for a file that is not on this machine."
        )
    if fmt:
        name = os.path.basename(path).lower()
        suffix = name.split(".", 1)[1] if "." in name.lstrip(".") else ""
        if suffix and suffix != fmt.lower() and not suffix.endswith("." + fmt.lower()):
            raise FlyteTypeError(
                f"expected a {fmt!r} file (FlyteFile[{fmt!r}]), got {source!r}, a {suffix!r} file. Pass a "
                f".{fmt} file, or declare the variable as FlyteFile[{suffix!r}] or plain FlyteFile."
            )
    return path


class FlyteFilePathTransformer(TypeTransformer[FlyteFile]):
    """``FlyteFile`` / ``FlyteFile["fmt"]`` / ``os.PathLike`` ⇄ single-part ``Blob``."""

    name = "FlyteFilePath"

    def handles(self, python_type: Any) -> bool:
        return python_type is os.PathLike or (
            isinstance(python_type, type) and issubclass(python_type, FlyteFile)
        )

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(
            blob=types_pb2.BlobType(format=_format_of(python_type), dimensionality=SINGLE)
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        fmt = _format_of(python_type)
        uri = self._uri_for(value, python_type, fmt, as_store(store))
        literal = literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                blob=literals_pb2.Blob(
                    metadata=literals_pb2.BlobMetadata(
                        type=types_pb2.BlobType(format=fmt, dimensionality=SINGLE)
                    ),
                    uri=uri,
                )
            )
        )
        for key, item in (getattr(value, "metadata", None) or {}).items():
            literal.metadata[key] = item
        return literal

    def _uri_for(self, value: Any, python_type: Any, fmt: str, store: BaseStore) -> str:
        if isinstance(value, FlyteFile):
            passed = value.__dict__.get("_remote_source") or value.__dict__.get("_literal_uri")
            if passed:
                return str(passed)
            source = str(value.path)
            if python_type is os.PathLike:
                return source  # flytekit: a plain os.PathLike never uploads
            remote_path = value.__dict__.get("_remote_path")
            upload = remote_path is not False and not uris.is_remote(source)
            upload = upload and not (store.keep_local_paths and remote_path is None)
        elif isinstance(value, (str, os.PathLike)):
            source, remote_path = os.fspath(value), None
            if python_type is os.PathLike:
                return source
            upload = not uris.is_remote(source) and not store.keep_local_paths
        else:
            raise FlyteTypeError(
                f"expected a file (FlyteFile, a path str or an os.PathLike), got {received(value)}. "
                "Pass FlyteFile('path/or/uri') or the path itself."
            )
        if uris.is_remote(source):
            return source
        path = check_local_file(source, fmt)
        if not upload:
            return source
        if isinstance(remote_path, (str, os.PathLike)):
            store.put_file(path, os.fspath(remote_path))
            return os.fspath(remote_path)
        return store.upload_file(path)

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        scalar = literal.scalar
        if scalar.HasField("binary") or scalar.HasField("generic"):
            return file_from_dict(_embedded_dict(literal), _file_class(python_type), as_store(store))
        if not scalar.HasField("blob"):
            raise FlyteTypeError(
                f"expected a file (a blob literal), got {scalar_kind(literal)}. The value was produced for "
                "another type."
            )
        blob = scalar.blob
        if blob.metadata.type.dimensionality != SINGLE:
            raise FlyteTypeError(
                f"expected a file, got the directory (multi-part blob) {blob.uri!r}. Declare the variable as "
                "FlyteDirectory."
            )
        want, have = _format_of(python_type), blob.metadata.type.format
        if want and have and want != have:
            raise FlyteTypeError(
                f"expected a {want!r} file, got a {have!r} file at {blob.uri!r}. Declare the variable as "
                f"FlyteFile[{have!r}] or plain FlyteFile."
            )
        metadata = dict(literal.metadata) or None
        if python_type is os.PathLike:
            plain = FlyteFile(path=blob.uri, metadata=metadata)
            plain._literal_uri = blob.uri
            return plain
        return _decoded(blob.uri, _file_class(python_type), as_store(store), metadata)

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return format_class(FlyteFile, literal_type.blob.format) if literal_type.blob.format else FlyteFile

    def describe(self, python_type: Any) -> str:
        if python_type is os.PathLike:
            return "os.PathLike (file)"
        fmt = _format_of(python_type)
        return f"file[{fmt}]" if fmt else "file"


def _file_class(python_type: Any) -> type[FlyteFile]:
    return python_type if isinstance(python_type, type) and issubclass(python_type, FlyteFile) else FlyteFile


def _embedded_dict(literal: literals_pb2.Literal) -> Any:
    """The ``{"path": …}`` dict of a field selected out of a msgpack dataclass (or a console struct)."""
    scalar = literal.scalar
    if scalar.HasField("binary"):
        import msgpack

        if scalar.binary.tag != "msgpack":
            raise FlyteTypeError(
                f"expected a msgpack binary, got tag {scalar.binary.tag!r}. Only 'msgpack' is supported."
            )
        return msgpack.loads(scalar.binary.value, strict_map_key=False)
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(scalar.generic)


def _decoded(uri: str, cls: type[FlyteFile], store: BaseStore, metadata: dict[str, str] | None) -> FlyteFile:
    """A lazy FlyteFile for the literal ``uri``: a local file in place, a remote one fetched on use."""
    if not store.is_local(uri):
        out = cls(path=download_path(uri), metadata=metadata)
        out._remote_source = uri
    else:
        path = uris.local_path(uri) or uri
        if not os.path.isfile(path):
            raise StorageError(
                f"expected a file at {uri!r}, but {'it is a directory' if os.path.isdir(path) else 'nothing is there'}. "
                "The data was moved or deleted after the literal was made; produce it again."
            )
        out = cls(path=path, metadata=metadata)
        out._downloaded = True
    out._literal_uri = uri
    out._store = store
    return out
