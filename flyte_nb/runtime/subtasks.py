"""Shipping the payloads of a dynamic task's sub-tasks along with its ``futures.pb``.

A dynamic task defined in a notebook calls other notebook tasks. Their templates, compiled inside the
container, name a payload file relative to the working directory, which the sub-nodes' containers do
not have. Before ``futures.pb`` is written, each such payload is stored under the attempt's raw output
prefix and the sub-task's loader args are pointed at it (the digest they pin is unchanged, and so is the
task version, which does not cover the container args).

The sub-task objects are found where the dynamic body can reach them: its globals and closure cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flyteidl.core import dynamic_job_pb2

from flyte_nb.runtime import storage

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = ["ship_sub_task_payloads"]


def _cell_value(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell: a name the function closes over was never assigned
        return None


def _reachable_tasks(task: Task) -> dict[str, Task]:
    from flyte_nb.core.task import Task as TaskClass

    fn = getattr(task, "task_function", None)
    candidates: list[Any] = []
    if fn is not None:
        candidates.extend(getattr(fn, "__globals__", {}).values())
        candidates.extend(_cell_value(cell) for cell in getattr(fn, "__closure__", None) or ())
    return {obj.name: obj for obj in candidates if isinstance(obj, TaskClass)}


def ship_sub_task_payloads(task: Task, spec: dynamic_job_pb2.DynamicJobSpec, raw_prefix: str) -> None:
    """Store the payloads ``spec``'s sub-tasks load from the working directory under ``raw_prefix``.

    Rewrites those templates' loader args in place to the stored location.
    """
    reachable = _reachable_tasks(task)
    for template in spec.tasks:
        sub = reachable.get(template.id.name)
        resolver = getattr(sub, "task_resolver", None)
        if sub is None or resolver is None:
            continue
        args = list(template.container.args)
        if "--" not in args:
            continue
        payload = resolver.payload(sub)
        if payload is None:
            continue
        loader_start = args.index("--") + 1
        positions = [i for i in range(loader_start, len(args)) if args[i] == payload.filename]
        if not positions:
            continue  # the template already points at a stored payload
        uri = storage.join(raw_prefix, "payloads", payload.sha256[:16], payload.filename)
        storage.write_bytes_atomic(uri, payload.data)
        for i in positions:
            args[i] = uri
        del template.container.args[:]
        template.container.args.extend(args)
