"""``TypeEngine``: dispatch from a Python type to its transformer, with a per-type cache.

The engine itself knows no encodings. It finds the transformer for an annotation (once per annotation:
the lookup, the transformer and the LiteralType are cached, so converting two ints in the kernel costs a
dict lookup and two protobuf constructions), applies what flytekit applies around every transformer
(``Annotated`` unwrapping and ``FlyteAnnotation`` merging, offloaded-literal resolution), and raises the
errors that an annotation alone decides (bare ``list``, tuples).

Transformer modules are imported on first use, never by ``import flyte_nb``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.memo import BoundedMemo
from flyte_nb.core.storage import LocalStore, RawStore
from flyte_nb.core.types import recursion
from flyte_nb.core.types._common import CACHE_KEY_METADATA, strip_annotated, struct_from
from flyte_nb.core.types.annotations import FlyteAnnotation
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError

__all__ = ["GENERATION", "TypeEngine", "codec", "decode", "default_store", "encode_into"]

_NoneType = type(None)


@functools.cache
def default_store() -> RawStore:
    """The store used when a caller passes none: local files under a temp dir made on first use."""
    return LocalStore()


@dataclass(frozen=True)
class _Entry:
    """Everything the engine needs per annotation, computed once."""

    transformer: TypeTransformer[Any]
    #: What the transformer is given: the annotation without ``Annotated`` unless it asked for it.
    py: Any
    #: The LiteralType of the annotation, FlyteAnnotation merged in (the interface type).
    literal_type: types_pb2.LiteralType
    #: The transformer's own LiteralType (no FlyteAnnotation): what union literals store.
    base_literal_type: types_pb2.LiteralType
    #: ``Annotated[T, HashMethod(fn)]``: ``fn`` gives every literal of this annotation its ``hash``.
    hash_method: Any = None


#: How many annotations the engine remembers. Bounded (oldest first out) because a notebook makes a new
#: class each time it re-runs a ``@dataclass`` cell, and the memo must not keep every old one alive.
MEMO_SIZE = 2048
#: Structural key -> entry. typing's ``==`` ignores the order of ``Union``/``Literal`` arguments, but the
#: order is part of the wire format (variant order), so the key keeps it.
_ENTRIES: BoundedMemo[Any, _Entry] = BoundedMemo(MEMO_SIZE)
#: ``id(annotation)`` -> (annotation, entry): the fast path, since typing interns most aliases. The
#: annotation is kept in the value so its id cannot be reused while cached.
_BY_ID: BoundedMemo[int, tuple[Any, _Entry]] = BoundedMemo(MEMO_SIZE)


def _entry(python_type: Any) -> _Entry:
    hit = _BY_ID.get(id(python_type))
    if hit is not None and hit[0] is python_type:
        return hit[1]
    try:
        key = _structural_key(python_type)
        entry = _ENTRIES.get(key)
    except TypeError:  # unhashable Annotated metadata (e.g. a dict of dataframe columns)
        entry = None
        key = None
    if entry is None:
        if recursion.building(key):  # a self-reference: the transformer says what stands in for it
            return _stand_in(python_type)
        recursion.enter(key)
        try:
            entry = _build_entry(python_type)
        finally:
            cacheable = recursion.leave()
        if not cacheable:
            return entry
        if key is not None:
            _ENTRIES.put(key, entry)
    _BY_ID.put(id(python_type), (python_type, entry))
    return entry


#: ``GENERATION[0]`` changes whenever the cached entries are dropped (a custom transformer was registered):
#: what a caller derived from :func:`codec` under another generation is stale. A list, so that callers on
#: every task call's path read it without a function call.
GENERATION = [0]


def forget_cached_types() -> None:
    """Drop every cached entry (a custom transformer was registered: lookups may now differ)."""
    _ENTRIES.clear()
    _BY_ID.clear()
    GENERATION[0] += 1


def _stand_in(python_type: Any) -> _Entry:
    from flyte_nb.core.types import registry

    inner, _metadata = strip_annotated(python_type)
    transformer = registry.find_transformer(inner)
    literal_type = transformer.recursive_literal_type(inner)
    recursion.lent_stand_in()
    return _Entry(transformer, inner, literal_type, literal_type)


def _structural_key(python_type: Any) -> Any:
    """A hashable key equal only for annotations that convert identically (argument order included)."""
    inner, metadata = strip_annotated(python_type)
    if metadata:
        return ("Annotated", _structural_key(inner), metadata)
    origin = typing.get_origin(python_type)
    if origin is None:
        return python_type
    args = typing.get_args(python_type)
    if origin is typing.Literal:  # Literal[1] and Literal[True] are different types
        return (origin, tuple((type(a), a) for a in args))
    return (origin, tuple(_structural_key(a) for a in args))


def _build_entry(python_type: Any) -> _Entry:
    from flyte_nb.core.types import registry

    inner, metadata = strip_annotated(python_type)
    if inner is None:
        inner = _NoneType
    transformer = registry.find_transformer(inner)
    py = python_type if (transformer.wants_annotated and metadata) else inner
    base = transformer.get_literal_type(py)
    hash_method = _hash_method(metadata)
    flyte_annotations = [m for m in metadata if isinstance(m, FlyteAnnotation)]
    if not flyte_annotations:
        return _Entry(transformer, py, base, base, hash_method)
    if len(flyte_annotations) > 1:
        raise UnsupportedTypeError(
            f"expected at most one FlyteAnnotation in {python_type!r}, got {len(flyte_annotations)}. "
            "Merge them into a single FlyteAnnotation({...})."
        )
    if not transformer.flyte_annotation_allowed:
        raise UnsupportedTypeError(
            f"FlyteAnnotation is not supported on {transformer.describe(inner)} (as in flytekit), got "
            f"{python_type!r}. Drop the FlyteAnnotation or put the information in the class docstring."
        )
    data = dict(flyte_annotations[0].data)
    if CACHE_KEY_METADATA in data:
        raise UnsupportedTypeError(
            f"FlyteAnnotation cannot contain the reserved key {CACHE_KEY_METADATA!r}, got {data!r}. "
            "Rename that key."
        )
    from google.protobuf.json_format import MessageToDict

    if base.HasField("annotation"):
        # flytekit merges the type's own annotation over the user's (its keys win).
        data.update(MessageToDict(base.annotation.annotations))
    full = types_pb2.LiteralType()
    full.CopyFrom(base)
    full.annotation.annotations.CopyFrom(struct_from(data))
    return _Entry(transformer, py, full, base, hash_method)


def _hash_method(metadata: tuple[Any, ...]) -> Any:
    """The first ``HashMethod`` in ``Annotated`` metadata, as flytekit picks it (``None`` without one)."""
    if not metadata:
        return None
    from flyte_nb.core.types.hash_method import HashMethod

    return next((m for m in metadata if isinstance(m, HashMethod)), None)


def _resolve_offloaded(literal: literals_pb2.Literal, store: RawStore) -> literals_pb2.Literal:
    """The literal an ``offloaded_metadata`` literal points to (Flyte offloads big outputs)."""
    out = literals_pb2.Literal()
    out.ParseFromString(store.read_bytes(literal.offloaded_metadata.uri))
    return out


def codec(python_type: Any) -> _Entry:
    """What converting a value of ``python_type`` takes: its transformer, the type the transformer is given
    (``py``), the interface's ``literal_type`` and the ``hash_method`` of ``Annotated[T, HashMethod(f)]``.

    For callers that convert many values of one interface (the in-kernel call keeps these per task):
    ``encode_into`` and ``decode`` below are exactly these steps. Valid until :data:`GENERATION` changes.
    """
    hit = _BY_ID.get(id(python_type))
    return hit[1] if hit is not None and hit[0] is python_type else _entry(python_type)


def encode_into(target: literals_pb2.Literal, value: Any, python_type: Any, store: RawStore) -> None:
    """``TypeEngine.to_literal``, written into ``target`` (an empty literal, e.g. a ``LiteralMap`` entry)."""
    e = codec(python_type)
    e.transformer.to_literal_into(target, value, e.py, e.literal_type, store)
    if e.hash_method is not None:
        target.hash = e.hash_method.calculate(value)


def decode(literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
    """``TypeEngine.to_python_value`` with a store given."""
    if literal.HasField("offloaded_metadata"):
        literal = _resolve_offloaded(literal, store)
    e = codec(python_type)
    return e.transformer.to_python_value(literal, e.py, store)


class TypeEngine:
    """Converts between Python values/types and Flyte literals/literal types (flytekit 1.16 formats).

    Every method is a classmethod; there is no instance state apart from the per-annotation cache.
    ``store`` is where raw data (pickles, arrays, dataframes) is written to and read from; ``None`` means a
    local temporary directory created on first use.
    """

    @classmethod
    def get_transformer(cls, python_type: Any) -> TypeTransformer[Any]:
        """The transformer responsible for ``python_type`` (raises ``UnsupportedTypeError`` if none can be)."""
        return _entry(python_type).transformer

    @classmethod
    def to_literal_type(cls, python_type: Any) -> types_pb2.LiteralType:
        """The Flyte ``LiteralType`` of ``python_type``, as flytekit's ``TypeEngine.to_literal_type``."""
        out = types_pb2.LiteralType()
        out.CopyFrom(_entry(python_type).literal_type)
        return out

    @classmethod
    def base_literal_type(cls, python_type: Any) -> types_pb2.LiteralType:
        """The LiteralType without ``FlyteAnnotation`` data (what a union literal stores as its type)."""
        out = types_pb2.LiteralType()
        out.CopyFrom(_entry(python_type).base_literal_type)
        return out

    @classmethod
    def to_literal(
        cls, python_value: Any, python_type: Any, *, store: RawStore | None = None
    ) -> literals_pb2.Literal:
        """Encode ``python_value`` as the Literal flytekit would produce for ``python_type``."""
        e = _entry(python_type)
        literal = e.transformer.to_literal(
            python_value, e.py, e.literal_type, default_store() if store is None else store
        )
        if e.hash_method is not None:
            literal.hash = e.hash_method.calculate(python_value)
        return literal

    @classmethod
    def to_python_value(
        cls, literal: literals_pb2.Literal, python_type: Any, *, store: RawStore | None = None
    ) -> Any:
        """Decode ``literal`` into a value of ``python_type`` (as leniently as flytekit does)."""
        return decode(literal, python_type, default_store() if store is None else store)

    @classmethod
    def to_literal_map(
        cls,
        values: Mapping[str, Any],
        python_types: Mapping[str, Any],
        *,
        store: RawStore | None = None,
    ) -> literals_pb2.LiteralMap:
        """Encode every ``values[name]`` with ``python_types[name]`` into one ``LiteralMap``.

        Errors are re-raised with the variable name in front (``'x': expected int, …``).
        """
        store = default_store() if store is None else store
        lm = literals_pb2.LiteralMap()
        for name, value in values.items():
            if name not in python_types:
                raise FlyteTypeError(
                    f"expected one of the variables {sorted(python_types)}, got a value for {name!r}. "
                    "Remove it or add it to the interface."
                )
            try:
                lit = cls.to_literal(value, python_types[name], store=store)
            except FlyteTypeError as exc:
                raise type(exc)(f"{name!r}: {exc}") from exc
            lm.literals[name].CopyFrom(lit)
        return lm

    @classmethod
    def literal_map_to_python(
        cls,
        literal_map: literals_pb2.LiteralMap,
        python_types: Mapping[str, Any],
        *,
        store: RawStore | None = None,
    ) -> dict[str, Any]:
        """Decode every literal of ``literal_map`` with its type from ``python_types``.

        Keys come out in ``python_types`` order (a LiteralMap has none); extra literals are an error.
        """
        store = default_store() if store is None else store
        extra = set(literal_map.literals) - set(python_types)
        if extra:
            raise FlyteTypeError(
                f"expected only the variables {sorted(python_types)}, got literals for {sorted(extra)}. "
                "The literal map was produced for another interface."
            )
        out: dict[str, Any] = {}
        for name, python_type in python_types.items():
            if name in literal_map.literals:
                try:
                    out[name] = cls.to_python_value(literal_map.literals[name], python_type, store=store)
                except FlyteTypeError as exc:
                    raise type(exc)(f"{name!r}: {exc}") from exc
        return out

    # -- custom types --------------------------------------------------------------------------------
    @classmethod
    def register(cls, transformer: Any, additional_types: list[Any] | None = None) -> None:
        """Register a custom type's transformer, written for flytekit (see :class:`flyte_nb.TypeTransformer`).

        ``transformer.python_type`` (and each of ``additional_types``) is then converted by it, in tasks
        and in every ``to_literal`` / ``to_python_value`` call; subclasses of those types too.
        """
        from flyte_nb.core.types import custom

        custom.register(transformer, additional_types)

    @classmethod
    def register_additional_type(cls, transformer: Any, additional_type: Any, override: bool = False) -> None:
        """Also use ``transformer`` for ``additional_type`` (``override`` replaces another's)."""
        from flyte_nb.core.types import custom

        custom.register(transformer, [additional_type], override=override)

    # -- questions about annotations ---------------------------------------------------------------
    @classmethod
    def describe(cls, python_type: Any) -> str:
        """A short human name for the Flyte type: ``int``, ``list[int]``, ``Optional[int]``, ``pickle (Model)``."""
        e = _entry(python_type)
        return e.transformer.describe(e.py)

    @classmethod
    def is_pickled(cls, python_type: Any) -> bool:
        """True when values of ``python_type`` (or anything nested in it) travel as Python pickles."""
        e = _entry(python_type)
        return e.transformer.is_pickled(e.py)

    @classmethod
    def validate_annotation(cls, python_type: Any) -> None:
        """Raise ``UnsupportedTypeError`` when ``python_type`` can never be converted.

        The message does not name the variable: callers prefix it (``Task 'f' input 'x': …``).
        """
        try:
            e = _entry(python_type)
            e.transformer.validate(e.py)
        except UnsupportedTypeError:
            raise
        except FlyteTypeError as exc:
            raise UnsupportedTypeError(str(exc)) from exc

    @classmethod
    def guess_python_type(cls, literal_type: types_pb2.LiteralType) -> Any:
        """A Python type that decodes literals of ``literal_type`` (for interfaces known only remotely)."""
        from flyte_nb.core.types import registry

        return registry.guess_python_type(literal_type)


def is_union(python_type: Any) -> bool:
    """True for ``Union[...]``, ``Optional[...]`` and ``A | B``."""
    origin = typing.get_origin(python_type)
    return origin is typing.Union or origin is types.UnionType
