"""Where raw data (pickles, arrays, dataframes) lives while it travels as a Flyte literal.

A literal never holds a large value itself: it holds a URI under the execution's *raw output prefix*.
:class:`RawStore` is the small interface the type engine writes and reads those URIs through:

* :class:`MemoryStore` keeps the bytes in a dict. In-kernel runs use a fresh one per call, so pickled
  values cost no disk round trip and disappear with the call.
* :class:`LocalStore` writes plain local paths (and reads ``file://`` URIs), as flytekit does locally,
  so flytekit can read what flyte_nb wrote and the other way round.
* The container entrypoint adds fsspec-backed schemes (``s3://`` …) in :mod:`flyte_nb.runtime.storage`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import weakref
from typing import Protocol, runtime_checkable

from flyte_nb.errors import StorageError

__all__ = ["LocalStore", "MemoryStore", "RawStore", "local_path"]

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


class MemoryStore:
    """A :class:`RawStore` that keeps everything in memory under ``memory://<id>/…`` URIs."""

    def __init__(self) -> None:
        # Made on first use: every task call creates a store, and most (ints, strings) never write to it.
        self._prefix = ""
        self._blobs: dict[str, bytes] = {}

    @property
    def raw_prefix(self) -> str:
        if not self._prefix:
            self._prefix = f"memory://{uuid.uuid4().hex[:12]}"
        return self._prefix

    def new_uri(self, name: str = "") -> str:
        return _join(self.raw_prefix, uuid.uuid4().hex, name)

    def write_bytes(self, uri: str, data: Buffer) -> None:
        self._blobs[uri] = bytes(data) if not isinstance(data, bytes) else data

    def read_bytes(self, uri: str) -> bytes:
        try:
            return self._blobs[uri]
        except KeyError:
            raise StorageError(
                f"No data at {uri!r} in this in-memory store (it holds {len(self._blobs)} objects). "
                "A memory:// URI is only valid inside the run that wrote it; run the task again."
            ) from None

    def __len__(self) -> int:
        return len(self._blobs)


def local_path(uri: str) -> str | None:
    """The local filesystem path for a plain path or ``file://`` URI, else ``None``."""
    if uri.startswith("file://"):
        return uri[len("file://") :]
    if "://" in uri:
        return None
    return uri


class LocalStore:
    """A :class:`RawStore` over a local directory (plain absolute paths, like flytekit's local runs).

    With no ``raw_prefix`` a temporary directory is created on first use and removed when the store is
    garbage-collected (or at interpreter exit).
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

    def new_uri(self, name: str = "") -> str:
        return _join(self.raw_prefix, uuid.uuid4().hex, name)

    def write_bytes(self, uri: str, data: Buffer) -> None:
        path = local_path(uri)
        if path is None:
            raise StorageError(
                f"Cannot write {uri!r}: only local paths and file:// URIs are supported here. "
                "Install the matching fsspec extra (e.g. pip install 'flyte-nb[s3]') for remote storage."
            )
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex[:8]}.part"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # readers never see a half-written file
        except OSError as exc:
            raise StorageError(f"Could not write {uri!r}: {exc}") from exc

    def read_bytes(self, uri: str) -> bytes:
        path = local_path(uri)
        if path is None:
            raise StorageError(
                f"Cannot read {uri!r}: only local paths and file:// URIs are supported here. "
                "Install the matching fsspec extra (e.g. pip install 'flyte-nb[s3]') for remote storage."
            )
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise StorageError(f"Could not read {uri!r}: {exc}") from exc
