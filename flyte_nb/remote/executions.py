"""``RemoteExecution``: one run of a task on a Flyte cluster, watched from the notebook.

Its state is FlyteAdmin's: ``phase`` asks the server, ``wait`` polls until a terminal phase (SUCCEEDED,
FAILED, TIMED_OUT, ABORTED) — every 0.1 s for the first second, at most 0.5 s apart for the first 30 s,
then backing off, never more than 10 times a second per execution (:mod:`flyte_nb.remote.polling`) —
and returns the task's native outputs, read from
``GetExecutionData`` (``full_outputs``, else the signed outputs URL) with pickled and offloaded values
downloaded through the data proxy. A failed run raises :class:`~flyte_nb.TaskExecutionError` carrying
the container's own message (the task's traceback), code, kind and origin.

Values decode with the task's own types when the execution knows its task (it was submitted from here,
or the task was passed), else with the types guessed from the interface FlyteAdmin registered for it
(:class:`~flyte_nb.remote.registered.RegisteredTask`). In a notebook, every phase it is seen in is written
to the notebook's run ledger, so ``%flyte_runs`` shows how a run ended even after a kernel restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import errors_pb2, identifier_pb2, literals_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2

from flyte_nb.core.phases import TERMINAL_PHASES
from flyte_nb.core.runs import RemoteRun, RunStart, current_recorder, input_summary, scrub
from flyte_nb.errors import (
    FlyteNbError,
    RemoteError,
    RemoteUnavailableError,
    TaskExecutionError,
    WaitTimeoutError,
)
from flyte_nb.remote.polling import MIN_POLL_INTERVAL, PollSchedule

if TYPE_CHECKING:
    from flyte_nb.core.task import Task
    from flyte_nb.remote.remote import Remote

__all__ = ["TERMINAL_PHASES", "RemoteExecution", "record_launch"]

Phase = core_execution_pb2.WorkflowExecution
_UNSET: Any = object()
_log = logging.getLogger(__name__)
_FRESH_FOR = 0.2  # seconds a fetched phase is reused by the ``phase`` property
_ATTEMPT_FRESH_FOR = 1.0  # seconds the ``attempt`` property reuses what it read (two calls per read)
_CONTROL_NODES = frozenset({"start-node", "end-node"})  # every workflow's bookends; they run no task


class RemoteExecution:
    """A task execution on FlyteAdmin.

    Attributes
    ----------
    id:
        The ``WorkflowExecutionIdentifier`` (project, domain, name).
    task:
        The task it runs, used to decode inputs and outputs: the one submitted or passed in, the
        ``RegisteredTask`` fetched from FlyteAdmin for a re-attached execution, or ``None`` when that
        could not be fetched.
    max_poll_interval:
        The longest pause between two polls of :meth:`wait`, in seconds (reached after 30 s of waiting;
        see :mod:`flyte_nb.remote.polling`).
    max_unreachable:
        How long :meth:`wait` keeps trying while FlyteAdmin does not answer, in seconds.
    """

    def __init__(
        self,
        remote: Remote,
        id: identifier_pb2.WorkflowExecutionIdentifier,
        task: Task | None = None,
        *,
        max_poll_interval: float = 10.0,
        max_unreachable: float = 300.0,
    ) -> None:
        self.remote = remote
        self.id = id
        self.task = task
        self.max_poll_interval = max_poll_interval
        self.max_unreachable = max_unreachable
        self._execution: execution_pb2.Execution | None = None
        self._fetched_at = float("-inf")
        self._outputs: Any = _UNSET
        self._inputs: dict[str, Any] | None = None
        self._recorded_phase = ""
        self._attempt: tuple[float, int] | None = None  # (read at, attempt)
        # The clock and sleep of wait(); tests replace them to check the polling schedule without waiting.
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep

    # ---- identity --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The execution name (unique within project and domain)."""
        return self.id.name

    @property
    def url(self) -> str:
        """The Flyte console page of this execution."""
        return (
            f"{self.remote.config.console_url}/console/projects/{self.id.project}/domains/{self.id.domain}"
            f"/executions/{self.id.name}"
        )

    def __repr__(self) -> str:
        # Plain text; the live view in a notebook is registered by the flyte_nb extension.
        phase = Phase.Phase.Name(self._execution.closure.phase) if self._execution is not None else "?"
        return f"RemoteExecution({self.id.project}/{self.id.domain}/{self.id.name}, phase={phase}, url={self.url!r})"

    # ---- state -----------------------------------------------------------------------------------

    def refresh(self) -> execution_pb2.Execution:
        """Fetch the execution from FlyteAdmin (``GetExecution``) and return it."""
        request = execution_pb2.WorkflowExecutionGetRequest(id=self.id)
        self._execution = self.remote.client.get_execution(request)
        self._fetched_at = self._clock()
        self._record_phase(self._execution)
        return self._execution

    def _record_phase(self, execution: execution_pb2.Execution) -> None:
        """Write a newly seen phase to the notebook's run ledger (a no-op outside a notebook, and for
        executions the ledger does not hold)."""
        phase = str(Phase.Phase.Name(execution.closure.phase))
        if phase == self._recorded_phase or phase == "UNDEFINED":
            return
        self._recorded_phase = phase
        recorder = current_recorder()
        if recorder is None:
            return
        terminal = phase in TERMINAL_PHASES
        recorder.remote_phase(
            self._where(), phase, self.duration if terminal else None, _closure_error(execution)
        )

    def _where(self) -> RemoteRun:
        return RemoteRun(self.remote.config.endpoint, self.id.project, self.id.domain, self.id.name, self.url)

    @property
    def execution(self) -> execution_pb2.Execution:
        """The last fetched ``admin.Execution`` (fetched now if never fetched)."""
        return self._execution if self._execution is not None else self.refresh()

    @property
    def phase(self) -> str:
        """The current phase name (``"QUEUED"``, ``"RUNNING"``, ``"SUCCEEDED"``…).

        Asked from the server unless already terminal or fetched less than ``_FRESH_FOR`` seconds ago
        (a progress callback reading it right after a poll does not cost a second round trip).
        """
        stale = self._clock() - self._fetched_at > _FRESH_FOR
        if self._execution is None or (
            stale and Phase.Phase.Name(self._execution.closure.phase) not in TERMINAL_PHASES
        ):
            self.refresh()
        assert self._execution is not None
        return str(Phase.Phase.Name(self._execution.closure.phase))

    @property
    def attempt(self) -> int:
        """The 1-based number of the task's current (or last) attempt; retries count up from 1.

        Read from FlyteAdmin's node and task executions (two reads, reused for a second), so call it when
        it matters, e.g. while the execution is RUNNING. ``1`` before the task has started or when admin
        cannot say.
        """
        now = self._clock()
        if self._attempt is not None and now - self._attempt[0] < _ATTEMPT_FRESH_FOR:
            return self._attempt[1]
        attempt = self._read_attempt()
        self._attempt = (now, attempt)
        return attempt

    def _read_attempt(self) -> int:
        try:
            nodes = self.remote.client.list_node_executions(
                node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=self.id, limit=10)
            )
            node = next((n for n in nodes.node_executions if n.id.node_id not in _CONTROL_NODES), None)
            if node is None:
                return 1
            attempts = self.remote.client.list_task_executions(
                task_execution_pb2.TaskExecutionListRequest(node_execution_id=node.id, limit=100)
            )
        except RemoteError:
            return 1  # progress information only: never fail a run over it
        return 1 + max((t.id.retry_attempt for t in attempts.task_executions), default=0)

    @property
    def duration(self) -> float | None:
        """The run time in seconds FlyteAdmin reported at the last fetch (no extra call), if any."""
        closure = self._execution.closure if self._execution is not None else None
        if closure is None or not closure.HasField("duration"):
            return None
        return float(closure.duration.ToTimedelta().total_seconds())

    @property
    def is_done(self) -> bool:
        """True once the execution reached a terminal phase."""
        return self.phase in TERMINAL_PHASES

    @property
    def phase_seen(self) -> str:
        """The phase of the last successful fetch, without asking the server (``"UNKNOWN"`` before any)."""
        return (
            str(Phase.Phase.Name(self._execution.closure.phase)) if self._execution is not None else "UNKNOWN"
        )

    # ---- waiting ---------------------------------------------------------------------------------

    def wait(
        self,
        timeout: float | None = None,
        on_update: Callable[[RemoteExecution], None] | None = None,
        *,
        poll_interval: float = MIN_POLL_INTERVAL,
    ) -> Any:
        """Poll until the execution finishes and return its native outputs (as calling the task does).

        Polls start fast and back off (:mod:`flyte_nb.remote.polling`): the pause between two
        ``GetExecution`` calls is 0.1 s for the first second, then grows to 0.5 s and stays there for the
        first 30 s of waiting, so a short run's result is returned within half a second of FlyteAdmin
        reporting it; then it grows by half per poll up to ``max_poll_interval``. Never more than one poll per
        ``MIN_POLL_INTERVAL`` (0.1 s) per execution, whatever ``poll_interval`` says.

        Parameters
        ----------
        timeout:
            Seconds to wait at most (``None``: no limit). When it passes, :class:`WaitTimeoutError` is
            raised and the execution keeps running on the cluster; call ``wait`` again to keep waiting.
        on_update:
            Called with this execution after every poll (progress widgets read ``.phase``), so every
            phase that lasts longer than a pause is seen as it happens.
        poll_interval:
            The first pause between polls (at least 0.1 s).

        Raises
        ------
        TaskExecutionError
            The task failed (its traceback is in the message), timed out, or was aborted.
        WaitTimeoutError
            ``timeout`` passed first.
        RemoteUnavailableError
            FlyteAdmin did not answer for ``max_unreachable`` seconds (shorter outages, such as an admin
            restart, are waited out), or until ``timeout``.
        """
        started = self._clock()
        deadline = None if timeout is None else started + timeout
        schedule = PollSchedule(poll_interval, self.max_poll_interval)
        unreachable_since: float | None = None
        while True:
            try:
                phase = str(Phase.Phase.Name(self._poll().closure.phase))
            except RemoteUnavailableError as exc:
                # Admin restarts (deploys, node moves) outlast one call's retries; the run goes on meanwhile.
                now = self._clock()
                unreachable_since = unreachable_since or now
                if now - unreachable_since >= self.max_unreachable or (
                    deadline is not None and now >= deadline
                ):
                    raise RemoteUnavailableError(
                        f"{exc} Execution {self.name} was last seen {self.phase_seen} and may still be running: "
                        f"call .wait() again once FlyteAdmin answers, or follow it at {self.url}.",
                        code=exc.code,
                        details=exc.details,
                    ) from exc
                _log.warning(
                    "FlyteAdmin unreachable while waiting for %s (%s); still trying", self.name, exc.code
                )
                self._sleep(min(self.max_poll_interval, max(schedule.next(now - started), 1.0)))
                continue
            unreachable_since = None
            if on_update is not None:
                on_update(self)
            if phase in TERMINAL_PHASES:
                return self.outputs
            now = self._clock()
            if deadline is not None and now >= deadline:
                raise WaitTimeoutError(
                    f"Execution {self.name} is still {phase} after {timeout} s (wait(timeout={timeout})). It keeps "
                    f"running on the cluster: call .wait() again, follow it at {self.url}, or .terminate() it."
                )
            pause = schedule.next(now - started)
            self._sleep(pause if deadline is None else min(pause, max(0.0, deadline - now)))

    def _poll(self) -> execution_pb2.Execution:
        """``refresh()``, no sooner than ``MIN_POLL_INTERVAL`` after the last fetch (by any caller)."""
        early = self._fetched_at + MIN_POLL_INTERVAL - self._clock()
        if early > 0:
            self._sleep(early)
        return self.refresh()

    # ---- results ---------------------------------------------------------------------------------

    @property
    def outputs(self) -> Any:
        """The native outputs of a SUCCEEDED execution (raises the task's error for a failed one)."""
        if self._outputs is not _UNSET:
            return self._outputs
        phase = self.phase
        if phase != "SUCCEEDED":
            error = self.error
            if error is not None:
                raise error
            raise RemoteError(
                f"Execution {self.name} is {phase}: outputs exist once it has SUCCEEDED. Call .wait() first.",
                code="FAILED_PRECONDITION",
            )
        literal_map = self._output_literals()
        task = self._decoding_task("outputs")
        store = self.remote.store(self.id.project, self.id.domain)
        from flyte_nb.remote.registered import RegisteredTask  # the core's task machinery, on first use

        if not isinstance(task, RegisteredTask):
            from flyte_nb.core.execution import literal_map_to_outputs

            self._outputs = literal_map_to_outputs(
                task.name, task.require_python_interface(), literal_map, store
            )
            return self._outputs
        from flyte_nb.core.execution import shape_outputs
        from flyte_nb.core.guess import decode_literals

        iface = task.python_interface
        missing = [k for k in iface.outputs if k not in literal_map.literals]
        if missing:
            raise RemoteError(
                f"Execution {self.name} SUCCEEDED, but its outputs lack {missing} that {task.name!r} declares (got "
                f"{sorted(literal_map.literals)}). The registered task does not match what ran; see {self.url}.",
                code="DATA_LOSS",
            )
        values = decode_literals(
            f"Execution {self.name} output '{{}}'",
            iface.outputs,
            literal_map,
            store,
            fix=self._decode_fix(),
            literal_types={k: v.type for k, v in task.interface.outputs.variables.items()},
        )
        self._outputs = shape_outputs(iface, values)
        return self._outputs

    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs the execution was launched with, as Python values by name.

        Decoded like :attr:`outputs` (the task's types, else the registered interface's).
        """
        if self._inputs is not None:
            return dict(self._inputs)
        task = self._decoding_task("inputs")
        data = self.remote.client.get_execution_data(
            execution_pb2.WorkflowExecutionGetDataRequest(id=self.id)
        )
        literal_map = data.full_inputs
        if not literal_map.literals and data.inputs.url and data.inputs.bytes > 0:
            literal_map = literals_pb2.LiteralMap.FromString(
                self.remote.uploader.get(data.inputs.url, what=f"the inputs of {self.name}")
            )
        from flyte_nb.core.guess import decode_literals

        self._inputs = decode_literals(
            f"Execution {self.name} input '{{}}'",
            task.require_python_interface().inputs,
            literal_map,
            self.remote.store(self.id.project, self.id.domain),
            fix=self._decode_fix(),
            literal_types={k: v.type for k, v in task.interface.inputs.variables.items()},
        )
        return dict(self._inputs)

    def _decoding_task(self, what: str) -> Task:
        if self.task is not None:
            return self.task
        launch_plan = self.execution.spec.launch_plan
        raise RemoteError(
            f"Execution {self.name} runs {launch_plan.name!r} version {launch_plan.version}, which FlyteAdmin no "
            f"longer has registered, so its {what} cannot be decoded without the task. Pass it: "
            f"remote.execution({self.name!r}, task).",
            code="NOT_FOUND",
        )

    def _decode_fix(self) -> str:
        return f"pass the task to decode with its own types: remote.execution({self.name!r}, task)"

    def _output_literals(self) -> literals_pb2.LiteralMap:
        request = execution_pb2.WorkflowExecutionGetDataRequest(id=self.id)
        data = self.remote.client.get_execution_data(request)
        if data.full_outputs.literals:
            return data.full_outputs
        literal_map = literals_pb2.LiteralMap()
        if data.outputs.url and data.outputs.bytes > 0:
            literal_map.ParseFromString(
                self.remote.uploader.get(data.outputs.url, what=f"the outputs of {self.name}")
            )
            return literal_map
        iface = self.task.python_interface if self.task is not None else None
        expected = list(iface.outputs) if iface is not None else []
        if expected:
            raise RemoteError(
                f"Execution {self.name} SUCCEEDED, but FlyteAdmin returned no outputs (expected {expected}): they are "
                "larger than its remoteData.maxSizeInBytes and signed URLs are disabled. Return large values as "
                "files or dataframes, or ask the admins to enable remoteData.signedUrls.",
                code="NOT_FOUND",
            )
        return literal_map

    @property
    def error(self) -> TaskExecutionError | None:
        """The task's failure as a :class:`TaskExecutionError`, or ``None`` unless FAILED/TIMED_OUT/ABORTED."""
        phase = self.phase
        closure = self.execution.closure
        task_name = self.task.name if self.task is not None else self.execution.spec.launch_plan.name
        if phase == "ABORTED":
            cause = closure.abort_metadata.cause or closure.abort_cause or "no cause given"
            return TaskExecutionError(
                f"Execution {self.name} of task {task_name!r} was aborted ({cause}). Submit it again to rerun it.",
                task_name=task_name,
                code="ABORTED",
                kind="NON_RECOVERABLE",
                origin="USER",
            )
        if phase not in ("FAILED", "TIMED_OUT"):
            return None
        from flyte_nb.runtime.error_document import to_task_execution_error

        container = self._container_error(closure.error)
        err = to_task_execution_error(
            container, task_name=task_name, timeout=phase == "TIMED_OUT" or container.code == "Timeout"
        )
        if container.code.endswith(":PayloadDigestError"):
            self.remote.forget_payload(
                self.task
            )  # the stored payload was changed: the next submit re-uploads
        err.args = (f"{err.args[0]} (execution {self.url})",)
        return err

    def _container_error(self, error: core_execution_pb2.ExecutionError) -> errors_pb2.ContainerError:
        # error.pb holds the task's own ContainerError (with its recoverability); the closure only a summary.
        if error.error_uri:
            try:
                document = errors_pb2.ErrorDocument.FromString(self.remote.uploader.download(error.error_uri))
                if document.HasField("error"):
                    return document.error
            except (FlyteNbError, ValueError):
                pass  # not readable through the data proxy: the closure's copy is enough
        return errors_pb2.ContainerError(
            code=error.code or "UNKNOWN",
            message=error.message,
            origin=error.kind,
            kind=errors_pb2.ContainerError.NON_RECOVERABLE,
        )

    # ---- control ---------------------------------------------------------------------------------

    def terminate(self, cause: str = "Terminated from a notebook") -> None:
        """Ask FlyteAdmin to abort the execution (``TerminateExecution``); a finished one stays as it is.

        Raises
        ------
        RemoteError
            ``FAILED_PRECONDITION`` when the execution has already finished.
        """
        request = execution_pb2.ExecutionTerminateRequest(id=self.id, cause=cause)
        try:
            self.remote.client.terminate_execution(request)
        except RemoteError as exc:
            if exc.code == "FAILED_PRECONDITION":
                raise RemoteError(
                    f"Execution {self.name} cannot be terminated: it already finished ({self.phase}). "
                    f"FlyteAdmin said: {exc.details}",
                    code=exc.code,
                    details=exc.details,
                ) from exc
            raise
        self.refresh()


def _closure_error(execution: execution_pb2.Execution) -> str:
    """One line for how an execution failed, for the run ledger (``""`` unless it failed or was aborted)."""
    closure = execution.closure
    if closure.HasField("error"):
        lines = [line.strip() for line in closure.error.message.splitlines() if line.strip()]
        text = f"{closure.error.code}: {lines[-1]}" if lines else closure.error.code
    elif closure.phase == Phase.ABORTED:
        text = f"aborted: {closure.abort_metadata.cause or closure.abort_cause or 'no cause given'}"
    else:
        return ""
    text = scrub(text)
    return text if len(text) <= 300 else text[:299] + "…"


def record_launch(execution: RemoteExecution, version: str, inputs: dict[str, Any]) -> None:
    """Record a just-launched execution in the notebook's run ledger (a no-op outside a notebook)."""
    recorder = current_recorder()
    if recorder is None:
        return
    task = execution.task
    start = RunStart(
        task=task.name if task is not None else execution.name,
        version=version,
        mode="remote",
        inputs=input_summary(inputs),
    )
    recorder.run_started(start, execution._where())
