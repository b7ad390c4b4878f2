"""Dataclasses made from a literal type, for dataclass values whose own class is not at hand.

A task registered by someone else (a colleague's flytekit task, an old version of a notebook's task)
declares a dataclass as ``STRUCT`` with the class's JSON schema in ``metadata`` and, since flytekit 1.14,
every field's own literal type in ``structure.dataclass_type``. From those this module makes a Python
dataclass of the same name, so ``result.accuracy`` works as with the original class — as flytekit's
``FlyteRemote`` does. The fields' types are guessed recursively from ``dataclass_type`` (nested
dataclasses become generated dataclasses too, lists stay typed lists); a field present only in the
JSON schema (flytekit drops fields it cannot type from ``dataclass_type``, and a union variant loses
its ``structure``) is typed from the schema, and anything beyond that is ``typing.Any`` (its decoded
msgpack value is kept as is).

Field order: the schema's ``required`` list keeps declaration order, so required fields come first as
declared; optional fields follow, by name (FlyteAdmin stores the rest as unordered maps), and default to
``None``. A struct without a schema title, or with field names that are not Python identifiers, stays a
``dict``.

Generated classes are remembered per literal type (bounded), so fetching the same execution twice gives
values of the same class, which compare equal.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import keyword
import typing
from collections.abc import Mapping
from typing import Any

from flyteidl.core import types_pb2

from flyte_nb.core.memo import BoundedMemo
from flyte_nb.errors import FlyteTypeError

__all__ = ["GENERATED_MODULE", "dataclass_from_literal_type", "dataclass_from_schema"]

#: The ``__module__`` of generated classes (no such module exists: their instances pickle by value).
GENERATED_MODULE = "flyte_nb.generated"

# Values are 1-tuples, so that "no dataclass here" (None) is remembered too.
_by_literal_type: BoundedMemo[bytes, tuple[type | None]] = BoundedMemo(256)
_by_schema: BoundedMemo[str, tuple[type | None]] = BoundedMemo(256)


def _struct_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(message)
    return data if isinstance(data, dict) else {}


def dataclass_from_literal_type(literal_type: types_pb2.LiteralType) -> type | None:
    """A dataclass for values of ``literal_type`` (a dataclass's STRUCT type), or ``None`` when it does
    not describe a dataclass (an untyped ``dict``)."""
    if literal_type.simple != types_pb2.STRUCT or not literal_type.HasField("metadata"):
        return None
    key = literal_type.SerializeToString(deterministic=True)
    known = _by_literal_type.get(key)
    if known is not None:
        return known[0]
    schema = _struct_dict(literal_type.metadata)
    typed = {name: _guess_field(t) for name, t in literal_type.structure.dataclass_type.items()}
    cls = _build(schema, typed, schema.get("$defs") or schema.get("definitions") or {})
    _by_literal_type.put(key, (cls,))
    return cls


def _guess_field(literal_type: types_pb2.LiteralType) -> Any:
    from flyte_nb.core.types.engine import TypeEngine

    try:
        return TypeEngine.guess_python_type(literal_type)
    except FlyteTypeError:
        return Any  # no Python type for it here: its msgpack value is kept as decoded


def dataclass_from_schema(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> type | None:
    """A dataclass from a JSON schema alone (mashumaro's or pydantic's), or ``None`` without a title."""
    import json

    key = json.dumps([schema, defs or {}], sort_keys=True, default=str)
    known = _by_schema.get(key)
    if known is not None:
        return known[0]
    cls = _build(schema, {}, defs or schema.get("$defs") or schema.get("definitions") or {})
    _by_schema.put(key, (cls,))
    return cls


def _build(schema: Mapping[str, Any], typed: Mapping[str, Any], defs: Mapping[str, Any]) -> type | None:
    title = schema.get("title")
    properties = schema.get("properties")
    if not isinstance(title, str) or not isinstance(properties, Mapping):
        return None
    names = list(dict.fromkeys([*typed, *properties]))
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        return None
    required = [n for n in schema.get("required") or () if n in names]
    optional = sorted(n for n in names if n not in required)
    fields: list[Any] = [(name, _field_type(name, typed, properties, defs)) for name in required]
    fields += [
        (name, _field_type(name, typed, properties, defs), dataclasses.field(default=None))
        for name in optional
    ]
    class_name = title if title.isidentifier() and not keyword.iskeyword(title) else "GeneratedDataclass"
    cls = dataclasses.make_dataclass(class_name, fields)
    cls.__module__ = GENERATED_MODULE
    cls.__doc__ = f"{title}, generated from its registered literal type (the original class is not imported)."
    return cls


def _field_type(
    name: str, typed: Mapping[str, Any], properties: Mapping[str, Any], defs: Mapping[str, Any]
) -> Any:
    if name in typed:
        return typed[name]
    prop = properties.get(name)
    return _schema_type(prop, defs) if isinstance(prop, Mapping) else Any


_SIMPLE = {"integer": int, "number": float, "boolean": bool, "null": type(None)}


def _schema_type(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    """The Python type of one JSON-schema property (flytekit's ``_handle_json_schema_property``)."""
    ref = prop.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        return _object_type(target, defs) if isinstance(target, Mapping) else Any
    variants = prop.get("anyOf")
    if isinstance(variants, list) and variants:
        args = tuple(_schema_type(v, defs) if isinstance(v, Mapping) else Any for v in variants)
        return functools.reduce(lambda a, b: typing.Union[a, b], args)  # noqa: UP007 - built at runtime
    kind = prop.get("type")
    if "enum" in prop or kind == "string":
        return _string_type(prop)
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind == "array":
        items = prop.get("items")
        return list[_schema_type(items, defs) if isinstance(items, Mapping) else Any]  # type: ignore[misc]
    if kind == "object":
        return _object_type(prop, defs)
    return Any


def _string_type(prop: Mapping[str, Any]) -> Any:
    fmt = prop.get("format")
    if fmt == "date-time":
        return datetime.datetime
    if fmt == "date":
        return datetime.date
    return str


def _object_type(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    extra = prop.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        return dict[str, _schema_type(extra, defs)]  # type: ignore[misc]
    if isinstance(prop.get("title"), str) and isinstance(prop.get("properties"), Mapping):
        nested = dataclass_from_schema(prop, defs)
        if nested is not None:
            return nested
    return dict
