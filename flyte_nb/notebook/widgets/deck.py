# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The deck view: the deck page of a task's last kernel or process run, inline in its widget.

A task with ``enable_deck=True`` leaves a deck page after a kernel or process run
(``SandboxExecutor.last_deck``); :class:`DeckView` shows it in a sandboxed ``iframe``, so its own styles
and tab script stay out of the notebook.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
from traitlets import Unicode

from flyte_nb.notebook.widgets._deck_render import deck_frame_html

__all__ = ["DeckView", "show_deck"]


class DeckView(widgets.VBox):
    """The deck page of one run (collapsible), as the Flyte console would show ``deck.html``."""

    page = Unicode(help="The deck page (deck.html) shown; '' when the run wrote no decks.").tag(sync=True)

    def __init__(self, page: str = "", **kwargs: Any) -> None:
        self.frame = widgets.HTML()
        self.details = widgets.Accordion(children=[self.frame], titles=("Deck",))
        super().__init__(children=[self.details], **kwargs)
        self.add_class("flyte-nb-deck-view")
        self.show(page)

    def show(self, page: str) -> None:
        """Show ``page`` (hide the view when it is empty)."""
        self.page = page or ""
        self.frame.value = deck_frame_html(page) if page else ""
        self.layout.display = None if page else "none"
        self.details.selected_index = 0 if page else None


def show_deck(result_view: Any, handle: Any) -> None:
    """Append the deck of ``handle``'s run (if it wrote one) below the result ``result_view`` shows."""
    page = getattr(handle, "deck_html", None)
    if page:
        result_view.output.append_display_data(DeckView(page))
