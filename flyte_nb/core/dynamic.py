"""Dynamic tasks: compiling a ``@dynamic`` body into a ``DynamicJobSpec``.

On a cluster, a dynamic task does not run its sub-tasks itself: its body is run once with the task's
native inputs while a :class:`CompilationState` is current, every task call inside it adds a node
(``n0``, ``n1``…) and returns :class:`Promise` objects standing for that node's outputs, and the result
is a ``DynamicJobSpec`` (nodes, the sub-tasks' templates, output bindings) that FlytePropeller runs.

In the kernel (``local_execute``) the body is compiled the same way, and the compiled nodes then run
here, in dependency order, each through its sub-task's literal round trip
(:func:`run_dynamic_locally`). So a body that would not compile on the cluster (``total + score(x)``,
``if score(x) > 0``, a plain function fed a promise) fails in the kernel first, with the same message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from flyteidl.core import dynamic_job_pb2, literals_pb2, tasks_pb2, types_pb2, workflow_pb2

from flyte_nb.core import execution
from flyte_nb.core.bindings import order_nodes, resolve_binding
from flyte_nb.core.context import FlyteContext, FlyteContextManager
from flyte_nb.core.settings import SerializationSettings
from flyte_nb.core.storage import RawStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import FlyteTypeError, TaskDefinitionError, TaskInputError, TaskOutputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from flyte_nb.core.interface import PythonInterface
    from flyte_nb.core.task import Task

__all__ = ["CompilationState", "Promise", "compile_dynamic", "create_node", "run_dynamic_locally"]


@dataclass
class CompilationState:
    """What a dynamic body being compiled has produced so far.

    Attributes
    ----------
    task_name:
        The dynamic task whose body is compiled (for error messages).
    settings:
        The settings the sub-tasks' templates are compiled with.
    store:
        Where literals of constant inputs put their raw data (pickles…).
    nodes:
        The nodes created so far, in call order.
    templates:
        Sub-task templates by task identity (one per task object).
    tasks:
        The task object each node calls, by node id (what a local run executes).
    ship_payloads:
        Store each sub-task's resolver payload next to the raw data and point its loader args there, as
        a container compiling for the cluster must; a local run needs no payloads.
    """

    task_name: str
    settings: SerializationSettings
    store: RawStore
    nodes: list[workflow_pb2.Node] = field(default_factory=list)
    templates: dict[int, tasks_pb2.TaskTemplate] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    ship_payloads: bool = True
    prefix: str = ""

    def next_node_id(self) -> str:
        """The id of the next node: ``n0``, ``n1``…"""
        return f"{self.prefix}n{len(self.nodes)}"

    def template_for(self, task: Task) -> tasks_pb2.TaskTemplate:
        """The sub-task's template, compiled once per task object."""
        key = id(task)
        if key not in self.templates:
            from flyte_nb.core.serialize import serialize_task

            settings = self.settings
            resolver = getattr(task, "task_resolver", None)
            payload = resolver.payload(task) if resolver is not None and self.ship_payloads else None
            if payload is not None:
                # The sub-task's code must reach the nodes that run it: store its payload next to the
                # execution's raw data and point its loader args there.
                uri = self.store.new_uri(payload.filename)
                self.store.write_bytes(uri, payload.data)
                settings = settings.with_(payload_uri=uri)
            self.templates[key] = serialize_task(task, settings)
        return self.templates[key]


