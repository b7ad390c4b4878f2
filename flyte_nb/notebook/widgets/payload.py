# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The payload view: what the task's resolver ships to the container (size, digest, manifest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Int, Unicode

from flyte_nb.notebook.widgets import _render as r

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = ["PayloadView"]


class PayloadView(widgets.VBox):
    """The resolver's payload for a task and, when the resolver keeps one, its pickle manifest
    (what is captured by value or by reference, sizes, anything that cannot be pickled)."""

    size = Int(0, help="Payload size in bytes (0 when the task needs no payload).").tag(sync=True)
    sha256 = Unicode(help="Hex sha256 of the payload ('' when there is none).").tag(sync=True)
    error = Unicode(help="Why the payload cannot be built ('' when it can).").tag(sync=True)

    def __init__(self, task: Task, **kwargs: Any) -> None:
        info, exc = r.safe(lambda: r.payload_info(task))
        self.info: r.PayloadInfo | None = info
        self.body = widgets.HTML(r.payload_html(info) if exc is None else r.error_html(exc))
        super().__init__(children=[self.body], **kwargs)
        if info is not None:
            self.size, self.sha256, self.error = info.size, info.sha256, info.error
        else:
            self.error = f"{type(exc).__name__}: {exc}"
