"""Checkpoints: what a task saves so that its next attempt can resume (flytekit's ``Checkpoint`` API).

``flyte_nb.current_context().checkpoint`` offers ``write(bytes)`` / ``read()`` for a single blob and
``save(path)`` / ``restore(path)`` for files and directories. Where the data goes depends on where the
task runs:

* In a container (and the process sandbox, which runs the same command), :class:`SyncCheckpoint` writes
  under ``--checkpoint-path`` (propeller's ``{{.checkpointOutputPrefix}}``) and reads the previous
  attempt's checkpoint from ``--prev-checkpoint``. So after a retryable failure the next attempt sees
  what the failed one saved, on a cluster as in the process sandbox.
* In the kernel, :class:`MemoryCheckpoint` keeps the bytes in memory; ``SandboxExecutor(mode="kernel")``
  hands each retried attempt the previous attempt's checkpoint.
"""

from __future__ import annotations

import abc
import io
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import IO, Any

from flyte_nb.core import uris
from flyte_nb.errors import StorageError

__all__ = ["Checkpoint", "MemoryCheckpoint", "SyncCheckpoint"]

SRC_LOCAL_FOLDER = "prev_cp"  # flytekit's names, so checkpoints look the same in the blob store
TMP_DST_PATH = "_dst_cp"


class Checkpoint(abc.ABC):
    """Read the previous attempt's checkpoint, write this attempt's (flytekit's ``Checkpoint``)."""

    @abc.abstractmethod
    def prev_exists(self) -> bool:
        """Whether there is a previous attempt whose checkpoint can be restored."""

    @abc.abstractmethod
    def restore(self, path: Path | str | None = None) -> Path | None:
        """Copy the previous checkpoint into the directory ``path`` (a temporary one by default) and
        return it; ``None`` when there is none. A second call returns the same directory."""

    @abc.abstractmethod
    def save(self, cp: Path | str | IO[bytes]) -> None:
        """Save a file, a directory (recursively) or the bytes of a reader as this attempt's checkpoint."""

    def read(self) -> bytes | None:
        """The previous checkpoint's single file, or ``None`` when there is none.

        Raises
        ------
        StorageError
            The previous checkpoint holds more than one file (use :meth:`restore` for those).
        """
        restored = self.restore()
        if restored is None:
            return None
        files = sorted(p for p in restored.rglob("*") if p.is_file())
        if not files:
            return None
        if len(files) > 1:
            raise StorageError(
                f"expected one file in the previous checkpoint, got {len(files)} "
                f"({', '.join(str(f.relative_to(restored)) for f in files[:5])}). Use checkpoint.restore(dir) "
                "for a checkpoint of several files."
            )
        return files[0].read_bytes()

    def write(self, b: bytes) -> None:
        """Save ``b`` as this attempt's checkpoint (replacing what :meth:`write` saved before)."""
        self.save(io.BytesIO(b))


def _scratch_dir(owner: object, under: str | None) -> Path:
    """A temporary directory removed when ``owner`` is garbage-collected."""
    if under:
        os.makedirs(under, exist_ok=True)
    path = tempfile.mkdtemp(prefix="flyte-nb-checkpoint-", dir=under or None)
    weakref.finalize(owner, shutil.rmtree, path, True)
    return Path(path)


def _target_dir(owner: object, path: Path | str | None, under: str | None) -> Path:
    if path is None:
        target = _scratch_dir(owner, under) / SRC_LOCAL_FOLDER
        target.mkdir()
        return target
    target = Path(path)
    if not target.is_dir():
        raise StorageError(
            f"checkpoint.restore({str(path)!r}): expected an existing directory, got a path that is not one. "
            "Create the directory first, or call restore() without a path."
        )
    return target


