# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The result view: a run's outputs rendered richly, or its error as a readable traceback.

Files, directories and datasets among the outputs show as :class:`~.data_preview.DataPreview` widgets:
name, size and a preview, downloaded from remote storage only when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
from traitlets import Int, Unicode

from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets._preview import is_previewable
from flyte_nb.notebook.widgets._render import split_outputs
from flyte_nb.notebook.widgets.data_preview import DataPreview

__all__ = ["ResultView", "split_outputs"]


class ResultView(widgets.VBox):
    """Outputs through IPython's display formatters (DataFrames as tables, images, rich reprs); errors
    with their Flyte code, kind and the task's own traceback."""

    status = Unicode(
        help="What is shown: '' (nothing yet), 'outputs', 'error', 'cancelled' or 'not run' (inputs refused)."
    ).tag(sync=True)
    result_name = Unicode(help="The notebook variable the shown outputs are bound to ('' when unbound).").tag(
        sync=True
    )

    lines_cut = Int(0, help="Lines of the outputs' text left out of the view (0 when all is shown).").tag(
        sync=True
    )

    def __init__(self, **kwargs: Any) -> None:
        self.header = widgets.HTML()
        # bounded on the page too: a long result scrolls inside the widget instead of growing it
        self.output = widgets.Output(layout=widgets.Layout(max_height="480px", overflow="auto"))
        self.show_all_button = widgets.Button(
            description="Show all", layout=widgets.Layout(display="none", width="auto")
        )
        self.show_all_button.on_click(lambda _b: self.show_all())
        self._whole: tuple[dict[str, Any], ...] = ()
        #: The previews of the file, directory and dataset outputs shown, by output name.
        self.previews: dict[str, DataPreview] = {}
        super().__init__(children=[self.header, self.output, self.show_all_button], **kwargs)
        self.add_class("flyte-nb-result")

    def clear(self) -> None:
        """Remove whatever is shown."""
        self.header.value = ""
        self.output.outputs = ()
        for preview in self.previews.values():
            preview.close()
        self.previews = {}
        self._whole = ()
        self.lines_cut = 0
        self.show_all_button.layout.display = "none"
        self.status = ""
        self.result_name = ""

    def show_all(self) -> None:
        """Show the outputs' text in full (what :meth:`show_outputs` cut)."""
        self.output.outputs = self._whole
        self.lines_cut = 0
        self.show_all_button.layout.display = "none"

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
        whole, shown, cut = [], [], 0
        for name, value in parts:
            if len(parts) > 1:
                label = _display_output(_Label(name))
                whole.append(label)
                shown.append(label)
            if is_previewable(value):
                self.previews[name] = DataPreview(value)
                full = {
                    "output_type": "display_data",
                    "data": self.previews[name].mimebundle(),
                    "metadata": {},
                }
            else:
                full = _display_output(value)
            bounded, lines_cut = _bounded(full)
            whole.append(full)
            shown.append(bounded)
            cut += lines_cut
        self._whole = tuple(whole)
        self.output.outputs = tuple(shown)
        self.lines_cut = cut
        if cut:
            where = f" (all of it is in <code>{r.escape(result_name)}</code>)" if result_name else ""
            self.header.value += (
                f'<div class="flyte-nb-result-note" style="color:{r.MUTED}">… {cut:,} more line'
                f"{'s' if cut != 1 else ''} of text not shown{where}.</div>"
            )
            self.show_all_button.description = f"Show all {cut:,} more lines"
            self.show_all_button.layout.display = ""
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


RESULT_LINES = 40  # lines of an output's text shown before "Show all"
RESULT_CHARS = 8_000  # … and at most this many characters


def _display_output(value: Any) -> dict[str, Any]:
    """``value`` as a display_data output, through IPython's formatters (as ``display(value)``)."""
    from IPython.core.interactiveshell import InteractiveShell

    formatter = InteractiveShell.instance().display_formatter
    assert formatter is not None  # an initialised shell always has one
    data, metadata = formatter.format(value)  # type: ignore[no-untyped-call]
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def _bounded(output: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``output`` with its ``text/plain`` cut to ``RESULT_LINES`` lines, and how many lines were cut.

    Outputs with a rich representation (HTML tables, images) are left whole: the page shows that one,
    its library bounds it already (pandas shows the first and last rows), and the view scrolls.
    """
    text = output["data"].get("text/plain")
    if not isinstance(text, str) or set(output["data"]) != {"text/plain"}:
        return output, 0  # a richer representation is what the page shows
    lines = text.splitlines()
    keep = lines[:RESULT_LINES]
    while keep and sum(len(line) + 1 for line in keep) > RESULT_CHARS:
        keep.pop()
    keep = keep or [text[:RESULT_CHARS]]
    cut = len(lines) - len(keep)
    if cut <= 0:
        return output, 0
    shown = "\n".join(keep) + f"\n… ({cut:,} more line{'s' if cut != 1 else ''})"
    return {**output, "data": {**output["data"], "text/plain": shown}}, cut


class _Label:
    """An output name, displayed above its value in a multi-output result."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, str]:
        return {"text/plain": f"{self.name}:", "text/html": f"<b><code>{r.escape(self.name)}</code></b>"}
