"""A run's printed output, sent to the run's own panel.

A task started from the widget runs on its own thread while the kernel goes on handling cells. Python has
one ``sys.stdout`` for all threads, so a print from the run would land in whatever cell the kernel is
handling at that moment (or nowhere: a button click is not a cell). :func:`routed_output` swaps in a
router that sends each registered thread's writes to its callback and everything else to the real stream.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

__all__ = ["ThreadRouter", "routed_output"]


class ThreadRouter:
    """A stand-in for ``sys.stdout``/``sys.stderr`` that sends writes from registered threads to their
    callbacks and everything else to the stream it wraps.

    Why: a print from a run's thread would otherwise go to whatever cell the kernel handles at that
    moment (or nowhere: a button click is not a cell); routed, it appears in the run's own panel.
    """

    # Not an io.TextIOBase: its own encoding/fileno/isatty would hide the real stream's.
    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped
        self.routes: dict[int, Callable[[str], None]] = {}

    def write(self, text: str) -> int:
        route = self.routes.get(threading.get_ident())
        if route is None:
            return int(self.wrapped.write(text) or 0)
        route(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in self.routes:
            self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty… of the real stream
        return getattr(self.wrapped, name)


_router_lock = threading.Lock()


@contextlib.contextmanager
def routed_output(write: Callable[[str], None]) -> Iterator[None]:
    """Send this thread's ``sys.stdout``/``sys.stderr`` writes to ``write`` inside the block.

    The routers are removed again when no thread uses them (unless something else replaced
    ``sys.stdout`` meanwhile, which is then left alone).
    """
    ident = threading.get_ident()
    routers = []
    with _router_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, ThreadRouter):
                stream = ThreadRouter(stream)
                setattr(sys, name, stream)
            stream.routes[ident] = write
            routers.append((name, stream))
    try:
        yield
    finally:
        with _router_lock:
            for name, router in routers:
                router.routes.pop(ident, None)
                if not router.routes and getattr(sys, name) is router:
                    setattr(sys, name, router.wrapped)
