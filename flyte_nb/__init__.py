"""flyte_nb: Flyte tasks as first-class notebook objects.

``import flyte_nb`` is cheap and has no side effects: every public name is loaded on first access
(PEP 562), so the kernel layer (IPython, ipywidgets) and the network layer (grpc) are imported only when
used. ``%load_ext flyte_nb`` registers the ``%%flyte_task`` magic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flyte_nb._version import __version__ as __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from flyte_nb.core.checkpoint import Checkpoint
    from flyte_nb.core.context import ExecutionParameters, FlyteContext, FlyteContextManager, current_context
    from flyte_nb.core.decks import Deck, DeckField
    from flyte_nb.core.decorators import dynamic, task
    from flyte_nb.core.function_task import PythonFunctionTask
    from flyte_nb.core.image_spec import ImageSpec
    from flyte_nb.core.notebook_resolver import NotebookTaskResolver, notebook_task_resolver
    from flyte_nb.core.resolver import TaskResolverMixin
    from flyte_nb.core.secrets import Secret
    from flyte_nb.core.serialize import serialize_task
    from flyte_nb.core.settings import ImageConfig, Resources, SerializationSettings, TaskMetadata
    from flyte_nb.core.task import Task
    from flyte_nb.core.types import FlyteAnnotation, TypeEngine, kwtypes
    from flyte_nb.core.types.custom import TypeTransformer
    from flyte_nb.core.types.directory import FlyteDirectory
    from flyte_nb.core.types.file import FlyteFile
    from flyte_nb.core.types.hash_method import HashMethod
    from flyte_nb.core.types.structured_dataset import StructuredDataset, StructuredDatasetType
    from flyte_nb.errors import FlyteRecoverableException, RecoverableError, TaskExecutionError
    from flyte_nb.remote import Remote, RemoteExecution
    from flyte_nb.runtime.sandbox import SandboxExecutor

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Checkpoint": "flyte_nb.core.checkpoint",
    "Deck": "flyte_nb.core.decks",
    "DeckField": "flyte_nb.core.decks",
    "ExecutionParameters": "flyte_nb.core.context",
    "FlyteAnnotation": "flyte_nb.core.types",
    "FlyteContext": "flyte_nb.core.context",
    "FlyteContextManager": "flyte_nb.core.context",
    "FlyteDirectory": "flyte_nb.core.types.directory",
    "FlyteFile": "flyte_nb.core.types.file",
    "FlyteRecoverableException": "flyte_nb.errors",
    "HashMethod": "flyte_nb.core.types.hash_method",
    "ImageConfig": "flyte_nb.core.settings",
    "ImageSpec": "flyte_nb.core.image_spec",
    "NotebookTaskResolver": "flyte_nb.core.notebook_resolver",
    "PythonFunctionTask": "flyte_nb.core.function_task",
    "RecoverableError": "flyte_nb.errors",
    "Remote": "flyte_nb.remote",
    "RemoteExecution": "flyte_nb.remote",
    "Resources": "flyte_nb.core.settings",
    "SandboxExecutor": "flyte_nb.runtime.sandbox",
    "Secret": "flyte_nb.core.secrets",
    "SerializationSettings": "flyte_nb.core.settings",
    "StructuredDataset": "flyte_nb.core.types.structured_dataset",
    "StructuredDatasetType": "flyte_nb.core.types.structured_dataset",
    "Task": "flyte_nb.core.task",
    "TaskExecutionError": "flyte_nb.errors",
    "TaskMetadata": "flyte_nb.core.settings",
    "TaskResolverMixin": "flyte_nb.core.resolver",
    "TypeEngine": "flyte_nb.core.types",
    "TypeTransformer": "flyte_nb.core.types.custom",
    "current_context": "flyte_nb.core.context",
    "dynamic": "flyte_nb.core.decorators",
    "kwtypes": "flyte_nb.core.types",
    "notebook_task_resolver": "flyte_nb.core.notebook_resolver",
    "serialize_task": "flyte_nb.core.serialize",
    "task": "flyte_nb.core.decorators",
}

__all__ = [
    "Checkpoint",
    "Deck",
    "DeckField",
    "ExecutionParameters",
    "FlyteAnnotation",
    "FlyteContext",
    "FlyteContextManager",
    "FlyteDirectory",
    "FlyteFile",
    "FlyteRecoverableException",
    "HashMethod",
    "ImageConfig",
    "ImageSpec",
    "NotebookTaskResolver",
    "PythonFunctionTask",
    "RecoverableError",
    "Remote",
    "RemoteExecution",
    "Resources",
    "SandboxExecutor",
    "Secret",
    "SerializationSettings",
    "StructuredDataset",
    "StructuredDatasetType",
    "Task",
    "TaskExecutionError",
    "TaskMetadata",
    "TaskResolverMixin",
    "TypeEngine",
    "TypeTransformer",
    "current_context",
    "dynamic",
    "kwtypes",
    "notebook_task_resolver",
    "serialize_task",
    "task",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'flyte_nb' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext flyte_nb``: registers the ``%%flyte_task`` magics."""
    from flyte_nb.notebook.extension import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext flyte_nb``."""
    from flyte_nb.notebook.extension import unload_ipython_extension as _unload

    _unload(ipython)
