"""The kernel-side run facade behind the task widget's buttons.

A button click arrives on the kernel's shell thread. Running the task there would freeze the kernel (no
other cell, no widget message, no *Cancel* click could be handled), so :class:`RunHandle` runs it on a
daemon thread and reports what happens through callbacks:

* **progress** — phase (``QUEUED`` → ``RUNNING`` → ``SUCCEEDED`` | ``FAILED`` | ``ABORTED``), elapsed
  time, attempt, how many sub-nodes of a dynamic process run are done, and the console link for remote
  runs;
* **cancellation** — a remote execution is terminated on the cluster; a process sandbox is stopped; a
  kernel run gets :class:`RunCancelled` raised inside its thread (Python cannot kill a thread, so code
  blocked in a C call stops when that call returns; the run is reported ``ABORTED`` at once and its late
  result is discarded);
* **results** — bound into the user namespace under :attr:`RunHandle.result_name`, shown to the user.

Every run goes through :class:`flyte_nb.runtime.sandbox.SandboxExecutor` (modes ``kernel``, ``process``)
or the remote's ``submit`` (mode ``remote``), so a widget run behaves exactly like the same run typed in
a cell.
"""

from __future__ import annotations

import ctypes
import keyword
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from flyte_nb.core.phases import TERMINAL_PHASES, phase_name
from flyte_nb.errors import ConfigError, RemoteError, TaskExecutionError
from flyte_nb.notebook.output_routing import routed_output
from flyte_nb.notebook.protocols import Execution, RemoteRunner, SignInCode, SubmitStep
from flyte_nb.runtime.scheduler import check_parallelism

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = [
    "MODES",
    "Mode",
    "RunCancelled",
    "RunHandle",
    "bound_variables",
    "current_remote",
    "remote_unavailable_reason",
    "result_name_for",
    "start_run",
    "watch_kernel_remote",
]

_log = logging.getLogger(__name__)

LOG_KEEP = 20_000_000  # characters of a run's output kept in memory (the oldest go first)

Mode = Literal["kernel", "process", "remote"]
MODES: tuple[Mode, ...] = ("kernel", "process", "remote")


class RunCancelled(KeyboardInterrupt):
    """Raised inside a kernel run's thread when the user presses *Cancel* (and by ``wait()`` after).

    Like ``asyncio.CancelledError`` it is a control-flow signal, not a :class:`FlyteNbError`: it
    subclasses ``KeyboardInterrupt`` so that task code catching ``Exception`` does not swallow it.
    """


def current_remote() -> tuple[RemoteRunner | None, str]:
    """The remote configured on the loaded ``flyte_nb`` extension (``%flyte_remote``), and why there is
    none: ``(remote, "")`` or ``(None, reason)``."""
    from flyte_nb.notebook.extension import current_magics

    magics = current_magics()
    if magics is None:
        return None, remote_unavailable_reason(None)
    try:
        remote = magics.remote
    except (ConfigError, RemoteError) as exc:  # settings given to %flyte_remote that make no working client
        return None, (
            f"The remote set with %flyte_remote cannot be used: {type(exc).__name__}: {exc} "
            "Fix it with %flyte_remote ENDPOINT --project P --domain D; this widget follows it."
        )
    return remote, remote_unavailable_reason(remote)


def watch_kernel_remote(callback: Callable[[], None]) -> bool:
    """Call ``callback()`` (a bound method, held weakly) whenever ``%flyte_remote`` changes the kernel's
    remote; False when the extension is not loaded (there is nothing to follow)."""
    from flyte_nb.notebook.extension import current_magics

    magics = current_magics()
    if magics is None:
        return False
    magics.watch_remote(callback)
    return True


def remote_unavailable_reason(remote: RemoteRunner | None) -> str:
    """Why *Submit to Flyte* is disabled, or ``""`` when ``remote`` can submit."""
    if remote is None:
        return (
            "No Flyte remote is configured in this kernel. Set one with "
            "%flyte_remote ENDPOINT --project P --domain D (the widget follows it), or pass "
            "remote=fnb.Remote(...) to the widget."
        )
    return ""


