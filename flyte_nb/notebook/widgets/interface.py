# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The interface view: a task's inputs and outputs, with pickled variables marked and explained."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Dict, Unicode

from flyte_nb.notebook.widgets import _render as r

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = ["InterfaceView"]


class InterfaceView(widgets.VBox):
    """A table of the task's variables: Python type, Flyte type in words, default, description.

    Variables that travel as Python pickles are highlighted, with the reason
    (``task.python_interface.pickled``), because a pickle only loads where the same classes and Python
    version exist.
    """

    task_name = Unicode(help="Name of the task whose interface is shown.").tag(sync=True)
    pickled = Dict(help="Variable name -> why it travels as a Python pickle (empty when nothing is pickled).")

    def __init__(self, task: Task, **kwargs: Any) -> None:
        rows, exc = r.safe(lambda: r.interface_rows(task))
        self.rows: list[r.VarRow] = rows or []
        self.table = widgets.HTML(r.interface_html(self.rows) if exc is None else r.error_html(exc))
        super().__init__(
            children=[self.table],
            task_name=str(getattr(task, "name", "")),
            pickled={row.name: row.pickled for row in self.rows if row.pickled},
            **kwargs,
        )
