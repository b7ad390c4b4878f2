"""Turning what a user typed in a form field into the value a task input expects, or saying why not.

Text fields are parsed as typed: ``2.7`` in an ``int`` field is refused (not read as ``27``), ``abc`` is
refused (not replaced by the default). A dict typed for a dataclass input is checked field by field —
unknown and missing fields, and each field's type — so a mistyped key or a wrong-typed field is named
next to the input before anything runs, as ``list[int]`` items already are by the type engine.

Every refusal is a :class:`~flyte_nb.errors.FlyteTypeError` whose message names the place inside the
value (``field 'lr'``, ``item [0]``), what was expected, what was received and the fix; the form adds
the task and input names in front.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import re
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

from flyte_nb.errors import FlyteTypeError

__all__ = [
    "check_value",
    "coerce",
    "data_kind",
    "declared_format",
    "is_plain",
    "loaded_class",
    "optional_inner",
    "parse_float",
    "parse_int",
    "strip_annotated",
]

_INT = re.compile(r"[+-]?\d[\d_]*")


def strip_annotated(t: Any) -> Any:
    """``X`` for ``Annotated[X, ...]`` (nested too), else ``t``."""
    while typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    return t


def optional_inner(t: Any) -> Any | None:
    """``X`` for ``Optional[X]`` / ``X | None`` (exactly one non-None member), else ``None``."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(t) if a is not type(None)]
        if len(members) == 1 and len(typing.get_args(t)) == 2:
            return members[0]
    return None


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def parse_int(text: str) -> int:
    """``text`` as an int, exactly as typed (``2.7`` and ``1e3`` are refused, not rounded)."""
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        hint = " (a whole number: no decimal point)" if re.fullmatch(r"[+-]?[\d_.eE+-]+", stripped) else ""
        raise FlyteTypeError(f"expected int{hint}, got {_got(text)}. Type a whole number, e.g. 3.")
    return int(stripped)


def parse_float(text: str) -> float:
    """``text`` as a float (``2``, ``2.5``, ``1e-3``, ``inf``)."""
    try:
        return float(text.strip())
    except ValueError:  # float()'s only complaint about a str: not a number
        raise FlyteTypeError(f"expected float, got {_got(text)}. Type a number, e.g. 0.5.") from None


def is_plain(value: Any) -> bool:
    """True for JSON-like data (safe and cheap to check against the type engine before running)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(is_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def check_value(value: Any, t: Any) -> None:
    """Ask the type engine whether ``value`` can be input type ``t``, without side effects.

    The engine converts through an in-memory store that keeps local paths where they are (as a call in
    the kernel does), so checking a typed path runs the engine's own checks (the file exists, it is no
    directory, it has the declared format) without copying the file anywhere.

    Raises
    ------
    FlyteTypeError
        The engine refuses the value; its message says what was expected and what was received.
    """
    from flyte_nb.core.storage import MemoryStore
    from flyte_nb.core.types import TypeEngine

    TypeEngine.to_literal(value, t, store=MemoryStore())


def loaded_class(module: str, name: str) -> Any:
    """A class from a module that is already imported (an annotation naming it means it is), else None."""
    found = sys.modules.get(module)
    return getattr(found, name, None) if found is not None else None


def _is_subclass(t: Any, cls: Any) -> bool:
    return cls is not None and isinstance(t, type) and issubclass(t, cls)


def data_kind(t: Any) -> str | None:
    """``"file"``, ``"directory"`` or ``"dataframe"`` for a data input annotation, else ``None``."""
    t = strip_annotated(t)
    if t is os.PathLike or _is_subclass(t, loaded_class("flyte_nb.core.types.file", "FlyteFile")):
        return "file"
    if _is_subclass(t, loaded_class("flyte_nb.core.types.directory", "FlyteDirectory")):
        return "directory"
    if _is_subclass(
        t, loaded_class("flyte_nb.core.types.structured_dataset", "StructuredDataset")
    ) or _is_subclass(t, loaded_class("pandas", "DataFrame")):
        return "dataframe"
    return None


def declared_format(t: Any) -> str:
    """The format ``FlyteFile["csv"]`` / ``FlyteDirectory["csv"]`` declares (``""`` for any)."""
    extension = getattr(strip_annotated(t), "extension", None)
    return str(extension()) if callable(extension) else ""


def _is_dataclass_type(t: Any) -> bool:
    """A user dataclass, travelling as its fields: not one with a Flyte type of its own (``FlyteFile``…
    are dataclasses too, and take a path)."""
    if not (isinstance(t, type) and dataclasses.is_dataclass(t)):
        return False
    from flyte_nb.core.types.dataclass import DataclassTransformer
    from flyte_nb.core.types.registry import find_transformer

    return isinstance(find_transformer(t), DataclassTransformer)


def _contains_dataclass(t: Any) -> bool:
    t = strip_annotated(t)
    return _is_dataclass_type(t) or any(_contains_dataclass(a) for a in typing.get_args(t))


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except NameError:  # a forward reference the class's module cannot resolve: check no field types
        return {}


def _where(path: str) -> str:
    """``field 'corner.x': `` / ``item [0].label: `` / nothing, for a path inside the input's value."""
    if not path:
        return ""
    return f"item {path}: " if path.startswith("[") else f"field {path!r}: "


