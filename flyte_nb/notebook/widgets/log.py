# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The log view: what a run printed, bounded, scrolled to its end, with the whole log one click away."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
from traitlets import Bool, Int

from flyte_nb.notebook.widgets import _render as r

__all__ = ["LogView", "log_tail"]

TAIL_LINES = 200  # lines shown while a run prints (the end is what a user watches)
TAIL_CHARS = 20_000  # … and at most this many characters of them
FULL_CHARS = 2_000_000  # the most "Show the full log" puts on the page at once
_BOX = (
    # column-reverse keeps the scroll position at the end: the newest line is in view without a script
    f"max-height:240px;overflow:auto;display:flex;flex-direction:column-reverse;border:1px solid {r.BORDER};"
    "border-radius:2px"
)


def log_tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> tuple[str, int]:
    """The last ``lines`` lines of ``text`` (at most ``chars`` characters, cut at a line start), and how
    many lines were left out before them."""
    body = text[:-1] if text.endswith("\n") else text
    start = len(body)
    for _ in range(lines):
        start = body.rfind("\n", 0, start)
        if start < 0:
            break
    begin = start + 1 if start >= 0 else 0
    if len(text) - begin > chars:
        cut = text.find("\n", len(text) - chars)
        begin = cut + 1 if 0 <= cut < len(text) - 1 else len(text) - chars
    return text[begin:], text.count("\n", 0, begin)


class LogView(widgets.VBox):
    """A run's output: the last lines while it runs (kept scrolled to the end), a note saying what was
    left out, and a button that shows the whole log."""

    lines_cut = Int(0, help="Lines of the log not shown above the tail (0 when the whole log is shown).").tag(
        sync=True
    )
    full = Bool(False, help="True when the whole log is shown instead of its tail.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        self.html = widgets.HTML()
        self.full_button = widgets.Button(
            description="Show the full log",
            tooltip="Show every line the run printed, not only the last ones.",
            layout=widgets.Layout(display="none", width="auto"),
        )
        self.full_button.on_click(lambda _b: self._toggle())
        self._text = ""
        self._dropped = 0
        super().__init__(children=[self.html, self.full_button], **kwargs)
        self.add_class("flyte-nb-logs")

    @property
    def value(self) -> str:
        """The HTML shown (empty when the run printed nothing)."""
        return str(self.html.value)

    def clear(self) -> None:
        """Show nothing (a new run starts)."""
        self._text, self._dropped, self.full = "", 0, False
        self.html.value = ""
        self.lines_cut = 0
        self.full_button.layout.display = "none"

    def show(self, text: str, dropped: int = 0) -> None:
        """Show ``text`` (the log so far); ``dropped`` counts characters the run no longer keeps."""
        if text == self._text and dropped == self._dropped:
            return  # nothing new: no message to the browser
        self._text, self._dropped = text, dropped
        self._render()

    def _toggle(self) -> None:
        self.full = not self.full
        self._render()

    def _render(self) -> None:
        text = self._text
        if not text:
            self.html.value = ""
            return
        total = text.count("\n") + (0 if text.endswith("\n") else 1)
        if self.full:
            shown, cut = (text, 0) if len(text) <= FULL_CHARS else log_tail(text, total, FULL_CHARS)
        else:
            shown, cut = log_tail(text)
        self.lines_cut = cut
        notes = []
        if self._dropped:
            notes.append(f"the first {self._dropped:,} characters the run printed are no longer kept")
        if cut:
            notes.append(f"{cut:,} earlier line{'s' if cut != 1 else ''} not shown")
        note = (
            f'<div class="flyte-nb-log-note" style="color:{r.MUTED}">… {r.escape("; ".join(notes))}</div>'
            if notes
            else ""
        )
        self.html.value = (
            f'<div style="color:{r.MUTED}">output · {total:,} line{"s" if total != 1 else ""}</div>{note}'
            f'<div class="flyte-nb-log-box" style="{_BOX}"><pre class="flyte-nb-log" '
            f'style="margin:0;padding:2px 6px;font-size:90%;white-space:pre-wrap">{r.escape(shown)}</pre></div>'
        )
        truncated = cut > 0 or self.full
        self.full_button.layout.display = "" if truncated else "none"
        self.full_button.description = "Show only the end" if self.full else "Show the full log"
