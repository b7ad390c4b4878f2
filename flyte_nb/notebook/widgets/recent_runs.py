# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The task widget's *Recent runs* section: this task's last runs, from the notebook's run ledger.

The ledger outlives the kernel, so a task displayed again after a restart shows what it did before:
when, where (kernel, process, remote), how it ended, and the console link of remote runs. The section
is collapsed, hidden while the task has no runs, and re-read from the ledger whenever it is opened.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Int

from flyte_nb.notebook.runs_magic import runs_html
from flyte_nb.notebook.widgets import _render as r

if TYPE_CHECKING:
    from flyte_nb.core.ledger import RunLedger, RunRecord
    from flyte_nb.core.task import Task

__all__ = ["RecentRuns"]

_log = logging.getLogger(__name__)


def _kernel_ledger() -> RunLedger | None:
    """The ledger the notebook session (installed by ``%load_ext flyte_nb``) records runs in."""
    from flyte_nb.core import session
    from flyte_nb.core.ledger import RunLedger

    notebook = session.current()
    recorder = notebook.run_recorder() if notebook is not None else None
    return recorder if isinstance(recorder, RunLedger) else None


class RecentRuns(widgets.Accordion):
    """A collapsed section listing the task's most recent runs.

    Parameters
    ----------
    task:
        The task whose runs are shown.
    ledger:
        Where runs are recorded; by default the ledger of the loaded extension's notebook.
    limit:
        How many runs to show.
    """

    count = Int(0, help="How many recent runs the section shows.").tag(sync=True)

    def __init__(self, task: Task, *, ledger: RunLedger | None = None, limit: int = 5, **kwargs: Any) -> None:
        self.task = task
        self.ledger = ledger if ledger is not None else _kernel_ledger()
        self.limit = limit
        self.table = widgets.HTML()
        super().__init__(children=[self.table], titles=("Recent runs",), selected_index=None, **kwargs)
        self.add_class("flyte-nb-recent-runs")
        self.observe(self._opened, names="selected_index")
        self.refresh()

    def runs(self) -> list[RunRecord]:
        """The task's recent runs, newest first (empty without a ledger)."""
        if self.ledger is None:
            return []
        found = self.ledger.runs(task=self.task.name, limit=self.limit * 4)
        return [run for run in found if run.task == self.task.name][: self.limit]

    def refresh(self) -> None:
        """Re-read the ledger and redraw (hidden when the task has no runs)."""
        try:
            runs = self.runs()
        except sqlite3.Error as exc:  # a damaged ledger must not break the task widget
            _log.warning("flyte_nb: could not read the run ledger: %s", exc)
            self.table.value = f"<div>The run ledger could not be read: {r.escape(str(exc))}</div>"
            runs = []
        else:
            self.table.value = runs_html(runs)
        self.count = len(runs)
        self.set_title(0, f"Recent runs ({len(runs)})" if runs else "Recent runs")
        self.layout.display = "" if runs else "none"

    def _opened(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.refresh()