def _files_of(cp: Path | str | IO[bytes]) -> dict[str, bytes]:
    """Relative name -> bytes of what ``save`` was given."""
    if isinstance(cp, (str, Path)):
        path = Path(cp)
        if path.is_dir():
            return {
                p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
            }
        if path.is_file():
            return {path.name: path.read_bytes()}
        raise StorageError(f"checkpoint.save({str(cp)!r}): no such file or directory. Save an existing path.")
    if isinstance(cp, io.IOBase) or hasattr(cp, "read"):
        data: Any = cp.read()  # a text reader gives str
        if isinstance(data, str):
            data = data.encode()
        return {TMP_DST_PATH: bytes(data)}
    raise StorageError(
        f"checkpoint.save: expected a path (str or Path) or a binary reader, got {cp!r} ({type(cp).__name__}). "
        "Pass a file or directory path, or use checkpoint.write(bytes)."
    )


class MemoryCheckpoint(Checkpoint):
    """A checkpoint kept in memory (kernel runs), optionally with the previous attempt's.

    Parameters
    ----------
    previous:
        The files the previous attempt saved (``None`` when this is a first attempt).
    """

    def __init__(self, previous: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = {}
        self._previous = dict(previous) if previous is not None else None
        self._restored: Path | None = None

    def prev_exists(self) -> bool:
        return self._previous is not None

    def restore(self, path: Path | str | None = None) -> Path | None:
        if self._previous is None:
            return None
        if self._restored is not None:
            return self._restored
        target = _target_dir(self, path, None)
        for name, data in self._previous.items():
            dest = target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        self._restored = target
        return target

    def save(self, cp: Path | str | IO[bytes]) -> None:
        self.files.update(_files_of(cp))

    def read(self) -> bytes | None:
        if not self._previous:
            return None
        if len(self._previous) > 1:
            return super().read()  # the same error as a stored checkpoint of several files
        return next(iter(self._previous.values()))

    def __repr__(self) -> str:
        prev = "none" if self._previous is None else f"{len(self._previous)} file(s)"
        return f"MemoryCheckpoint(saved {len(self.files)} file(s), previous: {prev})"


class SyncCheckpoint(Checkpoint):
    """A checkpoint under a URI prefix (local path, ``file://`` or an fsspec store), as on a cluster.

    Parameters
    ----------
    checkpoint_dest:
        Where this attempt's checkpoint goes (``--checkpoint-path``).
    checkpoint_src:
        The previous attempt's checkpoint (``--prev-checkpoint``), or ``None``.
    local_dir:
        Where :meth:`restore` downloads to by default (the task's working directory).
    """

    def __init__(
        self, checkpoint_dest: str, checkpoint_src: str | None = None, local_dir: str | None = None
    ) -> None:
        self._dest = checkpoint_dest
        self._src = checkpoint_src or None
        self._local_dir = local_dir
        self._restored: Path | None = None

    @property
    def checkpoint_dest(self) -> str:
        """This attempt's checkpoint prefix."""
        return self._dest

    @property
    def checkpoint_src(self) -> str | None:
        """The previous attempt's checkpoint prefix."""
        return self._src

    def prev_exists(self) -> bool:
        return self._src is not None

    def restore(self, path: Path | str | None = None) -> Path | None:
        if self._src is None:
            return None
        if self._restored is not None:
            return self._restored
        target = _target_dir(self, path, self._local_dir)
        for rel, uri in _list_files(self._src):
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(_read(uri))
        self._restored = target
        return target

    def save(self, cp: Path | str | IO[bytes]) -> None:
        for name, data in _files_of(cp).items():
            uris.write_bytes_atomic(uris.join(self._dest, name), data)

    def __repr__(self) -> str:
        return f"SyncCheckpoint(dest={self._dest!r}, src={self._src!r})"


def _read(uri: str) -> bytes:
    return uris.read_bytes(uri)


def _list_files(prefix: str) -> list[tuple[str, str]]:
    """``(relative path, uri)`` of every object under ``prefix`` (none when it does not exist)."""
    return [(rel, uris.join(prefix, rel)) for rel in uris.list_files(prefix)] if uris.exists(prefix) else []
