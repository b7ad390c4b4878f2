"""Figures a task opens stay with the task, as they would in its container.

A task that draws with ``matplotlib.pyplot`` and returns the figure, called in a notebook, left two
figures open in pyplot besides the value it returned: the one its body drew, and the copy that the
literal round trip unpickles (a pickled pyplot figure registers itself with pyplot again). The inline
backend shows every open figure when the cell ends, so the figure appeared three times. On a cluster the
task's figures live and die in its container; :func:`contained` closes the figures a call opened when it
ends, so only the returned value is shown.

pyplot is never imported here: when the notebook has not imported it, no figure can be open.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["close_opened", "contained", "open_figures"]


def open_figures() -> frozenset[int]:
    """The numbers of the pyplot figures open now (none when pyplot is not imported)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    return frozenset(pyplot.get_fignums()) if pyplot is not None else frozenset()


def close_opened(before: frozenset[int]) -> None:
    """Close the pyplot figures open now that were not open in ``before`` (see :func:`contained`)."""
    pyplot = sys.modules.get("matplotlib.pyplot")  # the block may have imported it
    if pyplot is not None:
        for number in sorted(set(pyplot.get_fignums()) - before):
            pyplot.close(number)


@contextlib.contextmanager
def contained() -> Iterator[None]:
    """Close the pyplot figures opened inside the block (by the task, or by unpickling its outputs).

    pyplot keeps one registry per process: a figure another thread opens meanwhile (a cell running
    while a widget runs a task) cannot be told apart and is closed too; it still displays when shown.
    """
    before = open_figures()
    try:
        yield
    finally:
        close_opened(before)