def bound_variables(task: Task) -> list[str] | None:
    """The notebook variables a cell-body task's outputs are assigned to (as calling it does), or ``None``
    for other tasks (their outputs go to :func:`result_name_for`)."""
    from flyte_nb.core.cell_body import CellBodyTask

    if not isinstance(task, CellBodyTask):
        return None
    return list(task.require_python_interface().outputs)


def result_name_for(task: Task) -> str:
    """The user-namespace name a run's outputs are bound to: ``<task function name>_result``."""
    short = task.name.rsplit(".", 1)[-1]
    ident = re.sub(r"\W", "_", short) or "task"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"t_{ident}"
    return f"{ident}_result"


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> bool:
    """Ask CPython to raise ``exc_type`` in ``thread`` at its next Python instruction."""
    ident = thread.ident
    if ident is None or not thread.is_alive():
        return False
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    changed = set_async_exc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))
    if changed > 1:  # more than one thread state hit: undo, as the CPython docs require
        set_async_exc(ctypes.c_ulong(ident), None)
        return False
    return bool(changed == 1)


ProgressCallback = Callable[["RunHandle"], None]


def _call_logged(callback: ProgressCallback, handle: RunHandle) -> None:
    try:
        callback(handle)
    except Exception:  # noqa: BLE001 - a broken view must not break the run itself; the log has its traceback
        _log.exception("progress callback %r failed", callback)


def _call_quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # noqa: BLE001 - a view's cleanup must not hide the run's own result; the log has it
        _log.exception("callback %r at the end of a run's thread failed", callback)


class Sandbox(Protocol):
    """What runs a task locally (``flyte_nb.SandboxExecutor``)."""

    #: The deck page of the last run (a task with ``enable_deck``), else ``None``.
    last_deck: str | None

    def run(self, task: Task, /, **inputs: Any) -> Any: ...

    def cancel(self) -> None: ...


SandboxFactory = Callable[[Mode, "RemoteRunner | None"], Sandbox]


