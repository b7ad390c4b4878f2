"""The ``@task`` and ``@dynamic`` decorators.

Both work bare (``@task``) or with keywords (``@task(retries=2, cache=True)``) and return a
:class:`~flyte_nb.core.function_task.PythonFunctionTask`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any, overload

from flyteidl.admin import description_entity_pb2
from flyteidl.core import tasks_pb2

from flyte_nb.core.function_task import PythonFunctionTask
from flyte_nb.core.resolver import TaskResolverMixin
from flyte_nb.core.settings import Resources, TaskMetadata
from flyte_nb.errors import TaskDefinitionError

__all__ = ["dynamic", "task"]

Decorated = Callable[[Callable[..., Any]], PythonFunctionTask[Any]]


def _make(
    fn: Callable[..., Any],
    mode: PythonFunctionTask.ExecutionBehavior,
    options: Mapping[str, Any],
) -> PythonFunctionTask[Any]:
    if isinstance(fn, PythonFunctionTask):
        raise TaskDefinitionError(f"'{fn.name}' is already a task; apply @task (or @dynamic) only once.")
    if not callable(fn):
        raise TaskDefinitionError(
            f"@task: expected a function, got {fn!r} ({type(fn).__name__}). "
            "Use @task above a def, or @task(...) with keyword arguments only."
        )
    o = dict(options)
    name = o["name"] or None
    try:
        metadata = TaskMetadata(
            cache=o["cache"],
            cache_version=o["cache_version"],
            cache_serialize=o["cache_serialize"],
            retries=o["retries"],
            interruptible=o["interruptible"],
            deprecated=o["deprecated"] if isinstance(o["deprecated"], str) else "",
            timeout=o["timeout"],
            pod_template_name=o["pod_template_name"],
            cache_ignore_input_vars=tuple(o["cache_ignore_input_vars"] or ()),
        )
    except TaskDefinitionError as exc:
        label = name or getattr(fn, "__name__", "task")
        raise TaskDefinitionError(f"Task '{label}' {exc}") from exc
    made: PythonFunctionTask[Any] = PythonFunctionTask(
        None,
        fn,
        execution_mode=mode,
        task_resolver=o["task_resolver"],
        node_dependency_hints=o["node_dependency_hints"],
        pickle_untyped=o["pickle_untyped"],
        name=name,
        metadata=metadata,
        container_image=o["container_image"],
        environment=o["environment"],
        requests=o["requests"],
        limits=o["limits"],
        accelerator=o["accelerator"],
        docs=o["docs"],
    )
    unknown = set(metadata.cache_ignore_input_vars) - set(made.python_interface.inputs)
    if unknown:
        raise TaskDefinitionError(
            f"Task '{made.name}' cache_ignore_input_vars: {sorted(unknown)} are not inputs of the task "
            f"(its inputs are {list(made.python_interface.inputs)}). Fix the names."
        )
    return made


@overload
def task(_task_function: Callable[..., Any]) -> PythonFunctionTask[Any]: ...


@overload
def task(
    _task_function: None = None,
    *,
    name: str | None = None,
    cache: bool = False,
    cache_version: str = "",
    cache_serialize: bool = False,
    cache_ignore_input_vars: Iterable[str] = (),
    retries: int = 0,
    interruptible: bool | None = None,
    deprecated: str = "",
    timeout: datetime.timedelta | int | float | None = None,
    container_image: str | None = None,
    environment: Mapping[str, str] | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
    accelerator: str | tasks_pb2.GPUAccelerator | None = None,
    pod_template_name: str | None = None,
    pickle_untyped: bool = False,
    task_resolver: TaskResolverMixin | None = None,
    docs: description_entity_pb2.DescriptionEntity | None = None,
    node_dependency_hints: Iterable[Any] | None = None,
) -> Decorated: ...


def task(
    _task_function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    cache: bool = False,
    cache_version: str = "",
    cache_serialize: bool = False,
    cache_ignore_input_vars: Iterable[str] = (),
    retries: int = 0,
    interruptible: bool | None = None,
    deprecated: str = "",
    timeout: datetime.timedelta | int | float | None = None,
    container_image: str | None = None,
    environment: Mapping[str, str] | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
    accelerator: str | tasks_pb2.GPUAccelerator | None = None,
    pod_template_name: str | None = None,
    pickle_untyped: bool = False,
    task_resolver: TaskResolverMixin | None = None,
    docs: description_entity_pb2.DescriptionEntity | None = None,
    node_dependency_hints: Iterable[Any] | None = None,
) -> PythonFunctionTask[Any] | Decorated:
    """Turn a function into a :class:`~flyte_nb.core.function_task.PythonFunctionTask`.

    Parameters
    ----------
    name:
        Task name; defaults to the function name (notebook) or ``module.function``.
    cache, cache_version, cache_serialize, cache_ignore_input_vars:
        Flyte caching (discoverable, discovery version, serialized cache, inputs left out of the key).
        In the kernel, cached results are memoised per task name, version and inputs.
    retries:
        Retries on recoverable failures (``TaskMetadata.retries``; 0 is sent explicitly).
    interruptible:
        Allow spot/preemptible nodes.
    deprecated:
        A deprecation message shown by Flyte.
    timeout:
        Seconds (int/float) or a ``timedelta``.
    container_image:
        An image reference, or a name in the settings' ``ImageConfig``.
    environment:
        Environment variables of the container.
    requests, limits:
        :class:`~flyte_nb.core.settings.Resources` (``cpu``, ``mem``, ``gpu``, ``ephemeral_storage``).
    accelerator:
        GPU type (e.g. ``"nvidia-tesla-t4"``) for ``ExtendedResources.gpu_accelerator.device``.
    pod_template_name:
        Name of a cluster PodTemplate to start from.
    pickle_untyped:
        Accept unannotated parameters (and a missing return annotation) as pickled ``typing.Any``.
    task_resolver:
        Override how the container loads the task.
    docs:
        An ``admin.DescriptionEntity``; default: built from the docstring.
    node_dependency_hints:
        Tasks a dynamic body may call.

    Examples
    --------
    >>> @task
    ... def add(a: int, b: int = 3) -> int:
    ...     return a + b
    >>> add(a=1)
    4
    """
    options = {
        "name": name,
        "cache": cache,
        "cache_version": cache_version,
        "cache_serialize": cache_serialize,
        "cache_ignore_input_vars": cache_ignore_input_vars,
        "retries": retries,
        "interruptible": interruptible,
        "deprecated": deprecated,
        "timeout": timeout,
        "container_image": container_image,
        "environment": environment,
        "requests": requests,
        "limits": limits,
        "accelerator": accelerator,
        "pod_template_name": pod_template_name,
        "pickle_untyped": pickle_untyped,
        "task_resolver": task_resolver,
        "docs": docs,
        "node_dependency_hints": node_dependency_hints,
    }
    mode = PythonFunctionTask.ExecutionBehavior.DEFAULT
    if _task_function is not None:
        return _make(_task_function, mode, options)

    def wrapper(fn: Callable[..., Any]) -> PythonFunctionTask[Any]:
        return _make(fn, mode, options)

    return wrapper


_DEFAULTS: dict[str, Any] = {
    "name": None,
    "cache": False,
    "cache_version": "",
    "cache_serialize": False,
    "cache_ignore_input_vars": (),
    "retries": 0,
    "interruptible": None,
    "deprecated": "",
    "timeout": None,
    "container_image": None,
    "environment": None,
    "requests": None,
    "limits": None,
    "accelerator": None,
    "pod_template_name": None,
    "pickle_untyped": False,
    "task_resolver": None,
    "docs": None,
    "node_dependency_hints": None,
}


@overload
def dynamic(_task_function: Callable[..., Any]) -> PythonFunctionTask[Any]: ...


@overload
def dynamic(_task_function: None = None, **kwargs: Any) -> Decorated: ...


def dynamic(
    _task_function: Callable[..., Any] | None = None, **kwargs: Any
) -> PythonFunctionTask[Any] | Decorated:
    """Like :func:`task` (same keywords), but the body is a dynamic workflow.

    On a cluster the body runs once to build a workflow of the tasks it calls (a ``DynamicJobSpec``);
    in the kernel it simply runs, and so do the tasks it calls.
    """
    unknown = sorted(set(kwargs) - set(_DEFAULTS))
    if unknown:
        raise TypeError(
            f"dynamic() got unexpected keyword argument(s) {unknown}; it accepts {sorted(_DEFAULTS)}."
        )
    options = {**_DEFAULTS, **kwargs}
    mode = PythonFunctionTask.ExecutionBehavior.DYNAMIC
    if _task_function is not None:
        return _make(_task_function, mode, options)

    def wrapper(fn: Callable[..., Any]) -> PythonFunctionTask[Any]:
        return _make(fn, mode, options)

    return wrapper
