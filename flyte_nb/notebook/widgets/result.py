# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The result view: a run's outputs rendered richly, or its error as a readable traceback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
from traitlets import Unicode

from flyte_nb.notebook.widgets import _render as r

__all__ = ["ResultView", "split_outputs"]


def split_outputs(output_names: list[str], outputs: Any) -> list[tuple[str, Any]]:
    """``(name, value)`` per declared output: a multi-output task returns a tuple (or NamedTuple)."""
    if not output_names:
        return []
    if len(output_names) == 1:
        return [(output_names[0], outputs)]
    if isinstance(outputs, tuple) and len(outputs) == len(output_names):
        return list(zip(output_names, outputs, strict=True))
    return [("outputs", outputs)]


class ResultView(widgets.VBox):
    """Outputs through IPython's display formatters (DataFrames as tables, images, rich reprs); errors
    with their Flyte code, kind and the task's own traceback."""

    status = Unicode(
        help="What is shown: '' (nothing yet), 'outputs', 'error', 'cancelled' or 'not run' (inputs refused)."
    ).tag(sync=True)
    result_name = Unicode(help="The notebook variable the shown outputs are bound to ('' when unbound).").tag(
        sync=True
    )

    def __init__(self, **kwargs: Any) -> None:
        self.header = widgets.HTML()
        self.output = widgets.Output()
        super().__init__(children=[self.header, self.output], **kwargs)
        self.add_class("flyte-nb-result")

    def clear(self) -> None:
        """Remove whatever is shown."""
        self.header.value = ""
        self.output.outputs = ()
        self.status = ""
        self.result_name = ""

    def show_outputs(
        self, output_names: list[str], outputs: Any, *, result_name: str | None = None, summary: str = ""
    ) -> None:
        """Show ``outputs`` (as returned by calling the task) and the variable they are bound to."""
        self.clear()
        bound = (
            f' — bound to <code class="flyte-nb-result-name">{r.escape(result_name)}</code>'
            if result_name
            else ""
        )
        self.header.value = f"<div>{r.escape(summary)}{bound}</div>"
        self.result_name = result_name or ""
        parts = split_outputs(output_names, outputs)
        if not parts:
            self.header.value += f'<div style="color:{r.MUTED}">The task has no outputs.</div>'
        for name, value in parts:
            if len(parts) > 1:
                self.output.append_display_data(_Label(name))
            self.output.append_display_data(value)
        self.status = "outputs"

    def show_error(self, exc: BaseException, *, summary: str = "") -> None:
        """Show ``exc`` (a ``TaskExecutionError`` shows code, kind, origin and the task's traceback)."""
        self.clear()
        self.header.value = (f"<div>{r.escape(summary)}</div>" if summary else "") + r.error_html(exc)
        self.status = "error"

    def show_not_run(self, previous_name: str = "") -> None:
        """Replace the shown result by a note that the last click ran nothing (its inputs were refused)."""
        self.clear()
        kept = (
            f" The previous run's outputs are still in <code>{r.escape(previous_name)}</code>."
            if previous_name
            else ""
        )
        self.header.value = f'<div style="color:{r.MUTED}">No result: nothing ran.{kept}</div>'
        self.status = "not run"

    def show_cancelled(self, summary: str = "Cancelled.") -> None:
        """Show that the run was cancelled (its outputs, if any arrive later, are discarded)."""
        self.clear()
        self.header.value = f"<div>{r.escape(summary)}</div>"
        self.status = "cancelled"


class _Label:
    """An output name, displayed above its value in a multi-output result."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, str]:
        return {"text/plain": f"{self.name}:", "text/html": f"<b><code>{r.escape(self.name)}</code></b>"}
