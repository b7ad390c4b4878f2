"""Files uploaded through a task widget, kept on the kernel's disk for as long as something needs them.

An upload button (ipywidgets' ``FileUpload``) delivers bytes; a file or directory input needs a path.
:class:`StagedUploads` writes the bytes to a temporary file (a directory of files for a directory input)
and hands back its path, which the form's path field then shows:

* everything is staged under one per-process root, made on the first upload and removed, with all it
  holds, when the kernel exits;
* a staged upload is discarded when its field gets another upload or its widget is closed — unless a
  run uses it: each run *leases* the staged paths among its inputs, and a discarded upload is removed
  when the last lease on it is released (when the run's thread has ended, even after a cancel);
* an upload is written under a temporary name and renamed into place, so a path the form shows always
  holds the whole upload.

:data:`STAGING` is the kernel's instance; importing this module creates nothing on disk.
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flyte_nb.errors import StorageError

__all__ = ["STAGING", "StagedUploads"]


def _safe_name(name: str) -> str:
    """The file name part of what a browser reports (never a path, ``.`` or ``..``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "").strip()
    return base if base not in ("", ".", "..") else "upload"


class _Root:
    """The staging directory, removed at interpreter exit (never earlier: staged paths stay valid)."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="flyte-nb-uploads-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)


class StagedUploads:
    """Temporary files and directories made from uploaded bytes, removed when nothing uses them."""

    def __init__(self) -> None:
        self._root: _Root | None = None
        self._lock = threading.Lock()
        self._leases: collections.Counter[str] = collections.Counter()
        self._discarded: set[str] = set()

    @property
    def root(self) -> str:
        """The staging directory (made on first use)."""
        with self._lock:
            if self._root is None:
                self._root = _Root()
            return self._root.path

    # -- staging -----------------------------------------------------------------------------------
    def stage_file(self, name: str, data: bytes | memoryview) -> str:
        """Write ``data`` as ``<root>/<hex>/<name>``; return that path.

        Raises
        ------
        StorageError
            The file could not be written (nothing is left behind).
        """
        entry = self._write({_safe_name(name): data})
        return os.path.join(entry, _safe_name(name))

    def stage_directory(self, files: Sequence[tuple[str, bytes | memoryview]]) -> str:
        """Write ``files`` (name, bytes) into a new directory ``<root>/<hex>``; return its path.

        Two files of the same name are kept apart as ``name``, ``name (2)``…
        """
        named: dict[str, bytes | memoryview] = {}
        for name, data in files:
            base, candidate, n = _safe_name(name), _safe_name(name), 1
            while candidate in named:
                n += 1
                stem, dot, ext = base.partition(".")
                candidate = f"{stem} ({n}){dot}{ext}"
            named[candidate] = data
        return self._write(named)

    def _write(self, files: dict[str, bytes | memoryview]) -> str:
        root = self.root
        key = uuid.uuid4().hex
        partial, entry = os.path.join(root, f".{key}.part"), os.path.join(root, key)
        try:
            os.makedirs(partial)
            for name, data in files.items():
                with open(os.path.join(partial, name), "wb") as fh:
                    fh.write(data)
            os.rename(partial, entry)
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise StorageError(
                f"Could not stage the upload in {root!r}: {exc.strerror or exc}. Make room there (or start the "
                "kernel with TMPDIR set to a writable directory with room), then upload again."
            ) from exc
        return entry

    # -- lifetime ----------------------------------------------------------------------------------
    def entry_of(self, path: str) -> str | None:
        """The staged upload (``<root>/<hex>``) that ``path`` lies in, or ``None``."""
        with self._lock:
            if self._root is None:
                return None
            root = self._root.path
        full = os.path.abspath(path)
        if not full.startswith(root + os.sep):
            return None
        return os.path.join(root, full[len(root) + 1 :].split(os.sep, 1)[0])

    def discard(self, path: str) -> None:
        """Remove the upload ``path`` is in: now, or when the last run using it ends."""
        entry = self.entry_of(path)
        if entry is None:
            return
        with self._lock:
            if self._leases[entry] > 0:
                self._discarded.add(entry)
                return
        shutil.rmtree(entry, ignore_errors=True)

    def lease(self, values: Iterable[Any]) -> Callable[[], None]:
        """Keep the uploads that ``values`` (a run's inputs) point into until the returned function is
        called; it may be called more than once (only the first call counts)."""
        entries = [
            entry
            for value in values
            if isinstance(value, (str, os.PathLike)) and (entry := self.entry_of(str(value))) is not None
        ]
        with self._lock:
            self._leases.update(entries)
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            doomed = []
            with self._lock:
                self._leases.subtract(entries)
                for entry in set(entries):
                    if self._leases[entry] <= 0:
                        del self._leases[entry]
                        if entry in self._discarded:
                            self._discarded.discard(entry)
                            doomed.append(entry)
            for entry in doomed:
                shutil.rmtree(entry, ignore_errors=True)

        return release

    def in_use(self, path: str) -> bool:
        """True while a run holds a lease on the upload ``path`` is in."""
        entry = self.entry_of(path)
        with self._lock:
            return entry is not None and self._leases[entry] > 0


#: The kernel's staging area for the task widgets' upload buttons.
STAGING = StagedUploads()
