"""``Task``: the base of every task, closest to the flyteidl ``TaskTemplate`` (flytekit's ``base_task.Task``).

A :class:`Task` has a type, a name, a typed interface and metadata; subclasses say how it runs
(:meth:`Task.execute`) and which container target it compiles to (:meth:`Task.get_container`…).
Everything the seed API calls a flytekit model is the flyteidl message here: ``TypedInterface``,
``LiteralMap``, ``Container``, ``K8sPod``, ``Sql``, ``SecurityContext``, ``DescriptionEntity``.

Calling a task object (``t(a=1)`` or ``t(1)``) runs :meth:`Task.local_execute` in this process, through
the same literal round trip a cluster uses; inside a ``@dynamic`` body that is being compiled, it adds a
node to the dynamic workflow instead (:meth:`Task.compile`).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from flyteidl.admin import description_entity_pb2
from flyteidl.core import interface_pb2, literals_pb2, security_pb2, tasks_pb2

from flyte_nb.core import execution, figures
from flyte_nb.core.context import (
    ExecutionMode,
    ExecutionParameters,
    FlyteContext,
    default_context,
    pop_context,
    push_context,
    pushed_context,
)
from flyte_nb.core.settings import SerializationSettings, TaskMetadata
from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine

if TYPE_CHECKING:
    from flyte_nb.core.interface import PythonInterface

__all__ = ["Task", "is_dynamic_job_spec", "not_outputs_error"]

_LOCAL = ExecutionMode.LOCAL  # a module constant: read on every task call


def is_dynamic_job_spec(value: Any) -> bool:
    """Whether ``value`` is a ``DynamicJobSpec`` (what compiling a dynamic task returns)."""
    # Only a dynamic task's compilation makes one, and that imports its module: when the module is not
    # loaded, value cannot be one (saves an import on every task call). A type check, not isinstance:
    # generated messages cannot be subclassed, and upb's isinstance is slow.
    dynamic_job_pb2 = sys.modules.get("flyteidl.core.dynamic_job_pb2")
    return dynamic_job_pb2 is not None and type(value) is dynamic_job_pb2.DynamicJobSpec


def not_outputs_error(task_name: str, result: Any) -> Exception:
    """A local run's dispatch returned something other than an output ``LiteralMap``."""
    from flyte_nb.errors import InternalError

    return InternalError(
        f"Task '{task_name}' returned {type(result).__name__} from a local run instead of outputs."
    )