class Promise:
    """The future output ``var`` of node ``node_id``, returned by task calls in a compiled dynamic body.

    A promise can be passed to another task call or returned from the body. It has no value yet, so
    anything else (arithmetic, ``if``, iteration, formatting…) raises a :class:`TaskDefinitionError`
    that says so.
    """

    __slots__ = ("_dynamic_name", "_task_name", "node_id", "python_type", "var")

    def __init__(self, node_id: str, var: str, python_type: Any, task_name: str, dynamic_name: str) -> None:
        self.node_id = node_id
        self.var = var
        self.python_type = python_type
        self._task_name = task_name
        self._dynamic_name = dynamic_name

    def ref(self) -> literals_pb2.BindingData:
        """The binding that reads this output."""
        return literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=self.node_id, var=self.var))

    def _misuse(self, what: str) -> NoReturn:
        raise TaskDefinitionError(
            f"Dynamic task '{self._dynamic_name}': {what} on the output '{self.var}' of task "
            f"'{self._task_name}' (node {self.node_id}), which is a promise, not a value: while a "
            "@dynamic body is compiled for a cluster, task calls return promises that get their values "
            "only when the nodes run. Pass it straight to another task or return it; to compute with "
            "it, move that code into a @task and call that task instead."
        )

    def __repr__(self) -> str:
        return (
            f"Promise({self.node_id}.{self.var}: {getattr(self.python_type, '__name__', self.python_type)})"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._misuse(f"reading attribute '.{name}'")

    def __bool__(self) -> bool:
        self._misuse("a truth test (if/while/and/or)")

    def __iter__(self) -> Any:
        self._misuse("iterating")

    def __len__(self) -> int:
        self._misuse("len()")

    def __getitem__(self, item: Any) -> Any:
        self._misuse("indexing")

    def __contains__(self, item: Any) -> bool:
        self._misuse("'in'")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._misuse("calling")

    def __format__(self, spec: str) -> str:
        self._misuse("formatting (f-string/format)")

    def __str__(self) -> str:
        # str() would otherwise fall back to repr(), and "Promise(n0.o0: int)" would travel on as a value
        self._misuse("str()")

    def __int__(self) -> int:
        self._misuse("int()")

    def __float__(self) -> float:
        self._misuse("float()")

    def __index__(self) -> int:
        self._misuse("using it as an index")

    def __eq__(self, other: object) -> bool:
        self._misuse("comparing (==)")

    def __ne__(self, other: object) -> bool:
        self._misuse("comparing (!=)")

    __hash__ = object.__hash__


def _binary_op(symbol: str) -> Callable[..., Any]:
    def op(self: Promise, *args: Any) -> Any:
        self._misuse(f"the operator {symbol}")

    return op


for _name, _symbol in {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "truediv": "/",
    "floordiv": "//",
    "mod": "%",
    "pow": "**",
    "matmul": "@",
    "and": "&",
    "or": "|",
    "xor": "^",
    "lshift": "<<",
    "rshift": ">>",
}.items():
    setattr(Promise, f"__{_name}__", _binary_op(_symbol))
    setattr(Promise, f"__r{_name}__", _binary_op(_symbol))
for _name, _symbol in {
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "neg": "unary -",
    "pos": "unary +",
    "abs": "abs()",
    "invert": "~",
    "round": "round()",
}.items():
    setattr(Promise, f"__{_name}__", _binary_op(_symbol))


def _literal_binding(lit: literals_pb2.Literal) -> literals_pb2.BindingData:
    if lit.HasField("collection"):
        return literals_pb2.BindingData(
            collection=literals_pb2.BindingDataCollection(
                bindings=[_literal_binding(x) for x in lit.collection.literals]
            )
        )
    if lit.HasField("map"):
        bdm = literals_pb2.BindingDataMap()
        for k, v in lit.map.literals.items():
            bdm.bindings[k].CopyFrom(_literal_binding(v))
        return literals_pb2.BindingData(map=bdm)
    return literals_pb2.BindingData(scalar=lit.scalar)


def _has_promise(value: Any) -> bool:
    if isinstance(value, Promise):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_promise(v) for v in value)
    if isinstance(value, dict):
        return any(_has_promise(v) for v in value.values())
    return False


