# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""A file, directory or dataset in a result: name, size and a preview (see :mod:`._preview`).

Data on this machine (or in this process) is previewed at once. Data in remote storage — a remote run's
outputs, a ``FlyteFile("s3://…")`` — shows its name and URI and a *Download preview* button: only a click
reads it, and then only its start, on a background thread so the kernel keeps answering.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets
from traitlets import Unicode

from flyte_nb.notebook.widgets._preview import (
    Preview,
    make_preview,
    needs_download,
    preview_html,
    preview_text,
)

__all__ = ["DataPreview"]

_TIMEOUT = 120.0  # seconds join() waits for a download by default


class DataPreview(widgets.VBox):
    """The preview of a ``FlyteFile``, ``FlyteDirectory`` or ``StructuredDataset``.

    Parameters
    ----------
    value:
        The handle to preview.
    preview:
        Its preview, when the caller made it already (so the data is not read twice).
    """

    kind = Unicode(help="What is previewed: 'file', 'directory' or 'dataset'.").tag(sync=True)
    state = Unicode(
        help="'shown'; 'not downloaded' (in remote storage: Download preview reads its start); "
        "'loading'; 'error' (the message is shown; the button tries again)."
    ).tag(sync=True)

    def __init__(self, value: Any, *, preview: Preview | None = None, **kwargs: Any) -> None:
        self.value = value
        self.body = widgets.HTML()
        self.button = widgets.Button(
            description="Download preview",
            icon="download",
            tooltip="Read the start of this data from remote storage (not all of it) and show it here.",
            layout=widgets.Layout(width="auto"),
        )
        self.button.on_click(lambda _b: self.load())
        self._thread: threading.Thread | None = None
        super().__init__(children=[self.body, self.button], **kwargs)
        self.add_class("flyte-nb-data-preview")
        remote = needs_download(value)
        self._show(preview or make_preview(value, fetch=False))
        if remote and self.state == "shown":
            self.state = "not downloaded"
        self.button.layout.display = "" if remote else "none"

    @property
    def preview(self) -> Preview:
        """What is shown now."""
        return self._preview

    def _show(self, preview: Preview) -> None:
        self._preview = preview
        self.kind = preview.kind
        self.body.value = preview_html(preview)
        self.state = "error" if preview.error else "shown"

    def load(self) -> None:
        """Read the start of remote data and show it (on a background thread; :meth:`join` waits)."""
        if self.state == "loading" or not needs_download(self.value):
            return
        self.state = "loading"
        self.button.disabled = True
        self.button.description = "Downloading…"
        self._thread = threading.Thread(target=self._load, name="flyte-nb-preview", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        preview = make_preview(self.value, fetch=True)  # never raises: a failure is the preview's error
        self._show(preview)
        self.button.disabled = False
        self.button.description = "Try again" if preview.error else "Download preview"
        self.button.layout.display = "" if preview.error else "none"

    def join(self, timeout: float = _TIMEOUT) -> bool:
        """Wait for a download started by :meth:`load`; False if it is still going after ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def mimebundle(self) -> dict[str, Any]:
        """The widget, with the preview as HTML and text beside it for where widgets do not render."""
        return {
            **self._repr_mimebundle_(),
            "text/plain": preview_text(self._preview),
            "text/html": preview_html(self._preview),
        }