class RunHandle:
    """One run of a task started from a widget (or from :func:`start_run`).

    Attributes
    ----------
    task, mode, inputs:
        What runs, where, with which native inputs.
    phase:
        ``QUEUED``, ``RUNNING``, ``SUCCEEDED``, ``FAILED`` or ``ABORTED``; a remote run is
        ``SUBMITTING`` until its execution exists, and may report Flyte's other phases (``TIMED_OUT``…).
    activity:
        What is happening now, in words (``"uploading the task's code (1,204 bytes)"``, ``"retrying the
        connection (…)"``, ``"waiting for the cluster to start it"``), or ``""``.
    attempt:
        1 for the first attempt; remote runs report the cluster's attempt when it is known.
    url:
        The console link of a remote execution (``None`` for local runs).
    outputs:
        The native outputs once ``SUCCEEDED`` (what calling the task returns).
    error:
        The exception once ``FAILED`` (usually a ``TaskExecutionError`` with the task's traceback).
    result_name:
        The name the outputs are bound to in ``namespace``: ``<task>_result``, or for a cell-body task the
        variables its cell assigns (``"s, n"``), as calling it does; ``None`` without a namespace (or
        outputs).
    execution:
        The ``RemoteExecution`` of a remote run, once submitted.
    log:
        What the task wrote to stdout/stderr so far, as text chunks: the task process's output
        (``process``), the run thread's ``print`` output (``kernel``), and the sandbox's retry notices.
        Writes are not announced through the progress callbacks (one callback per ``print`` made a
        print-heavy run many times slower than the same run in a cell): views poll :attr:`log_text`.
        The oldest output beyond ``LOG_KEEP`` characters is dropped (:attr:`log_dropped` counts it).
    login:
        The ``DeviceCode`` (link and code) of a device-flow sign-in this remote run is waiting for, else
        ``None``.
    stopped_by:
        What cancelled the run (``"Cancel"``, ``"the kernel's interrupt"``), ``""`` when nothing did.
    nodes_done, nodes_total:
        How many sub-nodes of a dynamic ``process`` run have succeeded, out of how many the run has so
        far (both 0 for other runs).
    max_parallelism:
        How many sub-task processes a ``process`` run may have at once (``None``: the number of cores).
    """

    def __init__(
        self,
        task: Task,
        mode: Mode,
        inputs: Mapping[str, Any],
        *,
        remote: RemoteRunner | None = None,
        namespace: MutableMapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        sandbox_factory: SandboxFactory | None = None,
        max_parallelism: int | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode: expected one of {list(MODES)}, got {mode!r} ({type(mode).__name__}).")
        if mode == "remote" and remote_unavailable_reason(remote):
            raise ConfigError(remote_unavailable_reason(remote))
        self.task = task
        self.mode: Mode = mode
        self.inputs = dict(inputs)
        self.remote = remote
        self.namespace = namespace
        # A cell-body task assigns its outputs to the notebook variables its cell assigns, as a call does.
        self._variables = bound_variables(task)
        if namespace is None or self._variables == []:
            self.result_name: str | None = None
        else:
            self.result_name = ", ".join(self._variables) if self._variables else result_name_for(task)
        self.phase = "SUBMITTING" if mode == "remote" else "QUEUED"
        self.activity = "connecting" if mode == "remote" else ""
        self.attempt = 1
        self.url: str | None = None
        self.outputs: Any = None
        self.error: BaseException | None = None
        self.execution: Execution | None = None
        self.login: SignInCode | None = None
        self.deck_html: str | None = None  # the run's deck page (a task with enable_deck)
        self.stopped_by = ""
        self._callbacks: list[ProgressCallback] = [on_progress] if on_progress else []
        self._sandbox_factory = sandbox_factory
        self.log: list[str] = []
        self.log_dropped = 0
        self._log_chars = 0
        self._log_lock = threading.Lock()
        self._sandbox: Sandbox | None = None
        self.nodes_done = self.nodes_total = 0
        self.max_parallelism = check_parallelism(max_parallelism, "start_run")
        self._started = time.monotonic()
        self._finished: float | None = None
        self._done = threading.Event()
        self._cancel_requested = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"flyte-nb-run-{mode}", daemon=True)
        self._thread_ended = False
        self._on_thread_end: list[Callable[[], None]] = []

    # -- public -------------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the run started (frozen once it ended)."""
        end = self._finished if self._finished is not None else time.monotonic()
        return end - self._started

    @property
    def done(self) -> bool:
        """True once the run has ended (in any terminal phase)."""
        return self._done.is_set()

    def add_callback(self, callback: ProgressCallback) -> None:
        """Call ``callback(handle)`` on every progress change (from the run's thread)."""
        self._callbacks.append(callback)

    def when_thread_ends(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the run's thread has ended: after its outputs or error, and — for a
        cancelled kernel run, reported ``ABORTED`` at once — only when its code has really stopped.
        Called at once when the thread has ended already."""
        with self._lock:
            if not self._thread_ended:
                self._on_thread_end.append(callback)
                return
        callback()

    def start(self) -> RunHandle:
        """Start the run on its own thread and return at once.

        A local run (kernel or process) also stops when the kernel is interrupted
        (:mod:`flyte_nb.notebook.interrupt`); a remote run goes on on the cluster.
        """
        self._started = time.monotonic()
        self._thread.start()
        if self.mode != "remote":
            from flyte_nb.notebook import interrupt

            interrupt.watch(self)
        return self

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run ends; return its outputs or raise its error.

        Raises
        ------
        TimeoutError
            The run did not end within ``timeout`` seconds (it keeps running).
        RunCancelled
            The run was cancelled.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(
                f"Run of task '{self.task.name}' ({self.mode}) still {self.phase} after "
                f"{timeout}s. Wait longer, or cancel() it."
            )
        if self.phase == "ABORTED":
            raise RunCancelled(f"Run of task '{self.task.name}' was cancelled.")
        if self.error is not None:
            raise self.error
        return self.outputs

    def cancel(self, by: str = "Cancel") -> bool:
        """Stop the run; return False when it had already ended.

        ``by`` says what stopped it (``"Cancel"``, ``"the kernel's interrupt"``), kept in
        :attr:`stopped_by` for the views.
        """
        with self._lock:
            if self.done:
                return False
            self._cancel_requested.set()
            self.stopped_by = by
        if self.mode == "remote" and self.execution is not None:
            try:
                self.execution.terminate()
            except RemoteError as exc:  # keep the UI alive; the failure is shown with the run
                if exc.code == "FAILED_PRECONDITION":
                    # It finished on the cluster before the cancel arrived: its own result stands.
                    self._cancel_requested.clear()
                    return False
                self.error = exc
        elif self.mode == "process":
            # the sandbox kills the task's process group; its run then fails and is reported ABORTED
            if self._sandbox is not None:
                self._sandbox.cancel()
        else:
            _raise_in_thread(self._thread, RunCancelled)
        self._finish("ABORTED")
        return True

    # -- worker -------------------------------------------------------------------------------------
    def _notify(self) -> None:
        for callback in list(self._callbacks):
            _call_logged(callback, self)

    def _finish(self, phase: str, *, outputs: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            if self.done:  # e.g. a cancelled run whose thread finished late: keep ABORTED
                return
            self.phase = phase
            self.outputs = outputs
            if error is not None:
                self.error = error
            self._finished = time.monotonic()
            if phase == "SUCCEEDED" and self.namespace is not None and self.result_name:
                self._bind(self.namespace, outputs)
            self._done.set()
        self._notify()

    def _bind(self, namespace: MutableMapping[str, Any], outputs: Any) -> None:
        names = self._variables
        if not names:
            namespace[self.result_name or result_name_for(self.task)] = outputs
        elif len(names) == 1 and not (isinstance(outputs, tuple) and hasattr(outputs, "_fields")):
            namespace[names[0]] = outputs
        else:  # the outputs' NamedTuple (one field or several), as CellBodyTask.__call__ assigns it
            namespace.update(zip(names, outputs, strict=True))

    def _set_phase(self, phase: str) -> None:
        if not self.done:
            self.phase = phase
            self._notify()

    def _run(self) -> None:
        try:
            self._run_and_report()
        except RunCancelled:  # a cancel that landed in our own bookkeeping rather than in the task
            self._finish("ABORTED")
        finally:
            with self._lock:
                self._thread_ended = True
                callbacks, self._on_thread_end = self._on_thread_end, []
            for callback in callbacks:
                _call_quietly(callback)

    def _run_and_report(self) -> None:
        try:
            if self._cancel_requested.is_set():
                return
            if self.mode == "remote":
                outputs = self._run_remote()
            else:
                self._set_phase("RUNNING")
                outputs = self._run_local()
        except RunCancelled:
            self._finish("ABORTED")
        except BaseException as exc:  # noqa: BLE001 - every failure, SystemExit included, is shown in the widget
            if self._cancelled(exc):
                self._finish("ABORTED")
            else:
                self._finish("FAILED", error=exc)
        else:
            if self._cancelled(None):
                self._finish("ABORTED")
            else:
                self._finish("SUCCEEDED", outputs=outputs)

    def _cancelled(self, error: BaseException | None) -> bool:
        """Whether the run ended because it was cancelled rather than on its own."""
        if self.mode == "remote" and self.execution is not None:
            # The cluster's answer is the truth: a run that returned outputs (or failed) finished before
            # any terminate reached it, and an abort (from here or the console) ends in ABORTED.
            return isinstance(error, TaskExecutionError) and error.code == "ABORTED"
        return self._cancel_requested.is_set()

    @property
    def log_text(self) -> str:
        """The captured output as one string (the last ``LOG_KEEP`` characters of it)."""
        with self._log_lock:
            return "".join(self.log)

    def _write(self, text: str) -> None:
        with self._log_lock:
            self.log.append(text)
            self._log_chars += len(text)
            while self._log_chars > LOG_KEEP and len(self.log) > 1:
                dropped = self.log.pop(0)
                self._log_chars -= len(dropped)
                self.log_dropped += len(dropped)

    def _on_retry(self, attempt: int, code: str) -> None:
        self.attempt = attempt + 1  # shown 1-based
        self._notify()

    def _on_node(self, progress: Any) -> None:
        self.nodes_done, self.nodes_total = progress.done, progress.total
        self._notify()

    def _run_local(self) -> Any:
        sandbox: Sandbox
        if self._sandbox_factory is not None:
            sandbox = self._sandbox_factory(self.mode, self.remote)
        else:
            from flyte_nb.runtime.sandbox import SandboxExecutor

            sandbox = SandboxExecutor(
                mode=self.mode,
                remote=self.remote,
                stdout=self._write,
                stderr=self._write,
                on_retry=self._on_retry,
                max_parallelism=self.max_parallelism,
                on_node=self._on_node,
            )
        self._sandbox = sandbox
        try:
            if self.mode != "kernel":
                return sandbox.run(self.task, **self.inputs)
            with routed_output(self._write):  # the task's print() calls, in this thread only
                return sandbox.run(self.task, **self.inputs)
        finally:
            self.deck_html = sandbox.last_deck  # also after a failure

    def _run_remote(self) -> Any:
        assert self.remote is not None  # checked in __init__
        # Nothing is queued until the execution exists: until then the steps of the submission are shown.
        self._set_phase("SUBMITTING")
        # A button click is no cell: a device-flow sign-in the remote shows from this thread would appear
        # nowhere, and the run would wait for an approval the user was never asked for. Show it here.
        with self.remote.sign_in_prompts_here(self._show_login):
            execution = self.remote.submit(self.task, self._on_submit_step, **self.inputs)
            self.execution = execution
            self.url = execution.url
            if self._cancel_requested.is_set():
                execution.terminate()
                raise RunCancelled("cancelled while submitting")
            self._on_remote_update(execution)
            return execution.wait(on_update=self._on_remote_update)

    def _on_submit_step(self, step: SubmitStep) -> None:
        self.activity = step.message
        self._notify()

    def _show_login(self, code: SignInCode) -> None:
        self.login = code
        self._notify()

    def _on_remote_update(self, execution: Execution) -> None:
        self.login = None  # the server answered: any sign-in is done
        self.url = execution.url
        phase = phase_name(execution.phase)
        if phase not in ("UNDEFINED", "QUEUED"):  # attempts exist once the task runs (two reads: not before)
            self.attempt = max(1, execution.attempt)
        if phase == "UNDEFINED":  # created, not yet picked up by the cluster: that is what queued means
            phase = "QUEUED"
        self.activity = "waiting for the cluster to start it" if phase == "QUEUED" else ""
        if phase not in TERMINAL_PHASES:
            self._set_phase(phase)
        else:
            self._notify()


def start_run(
    task: Task,
    mode: Mode,
    inputs: Mapping[str, Any],
    *,
    remote: RemoteRunner | None = None,
    namespace: MutableMapping[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    sandbox_factory: SandboxFactory | None = None,
    max_parallelism: int | None = None,
) -> RunHandle:
    """Run ``task`` with native ``inputs`` in ``mode`` on a background thread.

    Parameters
    ----------
    task:
        The task to run.
    mode:
        ``"kernel"`` (in this process, full literal round trip), ``"process"`` (the task's container
        command in a fresh interpreter) or ``"remote"`` (submitted to ``remote``).
    inputs:
        Native input values by name.
    remote:
        A ``flyte_nb.Remote`` (needed for ``"remote"``).
    namespace:
        Where to bind the outputs (the user namespace in a kernel); see :attr:`RunHandle.result_name`.
    on_progress:
        Called with the handle on every change, from the run's thread.
    sandbox_factory:
        ``(mode, remote) -> executor with .run(task, **inputs)``; defaults to ``SandboxExecutor``.
    max_parallelism:
        How many sub-task processes a dynamic ``"process"`` run may have at once (default: the cores).

    Returns
    -------
    RunHandle
        Already started; ``wait()`` for the outputs or ``cancel()`` it.
    """
    handle = RunHandle(
        task,
        mode,
        inputs,
        remote=remote,
        namespace=namespace,
        on_progress=on_progress,
        sandbox_factory=sandbox_factory,
        max_parallelism=max_parallelism,
    )
    return handle.start()