def _castable(source: types_pb2.LiteralType, target: types_pb2.LiteralType) -> bool:
    """A lenient version of propeller's compile-time type check for a promise bound to an input."""

    def bare(lt: types_pb2.LiteralType) -> types_pb2.LiteralType:
        out = types_pb2.LiteralType()
        out.CopyFrom(lt)
        out.ClearField("structure")
        out.ClearField("annotation")
        out.ClearField("metadata")
        return out

    if bare(source) == bare(target):
        return True
    if target.HasField("union_type"):
        return any(_castable(source, v) for v in target.union_type.variants) or source.HasField("union_type")
    kinds = {source.WhichOneof("type"), target.WhichOneof("type")}
    if kinds & {"blob", "structured_dataset_type"}:  # pickles and dataframes: checked at run time
        return True
    if kinds == {"simple"} and types_pb2.STRUCT in (source.simple, target.simple):
        return True
    if kinds == {"collection_type"}:
        return _castable(source.collection_type, target.collection_type)
    if kinds == {"map_value_type"}:
        return _castable(source.map_value_type, target.map_value_type)
    return False


def _bind_promise(
    value: Promise, t: Any, state: CompilationState, where: str, error: type[Exception]
) -> literals_pb2.BindingData:
    from flyte_nb.core.interface import describe_type

    if not _castable(TypeEngine.to_literal_type(value.python_type), TypeEngine.to_literal_type(t)):
        raise error(
            f"Dynamic task '{state.task_name}': {where} expects {describe_type(t)}, but gets the output "
            f"'{value.var}' of task '{value._task_name}' (node {value.node_id}), which is "
            f"{describe_type(value.python_type)}. Pass an output of the right type, or convert it in a @task."
        )
    return value.ref()


def _binding_data(
    value: Any,
    t: Any,
    state: CompilationState,
    upstream: set[str],
    where: str,
    error: type[Exception] = TaskInputError,
) -> literals_pb2.BindingData:
    """Bind ``value`` (a constant, a promise, or a list/dict holding promises) to type ``t``."""
    import typing

    if isinstance(value, Promise):
        upstream.add(value.node_id)
        return _bind_promise(value, t, state, where, error)
    if _has_promise(value):
        origin, args = typing.get_origin(t), typing.get_args(t)
        if origin is list and isinstance(value, (list, tuple)) and args:
            return literals_pb2.BindingData(
                collection=literals_pb2.BindingDataCollection(
                    bindings=[_binding_data(v, args[0], state, upstream, where, error) for v in value]
                )
            )
        if origin is dict and isinstance(value, dict) and len(args) == 2:
            bdm = literals_pb2.BindingDataMap()
            for k, v in value.items():
                bdm.bindings[k].CopyFrom(_binding_data(v, args[1], state, upstream, where, error))
            return literals_pb2.BindingData(map=bdm)
        raise TaskDefinitionError(
            f"Dynamic task '{state.task_name}': {where} mixes promises into a {type(value).__name__} "
            f"whose declared type is {t!r}. Only list[T] and dict[str, T] values may hold promises; "
            "collect the values in a @task instead."
        )
    try:
        lit = TypeEngine.to_literal(value, t, store=state.store)
    except FlyteTypeError as exc:
        raise error(f"Dynamic task '{state.task_name}': {where}: {exc}") from exc
    return _literal_binding(lit)


def _node_metadata(task: Task) -> workflow_pb2.NodeMetadata:
    construct = getattr(task, "construct_node_metadata", None)
    if construct is not None:
        md: workflow_pb2.NodeMetadata = construct()
        return md
    return workflow_pb2.NodeMetadata(name=task.name.rsplit(".", 1)[-1])


