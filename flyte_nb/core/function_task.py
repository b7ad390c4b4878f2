"""``PythonFunctionTask``: a Python function as a Flyte container task (flytekit's class of that name).

The function's signature and docstring give the interface (:mod:`flyte_nb.core.interface`); the task
compiles to a ``python-task`` ``TaskTemplate`` whose container runs ``flyte-nb-execute`` with the
resolver's loader args (:mod:`flyte_nb.core.serialize`); calling it runs it in-process.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flyteidl.admin import description_entity_pb2
from flyteidl.core import dynamic_job_pb2, literals_pb2, tasks_pb2, workflow_pb2

from flyte_nb.core import execution
from flyte_nb.core.context import (
    ExecutionMode,
    ExecutionParameters,
    FlyteContext,
    FlyteContextManager,
    pushed_context,
)
from flyte_nb.core.docstring import Docstring
from flyte_nb.core.interface import PythonInterface, to_typed_interface, transform_function_to_interface
from flyte_nb.core.local_call import call_plain, is_plain
from flyte_nb.core.options import ConstructorKeywords, TaskOptions
from flyte_nb.core.resolver import TaskResolverMixin
from flyte_nb.core.settings import Resources, SerializationSettings
from flyte_nb.core.task import Task
from flyte_nb.errors import FlyteTypeError, TaskDefinitionError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PythonFunctionTask", "task_name_for"]

T = TypeVar("T")

DEFAULT_COMMAND_PREFIX = "flyte-nb-execute"
# The order flytekit writes container resources in: [EPHEMERAL_STORAGE, CPU, GPU, MEMORY].
_RESOURCE_ORDER = (
    tasks_pb2.Resources.EPHEMERAL_STORAGE,
    tasks_pb2.Resources.CPU,
    tasks_pb2.Resources.GPU,
    tasks_pb2.Resources.MEMORY,
)
IMAGE_ENV = "FLYTE_NB_IMAGE"  # read by settings.default_image()
RUNTIME_PACKAGES_ENV = "_F_RUNTIME_PACKAGES"  # flytekit's: pip-installed by the entrypoint at start


def task_name_for(fn: Callable[..., Any]) -> str:
    """The task name of ``fn``: the bare name in a notebook/``__main__``, else ``module.name``."""
    module = getattr(fn, "__module__", None) or "__main__"
    fname: str = getattr(fn, "__name__", None) or type(fn).__name__
    if module == "__main__":
        return fname
    return f"{module}.{fname}"


def _is_importable(fn: Callable[..., Any]) -> bool:
    """True when a container can re-import ``fn`` by module and name (not ``__main__``, not nested)."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    return bool(module) and module != "__main__" and "<locals>" not in qualname


def _check_plain_function(name: str, fn: Callable[..., Any]) -> None:
    """Refuse functions whose call does not run the body: it would fail only when the task runs."""
    import inspect

    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TaskDefinitionError(
            f"Task '{name}': expected a plain function, got an async function (async def). A task's "
            "function is called and its return value is the output (a coroutine is not a value): make it a "
            "plain def that runs the async code itself and returns the result."
        )


def _check_generator(name: str, fn: Callable[..., Any], native: PythonInterface, dynamic: bool) -> bool:
    """Whether ``fn`` is a generator task; refuse the generators flytekit cannot run (it fails them only
    when they run): a generator's items are its one output, so it must be annotated ``-> Iterator[T]``."""
    import inspect

    if not inspect.isgeneratorfunction(fn):
        return False
    from flyte_nb.core.interface import describe_type
    from flyte_nb.core.types._common import strip_annotated
    from flyte_nb.core.types.iterator import is_iterator_type

    outputs = list(native.outputs.values())
    if dynamic:
        problem = "a dynamic task cannot be a generator (its body builds a workflow)"
    elif len(outputs) == 1 and is_iterator_type(strip_annotated(outputs[0])[0]):
        return True
    elif not outputs:
        problem = "it declares no output, so its items would be dropped without the body ever running"
    else:
        got = ", ".join(describe_type(t) for t in outputs)
        problem = f"its return annotation declares {got}"
    raise TaskDefinitionError(
        f"Task '{name}': a generator function (it uses yield) must be annotated -> Iterator[T]: its items "
        f"become the task's one output, a list of T; but {problem}. Annotate it -> Iterator[<item type>] "
        "(typing.Iterator), or collect the items and return them."
    )


