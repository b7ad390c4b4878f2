"""Flyte's execution phases, as flyte_nb names them everywhere (remote executions, widget runs).

A phase is spoken of by its upper-case name (``"QUEUED"``, ``"RUNNING"``, ``"SUCCEEDED"``…), the name of
``flyteidl.core.execution_pb2.WorkflowExecution.Phase``; local runs use the same words.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TERMINAL_PHASES", "phase_name"]

#: The phases that end a run: nothing changes after them.
TERMINAL_PHASES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def phase_name(phase: Any) -> str:
    """A phase given as an enum member, a name or an upper/lower-case string, as an upper-case name."""
    name = getattr(phase, "name", None)
    return str(name if name is not None else phase).upper()
