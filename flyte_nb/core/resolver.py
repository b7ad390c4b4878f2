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

from flyte_nb.errors import ResolverError

if TYPE_CHECKING:
    from flyte_nb.core.settings import SerializationSettings
    from flyte_nb.core.task import Task

__all__ = ["DefaultTaskResolver", "Payload", "TaskResolverMixin", "default_task_resolver"]


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


class DefaultTaskResolver(TaskResolverMixin):
    """Loads tasks defined in importable modules: loader args ``task-module M task-name N``.

    The container imports module ``M`` (the image must contain it) and takes its attribute ``N``.
    """

    @property
    def location(self) -> str:
        return "flyte_nb.core.resolver.default_task_resolver"

    def name(self) -> str:
        return "DefaultTaskResolver"

    def loader_args(self, settings: SerializationSettings, task: Task) -> list[str]:
        fn = getattr(task, "task_function", None)
        module = getattr(fn, "__module__", None)
        if not module or module == "__main__":
            raise ResolverError(
                f"Task '{task.name}' is defined in {module or 'an unknown module'!r}, which a container "
                "cannot import. Use the notebook resolver (the default for notebook tasks), or move the "
                "function into an importable module."
            )
        find_lhs = getattr(task, "find_lhs", None)
        attr = find_lhs() if find_lhs is not None else task.name.rsplit(".", 1)[-1]
        return ["task-module", module, "task-name", attr]

    def load_task(self, loader_args: list[str]) -> Task:
        import importlib

        from flyte_nb.core.task import Task

        if len(loader_args) != 4 or loader_args[0] != "task-module" or loader_args[2] != "task-name":
            raise ResolverError(
                f"DefaultTaskResolver: expected loader args ['task-module', M, 'task-name', N], got "
                f"{loader_args!r}. The template was compiled for another resolver; re-serialize it."
            )
        module_name, attr = loader_args[1], loader_args[3]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ResolverError(
                f"DefaultTaskResolver: cannot import module {module_name!r} ({exc}). Install the code in "
                "the container image, or use the notebook resolver to ship it with the task."
            ) from exc
        task = getattr(module, attr, None)
        if not isinstance(task, Task):
            raise ResolverError(
                f"DefaultTaskResolver: {module_name}.{attr} is {task!r} ({type(task).__name__}), not a task. "
                "Check that the module defines the task under that name."
            )
        return task

    def content_hash(self, task: Task) -> str:
        """The sha256 of the function's source (or bytecode), so code changes change the version."""
        import inspect

        fn = getattr(task, "task_function", None)
        if fn is None:
            return ""
        try:
            data = inspect.getsource(fn).encode()
        except (OSError, TypeError):
            code = getattr(fn, "__code__", None)
            data = code.co_code if code is not None else repr(fn).encode()
        return hashlib.sha256(data).hexdigest()


default_task_resolver = DefaultTaskResolver()