# ------------------------------------------------------------------------------------------ the class


class PythonFunctionTask(Task, Generic[T]):
    """A task whose body is a Python function (flytekit's ``PythonFunctionTask``).

    Usually made with :func:`flyte_nb.task` / :func:`flyte_nb.dynamic`.

    Parameters
    ----------
    task_config:
        Plugin configuration (unused by plain Python tasks; kept for the seed API).
    task_function:
        The function to run.
    task_type:
        ``TaskTemplate.type``; ``"python-task"``.
    ignore_input_vars:
        Parameters left out of the interface (the function must give them defaults).
    execution_mode:
        :attr:`ExecutionBehavior.DEFAULT` or :attr:`ExecutionBehavior.DYNAMIC`.
    task_resolver:
        How a container finds the task again. ``None`` picks the notebook resolver for functions
        defined in ``__main__`` (a notebook) or inside another function, else
        :data:`flyte_nb.core.resolver.default_task_resolver`.
    node_dependency_hints:
        Tasks a dynamic body may call that cannot be discovered otherwise (recorded, not required).
    pickle_untyped:
        Accept unannotated parameters/returns as ``typing.Any`` (sent as Python pickles).
    **kwargs:
        ``name``, ``metadata`` (:class:`TaskMetadata`), ``container_image``, ``environment``,
        ``requests``, ``limits``, ``accelerator``, ``security_ctx``, ``docs``, ``task_type_version``
        (:class:`~flyte_nb.core.options.ConstructorKeywords`) — or ``options``, a ready
        :class:`~flyte_nb.core.options.TaskOptions` holding all of them (what ``@task`` passes).
    """

    class ExecutionBehavior(enum.Enum):
        """How the body runs: as a plain function, or as a dynamic workflow generator."""

        DEFAULT = 1
        DYNAMIC = 2

    def __init__(
        self,
        task_config: T | None = None,
        task_function: Callable[..., Any] | None = None,
        task_type: str = "python-task",
        ignore_input_vars: list[str] | None = None,
        execution_mode: ExecutionBehavior = ExecutionBehavior.DEFAULT,
        task_resolver: TaskResolverMixin | None = None,
        node_dependency_hints: Iterable[Any] | None = None,
        pickle_untyped: bool = False,
        **kwargs: Unpack[ConstructorKeywords],
    ) -> None:
        if task_function is None or not callable(task_function):
            raise TaskDefinitionError(
                f"PythonFunctionTask: task_function must be a function, got {task_function!r} "
                f"({type(task_function).__name__}). Decorate a function with @task."
            )
        label = kwargs.get("name") or task_name_for(task_function)
        try:
            options = TaskOptions.from_constructor(
                kwargs,
                pickle_untyped=pickle_untyped,
                task_resolver=task_resolver,
                node_dependency_hints=node_dependency_hints,
            )
        except TaskDefinitionError as exc:
            raise TaskDefinitionError(f"Task '{label}' {exc}") from None
        name = options.name or task_name_for(task_function)
        _check_plain_function(name, task_function)
        if not isinstance(execution_mode, PythonFunctionTask.ExecutionBehavior):
            raise TaskDefinitionError(
                f"Task '{name}' execution_mode: expected PythonFunctionTask.ExecutionBehavior.DEFAULT or "
                f".DYNAMIC, got {execution_mode!r}."
            )
        docstring = Docstring(callable_=task_function)
        native = transform_function_to_interface(
            task_function,
            docstring,
            pickle_untyped=options.pickle_untyped,
            ignore_input_vars=ignore_input_vars,
            name=name,
        )
        self._check_ignored_have_defaults(name, task_function, ignore_input_vars)
        self._generator = _check_generator(
            name, task_function, native, execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC
        )
        unknown = set(options.metadata.cache_ignore_input_vars) - set(native.inputs)
        if unknown:
            raise TaskDefinitionError(
                f"Task '{name}' cache_ignore_input_vars: {sorted(unknown)} are not inputs of the task "
                f"(its inputs are {list(native.inputs)}). Fix the names."
            )
        super().__init__(
            task_type=task_type,
            name=name,
            interface=to_typed_interface(native),
            metadata=options.metadata,
            task_type_version=options.task_type_version,
            security_ctx=options.security_ctx,
            docs=options.docs if options.docs is not None else self._docs_from(docstring),
        )
        self._options = options
        self._python_interface: PythonInterface = native
        self._task_config = task_config
        self._task_function = task_function
        self._ignore_input_vars = list(ignore_input_vars or [])
        self._execution_mode = execution_mode
        self._task_resolver = options.task_resolver
        self._get_command_fn: Callable[[SerializationSettings], list[str]] = self.get_default_command
        self.__doc__ = task_function.__doc__
        self.__wrapped__ = task_function

    @staticmethod
    def _check_ignored_have_defaults(
        name: str, fn: Callable[..., Any], ignore_input_vars: list[str] | None
    ) -> None:
        import inspect

        params = inspect.signature(fn).parameters
        missing = [v for v in ignore_input_vars or () if params[v].default is inspect.Parameter.empty]
        if missing:
            raise TaskDefinitionError(
                f"Task '{name}': ignore_input_vars {missing} have no default, so the function could never "
                "be called without them. Give them defaults, or stop ignoring them."
            )

    @staticmethod
    def _docs_from(docstring: Docstring) -> description_entity_pb2.DescriptionEntity:
        long = description_entity_pb2.Description(format=description_entity_pb2.DESCRIPTION_FORMAT_RST)
        if docstring.long_description:  # `value` is in a oneof: set it only when there is text
            long.value = docstring.long_description
        return description_entity_pb2.DescriptionEntity(
            short_description=docstring.short_description or "", long_description=long
        )

    # ------------------------------------------------------------------------------------ properties

    @property
    def python_interface(self) -> PythonInterface:
        """The native interface (inputs, outputs, defaults, pickled variables…)."""
        return self._python_interface

    @property
    def task_config(self) -> T | None:
        """The plugin configuration given at construction."""
        return self._task_config

    @property
    def task_function(self) -> Callable[..., Any]:
        """The Python function this task runs."""
        return self._task_function

    @property
    def ignore_input_vars(self) -> list[str]:
        """Parameters left out of the interface."""
        return list(self._ignore_input_vars)

    @property
    def execution_mode(self) -> ExecutionBehavior:
        """``ExecutionBehavior.DEFAULT`` or ``ExecutionBehavior.DYNAMIC``."""
        return self._execution_mode

    @property
    def task_resolver(self) -> TaskResolverMixin:
        """The resolver whose location and loader args end the container command."""
        if self._task_resolver is None:
            if _is_importable(self._task_function):
                from flyte_nb.core.resolver import default_task_resolver

                self._task_resolver = default_task_resolver
            else:
                from flyte_nb.core.notebook_resolver import notebook_task_resolver

                self._task_resolver = notebook_task_resolver
        return self._task_resolver

    @property
    def options(self) -> TaskOptions:
        """Every keyword the task was defined with, as one value (:class:`~flyte_nb.core.options.TaskOptions`)."""
        return self._options

    @property
    def node_dependency_hints(self) -> list[Any] | None:
        """Tasks a dynamic body may call, declared up front."""
        hints = self._options.node_dependency_hints
        return list(hints) if hints else None

    @property
    def pickle_untyped(self) -> bool:
        """Whether unannotated values are accepted as pickles."""
        return self._options.pickle_untyped

    @property
    def pickled(self) -> dict[str, str]:
        """Variable → why it travels as a Python pickle (empty when nothing is pickled)."""
        return dict(self._python_interface.pickled)

    @property
    def container_image(self) -> Any:
        """The image the task asked for (a reference, an ``ImageConfig`` name or an ``ImageSpec``), if any."""
        return self._options.container_image

    @property
    def environment(self) -> dict[str, str]:
        """Environment variables set in the task's container."""
        return dict(self._options.environment)

    @property
    def resources(self) -> tuple[Resources | None, Resources | None]:
        """``(requests, limits)``."""
        return self._options.requests, self._options.limits

    @property
    def enable_deck(self) -> bool:
        """Whether the task writes decks (``deck.html``) when it runs."""
        return self._options.enable_deck

    @property
    def deck_fields(self) -> list[Any]:
        """The default decks the task writes (empty unless ``enable_deck``), as flytekit's."""
        return list(self._options.deck_fields or ()) if self._options.enable_deck else []

    @property
    def secret_requests(self) -> list[Any]:
        """The :class:`~flyte_nb.Secret` s the task asked for."""
        return list(self._options.secret_requests)

    @property
    def accelerator(self) -> str | tasks_pb2.GPUAccelerator | None:
        """The GPU type asked for, if any."""
        return self._options.accelerator

    # ------------------------------------------------------------------------------ compile targets

    def set_resolver(self, resolver: TaskResolverMixin) -> None:
        """Use ``resolver`` to find this task in its container."""
        if not isinstance(resolver, TaskResolverMixin):
            raise FlyteTypeError(
                f"Task '{self.name}': expected a TaskResolverMixin, got {resolver!r} "
                f"({type(resolver).__name__})."
            )
        self._task_resolver = resolver

    def get_default_command(self, settings: SerializationSettings) -> list[str]:
        """``flyte-nb-execute --inputs {{.input}} … --resolver <location> -- <loader args>``."""
        resolver = self.task_resolver
        return [
            DEFAULT_COMMAND_PREFIX,
            "--inputs",
            "{{.input}}",
            "--output-prefix",
            "{{.outputPrefix}}",
            "--raw-output-data-prefix",
            "{{.rawOutputDataPrefix}}",
            "--checkpoint-path",
            "{{.checkpointOutputPrefix}}",
            "--prev-checkpoint",
            "{{.prevCheckpointPrefix}}",
            "--resolver",
            resolver.location,
            "--",
            *resolver.loader_args(settings, self),
        ]

    def get_command(self, settings: SerializationSettings) -> list[str]:
        """The container args (the default command unless :meth:`set_command_fn` replaced it)."""
        return self._get_command_fn(settings)

    def set_command_fn(
        self, get_command_fn: Callable[[SerializationSettings], list[str]] | None = None
    ) -> None:
        """Replace the function that builds the container args (``None`` restores the default)."""
        self._get_command_fn = get_command_fn if get_command_fn is not None else self.get_default_command

    def reset_command_fn(self) -> None:
        """Go back to the default container args."""
        self._get_command_fn = self.get_default_command

    def get_image(self, settings: SerializationSettings) -> str:
        """The container image: the task's own (a reference or an ``ImageConfig`` name) or the default."""
        return settings.image_config.find(self._options.container_image)

    def _resources(self) -> tasks_pb2.Resources:
        opts = self._options
        requests = opts.requests.entries() if opts.requests else []
        limits = opts.limits.entries() if opts.limits else []
        # Kubernetes does not overcommit GPUs: a GPU given on one side only is the same on the other,
        # which FlyteAdmin requires (request == limit).
        req_gpu = [e for e in requests if e.name == tasks_pb2.Resources.GPU]
        lim_gpu = [e for e in limits if e.name == tasks_pb2.Resources.GPU]
        if req_gpu and not lim_gpu:
            limits.append(
                tasks_pb2.Resources.ResourceEntry(name=tasks_pb2.Resources.GPU, value=req_gpu[0].value)
            )
        if lim_gpu and not req_gpu:
            requests.append(
                tasks_pb2.Resources.ResourceEntry(name=tasks_pb2.Resources.GPU, value=lim_gpu[0].value)
            )

        # flytekit's serialized order (``_get_container_definition``), so the bytes FlyteAdmin diffs match
        def order(e: tasks_pb2.Resources.ResourceEntry) -> int:
            return _RESOURCE_ORDER.index(e.name) if e.name in _RESOURCE_ORDER else len(_RESOURCE_ORDER)

        requests.sort(key=order)
        limits.sort(key=order)
        return tasks_pb2.Resources(requests=requests, limits=limits)

    def get_container(self, settings: SerializationSettings) -> tasks_pb2.Container:
        """The container: image, ``flyte-nb-execute`` args, resources and environment."""
        env: dict[str, str] = dict(settings.env or {})
        if self._execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC:
            # A dynamic task compiles its sub-tasks in the container: they default to the same image.
            env[IMAGE_ENV] = settings.image_config.default_image
        env.update(self._options.environment)
        packages = getattr(self._options.container_image, "runtime_packages", None)
        if packages:  # an ImageSpec's runtime packages are installed when the container starts (flytekit's)
            env[RUNTIME_PACKAGES_ENV] = " ".join(packages)
        return tasks_pb2.Container(
            image=self.get_image(settings),
            args=self.get_command(settings),
            resources=self._resources(),
            env=[literals_pb2.KeyValuePair(key=k, value=v) for k, v in env.items()],
        )

    def get_config(self, settings: SerializationSettings) -> dict[str, str]:
        """``TaskTemplate.config``: empty for plain Python tasks."""
        return {}

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any] | None:
        """No plugin data for plain Python tasks."""
        return None

    def get_extended_resources(self, settings: SerializationSettings) -> tasks_pb2.ExtendedResources | None:
        """The GPU accelerator asked for with ``accelerator=``, if any."""
        accelerator = self._options.accelerator
        if accelerator is None:
            return None
        if isinstance(accelerator, tasks_pb2.GPUAccelerator):
            return tasks_pb2.ExtendedResources(gpu_accelerator=accelerator)
        return tasks_pb2.ExtendedResources(gpu_accelerator=tasks_pb2.GPUAccelerator(device=accelerator))

    # ------------------------------------------------------------------------------------ execution

    def execute(self, **kwargs: Any) -> Any:
        """Run the function (a dynamic task compiles its body and runs the resulting nodes here)."""
        __tracebackhide__ = True  # IPython shows the user's frames of a failing task, not ours
        if self._execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC:
            return self.dynamic_execute(self._task_function, **kwargs)
        if self._generator:
            # Run the body here, in the user's frames, so its errors are the task's own (not a failure to
            # convert the output); the items then become the output collection.
            return iter(list(self._task_function(**kwargs)))
        return self._task_function(**kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task in this process (``t(a=1)``, ``t(1)``), or add it to a dynamic body being compiled.

        A plain task (:func:`~flyte_nb.core.local_call.is_plain`) runs through :func:`~flyte_nb.core.local_call.call_plain`, the
        general path's literal round trip in one frame; everything else through :meth:`Task.__call__`.
        """
        __tracebackhide__ = True  # IPython shows the user's frames of a failing task, not ours
        ctx = pushed_context()
        if (ctx is None or ctx.compilation_state is None) and is_plain(self, PythonFunctionTask):
            if args:
                names = list(self._python_interface.inputs)
                kwargs = execution.bind_arguments(self.name, names, args, kwargs)
            return call_plain(self, ctx, kwargs)
        return Task.__call__(self, *args, **kwargs)

    def dynamic_execute(self, task_function: Callable[..., Any], **kwargs: Any) -> Any:
        """Run a dynamic body on native values and return native outputs.

        The body is compiled exactly as on a cluster (task calls become nodes and promises), then the
        nodes run in this process in dependency order, each with its literal round trip. A body the
        cluster would refuse is refused here too.
        """
        __tracebackhide__ = True
        from flyte_nb.core.dynamic import run_dynamic_locally

        return run_dynamic_locally(FlyteContextManager.current_context(), self, task_function, kwargs)

    def dispatch_execute(self, ctx: FlyteContext, input_literal_map: literals_pb2.LiteralMap) -> Any:
        """As :meth:`Task.dispatch_execute`; a dynamic task in a container (``TASK_EXECUTION``) returns
        the compiled ``DynamicJobSpec`` instead of running its sub-tasks."""
        __tracebackhide__ = True
        if (
            self._execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC
            and ctx.mode is ExecutionMode.TASK_EXECUTION
        ):
            iface = self._python_interface
            native = execution.literal_map_to_inputs(
                self.name, iface.inputs, iface.defaults, input_literal_map, ctx.store
            )
            user_params = self.pre_execute(ctx.execution_params)
            if isinstance(user_params, ExecutionParameters):
                ctx = ctx.with_(execution_params=user_params)
            return self.compile_into_workflow(ctx, self._task_function, **native)
        if self._options.enable_deck:
            from flyte_nb.core.decks import dispatch_with_decks

            return dispatch_with_decks(
                self, ctx, input_literal_map, lambda c: Task.dispatch_execute(self, c, input_literal_map)
            )
        return super().dispatch_execute(ctx, input_literal_map)

    def compile_into_workflow(
        self, ctx: FlyteContext, task_function: Callable[..., Any], **kwargs: Any
    ) -> dynamic_job_pb2.DynamicJobSpec:
        """Compile the dynamic body (called with native ``kwargs``) into a ``DynamicJobSpec``."""
        from flyte_nb.core.dynamic import compile_dynamic

        return compile_dynamic(ctx, self, task_function, kwargs)

    def construct_node_metadata(self) -> workflow_pb2.NodeMetadata:
        """The metadata of a node that runs this task (name, timeout, retries, interruptible)."""
        md = workflow_pb2.NodeMetadata(
            name=self.name.rsplit(".", 1)[-1],
            retries=literals_pb2.RetryStrategy(retries=self.metadata.retries),
        )
        td = self.metadata.timeout_delta
        if td is not None:
            md.timeout.FromTimedelta(td)
        if self.metadata.interruptible is not None:
            md.interruptible = self.metadata.interruptible
        return md

    def find_lhs(self) -> str:
        """The name this task is bound to in its module (what a container imports it by)."""
        module = sys.modules.get(getattr(self._task_function, "__module__", "") or "")
        if module is not None:
            for key, value in list(vars(module).items()):
                if value is self:
                    return key
        return str(getattr(self._task_function, "__name__", self.name.rsplit(".", 1)[-1]))

    # ----------------------------------------------------------------------------------------- reprs

    def __repr__(self) -> str:
        # Plain text that needs nothing above the core. In a kernel with the flyte_nb extension loaded,
        # display(task) shows the task's widget and static views instead (registered by the extension).
        iface = self._python_interface
        from flyte_nb.core.interface import describe_type

        ins = ", ".join(f"{k}: {describe_type(t)}" for k, t in iface.inputs.items())
        outs = ", ".join(f"{k}: {describe_type(t)}" for k, t in iface.outputs.items()) or "None"
        kind = "dynamic" if self._execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC else "task"
        text = f"<{kind} {self.name}({ins}) -> ({outs})>"
        if iface.pickled:
            text += " pickled: " + ", ".join(sorted(iface.pickled))
        return text
