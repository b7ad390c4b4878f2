"""Where raw data (pickles, arrays, dataframes, files) lives while it travels as a Flyte literal.

A literal never holds a large value itself: it holds a URI under the execution's *raw output prefix*.
:class:`RawStore` is the small interface the type engine writes and reads those URIs through, and
:class:`BaseStore` is what every flyte_nb store builds on: new data goes under the store's own prefix,
and *any* URI is read by its scheme (:mod:`flyte_nb.core.uris`), so a literal made anywhere can be read
anywhere it is reachable from:

* :class:`MemoryStore` keeps the bytes it writes in a dict. In-kernel runs use a fresh one per call, so
  pickled values cost no disk round trip and disappear with the call; it also reads local files and
  object-store URIs, so literals made outside the call (``TypeEngine.to_literal(...)``) work as inputs.
* :class:`LocalStore` writes plain local paths, as flytekit does locally, so flytekit can read what
  flyte_nb wrote and the other way round.
* The container entrypoint writes under the ``--raw-output-data-prefix`` it is given
  (:class:`flyte_nb.runtime.storage.UriStore`), and a remote run moves bytes through the cluster's data
  proxy (:mod:`flyte_nb.remote.upload`).

Besides bytes, a :class:`BaseStore` moves whole files and directories (``FlyteFile``, ``FlyteDirectory``)
and says whether local paths stay where they are (:attr:`BaseStore.keep_local_paths`: true for plain
local runs, as flytekit keeps local paths in local executions) or are uploaded under the raw prefix.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import weakref
from typing import IO, Any, Protocol, runtime_checkable

from flyte_nb.core import uris
from flyte_nb.core.uris import local_path
from flyte_nb.errors import StorageError

__all__ = ["BaseStore", "LocalStore", "MemoryStore", "ObjectWriter", "RawStore", "as_store", "local_path"]

Buffer = bytes | bytearray | memoryview


@runtime_checkable
class RawStore(Protocol):
    """Reads and writes the raw data behind literal URIs."""

    @property
    def raw_prefix(self) -> str:
        """The prefix new raw data is written under."""
        ...

    def new_uri(self, name: str = "") -> str:
        """A fresh, unique URI ``<raw_prefix>/<random 32 hex>[/<name>]`` (nothing is written yet)."""
        ...

    def write_bytes(self, uri: str, data: Buffer) -> None:
        """Write ``data`` at ``uri`` (creating parent "directories" as needed)."""
        ...

    def read_bytes(self, uri: str) -> bytes:
        """Read the bytes at ``uri``; raise :class:`StorageError` naming the URI when it is missing."""
        ...


def _join(prefix: str, *parts: str) -> str:
    out = prefix.rstrip("/")
    for part in parts:
        if part:
            out = f"{out}/{part.strip('/')}"
    return out


class BaseStore:
    """A :class:`RawStore` that reads any URI by its scheme and moves whole files and directories.

    Subclasses give :attr:`raw_prefix` and override the operations for the URIs they own (a
    :class:`MemoryStore` its ``memory://`` ones, the data proxy store its signed URLs); everything else
    goes through :mod:`flyte_nb.core.uris`.

    Attributes
    ----------
    keep_local_paths:
        When true, a local file or directory given as a value keeps its path in the literal (a plain
        local run, where the reader shares this filesystem). When false, it is uploaded under
        :attr:`raw_prefix`, as flytekit does in a container and when converting outside a run.
    """

    keep_local_paths: bool = False

    @property
    def raw_prefix(self) -> str:
        """The prefix new raw data is written under."""
        raise NotImplementedError

    def new_uri(self, name: str = "") -> str:
        """A fresh, unique URI ``<raw_prefix>/<random 32 hex>[/<name>]`` (nothing is written yet)."""
        return _join(self.raw_prefix, os.urandom(16).hex(), name)

    # -- bytes ------------------------------------------------------------------------------------
    def write_bytes(self, uri: str, data: Buffer) -> None:
        """Write ``data`` at ``uri`` atomically."""
        uris.write_bytes_atomic(uri, data)

    def read_bytes(self, uri: str) -> bytes:
        """The bytes at ``uri`` (any scheme this process can reach)."""
        return uris.read_bytes(uri)

    # -- files and directories --------------------------------------------------------------------
    def is_local(self, uri: str) -> bool:
        """True when ``uri`` is a path on this machine that can be used in place (no download)."""
        return not uris.is_remote(uri)

    def kind(self, uri: str) -> str | None:
        """``"file"``, ``"directory"`` or ``None`` when nothing is stored at ``uri``."""
        return uris.kind(uri)

    def put_file(self, src: str, uri: str) -> None:
        """Store the local file ``src`` at ``uri``."""
        uris.put_file(src, uri)

    def get_file(self, uri: str, dst: str) -> None:
        """Copy the object at ``uri`` into the local file ``dst``."""
        uris.get_file(uri, dst)

    def list_files(self, uri: str) -> list[str]:
        """The files under the directory ``uri``, as sorted relative ``/``-separated paths."""
        return uris.list_files(uri)

    def open(self, uri: str, mode: str = "rb") -> IO[Any]:
        """A file object on ``uri`` (writes replace the object atomically when it is closed)."""
        return uris.open_uri(uri, mode)

    def upload_file(self, src: str) -> str:
        """Store the local file ``src`` under the raw prefix as ``<raw>/<hex32>/<basename>``; its URI."""
        uri = self.new_uri(os.path.basename(src.rstrip(os.sep)))
        self.put_file(src, uri)
        return uri

    def upload_dir(self, src: str) -> str:
        """Store the local directory ``src`` recursively under ``<raw>/<hex32>``; its URI (no trailing /)."""
        uri = self.new_uri()
        for rel in uris.list_files(src):
            self.put_file(os.path.join(src, *rel.split("/")), _join(uri, rel))
        return uri


class ObjectWriter(io.BytesIO):
    """A write handle on one object of a store: its bytes are stored (whole) when it is closed."""

    def __init__(self, store: RawStore, uri: str) -> None:
        super().__init__()
        self._store, self._uri, self._failed = store, uri, False

    def __exit__(self, exc_type: type[BaseException] | None, *rest: Any) -> None:
        self._failed = exc_type is not None
        super().__exit__(exc_type, *rest)

    def abort(self) -> None:
        """Close without storing anything."""
        self._failed = True
        self.close()

    def close(self) -> None:
        if not self.closed and not self._failed:
            self._store.write_bytes(self._uri, self.getvalue())
        super().close()


class MemoryStore(BaseStore):
    """A store that keeps what it writes in memory under ``memory://<id>/…`` URIs.

    URIs it did not write are read by their scheme (local paths, ``file://``, object stores), so a
    literal made outside the in-kernel call that owns this store is readable inside it. Local paths
    given as file values stay where they are (:attr:`keep_local_paths`): an in-kernel call reads a
    user's file in place, without a copy.
    """

    keep_local_paths = True

    def __init__(self) -> None:
        # Made on first use: every task call creates a store, and most (ints, strings) never write to it.
        self._prefix = ""
        self._blobs: dict[str, bytes] = {}

    @property
    def raw_prefix(self) -> str:
        if not self._prefix:
            self._prefix = f"memory://{os.urandom(16).hex()[:12]}"
        return self._prefix

    def owns(self, uri: str) -> bool:
        """True for URIs under this store's own ``memory://`` prefix."""
        if uri in self._blobs:
            return True
        return bool(self._prefix) and (uri == self._prefix or uri.startswith(self._prefix + "/"))

    def write_bytes(self, uri: str, data: Buffer) -> None:
        if uri.startswith("memory://"):
            self._blobs[uri] = bytes(data) if not isinstance(data, bytes) else data
        else:
            super().write_bytes(uri, data)

    def read_bytes(self, uri: str) -> bytes:
        data = self._blobs.get(uri)
        if data is not None:
            return data
        if self.owns(uri):
            raise StorageError(
                f"No data at {uri!r} in this in-memory store (it holds {len(self._blobs)} objects). "
                "It was never written by this call: write it (e.g. with FlyteFile.open('wb')) before "
                "reading it."
            )
        return super().read_bytes(uri)

    def kind(self, uri: str) -> str | None:
        if not self.owns(uri):
            return super().kind(uri)
        if uri in self._blobs:
            return "file"
        return "directory" if self.list_files(uri) else None

    def put_file(self, src: str, uri: str) -> None:
        if not uri.startswith("memory://"):
            super().put_file(src, uri)
            return
        try:
            with open(src, "rb") as fh:
                self.write_bytes(uri, fh.read())
        except OSError as exc:
            raise StorageError(f"Could not read {src!r}: {exc.strerror or exc}.") from exc

    def get_file(self, uri: str, dst: str) -> None:
        if self.owns(uri):
            uris.write_bytes_atomic(dst, self.read_bytes(uri))
        else:
            super().get_file(uri, dst)

    def list_files(self, uri: str) -> list[str]:
        if not self.owns(uri):
            return super().list_files(uri)
        base = uri.rstrip("/") + "/"
        return sorted(k[len(base) :] for k in self._blobs if k.startswith(base))

    def open(self, uri: str, mode: str = "rb") -> IO[Any]:
        if not uri.startswith("memory://") or (not self.owns(uri) and "r" in mode):
            return super().open(uri, mode)
        if "r" in mode:
            data = io.BytesIO(self.read_bytes(uri))
            return data if "b" in mode else io.TextIOWrapper(data)
        writer = ObjectWriter(self, uri)
        if "b" in mode:
            return writer
        text = io.TextIOWrapper(writer)
        text.abort = writer.abort  # type: ignore[attr-defined]
        return text

    def __len__(self) -> int:
        return len(self._blobs)


class LocalStore(BaseStore):
    """A store over a local directory (plain absolute paths, like flytekit's local runs).

    With no ``raw_prefix`` a temporary directory is created on first use and removed when the store is
    garbage-collected (or at interpreter exit). Local file values are uploaded (copied) under the
    prefix, as flytekit does when it converts values outside a run.
    """

    def __init__(self, raw_prefix: str | None = None) -> None:
        self._prefix = raw_prefix
        self._finalizer: object = None

    @property
    def raw_prefix(self) -> str:
        if self._prefix is None:
            tmp = tempfile.mkdtemp(prefix="flyte-nb-raw-")
            self._finalizer = weakref.finalize(self, shutil.rmtree, tmp, True)
            self._prefix = tmp
        return self._prefix


class _StoreAdapter(BaseStore):
    """A :class:`BaseStore` around a plain :class:`RawStore` (one written for the protocol only)."""

    def __init__(self, inner: RawStore) -> None:
        self.inner = inner
        self.keep_local_paths = bool(getattr(inner, "keep_local_paths", False))

    @property
    def raw_prefix(self) -> str:
        return self.inner.raw_prefix

    def new_uri(self, name: str = "") -> str:
        return self.inner.new_uri(name)

    def write_bytes(self, uri: str, data: Buffer) -> None:
        self.inner.write_bytes(uri, data)

    def read_bytes(self, uri: str) -> bytes:
        return self.inner.read_bytes(uri)

    def put_file(self, src: str, uri: str) -> None:
        try:
            with open(src, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise StorageError(f"Could not read {src!r}: {exc.strerror or exc}.") from exc
        self.inner.write_bytes(uri, data)

    def get_file(self, uri: str, dst: str) -> None:
        uris.write_bytes_atomic(dst, self.inner.read_bytes(uri))


def as_store(store: RawStore) -> BaseStore:
    """``store`` with the whole :class:`BaseStore` interface (wrapped when it only has the protocol)."""
    return store if isinstance(store, BaseStore) else _StoreAdapter(store)
