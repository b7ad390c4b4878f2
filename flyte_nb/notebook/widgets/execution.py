# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The execution view: a ``RemoteExecution`` followed live — phase, duration, console link, outputs."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, Float, Unicode

from flyte_nb.core.phases import TERMINAL_PHASES, phase_name
from flyte_nb.errors import RemoteError
from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets.result import ResultView

if TYPE_CHECKING:
    from flyte_nb.notebook.protocols import Execution

__all__ = ["ExecutionView"]


class ExecutionView(widgets.VBox):
    """Shows a remote execution and, with ``watch=True``, follows it until it ends.

    The watcher runs ``execution.wait(on_update=...)`` on a background thread, so the kernel stays
    free; *Terminate* asks the cluster to abort the execution.
    """

    execution_id = Unicode(help="The execution's identifier (project/domain/name).").tag(sync=True)
    phase = Unicode(
        help="The execution's last known phase (QUEUED, RUNNING, SUCCEEDED, FAILED, ABORTED…)."
    ).tag(sync=True)
    duration = Float(
        0.0, help="Seconds since the view started following the execution, or its reported duration."
    ).tag(sync=True)
    url = Unicode(help="The execution's page in the Flyte console ('' when unknown).").tag(sync=True)
    watching = Bool(False, help="True while a background thread follows the execution.").tag(sync=True)

    def __init__(
        self,
        execution: Execution,
        *,
        watch: bool = True,
        output_names: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.execution = execution
        self.output_names = output_names or r.execution_output_names(execution)
        self._started = time.monotonic()
        self.header = widgets.HTML()
        self.terminate_button = widgets.Button(
            description="Terminate", tooltip="Abort this execution on the cluster."
        )
        self.terminate_button.on_click(lambda _b: self.terminate())
        self.result = ResultView()
        super().__init__(children=[widgets.HBox([self.header, self.terminate_button]), self.result], **kwargs)
        self.add_class("flyte-nb-execution")
        self.execution_id = r.execution_label(execution)
        self.refresh()
        self._thread: threading.Thread | None = None
        if watch and self.phase not in TERMINAL_PHASES:
            self.watching = True
            self._thread = threading.Thread(target=self._watch, name="flyte-nb-execution-view", daemon=True)
            self._thread.start()
        elif self.phase in TERMINAL_PHASES:
            self._show_final(None, None)

    def refresh(self, execution: Execution | None = None) -> None:
        """Re-read phase, duration and link from the execution and redraw the header."""
        ex = execution if execution is not None else self.execution
        phase = phase_name(ex.phase)
        # FlyteAdmin says UNDEFINED until the cluster picks a new execution up: to a user, it is queued
        self.phase = "QUEUED" if phase == "UNDEFINED" else phase
        reported = ex.duration
        self.duration = reported if reported is not None else time.monotonic() - self._started
        self.url = ex.url
        link = (
            f' · <a href="{r.escape(self.url)}" target="_blank" rel="noopener">open in the Flyte console</a>'
            if self.url
            else ""
        )
        self.header.value = (
            f"<div><b>Execution</b> <code>{r.escape(self.execution_id)}</code> "
            f"{r.phase_badge(self.phase)} · {self.duration:.1f}s{link}</div>"
        )
        self.terminate_button.disabled = self.phase in TERMINAL_PHASES
        # orange only while it can be pressed: a disabled orange button looks active
        self.terminate_button.button_style = "" if self.terminate_button.disabled else "warning"

    def terminate(self) -> None:
        """Abort the execution on the cluster; failures are shown in the view."""
        try:
            self.execution.terminate()
        except RemoteError as exc:  # e.g. it already ended, or the server refused
            self.result.show_error(exc, summary="Terminate failed.")
        self.refresh()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the watcher thread (tests, scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _watch(self) -> None:
        outputs, error = None, None
        try:
            outputs = self.execution.wait(on_update=self.refresh)
        except BaseException as exc:  # noqa: BLE001 - a failed/aborted execution raises; show it, do not lose it
            error = exc
        self.refresh()
        self._show_final(outputs, error)
        self.watching = False

    def _show_final(self, outputs: Any, error: BaseException | None) -> None:
        summary = f"{self.phase} after {self.duration:.1f}s"
        if error is None and self.phase == "SUCCEEDED" and outputs is None:
            outputs, error = r.safe(lambda: self.execution.outputs)
        if self.phase == "SUCCEEDED" and error is None:
            self.result.show_outputs(self.output_names, outputs, summary=summary)
        elif self.phase == "ABORTED":
            self.result.show_cancelled(f"Aborted after {self.duration:.1f}s.")
        else:
            err = error or self.execution.error
            if err is not None:
                self.result.show_error(err, summary=summary)
