"""Running the nodes of a dynamic workflow at once, bounded as propeller bounds them.

Propeller starts every node of a workflow whose upstream nodes have finished, up to the execution's
``max_parallelism``; the first node that fails for good fails the workflow, and the nodes still running
are aborted. :func:`run_graph` does the same for one graph (one ``DynamicJobSpec``): it runs each node
on its own thread as soon as its dependencies are done, at most ``limit`` at a time, and stops starting
nodes after the first failure. What "running" costs is the caller's: the process sandbox takes a
:class:`Slots` slot for each task *process* only, so a dynamic node waiting for its own sub-nodes holds
no slot, and nested dynamic workflows share one run-wide bound without deadlocking.

:class:`NodeProgress` is what a progress view is told about the nodes of a run.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from flyte_nb.errors import ConfigError, InternalError

__all__ = ["NodeProgress", "Slots", "check_parallelism", "default_parallelism", "run_graph"]

T = TypeVar("T")


def default_parallelism() -> int:
    """The number of cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux: no affinity mask, count the cores
        return max(1, os.cpu_count() or 1)


def check_parallelism(value: object, where: str) -> int | None:
    """``value`` when it is ``None`` or a positive int; a :class:`ConfigError` naming ``where`` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{where} max_parallelism: expected a positive int (or None for the number of cores, "
            f"{default_parallelism()} here), got {value!r} ({type(value).__name__})."
        )
    return value


@dataclass(frozen=True)
class NodeProgress:
    """One change in the nodes of a dynamic run, as reported to ``on_node`` callbacks.

    Attributes
    ----------
    node:
        The node's id within the run: ``n3`` for the dynamic task's fourth node, ``n1-n0`` for the first
        node of a nested dynamic task at ``n1``.
    task:
        The name of the task the node runs.
    phase:
        ``RUNNING`` (an attempt started), ``RETRYING`` (an attempt failed and another follows),
        ``SUCCEEDED``, ``FAILED`` or ``ABORTED`` (stopped because another node failed or the run was
        cancelled).
    attempt:
        The 1-based attempt of the node this change is about.
    done, total:
        How many nodes of the run have succeeded, and how many the run has so far (nested dynamic tasks
        add theirs once their own ``futures.pb`` is read).
    """

    node: str
    task: str
    phase: str
    attempt: int
    done: int
    total: int


class Slots:
    """At most ``limit`` holders at a time; waiters give up as soon as the run is stopped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = limit
        self._stopped = False
        self._cond = threading.Condition()

    def acquire(self) -> bool:
        """Wait for a free slot and take it; ``False`` (nothing taken) once :meth:`stop` was called."""
        with self._cond:
            while self._free == 0 and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return False
            self._free -= 1
            return True

    def release(self) -> None:
        """Give a slot back."""
        with self._cond:
            self._free += 1
            self._cond.notify()

    def stop(self) -> None:
        """Wake every waiter: :meth:`acquire` returns ``False`` from now on."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


@dataclass
class _Done(Generic[T]):
    node: str
    value: T | None = None
    error: BaseException | None = None


def run_graph(
    deps: Mapping[str, frozenset[str]],
    run: Callable[[str, Mapping[str, T]], T],
    *,
    limit: int,
    on_failure: Callable[[BaseException], None],
) -> dict[str, T]:
    """Run every node once the nodes it depends on are done, at most ``limit`` at once; return the results.

    Parameters
    ----------
    deps:
        Node id -> the ids it waits for (ids outside ``deps`` count as done). Nodes start in this
        mapping's order when several are ready.
    run:
        Called as ``run(node_id, upstream)`` on a thread of its own, with the results of the node's
        dependencies; returns the node's result or raises.
    limit:
        How many nodes may run at once.
    on_failure:
        Called once, with the first error, as soon as a node fails (or waiting is interrupted): it should
        stop the nodes still running. No node starts after it.

    Raises
    ------
    BaseException
        The first node's error, once every started node has returned.
    InternalError
        Nodes that depend on each other (none of them can start).
    """
    pending = list(deps)
    results: dict[str, T] = {}
    finished: queue.Queue[_Done[T]] = queue.Queue()
    running: dict[str, threading.Thread] = {}
    failure: BaseException | None = None

    def work(node: str, upstream: Mapping[str, T]) -> None:
        try:
            finished.put(_Done(node, value=run(node, upstream)))
        except BaseException as exc:  # noqa: BLE001 - every outcome goes back to the scheduling thread, which raises it
            finished.put(_Done(node, error=exc))

    while True:
        if failure is None:
            for node in _ready(pending, deps, results, limit - len(running)):
                pending.remove(node)
                upstream = {d: results[d] for d in deps[node] if d in results}
                thread = threading.Thread(target=work, args=(node, upstream), name=f"flyte-nb-node-{node}")
                running[node] = thread
                thread.start()
        if not running:
            break
        try:
            done = finished.get()
        except BaseException as exc:  # interrupted while waiting: stop the nodes, then let it propagate
            on_failure(exc)
            _drain(running, finished)
            raise
        running.pop(done.node).join()
        if done.error is None:
            results[done.node] = done.value  # type: ignore[assignment]
        elif failure is None:
            failure = done.error
            on_failure(failure)
    if failure is not None:
        raise failure
    if pending:
        raise InternalError(f"Dynamic workflow: nodes {pending} depend on each other.")
    return results


def _ready(
    pending: Sequence[str], deps: Mapping[str, frozenset[str]], results: Mapping[str, T], room: int
) -> list[str]:
    ready = [node for node in pending if all(d in results or d not in deps for d in deps[node])]
    return ready[: max(0, room)]


def _drain(running: dict[str, threading.Thread], finished: queue.Queue[_Done[T]]) -> None:
    """Wait (boundedly) for the started nodes to return after they were told to stop."""
    for thread in running.values():
        thread.join(timeout=30)
    while not finished.empty():
        finished.get_nowait()
