"""Dataclasses ⇄ msgpack ``Binary`` under a ``STRUCT`` type with JSON schema and ``dataclassType``.

This is flytekit 1.16's default dataclass format:

* LiteralType: ``simple=STRUCT``; ``metadata`` is mashumaro's ``build_json_schema(cls).to_dict()``;
  ``structure.dataclass_type`` maps each field to its LiteralType (fields with no Flyte type are left
  out, silently, as flytekit does); ``annotation`` is the msgpack cache-key annotation.
* Literal: mashumaro ``MessagePackEncoder(cls).encode(value)`` as a msgpack ``Binary``.
* Decoding accepts that Binary and the pre-1.14 ``scalar.generic`` Struct (whose numbers are all
  doubles, so int fields are converted back).

A dataclass may refer to itself where a value may be missing, ``child: Optional["Node"] = None``, as in
flytekit: the union variant keeps only its tag, so the type is finite. Any other self-reference
(``child: "Node"``, ``children: list["Node"]``) would be an infinitely deep type, which flytekit fails to
serialize; it is refused when the task is defined (:mod:`flyte_nb.core.types.recursion`).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Iterator
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import (
    MSGPACK_ANNOTATION,
    binary_literal,
    decode_msgpack,
    is_instance_or_rerun,
    msgpack_decoder,
    msgpack_encoder,
    received,
    scalar_kind,
    struct_from,
)
from flyte_nb.core.types._data import converting_with, with_path_objects
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine, is_union
from flyte_nb.errors import FlyteTypeError, RecursiveTypeError, StorageError, UnsupportedTypeError

__all__ = ["DataclassTransformer", "struct_literal_type", "wrong_field"]


#: ``structure.tag`` of what stands in for a dataclass inside its own type. A union overwrites it with its
#: variant tag (the expressible case); anywhere else it survives, and the dataclass is refused.
_SELF_REFERENCE = "flyte_nb:self-reference:"


def type_hints(cls: Any) -> dict[str, Any]:
    """``typing.get_type_hints(cls)``, with the class's own name resolvable: a self-reference
    (``Optional["Node"]``) must resolve where the class was unpickled, in a module that never defined it."""
    try:
        _pin_notebook_annotations(cls)
        return typing.get_type_hints(cls, localns={cls.__name__: cls})
    except NameError as exc:
        raise UnsupportedTypeError(
            f"expected the annotations of {cls.__name__} to name defined types, got {exc.name!r}, which is not "
            f"defined in {cls.__module__} ({exc}). Import or define {exc.name} before {cls.__name__}."
        ) from None


def _pin_notebook_annotations(cls: Any) -> None:
    """Replace the annotations of a class defined in ``__main__`` (a notebook cell) by what they resolve
    to here, where the notebook's names are.

    Such a class travels in the task's payload by value, without the notebook's namespace: in the
    container ``Optional["Node"]``, or ``"Optional[Tree]"`` under ``from __future__ import annotations``,
    would be resolved against the entrypoint's ``__main__`` and fail with a NameError.
    """
    if cls.__module__ != "__main__":
        return
    own = inspect.get_annotations(cls)
    resolved = typing.get_type_hints(cls, localns={cls.__name__: cls}, include_extras=True)
    if any(own[name] is not resolved.get(name, own[name]) for name in own):
        cls.__annotations__ = {name: resolved.get(name, annotation) for name, annotation in own.items()}


def struct_literal_type(schema: dict[str, Any] | None, field_types: dict[str, Any]) -> types_pb2.LiteralType:
    """The STRUCT LiteralType flytekit gives dataclasses and pydantic models.

    Fields whose type has no LiteralType are dropped from ``dataclass_type`` (flytekit's behaviour).
    """
    lt = types_pb2.LiteralType(
        simple=types_pb2.STRUCT,
        annotation=types_pb2.TypeAnnotation(annotations=struct_from(MSGPACK_ANNOTATION)),
    )
    if schema is not None:
        lt.metadata.CopyFrom(struct_from(schema))
    lt.structure.SetInParent()
    for name, field_type in field_types.items():
        try:
            field_lt = TypeEngine.to_literal_type(field_type)
        except RecursiveTypeError:
            raise
        except (FlyteTypeError, TypeError, ValueError):  # flytekit skips unmappable fields silently
            continue
        lt.structure.dataclass_type[name].CopyFrom(field_lt)
    return lt


def _fix_ints(python_type: Any, value: Any) -> Any:
    """Turn the doubles of a Struct back into ints where the dataclass declares int."""
    if value is None:
        return None
    if is_union(python_type):
        args = [a for a in typing.get_args(python_type) if a is not type(None)]
        python_type = args[0] if len(args) == 1 else Any
    if python_type is int and isinstance(value, float):
        return int(value)
    origin = typing.get_origin(python_type)
    if isinstance(value, list) and origin is list:
        (item,) = typing.get_args(python_type)
        return [_fix_ints(item, v) for v in value]
    if isinstance(value, dict) and origin is dict:
        _, vt = typing.get_args(python_type)
        return {k: _fix_ints(vt, v) for k, v in value.items()}
    if isinstance(value, dict) and dataclasses.is_dataclass(python_type):
        hints = type_hints(python_type)
        return {k: _fix_ints(hints.get(k, Any), v) for k, v in value.items()}
    return value


def _json_schema(python_type: Any) -> dict[str, Any] | None:
    try:
        from mashumaro.jsonschema import build_json_schema

        schema: dict[str, Any] = build_json_schema(python_type).to_dict()
    except Exception:  # noqa: BLE001 - mashumaro raises many types for what it cannot describe; flytekit goes on without a schema too
        return None
    return schema


def _stand_ins(literal_type: types_pb2.LiteralType) -> Iterator[str]:
    """The classes whose self-reference stand-in survives in ``literal_type`` (outside a union)."""
    if literal_type.structure.tag.startswith(_SELF_REFERENCE):
        yield literal_type.structure.tag[len(_SELF_REFERENCE) :]
    which = literal_type.WhichOneof("type")
    if which == "collection_type":
        yield from _stand_ins(literal_type.collection_type)
    elif which == "map_value_type":
        yield from _stand_ins(literal_type.map_value_type)
    for nested in literal_type.structure.dataclass_type.values():
        yield from _stand_ins(nested)


def _refuse_infinite(python_type: Any, literal_type: types_pb2.LiteralType, fields: dict[str, Any]) -> None:
    for name, field_lt in literal_type.structure.dataclass_type.items():
        for target in _stand_ins(field_lt):
            raise RecursiveTypeError(
                f"expected {python_type.__name__}.{name} to refer to {target} only where a value may be "
                f"missing (Optional[{target!r}] = None), got {TypeEngine.describe(fields[name])}: a Flyte type "
                f"cannot contain itself, so that type would be infinitely deep (flytekit fails on it too). "
                f"Make the reference optional, e.g. {name}: Optional[{target!r}] = None (a list of them: "
                f"list[Optional[{target!r}]])."
            )


def wrong_field(python_type: Any, error: BaseException | None) -> str | None:
    """The message for a value whose field has the wrong type (mashumaro's ``InvalidFieldValue`` chain),
    naming the field's path, the expected type and the value received; ``None`` for any other error."""
    from mashumaro.exceptions import InvalidFieldValue

    steps: list[InvalidFieldValue] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, InvalidFieldValue):
            steps.append(error)
        error = error.__cause__ or error.__context__
    if not steps:
        return None
    last = steps[-1]
    path = " -> ".join(f"{step.holder_class_name}.{step.field_name}" for step in steps)
    return (
        f"field {path}: expected {last.field_type_name}, got {received(last.field_value)}. The "
        f"{python_type.__name__} was built with a value of the wrong type in that field (or written by "
        f"another version of the class); pass a value of type {last.field_type_name} there."
    )


class DataclassTransformer(TypeTransformer[Any]):
    """``@dataclass`` classes (mashumaro msgpack)."""

    name = "Object-Dataclass-Transformer"
    flyte_annotation_allowed = False

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and dataclasses.is_dataclass(python_type)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        hints = type_hints(python_type)
        fields = {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(python_type)}
        literal_type = struct_literal_type(_json_schema(python_type), fields)
        _refuse_infinite(python_type, literal_type, fields)
        return literal_type

    def recursive_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        # As the class's own type looks from outside, without its fields: inside a union (the one
        # place a self-reference is expressible) only this much is kept anyway, as flytekit keeps it.
        literal_type = struct_literal_type(_json_schema(python_type), {})
        literal_type.structure.tag = f"{_SELF_REFERENCE}{python_type.__name__}"
        return literal_type

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        import msgpack

        if type(value) is dict:  # flytekit lets a plain dict stand in for the dataclass
            return binary_literal(msgpack.dumps(value))
        if not (dataclasses.is_dataclass(type(value)) and is_instance_or_rerun(value, python_type)):
            raise FlyteTypeError(
                f"expected a {python_type.__name__} instance, got {received(value)}. "
                f"Build it with {python_type.__name__}(...)."
            )
        try:
            encoder = msgpack_encoder(python_type)
        except Exception as exc:
            raise FlyteTypeError(
                f"expected {python_type.__name__} to have fields msgpack can encode, got an error: {exc}. "
                "Give every field a Flyte-compatible type (int, str, list[T], nested dataclasses …)."
            ) from exc
        try:
            # Files, directories and datasets in fields convert through this call's store.
            with converting_with(store):
                return binary_literal(encoder.encode(with_path_objects(value, python_type)))
        except (FlyteTypeError, StorageError):
            raise
        except Exception as exc:
            raise FlyteTypeError(
                f"expected a {python_type.__name__} whose field values match their annotations, got "
                f"{received(value)}: {type(exc).__name__}: {exc}. Fix the field values."
            ) from exc

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        scalar = literal.scalar
        if scalar.HasField("binary"):
            try:
                with converting_with(store):  # files inside the dataclass read through the run's store
                    return decode_msgpack(
                        literal,
                        python_type,
                        python_type.__name__,
                        "The dataclass changed since the value was written; make new fields optional.",
                    )
            except FlyteTypeError as exc:
                field = wrong_field(python_type, exc.__cause__)
                if field is None:
                    raise
                raise FlyteTypeError(field) from exc.__cause__
        if scalar.HasField("generic"):
            from google.protobuf.json_format import MessageToDict
            from mashumaro.codecs.basic import decode

            data = _fix_ints(python_type, MessageToDict(scalar.generic))
            try:
                with converting_with(store):
                    return decode(data, python_type)
            except (FlyteTypeError, StorageError):
                raise
            except Exception as exc:
                field = wrong_field(python_type, exc)
                if field is not None:
                    raise FlyteTypeError(field) from exc
                raise FlyteTypeError(
                    f"expected a struct matching {python_type.__name__}, got {received(data)}: {exc}. "
                    "The dataclass changed since the value was written; make new fields optional."
                ) from exc
        raise FlyteTypeError(
            f"expected a msgpack binary or struct for {python_type.__name__}, got {scalar_kind(literal)}. "
            "The value was produced for another type."
        )

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        # A dataclass generated from the registered schema (as flytekit's FlyteRemote does), so that
        # attribute access works without the original class; a struct that describes none stays a dict.
        from flyte_nb.core.types.generated import dataclass_from_literal_type

        generated = dataclass_from_literal_type(literal_type)
        return generated if generated is not None else dict

    def describe(self, python_type: Any) -> str:
        return f"{python_type.__name__} (dataclass)"

    def validate(self, python_type: Any) -> None:
        try:
            msgpack_encoder(python_type)
            msgpack_decoder(python_type)
        except Exception as exc:
            raise UnsupportedTypeError(
                f"expected a dataclass whose fields msgpack can encode, got {python_type.__name__}: {exc}. "
                "Give every field a Flyte-compatible type (int, str, list[T], dict[str, T], nested "
                "dataclasses …); a field of an arbitrary class cannot be pickled inside a dataclass."
            ) from exc

    def is_pickled(self, python_type: Any) -> bool:
        return False