def coerce(t: Any, value: Any, path: str = "") -> Any:
    """``value`` as input type ``t`` expects it: dataclasses built from dicts (and checked field by field),
    whole numbers widened where floats are expected (JSON has one number type), str-valued enums looked
    up by value; everything else is returned unchanged and checked by the type engine.

    Raises
    ------
    FlyteTypeError
        The value cannot be what ``t`` describes; the message names where inside the value.
    """
    t = strip_annotated(t)
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    inner = optional_inner(t)
    if inner is not None:
        return None if value is None else coerce(inner, value, path)
    if _is_dataclass_type(t):
        return _dataclass(t, value, path)
    if isinstance(t, type) and issubclass(t, enum.Enum) and isinstance(value, str):
        members = {str(m.value): m for m in t}
        if value not in members:
            raise FlyteTypeError(
                f"{_where(path)}expected one of {t.__name__}'s values {sorted(members)}, got {_got(value)}."
            )
        return members[value]
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list and args and isinstance(value, list) and _contains_dataclass(args[0]):
        return [coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is list and args and isinstance(value, list):
        return [coerce(args[0], v, path) for v in value] if strip_annotated(args[0]) is float else value
    widen = origin is dict and len(args) == 2 and isinstance(value, Mapping)
    if widen and (_contains_dataclass(args[1]) or strip_annotated(args[1]) is float):
        return {k: coerce(args[1], v, f"{path}[{k!r}]") for k, v in value.items()}
    return value


def _dataclass(cls: type, value: Any, path: str) -> Any:
    name = cls.__name__
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    if isinstance(value, cls):
        given = {n: getattr(value, n) for n in fields}
    elif isinstance(value, Mapping):
        given = dict(value)
    else:
        raise FlyteTypeError(
            f"{_where(path)}expected {name} (a dataclass: a dict of its fields {list(fields)}), got "
            f"{_got(value)}. Write e.g. {{{', '.join(f'{n!r}: …' for n in fields)}}}."
        )
    unknown = [k for k in given if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Use its fields: {', '.join(fields)}."
        raise FlyteTypeError(
            f"{_where(path)}{name} has no field {key!r} (its fields: {', '.join(fields)}). {hint}"
        )
    missing = [
        n
        for n, f in fields.items()
        if n not in given and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise FlyteTypeError(
            f"{_where(path)}{name} field {missing[0]!r} is missing (it has no default). "
            f"Add it: {{…, {missing[0]!r}: …}}."
        )
    hints = _hints(cls)
    built = {k: _field(hints.get(k, Any), v, f"{path}.{k}" if path else str(k)) for k, v in given.items()}
    if isinstance(value, cls) and all(built[k] is given[k] for k in built):
        return value
    try:
        return cls(**built)
    except Exception as exc:  # noqa: BLE001 - the user's own __init__/__post_init__ may refuse anything; shown at the field
        raise FlyteTypeError(f"{_where(path)}{name}({built!r}) raised {type(exc).__name__}: {exc}") from None


def _field(hint: Any, value: Any, path: str) -> Any:
    """One dataclass field: built (nested dataclasses, widened floats), then checked by the type engine."""
    value = coerce(hint, value, path)
    if hint is Any or _contains_dataclass(hint) or not is_plain(value):
        return value
    try:
        check_value(value, hint)
    except FlyteTypeError as exc:
        raise FlyteTypeError(f"{_where(path)}{exc}") from None
    return value
