"""The stand-in's database: tasks and executions as protobuf files on disk.

Everything is read from and written to disk on every access, so a restarted server (a new ``StandIn``
process-side object over the same directory) knows every task and execution, as FlyteAdmin's
Postgres would.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from flyteidl.admin import execution_pb2, launch_plan_pb2, task_pb2
from flyteidl.core import identifier_pb2, tasks_pb2

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(root: Path) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(root.resolve()), threading.RLock())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def task_digest(template: tasks_pb2.TaskTemplate) -> str:
    """FlyteAdmin compares re-registrations by a digest of the compiled template."""
    return hashlib.sha256(template.SerializeToString(deterministic=True)).hexdigest()


class Store:
    """Tasks and executions of one stand-in, persisted under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.lock = _lock_for(self.root)
        (self.root / "tasks").mkdir(parents=True, exist_ok=True)
        (self.root / "executions").mkdir(parents=True, exist_ok=True)

    # ---- tasks -----------------------------------------------------------------------------------

    def _task_path(self, tid: identifier_pb2.Identifier) -> Path:
        key = hashlib.sha256(f"{tid.project}\0{tid.domain}\0{tid.name}\0{tid.version}".encode()).hexdigest()
        return self.root / "tasks" / f"{key}.pb"

    def get_task(self, tid: identifier_pb2.Identifier) -> task_pb2.Task | None:
        path = self._task_path(tid)
        if not path.exists():
            return None
        return task_pb2.Task.FromString(path.read_bytes())

    def put_task(self, task: task_pb2.Task) -> None:
        _write_atomic(self._task_path(task.id), task.SerializeToString(deterministic=True))

    # ---- launch plans (stored for GetLaunchPlan; the stand-in runs single-task executions only) -----

    def _plan_path(self, pid: identifier_pb2.Identifier) -> Path:
        key = hashlib.sha256(f"{pid.project}\0{pid.domain}\0{pid.name}\0{pid.version}".encode()).hexdigest()
        return self.root / "launch_plans" / f"{key}.pb"

    def put_launch_plan(self, plan: launch_plan_pb2.LaunchPlan) -> None:
        _write_atomic(self._plan_path(plan.id), plan.SerializeToString(deterministic=True))

    def get_launch_plan(self, pid: identifier_pb2.Identifier) -> launch_plan_pb2.LaunchPlan | None:
        path = self._plan_path(pid)
        return launch_plan_pb2.LaunchPlan.FromString(path.read_bytes()) if path.exists() else None

    # ---- executions ------------------------------------------------------------------------------

    def _exec_dir(self, eid: identifier_pb2.WorkflowExecutionIdentifier) -> Path:
        return self.root / "executions" / eid.project / eid.domain / eid.name

    def get_execution(
        self, eid: identifier_pb2.WorkflowExecutionIdentifier
    ) -> execution_pb2.Execution | None:
        path = self._exec_dir(eid) / "execution.pb"
        if not path.exists():
            return None
        return execution_pb2.Execution.FromString(path.read_bytes())

    def put_execution(self, execution: execution_pb2.Execution) -> None:
        _write_atomic(
            self._exec_dir(execution.id) / "execution.pb", execution.SerializeToString(deterministic=True)
        )

    def update_execution(
        self,
        eid: identifier_pb2.WorkflowExecutionIdentifier,
        change: Callable[[execution_pb2.Execution], None],
    ) -> execution_pb2.Execution:
        with self.lock:
            execution = self.get_execution(eid)
            assert execution is not None, f"unknown execution {eid.name}"
            change(execution)
            self.put_execution(execution)
            return execution

    def executions(self) -> Iterator[execution_pb2.Execution]:
        for path in sorted((self.root / "executions").glob("*/*/*/execution.pb")):
            yield execution_pb2.Execution.FromString(path.read_bytes())

    def put_blob(self, eid: identifier_pb2.WorkflowExecutionIdentifier, name: str, data: bytes) -> None:
        _write_atomic(self._exec_dir(eid) / name, data)

    def get_blob(self, eid: identifier_pb2.WorkflowExecutionIdentifier, name: str) -> bytes | None:
        path = self._exec_dir(eid) / name
        return path.read_bytes() if path.exists() else None
