"""The in-kernel call of a plain function task, in one frame; the literal round trip stays whole.

``add(a=1, b=2)`` on a :class:`~flyte_nb.PythonFunctionTask` takes ``Task.__call__`` → ``_local_execute``
→ ``sandbox_execute`` → ``dispatch_execute`` → ``pre_execute`` / ``execute`` / ``post_execute``: layers a
subclass may each override, each asking the type engine for the converter of every value. When the task's
class overrides none of them (:data:`HOOKS`) and the task is not dynamic, not cached, not a generator and
writes no decks, :func:`call_plain` does what those layers do, in the same order, without dispatching
through them: the inputs are checked, written as literals into a ``LiteralMap`` in a fresh in-memory store
and read back from it; the function runs with the context pushed that ``dispatch_execute`` pushes; its
result is written as literals into a second ``LiteralMap`` and read back; figures the call opened are
closed. The converters of an interface are looked up once (:func:`_plan`, kept until the type engine's
registrations change).

Every error is the general path's: the same checks raise the same exceptions, built by the same functions
(:mod:`flyte_nb.core.execution`). ``tests/core/test_call_path.py`` runs a table of tasks and calls through
both paths and compares results, errors and the context the task sees.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from flyteidl.core import literals_pb2

from flyte_nb.core import execution
from flyte_nb.core.context import ExecutionMode, FlyteContext, default_context, pop_context, push_context
from flyte_nb.core.figures import close_opened
from flyte_nb.core.memo import BoundedMemo
from flyte_nb.core.storage import MemoryStore, RawStore
from flyte_nb.core.task import is_dynamic_job_spec, not_outputs_error
from flyte_nb.core.types import engine
from flyte_nb.core.types.engine import GENERATION
from flyte_nb.errors import FlyteTypeError, StorageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from flyte_nb.core.interface import PythonInterface

__all__ = ["HOOKS", "PlainTask", "call_plain", "is_plain", "is_plain_class"]

#: The methods whose overriding sends a call down the general path (a subclass may hook any of them).
HOOKS = (
    "local_execute",
    "_local_execute",
    "_round_trip",
    "sandbox_execute",
    "dispatch_execute",
    "pre_execute",
    "post_execute",
    "execute",
    "local_execution_mode",
    "require_python_interface",
    "python_interface",
    "name",
    "metadata",
)
_LOCAL = ExecutionMode.LOCAL
_NO_FIGURES: frozenset[int] = frozenset()
_LiteralMap = literals_pb2.LiteralMap

#: Task class -> whether it overrides none of HOOKS. Bounded: a re-run cell may define a class again.
_PLAIN_CLASSES: BoundedMemo[type, bool] = BoundedMemo(256)


class _Var(NamedTuple):
    """One variable's conversion: what ``engine.encode_into`` / ``engine.decode`` look up per value."""

    name: str
    python_type: Any  # the annotation, for error messages
    transformer: Any
    py: Any  # what the transformer is given
    literal_type: Any
    hash_method: Any


class _Plan(NamedTuple):
    iface: Any  # kept so that the interface's id cannot be reused while the plan is cached
    generation: int
    names: frozenset[str]  # the input names: a call giving exactly these needs no name check
    inputs: dict[str, _Var]
    outputs: tuple[_Var, ...]
    single: bool  # one output, no NamedTuple: the call returns the value itself


#: id(interface) -> its plan. Bounded like the engine's memo (a re-run cell makes a new interface).
_PLANS: BoundedMemo[int, _Plan] = BoundedMemo(engine.MEMO_SIZE)


class PlainTask(Protocol):
    """What :func:`call_plain` reads of a ``PythonFunctionTask`` (passed in by the task itself, so that
    this module does not import the class that calls it)."""

    _name: str
    _python_interface: PythonInterface
    _task_function: Callable[..., Any]


def is_plain(task: Any, base: type) -> bool:
    """Whether :func:`call_plain` may run ``task``, a ``base`` (``PythonFunctionTask``): not dynamic, not a
    generator, not cached, no decks, and no execution hook of ``base`` overridden (:data:`HOOKS`;
    ``metadata`` is one, so the field is read)."""
    return (
        task._execution_mode is task.ExecutionBehavior.DEFAULT
        and not task._generator
        and not task._metadata.cache
        and not task._options.enable_deck
        and (_PLAIN_CLASSES.get(type(task)) or is_plain_class(type(task), base))
    )


def is_plain_class(cls: type, base: type) -> bool:
    """Whether ``cls`` overrides none of :data:`HOOKS` of ``base`` (memoised per class)."""
    plain = _PLAIN_CLASSES.get(cls)
    if plain is None:
        plain = all(getattr(cls, h) is getattr(base, h) for h in HOOKS)
        _PLAIN_CLASSES.put(cls, plain)
    return plain


def _var(name: str, python_type: Any) -> _Var:
    e = engine.codec(python_type)
    return _Var(name, python_type, e.transformer, e.py, e.literal_type, e.hash_method)


