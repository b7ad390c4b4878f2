"""The ``@task`` and ``@dynamic`` decorators.

Both work bare (``@task``) or with keywords (``@task(retries=2, cache=True)``) and return a
:class:`~flyte_nb.core.function_task.PythonFunctionTask`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from flyte_nb.core.function_task import PythonFunctionTask
from flyte_nb.core.options import TaskKeywords, TaskOptions, check_keywords
from flyte_nb.errors import TaskDefinitionError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["dynamic", "task"]

Decorated = Callable[[Callable[..., Any]], PythonFunctionTask[Any]]


def _make(
    fn: Callable[..., Any],
    mode: PythonFunctionTask.ExecutionBehavior,
    keywords: TaskKeywords,
) -> PythonFunctionTask[Any]:
    if isinstance(fn, PythonFunctionTask):
        raise TaskDefinitionError(f"'{fn.name}' is already a task; apply @task (or @dynamic) only once.")
    if not callable(fn):
        raise TaskDefinitionError(
            f"@task: expected a function, got {fn!r} ({type(fn).__name__}). "
            "Use @task above a def, or @task(...) with keyword arguments only."
        )
    try:
        options = TaskOptions.from_keywords(keywords)
    except TaskDefinitionError as exc:
        label = keywords.get("name") or getattr(fn, "__name__", "task")
        raise TaskDefinitionError(f"Task '{label}' {exc}") from None
    return PythonFunctionTask(None, fn, execution_mode=mode, options=options)


def _decorate(
    fn: Callable[..., Any] | None, mode: PythonFunctionTask.ExecutionBehavior, keywords: TaskKeywords
) -> PythonFunctionTask[Any] | Decorated:
    # A misspelt keyword fails at the decorator line, as Python's own keyword checks do.
    check_keywords(
        "dynamic()" if mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC else "task()",
        keywords,
        TaskKeywords,
    )
    if fn is not None:
        return _make(fn, mode, keywords)

    def wrapper(fn: Callable[..., Any]) -> PythonFunctionTask[Any]:
        return _make(fn, mode, keywords)

    return wrapper


@overload
def task(_task_function: Callable[..., Any]) -> PythonFunctionTask[Any]: ...


@overload
def task(_task_function: None = None, **keywords: Unpack[TaskKeywords]) -> Decorated: ...


def task(
    _task_function: Callable[..., Any] | None = None, **keywords: Unpack[TaskKeywords]
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
        An image reference, a name in the settings' ``ImageConfig``, or an :class:`~flyte_nb.ImageSpec`
        (its completed image: flyte-nb and the kernel's Python added when missing).
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
    secret_requests:
        :class:`~flyte_nb.Secret` s the task reads with ``current_context().secrets.get(group, key)``.
    enable_deck, deck_fields:
        Write decks (``deck.html``): the task's own :class:`~flyte_nb.Deck` s and the default ones
        ``deck_fields`` names (:class:`~flyte_nb.DeckField`; flytekit's five by default).

    The keywords are checked together (:class:`~flyte_nb.core.options.TaskOptions`); a value that cannot
    work raises :class:`~flyte_nb.errors.TaskDefinitionError` naming the task, the keyword and the fix.

    Examples
    --------
    >>> @task
    ... def add(a: int, b: int = 3) -> int:
    ...     return a + b
    >>> add(a=1)
    4
    """
    return _decorate(_task_function, PythonFunctionTask.ExecutionBehavior.DEFAULT, keywords)


@overload
def dynamic(_task_function: Callable[..., Any]) -> PythonFunctionTask[Any]: ...


@overload
def dynamic(_task_function: None = None, **keywords: Unpack[TaskKeywords]) -> Decorated: ...


def dynamic(
    _task_function: Callable[..., Any] | None = None, **keywords: Unpack[TaskKeywords]
) -> PythonFunctionTask[Any] | Decorated:
    """Like :func:`task` (same keywords), but the body is a dynamic workflow.

    On a cluster the body runs once to build a workflow of the tasks it calls (a ``DynamicJobSpec``);
    in the kernel it simply runs, and so do the tasks it calls.
    """
    return _decorate(_task_function, PythonFunctionTask.ExecutionBehavior.DYNAMIC, keywords)
