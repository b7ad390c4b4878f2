"""The stand-in's propeller: runs each execution's task like FlytePropeller and reports phases to admin.

The container command is rendered and run by ``tests/propeller.py`` (propeller's substitution rules,
storage layout and outcome classification). This module only moves the execution through the phase
sequence FlyteAdmin reports: UNDEFINED → QUEUED → RUNNING → SUCCEEDING/FAILING → SUCCEEDED/FAILED,
or ABORTING → ABORTED when terminated.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import TYPE_CHECKING

from flyteidl.admin import execution_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2

from tests import propeller
from tests.standin.admin import TERMINAL, node_name_for, now

if TYPE_CHECKING:
    from tests.standin.server import StandIn

Phase = core_execution_pb2.WorkflowExecution


def _key(eid: identifier_pb2.WorkflowExecutionIdentifier) -> str:
    return f"{eid.project}/{eid.domain}/{eid.name}"


class Propeller:
    """One worker thread per execution; survives admin restarts (it is a separate component)."""

    def __init__(self, standin: StandIn) -> None:
        self.s = standin
        self.lock = threading.Lock()
        self.threads: dict[str, threading.Thread] = {}
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.aborted: set[str] = set()
        self.started: list[str] = []  # execution names, in launch order (one entry per container run)
        self.phases: dict[str, list[str]] = {}  # execution name -> every phase it was given, in order
        self.attempts: dict[str, int] = {}  # execution name -> attempts (containers) started so far

    def launch(self, eid: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        key = _key(eid)
        with self.lock:
            if key in self.threads:
                return
            thread = threading.Thread(
                target=self._run, args=(eid,), name=f"propeller-{eid.name}", daemon=True
            )
            self.threads[key] = thread
        thread.start()

    def resume(self) -> None:
        """Pick up executions that are not finished (after a restart of the whole stand-in)."""
        for execution in self.s.store.executions():
            if execution.closure.phase not in TERMINAL:
                self.launch(execution.id)

    def abort(self, eid: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        key = _key(eid)
        with self.lock:
            self.aborted.add(key)
            proc = self.procs.get(key)
        if proc is not None and proc.poll() is None:
            proc.kill()

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self.threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    def _phase(self, eid: identifier_pb2.WorkflowExecutionIdentifier, phase: int, **extra: object) -> None:
        def change(ex: execution_pb2.Execution) -> None:
            if ex.closure.phase in TERMINAL:
                return
            if ex.closure.phase == Phase.ABORTING and phase != Phase.ABORTED:
                return  # an abort in flight wins over the task's own progress
            history = self.phases.setdefault(eid.name, [Phase.Phase.Name(ex.closure.phase)])
            if history[-1] != "ABORTING" and ex.closure.phase == Phase.ABORTING:
                history.append("ABORTING")  # set by admin's TerminateExecution, not by propeller
            history.append(Phase.Phase.Name(phase))
            ex.closure.phase = phase  # type: ignore[assignment]
            ex.closure.updated_at.CopyFrom(now())
            if phase == Phase.RUNNING:
                ex.closure.started_at.CopyFrom(now())
            if phase in TERMINAL and ex.closure.HasField("started_at"):
                ex.closure.duration.FromTimedelta(
                    ex.closure.updated_at.ToDatetime() - ex.closure.started_at.ToDatetime()
                )
            error = extra.get("error")
            if error is not None:
                ex.closure.error.CopyFrom(error)  # type: ignore[arg-type]

        self.s.store.update_execution(eid, change)

    def _run(self, eid: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        key = _key(eid)
        time.sleep(self.s.queue_delay)
        self._phase(eid, Phase.QUEUED)
        time.sleep(self.s.queue_delay)
        if key in self.aborted or self._current(eid) == Phase.ABORTING:
            self._phase(eid, Phase.ABORTED)
            return
        self._phase(eid, Phase.RUNNING)
        execution = self.s.store.get_execution(eid)
        assert execution is not None
        task = self.s.store.get_task(execution.spec.launch_plan)
        assert task is not None
        template = task.closure.compiled_task.template
        inputs = literals_pb2.LiteralMap.FromString(self.s.store.get_blob(eid, "inputs.pb") or b"")
        node = node_name_for(template.id.name)
        data_dir = (
            self.s.bucket.root
            / "metadata"
            / "propeller"
            / f"{eid.project}-{eid.domain}-{eid.name}"
            / node
            / "data"
        )

        def on_start(proc: subprocess.Popen[str]) -> None:  # once per attempt (retries included)
            with self.lock:
                self.procs[key] = proc
                self.started.append(eid.name)
                self.attempts[eid.name] = self.attempts.get(eid.name, 0) + 1
            if key in self.aborted:
                proc.kill()

        result = propeller.run_task_template(
            template,
            inputs,
            self.s.bucket.root,
            env=self.s.container_env(),
            secrets=self.s.secrets,
            execution=(eid.project, eid.domain, eid.name),
            node_id=node,
            data_dir=data_dir,
            on_start=on_start,
        )
        self.s.last_results[eid.name] = result
        if key in self.aborted or self._current(eid) == Phase.ABORTING:
            self._phase(eid, Phase.ABORTED)
            return
        if result.phase == "SUCCEEDED":
            outputs = result.paths.outputs
            if outputs.exists():
                rel = outputs.resolve().relative_to(self.s.bucket.root.resolve()).as_posix()
                self.s.store.put_blob(eid, "outputs_uri", rel.encode())
            self._phase(eid, Phase.SUCCEEDING)
            self._phase(eid, Phase.SUCCEEDED)
        else:
            self._phase(eid, Phase.FAILING)
            self._phase(
                eid,
                Phase.FAILED,
                error=result.error
                or core_execution_pb2.ExecutionError(code="Unknown", message="task failed"),
            )

    def _current(self, eid: identifier_pb2.WorkflowExecutionIdentifier) -> int:
        execution = self.s.store.get_execution(eid)
        return execution.closure.phase if execution is not None else Phase.UNDEFINED