def _plan(iface: PythonInterface) -> _Plan:
    """The converters of ``iface``'s inputs and outputs (a call looks them up in ``_PLANS`` first)."""
    generation = GENERATION[0]  # read first: a registration meanwhile makes the plan stale, not wrong
    plan = _Plan(
        iface,
        generation,
        frozenset(iface.inputs),
        {k: _var(k, t) for k, t in iface.inputs.items()},
        tuple(_var(k, t) for k, t in iface.outputs.items()),
        len(iface.outputs) == 1 and iface.output_tuple_type is None,
    )
    _PLANS.put(id(iface), plan)
    return plan


def call_plain(task: PlainTask, ctx: FlyteContext | None, kwargs: dict[str, Any]) -> Any:
    """Run ``task`` on native ``kwargs`` as ``Task.__call__`` would (see the module docstring).

    ``ctx`` is the pushed context (never a compiling one), or ``None`` when nothing is pushed.
    """
    __tracebackhide__ = True  # IPython shows the user's frames of a failing task, not ours
    iface = task._python_interface
    plan = _PLANS.get(id(iface))
    if plan is None or plan.iface is not iface or plan.generation != GENERATION[0]:
        plan = _plan(iface)
    name = task._name
    store = MemoryStore()  # per call: pickled values stay in memory and die with the call
    if ctx is None:
        run_ctx = default_context(store)
    else:  # what local_execute, sandbox_execute and dispatch_execute derive from it
        run_ctx = ctx.with_(store=store, mode=_LOCAL, compilation_state=None)
    pyplot = sys.modules.get("matplotlib.pyplot")
    before = frozenset(pyplot.get_fignums()) if pyplot is not None else _NO_FIGURES
    try:  # figures the task opens stay with it, as in its container (flyte_nb.core.figures)
        if kwargs.keys() != plan.names:  # some left to their defaults, or a wrong name
            execution.check_input_names(name, iface.inputs, iface.defaults, list(kwargs))
        native = _round_trip_inputs(name, plan, kwargs, store)
        token = push_context(run_ctx)
        try:
            rval = task._task_function(**native)
        finally:
            pop_context(token)
        if "flyteidl.core.dynamic_job_pb2" in sys.modules and is_dynamic_job_spec(rval):
            raise not_outputs_error(name, rval)  # what sandbox_execute says of a dispatch returning one
        return _round_trip_outputs(name, plan, iface, rval, store)
    finally:
        if pyplot is not None or "matplotlib.pyplot" in sys.modules:
            close_opened(before)


def _round_trip_inputs(name: str, plan: _Plan, kwargs: dict[str, Any], store: RawStore) -> dict[str, Any]:
    """``execution.inputs_to_literal_map`` then ``execution.literal_map_to_inputs`` (names checked)."""
    literals = _LiteralMap().literals
    inputs = plan.inputs
    for var, value in kwargs.items():
        v = inputs[var]
        target = literals[var]
        try:
            v.transformer.to_literal_into(target, value, v.py, v.literal_type, store)
            if v.hash_method is not None:
                target.hash = v.hash_method.calculate(value)
        except FlyteTypeError as exc:
            raise execution.input_type_error(name, var, v.python_type, exc) from None
        except StorageError as exc:  # an upload failed: say which input it was for
            raise execution.storage_error(name, "input", var, exc) from exc
    native: dict[str, Any] = {}
    for var in literals:  # the map's order, as the general path reads it
        v = inputs[var]
        try:
            value = native[var] = v.transformer.to_python_value(literals[var], v.py, store)
        except FlyteTypeError as exc:
            raise execution.input_read_error(name, var, v.python_type, exc) from exc
        except StorageError as exc:  # its raw data cannot be read: say which input it was
            raise execution.storage_error(name, "input", var, exc) from exc
        set_label = getattr(value, "_set_flyte_label", None)  # execution.label_lazy_value
        if set_label is not None:
            set_label(f"Task '{name}' input '{var}'")
    return native


def _round_trip_outputs(name: str, plan: _Plan, iface: PythonInterface, rval: Any, store: RawStore) -> Any:
    """``execution.outputs_to_literal_map`` then ``execution.literal_map_to_outputs``: the returned value
    written as literals, read back and shaped as a call returns it."""
    outputs = plan.outputs
    if not outputs:
        if rval is not None:
            raise execution.no_outputs_error(name, rval)
        return None
    values = (rval,) if plan.single else execution.split_outputs(name, iface, [v.name for v in outputs], rval)
    literals = _LiteralMap().literals
    for v, value in zip(outputs, values, strict=True):
        target = literals[v.name]
        try:
            v.transformer.to_literal_into(target, value, v.py, v.literal_type, store)
            if v.hash_method is not None:
                target.hash = v.hash_method.calculate(value)
        except FlyteTypeError as exc:
            raise execution.output_type_error(name, v.name, exc) from None
        except StorageError as exc:  # an upload failed: say which output it was for
            raise execution.storage_error(name, "output", v.name, exc) from exc
    decoded: dict[str, Any] = {}
    for v in outputs:
        try:
            value = decoded[v.name] = v.transformer.to_python_value(literals[v.name], v.py, store)
        except StorageError as exc:
            raise execution.storage_error(name, "output", v.name, exc) from exc
        set_label = getattr(value, "_set_flyte_label", None)
        if set_label is not None:
            set_label(f"Task '{name}' output '{v.name}'")
    return value if plan.single else execution.shape_outputs(iface, decoded)
