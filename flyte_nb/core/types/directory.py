"""``FlyteDirectory`` ⇄ a multi-part ``Blob`` literal, as flytekit 1.16 writes them.

* LiteralType: ``{"blob": {"format": <fmt>, "dimensionality": "MULTIPART"}}``.
* Literal: ``Blob{metadata.type = that BlobType, uri}`` where ``uri`` is a prefix.

A remote prefix passes through verbatim (trailing ``/`` included); a directory decoded from a literal and
returned unchanged keeps that URI; a local directory is uploaded recursively to ``<raw>/<random 32 hex>``
(no trailing ``/``), except in a plain local run (a task called in the kernel), where it stays in place.
Decoding gives a ``FlyteDirectory`` downloaded lazily, all files at once on ``os.fspath(d)`` /
``d.download()``; ``FlyteDirectory.listdir(d)`` and ``d.crawl()`` list a remote directory without
downloading it.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Union

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core import uris
from flyte_nb.core.storage import BaseStore, RawStore, as_store
from flyte_nb.core.types._common import received, scalar_kind
from flyte_nb.core.types._data import StoredPath, current_store, download_path, format_class, labelled
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.file import FlyteFile, _embedded_dict, new_remote_path
from flyte_nb.errors import FlyteTypeError, StorageError

__all__ = ["FlyteDirToMultipartBlobTransformer", "FlyteDirectory"]

MULTIPART = types_pb2.BlobType.MULTIPART


@dataclass(init=False, repr=False, eq=False)
class FlyteDirectory(StoredPath):
    """A directory a task takes or returns: a local path or a URI prefix, downloaded only when read.

    Parameters
    ----------
    path:
        A local directory, or a URI prefix (``s3://bucket/prefix/``). A local directory returned by a task
        running in a container is uploaded under the run's raw output prefix; in the kernel it is used
        where it is.
    downloader:
        Called once before the directory is first read locally (flytekit's hook for custom fetching).
    remote_directory:
        Where to upload a local directory instead of a random location; ``False`` never uploads it.

    Notes
    -----
    ``os.fspath(d)`` / ``d.download()`` give a local directory (downloading every file of a remote one
    first, once). ``FlyteDirectory.listdir(d)`` lists its entries as lazy ``FlyteFile`` /
    ``FlyteDirectory`` handles, and ``d.crawl()`` yields every file below it, without downloading.
    """

    _KIND = "FlyteDirectory"
    _FORMAT_CLASS_NAME = "_SpecificFormatDirectoryClass"  # flytekit's name for FlyteDirectory[fmt] classes

    # flytekit's field: it shapes the JSON schema of dataclasses and pydantic models holding one.
    path: Union[str, os.PathLike] = None  # type: ignore[type-arg,assignment]  # noqa: UP007

    def __init__(
        self,
        path: str | os.PathLike[str],
        downloader: Callable[[], Any] | None = None,
        remote_directory: str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.path = path
        self._downloader = downloader
        self._downloaded = False
        self._remote_directory = remote_directory
        self._remote_source: str | None = None
        self._literal_uri: str | None = None
        self._store: BaseStore | None = None
        self._label = ""
        self._local_path = str(path) if path is not None else ""
        text = self._local_path
        if text and uris.is_remote(text) and downloader is None:
            # A remote prefix given by hand reads like a decoded one: downloaded on first local use.
            self._remote_source = text
            self._local_path = download_path()

    # -- flytekit's class API ---------------------------------------------------------------------
    @classmethod
    def new_remote(cls, stem: str | None = None, alt: str | None = None) -> FlyteDirectory:
        """A new directory under the current run's raw output prefix; add files with :meth:`new_file`.

        ``stem`` replaces the random last part of the path (it must have no extension); ``alt`` replaces
        the bucket.
        """
        if stem and pathlib.PurePosixPath(stem).suffix:
            raise FlyteTypeError(
                f"FlyteDirectory.new_remote: expected a stem without an extension, got {stem!r}. "
                "Drop the extension; files inside get their own names with new_file()."
            )
        return cls(path=new_remote_path(current_store().raw_prefix, stem, alt))

    @classmethod
    def new(cls, dirname: str | os.PathLike[str]) -> FlyteDirectory:
        """A new, empty directory in the running task's working directory (``dirname`` is relative)."""
        if os.path.isabs(dirname):
            raise FlyteTypeError(
                f"FlyteDirectory.new: expected a relative directory name, got {os.fspath(dirname)!r}. "
                "Pass a name such as 'results'; it is created in the task's working directory."
            )
        from flyte_nb.core.context import FlyteContextManager

        params = FlyteContextManager.current_context().execution_params
        path = os.path.join(params.get_working_directory(), dirname)
        os.makedirs(path, exist_ok=False)
        return cls(path=path)

    @classmethod
    def from_source(cls, source: str | os.PathLike[str]) -> FlyteDirectory:
        """A ``FlyteDirectory`` for an existing directory, as if a task had received it as an input."""
        return directory_from_uri(os.fspath(source), cls, current_store())

    @property
    def downloaded(self) -> bool:
        """True once the directory's files are available at its local path."""
        return self._downloaded

    @property
    def remote_directory(self) -> str | os.PathLike[str] | bool | None:
        """The upload destination given to the constructor (``False``: never upload)."""
        return self._remote_directory

    @property
    def sep(self) -> str:
        """The path separator inside this directory (``/``, or ``os.sep`` for a local directory)."""
        return "/" if self._remote_source or os.sep == "/" else os.sep

    def _where(self) -> str:
        """The URI (or local path) the directory's data is at."""
        if self._remote_source:
            return self._remote_source
        if isinstance(self._remote_directory, (str, os.PathLike)):
            return os.fspath(self._remote_directory)
        return str(self.path)

    def new_file(self, name: str | None = None) -> FlyteFile:
        """A ``FlyteFile`` for ``name`` (random when not given) inside this directory."""
        base = self._where().rstrip(self.sep)
        return FlyteFile(path=self.sep.join([base, name or uuid.uuid4().hex]))

    def new_dir(self, name: str | None = None) -> FlyteDirectory:
        """A ``FlyteDirectory`` for ``name`` (random when not given) inside this directory."""
        base = self._where().rstrip(self.sep)
        return FlyteDirectory(path=self.sep.join([base, name or uuid.uuid4().hex]))

    # -- reading ----------------------------------------------------------------------------------
    def __fspath__(self) -> str:
        if not self._downloaded:
            self._fetch()
            self._downloaded = True
        return self._local_path

    def download(self) -> str:
        """Fetch every file (once) and return the local directory."""
        return self.__fspath__()

    def _fetch(self) -> None:
        if self._downloader is not None:
            self._downloader()
            return
        if self._remote_source is None:
            return
        store, local = self._reader(), self._local_path
        try:
            os.makedirs(local, exist_ok=True)
            for rel in store.list_files(self._remote_source):
                target = os.path.join(local, *rel.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                store.get_file(uris.join(self._remote_source, rel), target)
        except StorageError as exc:
            raise StorageError(labelled(self._label, f"Cannot download this directory: {exc}")) from exc

    @classmethod
    def listdir(cls, directory: FlyteDirectory) -> list[FlyteFile | FlyteDirectory]:
        """The entries directly inside ``directory`` as lazy handles (nothing is downloaded)."""
        where = directory._where()
        if directory._remote_source is None and not uris.is_remote(where):
            base = uris.local_path(where) or where
            return [
                FlyteFile(os.path.join(base, p))
                if os.path.isfile(os.path.join(base, p))
                else FlyteDirectory(os.path.join(base, p))
                for p in sorted(os.listdir(base))
            ]
        store = directory._reader()
        try:
            files = store.list_files(where)
        except StorageError as exc:
            raise StorageError(labelled(directory._label, f"Cannot list this directory: {exc}")) from exc
        out: list[FlyteFile | FlyteDirectory] = []
        seen: set[str] = set()
        for rel in files:
            head, _, rest = rel.partition("/")
            if head in seen:
                continue
            seen.add(head)
            uri = uris.join(where, head)
            out.append(directory_from_uri(uri, FlyteDirectory, store) if rest else _remote_file(uri, store))
        return out

    def crawl(
        self, maxdepth: int | None = None, topdown: bool = True, **kwargs: Any
    ) -> Iterator[tuple[str, str]]:
        """Yield ``(base, relative path)`` for every file below this directory (nothing is downloaded)."""
        where = self._where()
        try:
            files = self._reader().list_files(where)
        except StorageError as exc:
            raise StorageError(labelled(self._label, f"Cannot list this directory: {exc}")) from exc
        for rel in files:
            if maxdepth is None or rel.count("/") < maxdepth:
                yield where, rel

    # -- value semantics --------------------------------------------------------------------------
    def __truediv__(self, other: str | os.PathLike[str]) -> pathlib.Path:
        return pathlib.Path(str(self.path)) / other

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FlyteDirectory):
            return self.path == other.path and self._remote_source == other._remote_source
        return bool(self.path == other)

    def __hash__(self) -> int:
        return hash(str(self.path))

    # -- dataclasses (mashumaro) and pydantic -----------------------------------------------------
    def _serialize(self) -> dict[str, Any]:
        literal = FlyteDirToMultipartBlobTransformer().to_literal(self, type(self), None, current_store())  # type: ignore[arg-type]
        return {"path": literal.scalar.blob.uri}

    @classmethod
    def _from_mapping(cls, value: Any, store: BaseStore) -> FlyteDirectory:
        return _from_dict(value, cls, store)

    @classmethod
    def _pydantic_rebuild(cls, value: Any, deserializing: bool) -> Any:
        return _rebuild(value, deserializing)


def _rebuild(value: Any, deserializing: bool) -> Any:
    if not deserializing and "_remote_source" in getattr(value, "__dict__", {}):
        return value
    return _from_dict({"path": value.path}, type(value), current_store())


def _remote_file(uri: str, store: BaseStore) -> FlyteFile:
    out = FlyteFile(path=uri)
    out._literal_uri = uri
    out._store = store
    return out


def _from_dict(value: Any, cls: type[FlyteDirectory], store: BaseStore) -> FlyteDirectory:
    path = value.get("path") if isinstance(value, dict) else None
    if path is None:
        raise FlyteTypeError(
            f"expected a FlyteDirectory as {{'path': <uri>}}, got {received(value)}. The value was not "
            "written by flyte_nb or flytekit for a FlyteDirectory field."
        )
    return directory_from_uri(path, cls, store)


def directory_from_uri(uri: str, cls: type[FlyteDirectory], store: BaseStore) -> FlyteDirectory:
    """A lazy FlyteDirectory for the literal ``uri``: a local directory in place, a remote one on use."""
    if not store.is_local(uri):
        out = cls(path=download_path())
        out._remote_source = uri
    else:
        path = uris.local_path(uri) or uri
        if not os.path.isdir(path):
            raise StorageError(
                f"expected a directory at {uri!r}, but {'it is a file' if os.path.isfile(path) else 'nothing is there'}. "
                "The data was moved or deleted after the literal was made; produce it again."
            )
        out = cls(path=path, remote_directory=False)
        out._downloaded = True
    out._literal_uri = uri
    out._store = store
    return out


def _format_of(python_type: Any) -> str:
    return (
        python_type.extension()
        if isinstance(python_type, type) and issubclass(python_type, FlyteDirectory)
        else ""
    )


def check_local_directory(source: str) -> str:
    """The local path of ``source`` after checking it is an existing directory."""
    path = uris.local_path(source) or source
    if os.path.isfile(path):
        raise FlyteTypeError(
            f"expected a directory, got the file {source!r}. Declare the variable as FlyteFile to pass one "
            "file, or pass the directory that holds it."
        )
    if not os.path.isdir(path):
        where = f" (relative paths are resolved from {os.getcwd()})" if not os.path.isabs(path) else ""
        raise FlyteTypeError(
            f"expected an existing directory, got {source!r}, which does not exist{where}. Check the path, or "
            "pass a remote URI prefix (s3://…) for a directory that is not on this machine."
        )
    return path


class FlyteDirToMultipartBlobTransformer(TypeTransformer[FlyteDirectory]):
    """``FlyteDirectory`` / ``FlyteDirectory["fmt"]`` ⇄ multi-part ``Blob``."""

    name = "FlyteDirectory"

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, FlyteDirectory)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(
            blob=types_pb2.BlobType(format=_format_of(python_type), dimensionality=MULTIPART)
        )

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        uri = self._uri_for(value, as_store(store))
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                blob=literals_pb2.Blob(
                    metadata=literals_pb2.BlobMetadata(type=self.get_literal_type(python_type).blob), uri=uri
                )
            )
        )

    def _uri_for(self, value: Any, store: BaseStore) -> str:
        if isinstance(value, FlyteDirectory):
            passed = value.__dict__.get("_remote_source") or value.__dict__.get("_literal_uri")
            if passed:
                return str(passed)
            source = str(value.path)
            target = value.__dict__.get("_remote_directory")
            explicit = isinstance(target, (str, os.PathLike))
            upload = explicit or not (target is False or uris.is_remote(source) or store.keep_local_paths)
        elif isinstance(value, (str, os.PathLike)):
            source, target, explicit = os.fspath(value), None, False
            upload = not uris.is_remote(source) and not store.keep_local_paths
        else:
            raise FlyteTypeError(
                f"expected a directory (FlyteDirectory, a path str or an os.PathLike), got {received(value)}. "
                "Pass FlyteDirectory('path/or/uri') or the path itself."
            )
        if uris.is_remote(source):
            return source
        path = check_local_directory(source)
        if not upload:
            return source
        if explicit:
            dest = os.fspath(target)  # type: ignore[arg-type]
            for rel in uris.list_files(path):
                store.put_file(os.path.join(path, *rel.split("/")), uris.join(dest, rel))
            return dest
        return store.upload_dir(path)

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        cls = (
            python_type
            if isinstance(python_type, type) and issubclass(python_type, FlyteDirectory)
            else FlyteDirectory
        )
        scalar = literal.scalar
        if scalar.HasField("binary") or scalar.HasField("generic"):
            return _from_dict(_embedded_dict(literal), cls, as_store(store))
        if not scalar.HasField("blob"):
            raise FlyteTypeError(
                f"expected a directory (a multi-part blob literal), got {scalar_kind(literal)}. The value was "
                "produced for another type."
            )
        blob = scalar.blob
        if blob.metadata.type.dimensionality != MULTIPART:
            raise FlyteTypeError(
                f"expected a directory, got the single file {blob.uri!r}. Declare the variable as FlyteFile."
            )
        want, have = _format_of(cls), blob.metadata.type.format
        if want and have and want != have:
            raise FlyteTypeError(
                f"expected a directory of {want!r} files, got one of {have!r} files at {blob.uri!r}. Declare "
                f"the variable as FlyteDirectory[{have!r}] or plain FlyteDirectory."
            )
        return directory_from_uri(blob.uri, cls, as_store(store))

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        fmt = literal_type.blob.format
        return format_class(FlyteDirectory, fmt) if fmt else FlyteDirectory

    def describe(self, python_type: Any) -> str:
        fmt = _format_of(python_type)
        return f"directory[{fmt}]" if fmt else "directory"
