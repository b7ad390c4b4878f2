"""Interface extraction: a Python signature → the task's Python interface → a flyteidl ``TypedInterface``.

The rules are flytekit 1.16's (see TYPES.md §8 of the design notes, mirrored by the differential tests):

* inputs are the parameters, in signature order, typed by ``typing.get_type_hints(include_extras=True)``;
* outputs are ``o0`` for a single return, ``o0, o1, …`` for ``Tuple[...]`` (or a bare ``(A, B)``), the
  field names of a ``NamedTuple`` return, and nothing for ``-> None`` or no return annotation;
* with ``pickle_untyped=True`` an unannotated parameter is ``typing.Any`` and a missing return
  annotation is ``o0: Any`` (pickled, and marked as such in :attr:`PythonInterface.pickled`); a function
  that then never returns a value is refused, as flytekit refuses it;
* descriptions come from the docstring; an undocumented variable is described by its own name.

Unlike flytekit, every problem is reported when the task is defined, naming the function, the variable
and the fix.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flyteidl.core import interface_pb2

from flyte_nb.core.docstring import Docstring, output_descriptions_for
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import FlyteTypeError, TaskDefinitionError

__all__ = [
    "PythonInterface",
    "describe_type",
    "extract_return_annotation",
    "is_named_tuple",
    "to_typed_interface",
    "transform_function_to_interface",
]


@dataclass
class PythonInterface:
    """The native (Python-typed) interface of a task.

    Attributes
    ----------
    inputs:
        Input name → Python type, in signature order.
    outputs:
        Output name → Python type, in declaration order.
    defaults:
        Input name → the Python default, for inputs that have one. Defaults never reach the
        ``TypedInterface`` (as in flytekit); they apply when a task is called in-process.
    output_tuple_name:
        The ``NamedTuple`` class name when the function returns one, else ``None``.
    output_tuple_type:
        That ``NamedTuple`` class (used to build the value a call returns).
    docstring:
        The function's parsed docstring (descriptions of inputs and outputs).
    pickled:
        Variable name → why it travels as a Python pickle (``"unannotated (pickle_untyped=True)"``,
        ``"typing.Any"``, ``"no Flyte type for Model"``…). Inputs and outputs share the map; an output
        named like an input is keyed ``"return:<name>"``.
    """

    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    output_tuple_name: str | None = None
    output_tuple_type: Any = None
    docstring: Docstring | None = None
    pickled: dict[str, str] = field(default_factory=dict)

    @property
    def inputs_with_defaults(self) -> dict[str, tuple[Any, Any]]:
        """flytekit's view: input name → (type, default or ``None``)."""
        return {k: (t, self.defaults.get(k)) for k, t in self.inputs.items()}

    @property
    def default_inputs_as_kwargs(self) -> dict[str, Any]:
        """The defaults, as keyword arguments (flytekit's name)."""
        return dict(self.defaults)

    @property
    def required_inputs(self) -> list[str]:
        """Inputs without a Python default."""
        return [k for k in self.inputs if k not in self.defaults]

    def remove_inputs(self, names: Iterable[str] | None) -> PythonInterface:
        """A copy without the given inputs (flytekit's ``ignore_input_vars``)."""
        drop = set(names or ())
        return PythonInterface(
            inputs={k: v for k, v in self.inputs.items() if k not in drop},
            outputs=dict(self.outputs),
            defaults={k: v for k, v in self.defaults.items() if k not in drop},
            output_tuple_name=self.output_tuple_name,
            output_tuple_type=self.output_tuple_type,
            docstring=self.docstring,
            pickled={k: v for k, v in self.pickled.items() if k not in drop},
        )


def is_named_tuple(t: Any) -> bool:
    """True for a ``typing.NamedTuple`` class (class or functional form)."""
    bases = getattr(t, "__bases__", None)
    return (
        isinstance(t, type)
        and bases is not None
        and len(bases) == 1
        and bases[0] is tuple
        and hasattr(t, "_fields")
    )


