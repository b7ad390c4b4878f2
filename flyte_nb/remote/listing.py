"""``Remote.executions``: the latest executions on FlyteAdmin, filtered as the Flyte console filters them.

``ListExecutions`` takes FlyteAdmin's filter expressions (``eq(task.name,train)+value_in(phase,FAILED;
TIMED_OUT)``) and a sort key; it answers one page at a time (at most 100 rows, then a ``token`` for the
next). Executions of a task are single-task executions whose ``task.name`` matches; each one returned
already holds its ``admin.Execution`` (no further call until its phase, inputs or outputs are asked for)
and the task to decode it with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flyteidl.admin import common_pb2, execution_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2

from flyte_nb.errors import ConfigError
from flyte_nb.remote.executions import RemoteExecution

if TYPE_CHECKING:
    from flyte_nb.core.task import Task
    from flyte_nb.remote.remote import Remote

__all__ = ["execution_filters", "list_executions"]

PAGE = 100  # FlyteAdmin's largest page


def _phases(phase: str | Sequence[str] | None) -> list[str]:
    if phase is None:
        return []
    names = [phase] if isinstance(phase, str) else list(phase)
    valid = core_execution_pb2.WorkflowExecution.Phase.keys()
    wrong = [p for p in names if p.upper() not in valid]
    if wrong:
        raise ConfigError(
            f"phase: expected one of {', '.join(valid)}, got {wrong!r}. Pass e.g. phase='SUCCEEDED' or "
            "phase=['FAILED', 'TIMED_OUT']."
        )
    return [p.upper() for p in names]


def execution_filters(task_name: str | None, phase: str | Sequence[str] | None) -> str:
    """FlyteAdmin's filter expression for executions of ``task_name`` in ``phase`` (``""``: all)."""
    filters = []
    if task_name:
        filters.append(f"eq(task.name,{task_name})")
    phases = _phases(phase)
    if len(phases) == 1:
        filters.append(f"eq(phase,{phases[0]})")
    elif phases:
        filters.append(f"value_in(phase,{';'.join(phases)})")
    return "+".join(filters)


def list_executions(
    remote: Remote,
    task: Task | str | None,
    *,
    limit: int,
    phase: str | Sequence[str] | None,
    project: str | None,
    domain: str | None,
) -> list[RemoteExecution]:
    """See :meth:`Remote.executions`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit: expected a positive int, got {limit!r} ({type(limit).__name__}).")
    task_name = task if isinstance(task, str) or task is None else task.name
    own = _own_version(remote, task)
    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(
            project=project or remote.project, domain=domain or remote.domain
        ),
        limit=min(limit, PAGE),
        filters=execution_filters(task_name, phase),
        sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING),
    )
    found: list[RemoteExecution] = []
    while len(found) < limit:
        page = remote.client.list_executions(request)
        found += [_attached(remote, e, task, own) for e in page.executions[: limit - len(found)]]
        if not page.token or not page.executions:
            break
        request.token = page.token
    return found


def _own_version(remote: Remote, task: Task | str | None) -> str:
    """The version ``task`` is registered under on ``remote`` (its executions decode with its own types)."""
    if task is None or isinstance(task, str):
        return ""
    from flyte_nb.core.serialize import task_version
    from flyte_nb.errors import FlyteNbError

    try:
        return task_version(task, remote.settings())
    except FlyteNbError:
        return ""  # cannot be compiled here: decode every execution from its registered interface


def _attached(
    remote: Remote, admin_execution: execution_pb2.Execution, task: Task | str | None, own: str
) -> RemoteExecution:
    """A listed execution, decoded with ``task`` when it ran that task's version ``own``."""
    launch_plan: identifier_pb2.Identifier = admin_execution.spec.launch_plan
    mine = task if not isinstance(task, str) and own and launch_plan.version == own else None
    execution = RemoteExecution(remote, admin_execution.id, mine)
    execution._execution = admin_execution  # already fetched: no GetExecution until it is refreshed
    if mine is None:
        execution.task = remote.registered(launch_plan, missing_ok=True)
    return execution
