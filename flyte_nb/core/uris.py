"""Reading and writing any literal URI by its scheme: local paths, ``file://`` and fsspec object stores.

A Flyte literal names its raw data by URI, and the same literal is read in many places: a task called in
the kernel, the container entrypoint, the process sandbox, a remote run's outputs. This module is the one
place that turns a URI into bytes, files and listings:

* plain local paths and ``file://`` URIs always work, on this machine's filesystem;
* ``memory://`` URIs are written by an in-kernel call's :class:`~flyte_nb.core.storage.MemoryStore` and
  are only readable through it (the store resolves its own URIs before it asks this module); any other
  ``memory://`` URI goes to fsspec's in-memory filesystem when fsspec is installed;
* every other scheme (``s3://``, ``gs://``, ``abfs://`` …) goes through fsspec, imported on first use.
  When fsspec or the scheme's implementation is missing, the error names the extra to install
  (``pip install 'flyte-nb[s3]'``).

Writes are atomic: a local file is written under a temporary name in its directory and renamed into
place; an object store receives one whole-object PUT. A reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any

from flyte_nb.errors import StorageError

__all__ = [
    "exists",
    "get_file",
    "is_remote",
    "join",
    "kind",
    "list_files",
    "local_path",
    "open_uri",
    "put_file",
    "read_bytes",
    "remove_partial_writes",
    "scheme",
    "write_bytes_atomic",
]

Buffer = bytes | bytearray | memoryview

# URI scheme -> the optional extra that installs its fsspec implementation
_EXTRAS: dict[str, str] = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "abfs": "abfs",
    "abfss": "abfs",
    "az": "abfs",
}

MEMORY_HINT = (
    "memory:// URIs written by a task called in the kernel are only valid inside that call; "
    "run the task again, or return a file/directory that is kept on disk."
)


def scheme(uri: str) -> str:
    """The URI's scheme in lower case (``""`` for a plain path)."""
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def local_path(uri: str) -> str | None:
    """The local filesystem path for a plain path or ``file://`` URI (percent-escapes decoded, as
    ``Path.as_uri()`` writes them), else ``None``."""
    if uri.startswith("file://"):
        path = uri[len("file://") :]
        return urllib.parse.unquote(path) if "%" in path else path
    if "://" in uri:
        return None
    return uri


def is_remote(uri: str) -> bool:
    """True for URIs that are not on this machine's filesystem (flytekit's ``is_remote``)."""
    return local_path(uri) is None


def join(prefix: str, *parts: str) -> str:
    """``prefix/part/…`` with exactly one ``/`` between parts (works for paths and URIs)."""
    out = prefix.rstrip("/") if prefix not in ("/", "") else prefix
    for part in parts:
        if part:
            out = f"{out.rstrip('/')}/{part.strip('/')}"
    return out


# ---- fsspec ---------------------------------------------------------------------------------------


def _missing_backend(uri: str, exc: BaseException) -> StorageError:
    name = scheme(uri)
    extra = _EXTRAS.get(name)
    fix = (
        f"Install it with: pip install 'flyte-nb[{extra}]'."
        if extra
        else "Install fsspec and the package that implements this scheme, or use a local path / file:// URI."
    )
    return StorageError(
        f"Cannot access {uri!r}: the {name!r} scheme needs fsspec and its {name} implementation, "
        f"which are not installed ({exc}). {fix}"
    )


def _backend_error(verb: str, uri: str, exc: Exception) -> StorageError:
    """A failed object-store call as a :class:`StorageError` naming the URI.

    Object-store backends raise more than ``OSError``: botocore's ``NoCredentialsError``, google-auth's
    errors… Each must become a clear storage error (so the entrypoint reports it in ``error.pb``), not a
    crash with the backend's traceback.
    """
    return StorageError(
        f"Could not {verb} {uri!r}: {type(exc).__name__}: {exc}. Check the URI and the storage credentials."
    )