def extract_return_annotation(return_annotation: Any, fn_name: str = "f") -> dict[str, Any]:
    """Output name → type for a return annotation (``None``/``NoneType``/empty give no outputs)."""
    if return_annotation in (None, type(None), inspect.Signature.empty):
        return {}
    if is_named_tuple(return_annotation):
        return dict(typing.get_type_hints(return_annotation, include_extras=True))
    if typing.get_origin(return_annotation) is tuple:
        args = typing.get_args(return_annotation)
    elif isinstance(return_annotation, tuple):
        args = return_annotation
    else:
        return {"o0": return_annotation}
    if len(args) < 2 or Ellipsis in args:
        raise TaskDefinitionError(
            f"Task '{fn_name}' return: expected a tuple of two or more types for several outputs, got "
            f"{return_annotation!r}. Annotate a single output without a tuple (-> int), or list every "
            "output (-> tuple[int, str])."
        )
    return {f"o{i}": t for i, t in enumerate(args)}


def _type_hints(fn: Callable[..., Any], fn_name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a NameError from a forward reference, a bad string annotation…
        hints = _hints_with_tuple_return(fn)
        if hints is not None:
            return hints
        raise TaskDefinitionError(
            f"Task '{fn_name}': its annotations cannot be evaluated ({type(exc).__name__}: {exc}). "
            "Define every type the signature names before the function, or quote none of them."
        ) from exc


def _hints_with_tuple_return(fn: Callable[..., Any]) -> dict[str, Any] | None:
    """Hints for ``-> (A, B)`` written under ``from __future__ import annotations``.

    ``get_type_hints`` refuses a string that evaluates to a tuple of types; flytekit accepts the bare
    tuple when it is not a string, so accept it as a string too.
    """
    import types

    annotations = dict(getattr(fn, "__annotations__", {}))
    ret = annotations.pop("return", None)
    fn_globals = getattr(fn, "__globals__", None)
    if not isinstance(ret, str) or fn_globals is None:
        return None
    try:
        value = eval(ret, dict(fn_globals))  # the function's own annotation, in its own module
        rest = typing.get_type_hints(
            types.SimpleNamespace(__annotations__=annotations, __globals__=fn_globals), include_extras=True
        )
    except Exception:  # noqa: BLE001 - the user's annotation text may raise anything; then it is no tuple
        return None
    if not isinstance(value, tuple):
        return None
    return {**rest, "return": value}


def _pickle_reason(t: Any) -> str | None:
    """Why ``t`` travels as a pickle, or ``None`` when it has a native Flyte type."""
    if not TypeEngine.is_pickled(t):
        return None
    if t is Any:
        return "typing.Any: travels as a Python pickle"
    return f"{describe_type(t)}: no Flyte type for it, so it travels as a Python pickle"


def describe_type(t: Any) -> str:
    """A short human name of the Flyte type of ``t`` (``int``, ``list[int]``, ``pickle (Model)``…)."""
    try:
        return TypeEngine.describe(t)
    except FlyteTypeError:  # a type without a Flyte type still gets a name in views and messages
        return getattr(t, "__name__", None) or repr(t)


def _check_type(fn_name: str, role: str, var: str, t: Any) -> None:
    """Make the type engine accept ``t`` now, so a bad annotation fails at definition."""
    try:
        TypeEngine.validate_annotation(t)
        TypeEngine.to_literal_type(t)
    except FlyteTypeError as exc:
        raise type(exc)(f"Task '{fn_name}' {role} '{var}': {exc}") from exc


def transform_function_to_interface(
    fn: Callable[..., Any],
    docstring: Docstring | None = None,
    *,
    pickle_untyped: bool = False,
    ignore_input_vars: Iterable[str] | None = None,
    name: str | None = None,
) -> PythonInterface:
    """Extract the :class:`PythonInterface` of ``fn`` (see the module docstring for the rules).

    Raises
    ------
    TaskDefinitionError
        A parameter has no annotation (and ``pickle_untyped`` is off), ``*args``/``**kwargs`` are used,
        or the return annotation is a malformed tuple.
    UnsupportedTypeError
        An annotation can never be a Flyte type (bare ``list``, a tuple input, an int Enum…).
    """
    fn_name: str = name or str(getattr(fn, "__name__", repr(fn)))
    hints = _type_hints(fn, fn_name)
    signature = inspect.signature(fn)
    ignored = set(ignore_input_vars or ())
    unknown = ignored - set(signature.parameters)
    if unknown:
        raise TaskDefinitionError(
            f"Task '{fn_name}': ignore_input_vars names {sorted(unknown)}, which are not parameters of the "
            f"function (it has {list(signature.parameters)}). Remove them from ignore_input_vars."
        )
    iface = PythonInterface(docstring=docstring)
    _extract_inputs(fn_name, signature, hints, ignored, iface, pickle_untyped=pickle_untyped)
    _extract_outputs(fn, fn_name, hints, iface, pickle_untyped=pickle_untyped)
    for var, t in iface.inputs.items():
        if var not in iface.pickled and (reason := _pickle_reason(t)):
            iface.pickled[var] = reason
    for var, t in iface.outputs.items():
        key = f"return:{var}" if var in iface.inputs else var
        if key not in iface.pickled and (reason := _pickle_reason(t)):
            iface.pickled[key] = reason
    return iface


def _extract_inputs(
    fn_name: str,
    signature: inspect.Signature,
    hints: Mapping[str, Any],
    ignored: set[str],
    iface: PythonInterface,
    *,
    pickle_untyped: bool,
) -> None:
    for var, param in signature.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TaskDefinitionError(
                f"Task '{fn_name}' input '{var}': *args and **kwargs cannot be task inputs, because every "
                "Flyte input needs a name and a type. Replace it with named, annotated parameters."
            )
        if var in ignored:
            continue
        if var in hints:
            t = hints[var]
        elif pickle_untyped:
            t = Any
            iface.pickled[var] = "unannotated (pickle_untyped=True); travels as a Python pickle"
        else:
            raise TaskDefinitionError(
                f"Task '{fn_name}' input '{var}': expected a type annotation, got none. Annotate it "
                f"(e.g. `{var}: int`), or pass pickle_untyped=True (%%flyte_task --pickle-untyped) to send "
                "unannotated values as Python pickles."
            )
        _check_type(fn_name, "input", var, t)
        iface.inputs[var] = t
        if param.default is not inspect.Parameter.empty:
            iface.defaults[var] = param.default


def _extract_outputs(
    fn: Callable[..., Any],
    fn_name: str,
    hints: Mapping[str, Any],
    iface: PythonInterface,
    *,
    pickle_untyped: bool,
) -> None:
    if "return" in hints:
        ret = hints["return"]
    elif pickle_untyped:
        if not _returns_a_value(fn):  # flytekit refuses these too ("must return a value")
            raise TaskDefinitionError(
                f"Task '{fn_name}': with pickle_untyped=True a function without a return annotation has one "
                "pickled output, o0, but this one never returns a value. Annotate it `-> None` for a task "
                "without outputs, or return the value."
            )
        ret = Any
        iface.pickled["o0"] = "no return annotation (pickle_untyped=True); travels as a Python pickle"
    else:
        ret = None
    iface.outputs = extract_return_annotation(ret, fn_name)
    if is_named_tuple(ret):
        iface.output_tuple_name = ret.__name__ or None
        iface.output_tuple_type = ret
    for var, t in iface.outputs.items():
        _check_type(fn_name, "output", var, t)


def _returns_a_value(fn: Callable[..., Any]) -> bool:
    """Whether ``fn``'s own code has a ``return`` of something other than the constant ``None``.

    Read from the bytecode, so it works for functions defined in notebook cells (no source file).
    """
    import dis

    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return True  # not a plain function: assume it does
    previous: dis.Instruction | None = None
    for ins in dis.get_instructions(code):
        if ins.opname == "RETURN_CONST" and ins.argval is not None:
            return True
        if ins.opname == "RETURN_VALUE" and not (
            previous is not None and previous.opname == "LOAD_CONST" and previous.argval is None
        ):
            return True
        previous = ins
    return False


def _variable(t: Any, description: str) -> interface_pb2.Variable:
    return interface_pb2.Variable(type=TypeEngine.to_literal_type(t), description=description)


def to_typed_interface(iface: PythonInterface) -> interface_pb2.TypedInterface:
    """The flyteidl ``TypedInterface`` for ``iface`` (descriptions default to the variable name)."""
    doc = iface.docstring
    in_desc = doc.input_descriptions if doc is not None else {}
    out_desc = output_descriptions_for(doc, iface.outputs)
    typed = interface_pb2.TypedInterface(
        inputs=interface_pb2.VariableMap(), outputs=interface_pb2.VariableMap()
    )
    for var, t in iface.inputs.items():
        typed.inputs.variables[var].CopyFrom(_variable(t, in_desc.get(var, var)))
    for var, t in iface.outputs.items():
        typed.outputs.variables[var].CopyFrom(_variable(t, out_desc.get(var, var)))
    return typed
