"""Keeping the output of concurrent nodes readable: whole lines, each prefixed with its node.

When the sub-nodes of a dynamic task run at once, their processes write at the same time. Passed on as
it arrives, a line of one node could be cut by a chunk of another. :class:`LinePrefixer` holds a
node's partial line until its newline and writes complete lines only, each as ``[n3] text``, under one
lock shared by every node of the run, so lines never mix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["LinePrefixer"]

_MAX_PARTIAL = 64 * 1024  # a "line" longer than this is passed on unfinished rather than held forever


class LinePrefixer:
    """A ``write(text)`` callback that passes whole lines on to ``write``, each starting with ``prefix``.

    Parameters
    ----------
    prefix:
        Put before every line, e.g. ``"[n3] "``.
    write:
        Where the prefixed lines go.
    lock:
        Held while writing, shared by every writer whose lines must not interleave.
    """

    def __init__(self, prefix: str, write: Callable[[str], None], lock: threading.Lock) -> None:
        self.prefix = prefix
        self._write = write
        self._lock = lock
        self._partial = ""

    def __call__(self, text: str) -> None:
        self._partial += text
        if "\n" not in text and len(self._partial) < _MAX_PARTIAL:
            return
        if len(self._partial) >= _MAX_PARTIAL:
            whole, self._partial = self._partial, ""
            self._emit(whole.removesuffix("\n").split("\n"))
            return
        whole, _, self._partial = self._partial.rpartition("\n")
        self._emit(whole.split("\n"))

    def close(self) -> None:
        """Pass on a last line that has no newline (with one, so the next node's line starts fresh)."""
        if self._partial:
            rest, self._partial = self._partial, ""
            self._emit([rest])

    def _emit(self, lines: list[str]) -> None:
        text = "".join(f"{self.prefix}{line}\n" for line in lines)
        with self._lock:
            self._write(text)
