"""Task resolvers: how a container finds the task object to run.

A task's container command ends with ``--resolver <location> -- <loader args>``. The container imports
the resolver instance at ``location`` and calls ``load_task(loader_args)``. Two resolvers ship:

* :data:`default_task_resolver` (this module) for tasks defined in importable modules: loader args are
  ``task-module <module> task-name <attribute>``, as flytekit's.
* :data:`flyte_nb.notebook_task_resolver` for tasks defined in a notebook or ``__main__``: the task is
  shipped as a cloudpickle payload (see :mod:`flyte_nb.core.notebook_resolver`).
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyte_nb.core.settings import SerializationSettings
    from flyte_nb.core.task import Task

__all__ = ["Payload", "TaskResolverMixin"]


@dataclass(frozen=True)
class Payload:
    """Bytes a container needs besides the template to load a task (e.g. a pickled notebook task).

    ``filename`` is the file name the payload is stored under; ``sha256`` is the hex digest of ``data``
    and is what the resolver's loader args pin.
    """

    data: bytes
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class TaskResolverMixin(abc.ABC):
    """Finds a task again inside the container (flytekit's ``TaskResolverMixin``)."""

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Dotted path of this resolver *instance*, importable in the container (``--resolver``)."""

    def name(self) -> str:
        """A readable name for this resolver (defaults to its location)."""
        return self.location

    @abc.abstractmethod
    def load_task(self, loader_args: list[str]) -> Task:
        """Given the loader args of a template, return the task object to run."""

    @abc.abstractmethod
    def loader_args(self, settings: SerializationSettings, task: Task) -> list[str]:
        """The args after ``--`` in the task's container command."""

    def get_all_tasks(self) -> list[Task]:
        """Every task this resolver knows of (used by tooling; may be empty)."""
        return []

    # ---- flyte_nb extensions (not in flytekit) ------------------------------------------------------

    def payload(self, task: Task) -> Payload | None:
        """The payload the container must receive to load ``task``, or ``None`` when the code is
        already in the image (importable modules)."""
        return None

    def content_hash(self, task: Task) -> str:
        """A hex digest of the code ``task`` runs that the template does not show.

        :func:`flyte_nb.serialize_task` combines it with the template to derive a stable version, so two
        tasks that differ only in their code never share a version. It must not depend on where the
        payload is stored, on cell execution counters or on file names.
        """
        return ""
