"""The notebook a task is defined in, as the core sees it: a provider the kernel layer installs.

Core code needs three things from a running notebook, and must not import IPython to get them:

* its **namespace** — a cell-body task called without arguments reads its inputs from it and assigns its
  outputs back (:class:`~flyte_nb.core.cell_body.CellBodyTask`);
* **where code and names were defined** — the payload manifest names the cell (``In[3]``) that defines
  each captured function and global (:class:`~flyte_nb.core.manifest.CellLocator`);
* the **configured remote** — ``SandboxExecutor(mode="remote")`` without ``remote=`` submits to the one
  ``%flyte_remote`` (or the environment) configured in this kernel;
* where **runs are recorded** — the run ledger beside the notebook (:mod:`flyte_nb.core.runs`), written by
  ``SandboxExecutor`` runs and remote submissions.

``%load_ext flyte_nb`` installs a :class:`NotebookSession` for its shell with :func:`install` and
``%unload_ext`` removes it. With none installed (plain Python, a container, a kernel without the extension)
:func:`current` is ``None`` and the core behaves as outside a notebook: cell-body tasks take their inputs
as arguments, the manifest names files instead of cells, a remote must be passed in, and runs are not
recorded.

This module-level slot is the only piece of global state the kernel layer adds to the core (README,
"Global state").
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flyte_nb.core.runs import RunRecorder
    from flyte_nb.core.task import Task

__all__ = ["NotebookSession", "Submission", "Submitter", "current", "install", "uninstall"]


class Submission(Protocol):
    """A launched run that can be waited for (``flyte_nb.RemoteExecution`` is one)."""

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run ends and return its native outputs."""
        ...


class Submitter(Protocol):
    """Something that runs a task elsewhere (``flyte_nb.Remote`` is one)."""

    def submit(self, task: Task, /, **inputs: Any) -> Submission:
        """Launch ``task`` with native ``inputs``."""
        ...


class NotebookSession(Protocol):
    """What the core may ask of the notebook it runs in (see the module docstring)."""

    def user_namespace(self) -> MutableMapping[str, Any]:
        """The notebook's global namespace (``In``/``Out`` and every name its cells bound)."""
        ...

    def cell_of_file(self, filename: str) -> int | None:
        """The execution count ``N`` of the cell whose code was compiled under ``filename``, if any."""
        ...

    def cell_sources(self) -> Sequence[str]:
        """The sources of the cells run so far, indexed by execution count (index 0 is empty)."""
        ...

    def default_submitter(self) -> Submitter | None:
        """The remote this kernel is configured with, or ``None`` when there is none."""
        ...

    def run_recorder(self) -> RunRecorder | None:
        """Where this notebook's runs are recorded (its run ledger), or ``None`` to record nothing."""
        ...


_lock = threading.Lock()
_session: NotebookSession | None = None


def install(session: NotebookSession) -> None:
    """Make ``session`` the notebook the core sees (called by ``%load_ext flyte_nb``)."""
    global _session
    with _lock:
        _session = session


def uninstall(session: NotebookSession) -> None:
    """Forget ``session`` if it is the installed one (called by ``%unload_ext flyte_nb``)."""
    global _session
    with _lock:
        if _session is session:
            _session = None


def current() -> NotebookSession | None:
    """The installed session, or ``None`` outside a notebook with the extension loaded."""
    return _session