def create_node(ctx: FlyteContext, task: Task, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """Add a node calling ``task`` to the compilation in ``ctx``; return promises for its outputs."""
    state = ctx.compilation_state
    if not isinstance(state, CompilationState):
        raise TaskDefinitionError(
            f"Task '{task.name}': compile() needs a dynamic compilation in progress, and none is. "
            "Call the task normally to run it."
        )
    iface: PythonInterface = task.require_python_interface()
    bound = execution.bind_arguments(task.name, list(iface.inputs), args, kwargs)
    execution.check_input_names(task.name, iface.inputs, iface.defaults, list(bound))
    node_id = state.next_node_id()
    upstream: set[str] = set()
    bindings = [
        literals_pb2.Binding(
            var=var,
            binding=_binding_data(
                bound[var] if var in bound else iface.defaults[var],
                t,
                state,
                upstream,
                f"input '{var}' of task '{task.name}' (node {node_id})",
            ),
        )
        for var, t in iface.inputs.items()
    ]
    template = state.template_for(task)
    state.tasks[node_id] = task
    state.nodes.append(
        workflow_pb2.Node(
            id=node_id,
            metadata=_node_metadata(task),
            inputs=bindings,
            upstream_node_ids=sorted(upstream),
            task_node=workflow_pb2.TaskNode(reference_id=template.id),
        )
    )
    promises = {var: Promise(node_id, var, t, task.name, state.task_name) for var, t in iface.outputs.items()}
    return execution.shape_outputs(iface, promises)


def compile_dynamic(
    ctx: FlyteContext,
    task: Task,
    task_function: Callable[..., Any],
    kwargs: Mapping[str, Any],
) -> dynamic_job_pb2.DynamicJobSpec:
    """Run ``task_function`` under a compilation state and return the resulting ``DynamicJobSpec``."""
    state = CompilationState(
        task_name=task.name,
        settings=ctx.serialization_settings or SerializationSettings(),
        store=ctx.store,
    )
    return _compile(ctx, task, task_function, kwargs, state)


def run_dynamic_locally(
    ctx: FlyteContext,
    task: Task,
    task_function: Callable[..., Any],
    kwargs: Mapping[str, Any],
) -> Any:
    """Compile the dynamic body as a cluster would, run its nodes here, and return native outputs."""
    __tracebackhide__ = True  # IPython shows the user's frames of a failing task, not ours
    iface: PythonInterface = task.require_python_interface()
    state = CompilationState(
        task_name=task.name,
        settings=ctx.serialization_settings or SerializationSettings(),
        store=ctx.store,
        ship_payloads=False,
    )
    spec = _compile(ctx, task, task_function, kwargs, state)
    run_ctx = ctx.with_(compilation_state=None)
    outputs: dict[str, literals_pb2.LiteralMap] = {}
    for node in order_nodes(spec.nodes):
        inputs = literals_pb2.LiteralMap(
            literals={b.var: resolve_binding(b.binding, outputs) for b in node.inputs}
        )
        outputs[node.id] = state.tasks[node.id].sandbox_execute(run_ctx, inputs)
    final = literals_pb2.LiteralMap(
        literals={b.var: resolve_binding(b.binding, outputs) for b in spec.outputs}
    )
    return execution.literal_map_to_outputs(task.name, iface, final, ctx.store)


def _compile(
    ctx: FlyteContext,
    task: Task,
    task_function: Callable[..., Any],
    kwargs: Mapping[str, Any],
    state: CompilationState,
) -> dynamic_job_pb2.DynamicJobSpec:
    __tracebackhide__ = True
    iface: PythonInterface = task.require_python_interface()
    with FlyteContextManager.with_context(ctx.with_(compilation_state=state)):
        rval = task_function(**kwargs)
    names = list(iface.outputs)
    if not names:
        if rval is not None and not _has_promise(rval):
            execution.outputs_to_literal_map(task.name, iface, rval, ctx.store)  # raises the clear error
        values: list[Any] = []
    else:
        values = list(execution.split_outputs(task.name, iface, names, rval))
    outputs: list[literals_pb2.Binding] = []
    for var, value in zip(names, values, strict=True):
        bd = _binding_data(value, iface.outputs[var], state, set(), f"output '{var}'", TaskOutputError)
        outputs.append(literals_pb2.Binding(var=var, binding=bd))
    return dynamic_job_pb2.DynamicJobSpec(
        nodes=state.nodes,
        min_successes=len(state.nodes),
        outputs=outputs,
        tasks=list(state.templates.values()),
    )