def _filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem for ``uri`` and the path inside it."""
    try:
        import fsspec
    except ImportError as exc:
        if scheme(uri) == "memory":
            raise StorageError(f"No data at {uri!r}. {MEMORY_HINT}") from exc
        raise _missing_backend(uri, exc) from exc
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except ImportError as exc:
        raise _missing_backend(uri, exc) from exc
    except Exception as exc:  # the backend's own errors (see _backend_error)
        raise _backend_error("access", uri, exc) from exc
    return fs, path


@contextlib.contextmanager
def _calling(verb: str, uri: str) -> Iterator[None]:
    """Map what an fsspec call raises to :class:`StorageError` naming ``uri``."""
    try:
        yield
    except FileNotFoundError as exc:
        hint = f" {MEMORY_HINT}" if scheme(uri) == "memory" else ""
        raise StorageError(f"Could not {verb} {uri!r}: nothing is stored there.{hint}") from exc
    except (OSError, KeyError) as exc:
        raise StorageError(f"Could not {verb} {uri!r}: {exc}.") from exc
    except StorageError:
        raise
    except Exception as exc:  # botocore/google-auth errors are no OSError (see _backend_error)
        raise _backend_error(verb, uri, exc) from exc


# ---- bytes ----------------------------------------------------------------------------------------


def read_bytes(uri: str) -> bytes:
    """The bytes stored at ``uri``.

    Raises
    ------
    StorageError
        When the object does not exist or cannot be read; the message names the URI.
    """
    path = local_path(uri)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise StorageError(f"Could not read {uri!r}: {exc.strerror or exc}.") from exc
    fs, fpath = _filesystem(uri)
    with _calling("read", uri):
        data: bytes = fs.cat_file(fpath)
    return data


def exists(uri: str) -> bool:
    """True when an object (or directory) exists at ``uri``."""
    path = local_path(uri)
    if path is not None:
        return os.path.exists(path)
    fs, fpath = _filesystem(uri)
    with _calling("check", uri):
        return bool(fs.exists(fpath))


def kind(uri: str) -> str | None:
    """``"file"``, ``"directory"`` or ``None`` (nothing there) for ``uri``.

    An object store has no directories: a prefix with objects under it counts as one.
    """
    path = local_path(uri)
    if path is not None:
        if os.path.isdir(path):
            return "directory"
        return "file" if os.path.exists(path) else None
    fs, fpath = _filesystem(uri)
    with _calling("check", uri):
        if fs.isdir(fpath):
            return "directory"
        return "file" if fs.exists(fpath) else None


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def _temp_beside(path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f".{os.path.basename(path)}.{os.urandom(16).hex()[:8]}.part")


#: The temporary name :func:`write_bytes_atomic` writes under: ``.<target name>.<8 hex>.part``.
_PARTIAL = re.compile(r"^\..+\.[0-9a-f]{8}\.part$")


def remove_partial_writes(prefix: str, *, recursive: bool = False) -> list[str]:
    """Remove the temporary files that writers killed mid-write (``kill -9``) left under a local ``prefix``.

    Only for a directory no other process is writing to: an attempt's own output or raw-data prefix, at
    the start of the attempt. Object stores have nothing to clean (a PUT is whole or absent).

    Returns
    -------
    list[str]
        The paths removed.
    """
    path = local_path(prefix)
    if path is None or not os.path.isdir(path):
        return []
    removed: list[str] = []
    for directory, subdirs, names in os.walk(path):  # unreadable directories are skipped, not raised
        if not recursive:
            subdirs.clear()
        for name in names:
            full = os.path.join(directory, name)
            if _PARTIAL.match(name) and os.path.isfile(full):
                _remove_quietly(full)
                removed.append(full)
    return removed


def write_bytes_atomic(uri: str, data: Buffer) -> None:
    """Write ``data`` at ``uri`` so that readers see either nothing or all of it.

    Local files are written under a temporary name in the target directory, flushed to disk and then
    renamed over the target; object stores get a single PUT of the whole object.
    """
    path = local_path(uri)
    if path is None:
        fs, fpath = _filesystem(uri)
        with _calling("write", uri):
            fs.pipe_file(fpath, bytes(data))
        return
    tmp = ""
    try:
        tmp = _temp_beside(path)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            _remove_quietly(tmp)
        raise StorageError(f"Could not write {uri!r}: {exc.strerror or exc}.") from exc


# ---- whole files ----------------------------------------------------------------------------------


def put_file(src: str, uri: str) -> None:
    """Copy the local file ``src`` to ``uri`` (atomically; an object store gets one upload)."""
    path = local_path(uri)
    if path is None:
        fs, fpath = _filesystem(uri)
        with _calling("write", uri):
            fs.put_file(src, fpath)
        return
    if os.path.abspath(src) == os.path.abspath(path):
        return
    tmp = ""
    try:
        tmp = _temp_beside(path)
        shutil.copyfile(src, tmp)  # copy_file_range/sendfile: the kernel copies, not Python
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            _remove_quietly(tmp)
        raise StorageError(f"Could not copy {src!r} to {uri!r}: {exc.strerror or exc}.") from exc


def get_file(uri: str, dst: str) -> None:
    """Copy the object at ``uri`` to the local file ``dst`` (written atomically)."""
    path = local_path(uri)
    tmp = ""
    try:
        tmp = _temp_beside(dst)
        if path is not None:
            shutil.copyfile(path, tmp)
        else:
            fs, fpath = _filesystem(uri)
            with _calling("read", uri):
                fs.get_file(fpath, tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        if tmp:
            _remove_quietly(tmp)
        if isinstance(exc, StorageError):
            raise
        raise StorageError(f"Could not read {uri!r} into {dst!r}: {exc.strerror or exc}.") from exc


def list_files(uri: str) -> list[str]:
    """The files under the directory (or object-store prefix) ``uri``, as sorted ``/``-separated paths
    relative to it. An empty list when nothing is there."""
    path = local_path(uri)
    if path is not None:
        out = []
        for root, _dirs, files in os.walk(path):
            rel_root = os.path.relpath(root, path)
            for name in files:
                rel = name if rel_root == "." else os.path.join(rel_root, name)
                out.append(rel.replace(os.sep, "/"))
        return sorted(out)
    fs, fpath = _filesystem(uri)
    base = fpath.rstrip("/")
    with _calling("list", uri):
        found = fs.find(base)
    return sorted(f[len(base) :].lstrip("/") for f in found if f.rstrip("/") != base)


class _AtomicLocalWriter(io.FileIO):
    """A local file opened for writing under a temporary name; renamed into place by ``close``."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._tmp = _temp_beside(target)
        self._failed = False
        super().__init__(self._tmp, "wb")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: Any) -> None:
        self._failed = exc_type is not None
        super().__exit__(exc_type, *rest)

    def abort(self) -> None:
        """Close without replacing the target (the temporary file is removed)."""
        self._failed = True
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        if self._failed:
            _remove_quietly(self._tmp)
        else:
            os.replace(self._tmp, self._target)


def open_uri(uri: str, mode: str = "rb") -> IO[Any]:
    """A file object for ``uri``: read modes stream it, write modes replace it atomically on close."""
    path = local_path(uri)
    writing = any(c in mode for c in "wax+")
    if path is not None:
        try:
            if writing and "w" in mode and "+" not in mode:
                raw = _AtomicLocalWriter(path)
                if "b" in mode:
                    return raw
                text = io.TextIOWrapper(io.BufferedWriter(raw))
                text.abort = raw.abort  # type: ignore[attr-defined]
                return text
            return open(path, mode)
        except OSError as exc:
            raise StorageError(f"Could not open {uri!r} ({mode!r}): {exc.strerror or exc}.") from exc
    fs, fpath = _filesystem(uri)
    with _calling("open", uri):
        return fs.open(fpath, mode)  # type: ignore[no-any-return]