class Task:
    """The base of all tasks (flytekit's ``flytekit.core.base_task.Task``).

    Parameters
    ----------
    task_type:
        The ``TaskTemplate.type`` (``"python-task"`` for Python functions).
    name:
        The task name (``TaskTemplate.id.name``).
    interface:
        The flyteidl ``TypedInterface``; ``None`` means no inputs and no outputs.
    metadata:
        Cluster-side behaviour (:class:`~flyte_nb.core.settings.TaskMetadata`); ``None`` for defaults.
    task_type_version:
        ``TaskTemplate.task_type_version``.
    security_ctx:
        A flyteidl ``SecurityContext`` (run-as, secrets, tokens), or ``None``.
    docs:
        An ``admin.DescriptionEntity`` describing the task, or ``None``.
    """

    def __init__(
        self,
        task_type: str,
        name: str,
        interface: interface_pb2.TypedInterface | None = None,
        metadata: TaskMetadata | None = None,
        task_type_version: int = 0,
        security_ctx: security_pb2.SecurityContext | None = None,
        docs: description_entity_pb2.DescriptionEntity | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            from flyte_nb.errors import UnexpectedKeywordError

            raise UnexpectedKeywordError(
                f"Task '{name}': unexpected keyword argument(s) {sorted(kwargs)}. "
                "Check the spelling against the task decorator's documented keywords."
            )
        self._task_type = task_type
        self._name = name
        self._interface = (
            interface
            if interface is not None
            else interface_pb2.TypedInterface(
                inputs=interface_pb2.VariableMap(), outputs=interface_pb2.VariableMap()
            )
        )
        self._metadata = metadata if metadata is not None else TaskMetadata()
        self._task_type_version = task_type_version
        self._security_ctx = security_ctx
        self._docs = docs
        self.local_cache: execution.LocalCache = execution.LocalCache()

    # ------------------------------------------------------------------------------------ properties

    @property
    def task_type(self) -> str:
        """The ``TaskTemplate.type``."""
        return self._task_type

    @property
    def name(self) -> str:
        """The task name."""
        return self._name

    @property
    def interface(self) -> interface_pb2.TypedInterface:
        """The flyteidl ``TypedInterface`` (exactly what the ``TaskTemplate`` carries)."""
        return self._interface

    @property
    def metadata(self) -> TaskMetadata:
        """Caching, retries, timeout… (:class:`~flyte_nb.core.settings.TaskMetadata`)."""
        return self._metadata

    @property
    def task_type_version(self) -> int:
        """The ``TaskTemplate.task_type_version``."""
        return self._task_type_version

    @property
    def security_context(self) -> security_pb2.SecurityContext | None:
        """The flyteidl ``SecurityContext``, if any."""
        return self._security_ctx

    @property
    def docs(self) -> description_entity_pb2.DescriptionEntity | None:
        """The ``admin.DescriptionEntity`` registered with the task, if any."""
        return self._docs

    @property
    def python_interface(self) -> PythonInterface | None:
        """The Python-typed interface; ``None`` for tasks that are not written in Python."""
        return None

    # -------------------------------------------------------------------------------- compile targets

    def get_container(self, settings: SerializationSettings) -> tasks_pb2.Container | None:
        """The container the task runs in on a cluster, if it has one."""
        return None

    def get_k8s_pod(self, settings: SerializationSettings) -> tasks_pb2.K8sPod | None:
        """The Kubernetes pod target, if the task uses one instead of a container."""
        return None

    def get_sql(self, settings: SerializationSettings) -> tasks_pb2.Sql | None:
        """The SQL target, if the task is a query."""
        return None

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any] | None:
        """Plugin-specific data for ``TaskTemplate.custom``, if any."""
        return None

    def get_config(self, settings: SerializationSettings) -> dict[str, str] | None:
        """``TaskTemplate.config`` entries, if any."""
        return None

    def get_extended_resources(self, settings: SerializationSettings) -> tasks_pb2.ExtendedResources | None:
        """Extended resources (GPU accelerator, shared memory), if any."""
        return None

    # ------------------------------------------------------------------------------------------ types

    def get_input_types(self) -> dict[str, Any] | None:
        """Input name → Python type, or ``None`` when the task has no Python interface."""
        iface = self.python_interface
        return dict(iface.inputs) if iface is not None else None

    def get_type_for_input_var(self, k: str, v: Any) -> type:
        """The Python type of input ``k`` (``v`` is the value, unused; kept for the seed signature)."""
        iface = self.python_interface
        if iface is not None:
            return iface.inputs[k]  # type: ignore[no-any-return]
        return TypeEngine.guess_python_type(self.interface.inputs.variables[k].type)  # type: ignore[no-any-return]

    def get_type_for_output_var(self, k: str, v: Any) -> type:
        """The Python type of output ``k`` (``v`` is the value, unused; kept for the seed signature)."""
        iface = self.python_interface
        if iface is not None:
            return iface.outputs[k]  # type: ignore[no-any-return]
        return TypeEngine.guess_python_type(self.interface.outputs.variables[k].type)  # type: ignore[no-any-return]

    def require_python_interface(self) -> PythonInterface:
        """The Python types of the task's inputs and outputs, to convert values with.

        :attr:`python_interface` when the task has one; otherwise the types its ``TypedInterface``
        implies (``TypeEngine.guess_python_type``, as flytekit's FlyteRemote guesses them), so a task
        written without Python annotations can still be called, run in a sandbox or submitted.
        """
        iface = self.python_interface
        if iface is not None:
            return iface
        from flyte_nb.core.interface import PythonInterface

        return PythonInterface(
            inputs={k: self.get_type_for_input_var(k, None) for k in self.interface.inputs.variables},
            outputs={k: self.get_type_for_output_var(k, None) for k in self.interface.outputs.variables},
        )

    # -------------------------------------------------------------------------------------- execution

    def local_execution_mode(self) -> ExecutionMode:
        """The mode a local call runs in."""
        return _LOCAL

    def pre_execute(self, user_params: ExecutionParameters | None) -> ExecutionParameters | None:
        """Called before the inputs are converted and the body runs; may return changed parameters."""
        return user_params

    def post_execute(self, user_params: ExecutionParameters | None, rval: Any) -> Any:
        """Called with the body's return value; may clean up or change it. A no-op by default."""
        return rval

    def execute(self, **kwargs: Any) -> Any:
        """Run the task body on native inputs and return its native outputs."""
        raise NotImplementedError(
            f"Task '{self.name}' ({type(self).__name__}) does not define execute(); subclasses must."
        )

    def dispatch_execute(self, ctx: FlyteContext, input_literal_map: literals_pb2.LiteralMap) -> Any:
        """Decode ``input_literal_map``, run the body, and encode its result as a ``LiteralMap``.

        Also what the container entrypoint calls. Returns an empty ``LiteralMap`` when the task has no
        outputs, and the ``DynamicJobSpec`` when a dynamic task is compiled for a cluster.
        """
        __tracebackhide__ = True  # IPython shows the user's frames of a failing task, not ours
        iface = self.require_python_interface()
        native = execution.literal_map_to_inputs(
            self.name, iface.inputs, iface.defaults, input_literal_map, ctx.store
        )
        user_params = self.pre_execute(ctx.execution_params)
        # The checks inline what with_() would find (nothing to change) on every plain task call.
        run_ctx = ctx if ctx.compilation_state is None else ctx.with_(compilation_state=None)
        if isinstance(user_params, ExecutionParameters) and user_params is not run_ctx.execution_params:
            run_ctx = run_ctx.with_(execution_params=user_params)
        token = push_context(run_ctx)  # `with FlyteContextManager.with_context(...)`, without its cost
        try:
            rval = self.execute(**native)
        finally:
            pop_context(token)
        if is_dynamic_job_spec(rval):
            return rval
        rval = self.post_execute(user_params, rval)
        return execution.outputs_to_literal_map(self.name, iface, rval, ctx.store)

    def sandbox_execute(
        self, ctx: FlyteContext, input_literal_map: literals_pb2.LiteralMap
    ) -> literals_pb2.LiteralMap:
        """Run :meth:`dispatch_execute` as a local (sandbox) execution, never as a cluster one."""
        __tracebackhide__ = True
        mode = self.local_execution_mode()
        local_ctx = ctx
        if ctx.mode is not mode or ctx.compilation_state is not None:
            local_ctx = ctx.with_(mode=mode, compilation_state=None)
        result = self.dispatch_execute(local_ctx, input_literal_map)
        if type(result) is not literals_pb2.LiteralMap:  # generated messages cannot be subclassed
            raise not_outputs_error(self.name, result)
        return result

    def local_execute(self, ctx: FlyteContext, **kwargs: Any) -> Any:
        """Run the task in this process on native ``kwargs`` and return native outputs.

        Inputs are converted to literals in a fresh in-memory store, executed by :meth:`sandbox_execute`,
        and the output literals converted back, exactly as on a cluster. Missing inputs take their
        Python default. ``cache=True`` tasks are memoised in :attr:`local_cache`.
        """
        __tracebackhide__ = True
        # per call: pickled values stay in memory and die with the call
        return self._local_execute(ctx.with_(store=MemoryStore()), kwargs)

    def _local_execute(self, ctx: FlyteContext, kwargs: dict[str, Any]) -> Any:
        """:meth:`local_execute`, with ``ctx.store`` already the call's own fresh store."""
        __tracebackhide__ = True
        before = figures.open_figures()
        try:  # figures the task opens stay with it, as in its container (flyte_nb.core.figures)
            return self._round_trip(ctx, kwargs)
        finally:
            figures.close_opened(before)

    def _round_trip(self, ctx: FlyteContext, kwargs: dict[str, Any]) -> Any:
        __tracebackhide__ = True
        iface = self.require_python_interface()
        name, store = self.name, ctx.store
        execution.check_input_names(name, iface.inputs, iface.defaults, list(kwargs))
        inputs = execution.inputs_to_literal_map(name, iface.inputs, kwargs, store)
        metadata = self.metadata
        if not metadata.cache:
            outputs = self.sandbox_execute(ctx, inputs)
            return execution.literal_map_to_outputs(name, iface, outputs, store)
        cache = self.local_cache
        key = execution.cache_key(
            name,
            metadata.cache_version,
            self.interface.SerializeToString(deterministic=True),
            inputs,
            store,
            metadata.cache_ignore_input_vars,
        )
        guard = cache.key_lock(key) if metadata.cache_serialize else contextlib.nullcontext()
        with guard:
            hit = cache.get(key)
            if hit is not None:
                return execution.literal_map_to_outputs(name, iface, hit.outputs, hit.store)
            outputs = self.sandbox_execute(ctx, inputs)
            cache.put(key, outputs, store)
        return execution.literal_map_to_outputs(name, iface, outputs, store)

    def compile(self, ctx: FlyteContext, *args: Any, **kwargs: Any) -> Any:
        """Add a node running this task to the dynamic workflow being compiled; return its promises."""
        from flyte_nb.core.dynamic import create_node

        return create_node(ctx, self, args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Frames marked so are folded away in IPython tracebacks ("[... skipping hidden N frames]"): a
        # failing task call shows the notebook line and the task's own code, not the execution machinery.
        __tracebackhide__ = True
        ctx = pushed_context()
        if ctx is not None and ctx.compilation_state is not None:
            return self.compile(ctx, *args, **kwargs)
        if args:
            kwargs = execution.bind_arguments(
                self.name, list(self.require_python_interface().inputs), args, kwargs
            )
        if ctx is None and type(self).local_execute is Task.local_execute:
            # Nothing pushed: a fresh default context, made with this call's own store (no second store,
            # no copy), is what local_execute would run in.
            return self._local_execute(default_context(MemoryStore()), kwargs)
        return self.local_execute(ctx if ctx is not None else default_context(), **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, type={self.task_type!r})"
