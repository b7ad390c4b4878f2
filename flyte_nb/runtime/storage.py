"""Reading and writing the files a task exchanges with Flyte: local paths, ``file://`` and fsspec URIs.

Propeller hands the container URIs (``--inputs``, ``--output-prefix``, ``--raw-output-data-prefix``) in
whatever blob store the cluster uses. Local paths and ``file://`` URIs always work. Any other scheme
(``s3://``, ``gs://``, ``abfs://``…) goes through fsspec, imported on first use; when fsspec or the
scheme's implementation is missing, the error names the extra to install (``pip install 'flyte-nb[s3]'``).

Writes are *atomic*: a local file is written to a temporary name in the same directory and renamed into
place, and an object store receives one whole-object PUT. A reader therefore never sees half of an
``outputs.pb``, even when the writer is killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from typing import Any

from flyte_nb.core.storage import local_path
from flyte_nb.errors import StorageError

__all__ = [
    "UriStore",
    "exists",
    "join",
    "read_bytes",
    "store_for",
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


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def _missing_backend(uri: str, exc: BaseException) -> StorageError:
    scheme = _scheme(uri)
    extra = _EXTRAS.get(scheme)
    fix = (
        f"Install it with: pip install 'flyte-nb[{extra}]'."
        if extra
        else "Install fsspec and the package that implements this scheme, or use a local path / file:// URI."
    )
    return StorageError(
        f"Cannot access {uri!r}: the {scheme!r} scheme needs fsspec and its {scheme} implementation, "
        f"which are not installed ({exc}). {fix}"
    )


def _filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem for ``uri`` and the path inside it."""
    try:
        import fsspec
    except ImportError as exc:
        raise _missing_backend(uri, exc) from exc
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except ImportError as exc:
        raise _missing_backend(uri, exc) from exc
    except Exception as exc:  # the backend's own errors (see _backend_error)
        raise _backend_error("access", uri, exc) from exc
    return fs, path


def _backend_error(verb: str, uri: str, exc: Exception) -> StorageError:
    """A failed object-store call as a :class:`StorageError` naming the URI.

    Object-store backends raise more than ``OSError``: botocore's ``NoCredentialsError``, google-auth's
    errors… Each must become a clear storage error (so the entrypoint reports it in ``error.pb``), not a
    crash with the backend's traceback.
    """
    return StorageError(
        f"Could not {verb} {uri!r}: {type(exc).__name__}: {exc}. Check the URI and the storage credentials."
    )


def join(prefix: str, *parts: str) -> str:
    """``prefix/part/…`` with exactly one ``/`` between parts (works for paths and URIs)."""
    out = prefix.rstrip("/") if prefix not in ("/", "") else prefix
    for part in parts:
        if part:
            out = f"{out.rstrip('/')}/{part.strip('/')}"
    return out


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
    try:
        data: bytes = fs.cat_file(fpath)
    except (OSError, KeyError) as exc:
        raise StorageError(f"Could not read {uri!r}: {exc}.") from exc
    except Exception as exc:
        raise _backend_error("read", uri, exc) from exc
    return data


def exists(uri: str) -> bool:
    """True when an object (or directory) exists at ``uri``."""
    path = local_path(uri)
    if path is not None:
        return os.path.exists(path)
    fs, fpath = _filesystem(uri)
    try:
        return bool(fs.exists(fpath))
    except OSError as exc:
        raise StorageError(f"Could not check {uri!r}: {exc}.") from exc
    except Exception as exc:
        raise _backend_error("check", uri, exc) from exc


def write_bytes_atomic(uri: str, data: Buffer) -> None:
    """Write ``data`` at ``uri`` so that readers see either nothing or all of it.

    Local files are written under a temporary name in the target directory, flushed to disk and then
    renamed over the target; object stores get a single PUT of the whole object.
    """
    path = local_path(uri)
    if path is None:
        fs, fpath = _filesystem(uri)
        try:
            fs.pipe_file(fpath, bytes(data))
        except OSError as exc:
            raise StorageError(f"Could not write {uri!r}: {exc}.") from exc
        except Exception as exc:
            raise _backend_error("write", uri, exc) from exc
        return
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.part")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise StorageError(f"Could not write {uri!r}: {exc.strerror or exc}.") from exc


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


class UriStore:
    """A :class:`~flyte_nb.core.storage.RawStore` over any prefix this module can reach.

    New raw data is written under ``raw_prefix``; reads accept any local path or URI, because inputs may
    point at data another execution wrote elsewhere.
    """

    def __init__(self, raw_prefix: str) -> None:
        self._prefix = raw_prefix

    @property
    def raw_prefix(self) -> str:
        """The prefix new raw data is written under."""
        return self._prefix

    def new_uri(self, name: str = "") -> str:
        """A fresh URI ``<raw_prefix>/<32 hex>[/<name>]``; nothing is written yet."""
        return join(self._prefix, uuid.uuid4().hex, name)

    def write_bytes(self, uri: str, data: Buffer) -> None:
        """Write ``data`` at ``uri`` atomically."""
        write_bytes_atomic(uri, data)

    def read_bytes(self, uri: str) -> bytes:
        """Read the bytes at ``uri``."""
        return read_bytes(uri)

    def __repr__(self) -> str:
        return f"UriStore({self._prefix!r})"


def store_for(raw_prefix: str | None) -> UriStore:
    """The raw-data store for a task run whose raw output prefix is ``raw_prefix``.

    ``None`` (no prefix given) means a new local temporary directory, which is *not* removed: values
    written there are referenced by the outputs the run leaves behind.
    """
    if raw_prefix is None:
        raw_prefix = tempfile.mkdtemp(prefix="flyte-nb-raw-")
    return UriStore(raw_prefix)
