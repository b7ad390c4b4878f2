# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The run panel: *Run in kernel*, *Run in process*, *Submit to Flyte*; progress, cancel, result."""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, Float, Int, Unicode

from flyte_nb.errors import NotStartedError
from flyte_nb.notebook import executor as ex
from flyte_nb.notebook.uploads import STAGING
from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets.form import InputForm
from flyte_nb.notebook.widgets.log import LogView
from flyte_nb.notebook.widgets.result import ResultView

if TYPE_CHECKING:
    from flyte_nb.core.task import Task
    from flyte_nb.notebook.protocols import RemoteRunner

__all__ = ["RunPanel"]

_LABELS = {"kernel": "Run in kernel", "process": "Run in process", "remote": "Submit to Flyte"}
_TOOLTIPS = {
    "kernel": "Run in this kernel with the full literal round trip, as calling the task does.",
    "process": "Run the task's container command in a fresh Python process, as Flyte would.",
    "remote": "Register and launch the task on the configured Flyte cluster.",
}
# Seconds between refreshes of the clock and the log while a run is in progress. Output is batched:
# a refresh per print() sent thousands of widget messages and made print-heavy runs ~10x slower.
_TICK = 0.25


class RunPanel(widgets.VBox):
    """Buttons that run the task with the form's values, a progress line, *Cancel*, and the result.

    A run happens on a background thread (:mod:`flyte_nb.notebook.executor`), so the kernel keeps
    answering while it runs; its outputs are bound in ``namespace`` under :attr:`result_name`.
    """

    phase = Unicode(
        help="Phase of the current or last run: SUBMITTING (remote, until the execution exists), QUEUED, "
        "RUNNING, SUCCEEDED, FAILED, ABORTED ('' before any)."
    ).tag(sync=True)
    activity = Unicode(help="What the current run is doing, in words ('' when the phase says it all).").tag(
        sync=True
    )
    mode = Unicode(help="Where the current or last run ran: kernel, process or remote ('' before any).").tag(
        sync=True
    )
    elapsed = Float(0.0, help="Seconds the current or last run has taken.").tag(sync=True)
    attempt = Int(0, help="Attempt number of the current or last run (0 before any).").tag(sync=True)
    url = Unicode(help="Console link of the current or last remote run ('' for local runs).").tag(sync=True)
    running = Bool(False, help="True while a run is in progress (run buttons disabled, Cancel enabled).").tag(
        sync=True
    )
    result_name = Unicode(help="Notebook variable the last successful run's outputs are bound to.").tag(
        sync=True
    )
    remote_reason = Unicode(help="Why Submit to Flyte is disabled ('' when a remote is configured).").tag(
        sync=True
    )

    def __init__(
        self,
        task: Task,
        form: InputForm,
        *,
        remote: RemoteRunner | None = None,
        remote_reason: str | None = None,
        namespace: MutableMapping[str, Any] | None = None,
        sandbox_factory: ex.SandboxFactory | None = None,
        follow_kernel_remote: bool = False,
        **kwargs: Any,
    ) -> None:
        self.task, self.form, self.namespace = task, form, namespace
        self.follow_kernel_remote = follow_kernel_remote
        self.remote: RemoteRunner | None = None
        self.handle: ex.RunHandle | None = None
        self._sandbox_factory = sandbox_factory
        self.buttons = {
            mode: widgets.Button(
                description=_LABELS[mode],
                tooltip=_TOOLTIPS[mode],
                button_style="primary" if mode == "kernel" else "",
            )
            for mode in ex.MODES
        }
        for mode, button in self.buttons.items():
            button.on_click(lambda _b, m=mode: self.run(m))
        self.cancel_button = widgets.Button(
            description="Cancel", disabled=True, tooltip="Stop the run in progress."
        )
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.reason = widgets.HTML()
        self.status = widgets.HTML()
        self.status.add_class("flyte-nb-status")
        self.logs = LogView()
        self._refresh_lock = threading.Lock()
        self.result = ResultView()
        super().__init__(
            children=[
                widgets.HBox([*self.buttons.values(), self.cancel_button]),
                self.reason,
                self.status,
                self.logs,
                self.result,
            ],
            **kwargs,
        )
        self.set_remote(remote, remote_reason)
        if follow_kernel_remote:
            ex.watch_kernel_remote(self._follow_remote)

    def _follow_remote(self) -> None:
        """``%flyte_remote`` changed the kernel's remote: use the new one (or say why it cannot be used)."""
        self.set_remote(*ex.current_remote())

    def set_remote(self, remote: RemoteRunner | None, reason: str | None = None) -> None:
        """Use ``remote`` for *Submit to Flyte*; without one the button is disabled and ``reason`` (or a
        default explanation) says why."""
        self.remote = remote
        self.remote_reason = ex.remote_unavailable_reason(remote) and (
            reason or ex.remote_unavailable_reason(remote)
        )
        self.buttons["remote"].disabled = bool(self.remote_reason) or self.running
        self.buttons["remote"].tooltip = self.remote_reason or _TOOLTIPS["remote"]
        self.reason.value = (
            f'<span style="color:{r.MUTED}">Submit to Flyte is disabled: '
            f"{r.escape(self.remote_reason)}</span>"
            if self.remote_reason
            else ""
        )

    # -- actions -------------------------------------------------------------------------------------
    def run(self, mode: ex.Mode) -> ex.RunHandle | None:
        """Start a run in ``mode`` with the form's values; ``None`` when a field is invalid or busy."""
        if self.running:
            return None
        if mode == "remote" and self.follow_kernel_remote:
            self._follow_remote()  # the remote the kernel has now, even if it changed without %flyte_remote
        if mode == "remote" and self.remote_reason:
            self._refuse("Not submitted: Submit to Flyte is disabled (the reason is shown above).")
            return None
        inputs = self.form.collect()
        if inputs is None:
            # each message is shown once, next to its field; the status line only says that nothing ran
            count = len(self.form.errors)
            self._refuse(f"Not run: {count} input{'s' if count != 1 else ''} to fix (marked ⚠ above).")
            return None
        self.result.clear()
        self.logs.clear()
        self.mode, self.url, self.elapsed, self.attempt = mode, "", 0.0, 1
        self._set_running(True)
        handle = ex.RunHandle(
            self.task,
            mode,
            inputs,
            remote=self.remote,
            namespace=self.namespace,
            on_progress=self._on_progress,
            sandbox_factory=self._sandbox_factory,
        )
        self.handle = handle
        # uploads among the inputs stay on disk until the run's code has stopped, even if the widget is
        # closed or the field gets a new upload meanwhile
        handle.when_thread_ends(STAGING.lease(inputs.values()))
        handle.start()
        threading.Thread(target=self._tick, args=(handle,), name="flyte-nb-run-clock", daemon=True).start()
        return handle

    def _refuse(self, text: str) -> None:
        """Say that nothing ran, and take the previous result off the panel (it no longer matches the form)."""
        self.status.value = (
            f'<span class="flyte-nb-refused" style="color:{r.ERROR_FG}">{r.escape(text)}</span>'
        )
        if self.result.status:
            self.result.show_not_run(self.result.result_name)
        self.logs.clear()

    def cancel(self) -> bool:
        """Cancel the run in progress (False when nothing runs)."""
        return self.handle.cancel() if self.handle is not None else False

    def wait(self, timeout: float | None = None) -> Any:
        """Wait for the current run (see :meth:`RunHandle.wait`)."""
        if self.handle is None:
            raise NotStartedError(
                "RunPanel.wait(): no run was started. Click a run button (or call run()) first."
            )
        return self.handle.wait(timeout)

    # -- progress ------------------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.running = running
        self.buttons["kernel"].disabled = self.buttons["process"].disabled = running
        self.buttons["remote"].disabled = running or bool(self.remote_reason)
        self.cancel_button.disabled = not running
        # an orange button looks pressable even when disabled: colour it only while it can be used
        self.cancel_button.button_style = "warning" if running else ""

    def _tick(self, handle: ex.RunHandle) -> None:
        while not handle._done.wait(_TICK):
            self._refresh(handle)

    def _on_progress(self, handle: ex.RunHandle) -> None:
        self._refresh(handle)
        if handle.done and handle is self.handle:
            self._show_result(handle)
            self._set_running(False)  # last: `running` False means everything about the run is shown

    def _refresh(self, handle: ex.RunHandle) -> None:
        with self._refresh_lock:  # the clock thread and the run's own thread both refresh
            if handle is self.handle:
                self._refresh_locked(handle)

    def _refresh_locked(self, handle: ex.RunHandle) -> None:
        self.phase, self.elapsed, self.attempt = handle.phase, handle.elapsed, handle.attempt
        self.activity = "" if handle.done else handle.activity
        self.url = handle.url or ""
        doing = f" · {r.escape(handle.activity)}" if handle.activity and not handle.done else ""
        line = (
            f"{r.phase_badge(handle.phase)} {r.escape(_LABELS[handle.mode].lower())}{doing} · "
            f"{handle.elapsed:.1f}s · attempt {handle.attempt}"
        )
        if handle.nodes_total:
            line += f" · {handle.nodes_done}/{handle.nodes_total} nodes done"
        if handle.url:
            line += f' · <a href="{r.escape(handle.url)}" target="_blank" rel="noopener">Flyte console</a>'
        login = handle.login
        if login is not None and not handle.done and not login.user_code:  # a browser sign-in: no code
            line += (
                f'<div class="flyte-nb-login">Sign in to Flyte in the browser window that opened (or <a '
                f'href="{r.escape(login.link)}" target="_blank" rel="noopener">open the sign-in page</a>); the '
                "run continues once you have signed in.</div>"
            )
        elif login is not None and not handle.done:
            line += (
                f'<div class="flyte-nb-login">To sign in to Flyte, open <a href="{r.escape(login.link)}" '
                f'target="_blank" rel="noopener">{r.escape(login.verification_uri)}</a> and enter the code '
                f"<b><code>{r.escape(login.user_code)}</code></b>; the run continues once you approve it.</div>"
            )
        status = f"<div>{line}</div>"
        if status != self.status.value:
            self.status.value = status
        self.logs.show(handle.log_text, handle.log_dropped)

    def _show_result(self, handle: ex.RunHandle) -> None:
        summary = f"{handle.phase} in {handle.elapsed:.2f}s ({_LABELS[handle.mode].lower()})"
        if handle.phase == "SUCCEEDED":
            names = list(self.task.require_python_interface().outputs)
            self.result.show_outputs(names, handle.outputs, result_name=handle.result_name, summary=summary)
            self.result_name = handle.result_name or ""
        elif handle.phase == "ABORTED":
            by = f" by {handle.stopped_by}" if handle.stopped_by and handle.stopped_by != "Cancel" else ""
            self.result.show_cancelled(
                f"Cancelled{by} after {handle.elapsed:.1f}s ({_LABELS[handle.mode].lower()})."
            )
        elif handle.error is not None:
            self.result.show_error(handle.error, summary=summary)
        if handle.phase != "ABORTED":
            from flyte_nb.notebook.widgets.deck import show_deck

            show_deck(self.result, handle)  # a task with decks: its deck page, below the result
