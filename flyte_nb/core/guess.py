"""Python types for an interface known only as a ``TypedInterface`` (a task registered elsewhere).

``Remote.execution(name)`` decodes the inputs and outputs of any execution, including ones flytekit
launched, from the interface FlyteAdmin has registered for it. Each variable's Python type is what
:meth:`TypeEngine.guess_python_type` makes of its literal type, as flytekit's ``FlyteRemote`` guesses:
``int``, ``list[float]``, ``dict[str, int]``, ``Optional[str]``, a generated dataclass for a dataclass
(:mod:`flyte_nb.core.types.generated`), ``dict`` for an untyped dict, ``pandas.DataFrame`` for a
dataset, ``typing.Any`` (the unpickled object) for a pickle, and whatever the type engine learns to
guess later (files, directories…).

Two things the registered interface cannot say, and how they are settled:

* **order** — a ``VariableMap`` is an unordered protobuf map. Outputs ``o0, o1, …`` (a returned tuple)
  are put in numeric order, so a tuple comes back in the order it was returned; other names (a
  ``NamedTuple``'s fields) are sorted by name and returned as a named tuple: read them by name. Inputs
  are sorted by name.
* **what cannot be guessed** — a variable whose literal type has no Python type here yet does not stop
  the others: decoding it raises an error naming the variable and its type, and the fix (pass the task).
"""

from __future__ import annotations

import collections
import re
from collections.abc import Mapping
from typing import Any

from flyteidl.core import interface_pb2, literals_pb2, types_pb2

from flyte_nb.core.interface import PythonInterface
from flyte_nb.core.storage import RawStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import FlyteTypeError

__all__ = ["Undecodable", "decode_literals", "guess_interface", "ordered_outputs"]

_INDEXED = re.compile(r"^o(\d+)$")


class Undecodable:
    """Stands for the Python type of a variable whose literal type cannot be decoded here.

    Attributes
    ----------
    literal_type:
        The registered literal type.
    reason:
        Why no Python type fits (the type engine's message).
    """

    def __init__(self, literal_type: types_pb2.LiteralType, reason: str) -> None:
        self.literal_type = literal_type
        self.reason = reason

    def __repr__(self) -> str:
        return f"Undecodable({self.literal_type.WhichOneof('type') or 'empty'})"


def _guess(literal_type: types_pb2.LiteralType) -> Any:
    try:
        return TypeEngine.guess_python_type(literal_type)
    except FlyteTypeError as exc:
        return Undecodable(literal_type, str(exc))


def ordered_outputs(names: list[str]) -> list[str]:
    """``o0, o1, …, o10`` in numeric order when every name is indexed like that, else sorted by name."""
    if names and all(_INDEXED.match(n) for n in names):
        return sorted(names, key=lambda n: int(n[1:]))
    return sorted(names)


def guess_interface(interface: interface_pb2.TypedInterface, name: str = "registered") -> PythonInterface:
    """The Python interface ``interface`` implies (see the module docstring); never raises."""
    inputs = {k: _guess(interface.inputs.variables[k].type) for k in sorted(interface.inputs.variables)}
    out_names = ordered_outputs(list(interface.outputs.variables))
    outputs = {k: _guess(interface.outputs.variables[k].type) for k in out_names}
    tuple_type: Any = None
    named = len(out_names) > 1 and not all(_INDEXED.match(n) for n in out_names)
    if named and all(n.isidentifier() and not n.startswith("_") for n in out_names):
        make_tuple: Any = collections.namedtuple  # the field names are known at runtime only
        tuple_type = make_tuple(f"{_class_name(name)}Outputs", out_names)
    return PythonInterface(
        inputs=inputs,
        outputs=outputs,
        output_tuple_name=tuple_type.__name__ if tuple_type is not None else None,
        output_tuple_type=tuple_type,
    )


def _class_name(task_name: str) -> str:
    short = re.sub(r"\W", "_", task_name.rsplit(".", 1)[-1]) or "Task"
    return short[0].upper() + short[1:] if short[0].isalpha() else f"T{short}"


def decode_literals(
    what: str,
    types: Mapping[str, Any],
    literal_map: literals_pb2.LiteralMap,
    store: RawStore,
    *,
    fix: str,
    literal_types: Mapping[str, types_pb2.LiteralType] | None = None,
) -> dict[str, Any]:
    """Decode each literal of ``literal_map`` that ``types`` names, into its Python value.

    Parameters
    ----------
    what:
        How to name a variable in errors, with ``{}`` for its name (``"Execution x output '{}'"``).
    types:
        Variable name → Python type (from :func:`guess_interface` or the task's own interface).
    fix:
        What to do when a value cannot be decoded (``"pass the task: remote.execution(name, task)"``).
    literal_types:
        The registered literal types, to name the class of a pickle that cannot be loaded.

    Raises
    ------
    FlyteTypeError
        A variable has no Python type here, or its value does not decode (a pickled class that cannot
        be imported is named).
    """
    values: dict[str, Any] = {}
    for var, python_type in types.items():
        if var not in literal_map.literals:
            continue
        literal = literal_map.literals[var]
        label = what.format(var)
        if isinstance(python_type, Undecodable):
            raise FlyteTypeError(
                f"{label}: expected a literal type flyte_nb can decode, got "
                f"{python_type.literal_type.WhichOneof('type')} ({python_type.reason}). To read it, {fix}."
            )
        try:
            values[var] = TypeEngine.to_python_value(literal, python_type, store=store)
        except FlyteTypeError as exc:
            declared = (literal_types or {}).get(var)
            raise FlyteTypeError(f"{label}: {_decode_problem(exc, declared)} Or {fix}.") from exc
    return values


def _decode_problem(exc: FlyteTypeError, declared: types_pb2.LiteralType | None) -> str:
    """The message for a value that did not decode; a pickle whose class is missing says so by name."""
    cause = exc.__cause__
    if isinstance(cause, (ImportError, AttributeError)):
        name = ""
        if declared is not None and "python_class_name" in declared.metadata.fields:
            name = f" {declared.metadata.fields['python_class_name'].string_value}"
        return (
            f"expected a pickle this Python can load, got a pickled object{name} whose class cannot be "
            f"imported here ({type(cause).__name__}: {cause}). Install or import the module that defines "
            "it, then read the value again."
        )
    return f"{exc}."
