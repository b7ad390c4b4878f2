"""Custom types written for flytekit: the public ``TypeTransformer`` and ``TypeEngine.register``.

A flytekit user teaches the type engine a new type with a ``TypeTransformer[T]`` subclass whose methods take
a context argument first (``to_literal(ctx, python_val, python_type, expected)``,
``to_python_value(ctx, lv, expected_python_type)``) and registers it with ``TypeEngine.register``. That code
runs here unchanged; where it names a flytekit model (``Literal``, ``LiteralType``…) flyte_nb takes the
flyteidl message of the same name and fields (``flyteidl.core.literals_pb2.Literal``…), as everywhere
else in flyte_nb's seed API. Models that still come back from flytekit (``to_flyte_idl()``) are accepted.

flyte_nb's own transformers have another shape (:mod:`flyte_nb.core.types.base`: an explicit raw-data
store instead of a context). :class:`_Adapter` gives a registered flytekit-style transformer that shape,
so the engine treats it like any other: its ``name`` is the union tag it writes, exactly as in flytekit.

Unlike flytekit, registering a transformer again under the same name (a notebook cell run twice) replaces
the earlier one instead of failing.
"""

from __future__ import annotations

import html
import threading
import typing
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types import base
from flyte_nb.errors import FlyteTypeError, TypeRegistrationError

__all__ = ["TypeTransformer", "lookup", "register", "registered"]

T = TypeVar("T")


class TypeTransformer(Generic[T]):
    """The base of a custom type's transformer, with flytekit's method names and signatures.

    Subclass it and implement :meth:`get_literal_type`, :meth:`to_literal` and :meth:`to_python_value`
    (and :meth:`guess_python_type` to decode without the Python type), then
    ``flyte_nb.TypeEngine.register(MyTransformer())``.

    Parameters
    ----------
    name:
        The transformer's name; it is the ``structure.tag`` of this type inside a ``Union``.
    t:
        The Python type it handles (subclasses are handled too, as in flytekit).
    enable_type_assertions:
        Check ``isinstance(value, t)`` before :meth:`to_literal` (see :meth:`assert_type`).

    Examples
    --------
    >>> from flyteidl.core.literals_pb2 import Literal, Primitive, Scalar
    >>> from flyteidl.core.types_pb2 import LiteralType, SimpleType
    >>> class Celsius(float): ...
    >>> class CelsiusTransformer(TypeTransformer[Celsius]):
    ...     def __init__(self):
    ...         super().__init__(name="celsius", t=Celsius)
    ...     def get_literal_type(self, t):
    ...         return LiteralType(simple=SimpleType.STRING)
    ...     def to_literal(self, ctx, python_val, python_type, expected):
    ...         return Literal(scalar=Scalar(primitive=Primitive(string_value=f"{float(python_val)}C")))
    ...     def to_python_value(self, ctx, lv, expected_python_type):
    ...         return Celsius(lv.scalar.primitive.string_value[:-1])
    """

    def __init__(self, name: str, t: type[T], enable_type_assertions: bool = True) -> None:
        self._name = name
        self._t = t
        self._type_assertions_enabled = enable_type_assertions

    @property
    def name(self) -> str:
        """The transformer's name (the union tag of its type)."""
        return self._name

    @property
    def python_type(self) -> type[T]:
        """The Python type this transformer handles."""
        return self._t

    @property
    def is_async(self) -> bool:
        """flytekit's async transformers are not supported: always ``False``."""
        return False

    @property
    def type_assertions_enabled(self) -> bool:
        """Whether :meth:`assert_type` runs before :meth:`to_literal`."""
        return self._type_assertions_enabled

    def isinstance_generic(self, obj: Any, generic_alias: Any) -> None:
        """Raise unless ``obj`` is an instance of ``generic_alias``'s origin (``list`` for ``list[int]``)."""
        origin = typing.get_origin(generic_alias)
        if not isinstance(obj, origin):
            raise FlyteTypeError(
                f"expected a value of container type {origin.__name__}, got {obj!r} ({type(obj).__name__})."
            )

    def assert_type(self, t: Any, v: Any) -> None:
        """Raise :class:`~flyte_nb.errors.FlyteTypeError` unless ``v`` is a ``t`` (flytekit's check)."""
        import types as _types

        if isinstance(t, _types.GenericAlias):
            self.isinstance_generic(v, t)
            return
        if not hasattr(t, "__origin__") and isinstance(t, type) and not isinstance(v, t):
            raise FlyteTypeError(
                f"Expected value of type {t} but got '{v}' of type {type(v)}. "
                f"Pass a {getattr(t, '__name__', t)}, or change the annotation."
            )

    def get_literal_type(self, t: type[T]) -> types_pb2.LiteralType:
        """The Flyte ``LiteralType`` of ``t``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_literal_type(t).")

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> type[T]:
        """The Python type for ``literal_type`` (by default: it cannot tell)."""
        raise ValueError(f"{type(self).__name__} does not translate Flyte types back to Python types.")

    def to_literal(
        self, ctx: Any, python_val: T, python_type: type[T], expected: types_pb2.LiteralType
    ) -> literals_pb2.Literal:
        """Encode ``python_val``; ``ctx`` is the current :class:`~flyte_nb.FlyteContext`."""
        raise NotImplementedError(f"{type(self).__name__} must implement to_literal(ctx, python_val, …).")

    def to_python_value(self, ctx: Any, lv: literals_pb2.Literal, expected_python_type: type[T]) -> T | None:
        """Decode ``lv`` into ``expected_python_type``."""
        raise NotImplementedError(f"{type(self).__name__} must implement to_python_value(ctx, lv, …).")

    def to_html(self, ctx: Any, python_val: T, expected_python_type: type[T]) -> str:
        """HTML for a deck (the escaped ``str()`` of the value by default)."""
        return html.escape(str(python_val))

    def __repr__(self) -> str:
        return f"{self._name} Transforms ({self._t}) to Flyte native"


_REQUIRED = ("name", "python_type", "get_literal_type", "to_literal", "to_python_value")


def _as_message(value: Any, message_type: type, what: str, transformer: Any) -> Any:
    """``value`` as a flyteidl message: itself, or a flytekit model's ``to_flyte_idl()``."""
    if isinstance(value, message_type):
        return value
    to_idl = getattr(value, "to_flyte_idl", None)
    if callable(to_idl):
        converted = to_idl()
        if isinstance(converted, message_type):
            return converted
    raise FlyteTypeError(
        f"Transformer {transformer.name!r} ({type(transformer).__name__}).{what} returned {value!r} "
        f"({type(value).__name__}); expected a flyteidl {message_type.__name__}. Build it with "
        f"{message_type.__module__}.{message_type.__name__}(...)."
    )


def _context(store: RawStore) -> Any:
    from flyte_nb.core.context import FlyteContextManager

    return FlyteContextManager.current_context().with_(store=store)


class _Adapter(base.TypeTransformer[Any]):
    """A registered flytekit-style transformer, in the shape the engine calls."""

    def __init__(self, custom: Any) -> None:
        self.custom = custom
        self.name = str(custom.name)

    def handles(self, python_type: Any) -> bool:
        return lookup(python_type) is self

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        lt = self.custom.get_literal_type(python_type)
        return _as_message(lt, types_pb2.LiteralType, "get_literal_type", self.custom)  # type: ignore[no-any-return]

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        if value is None:
            raise FlyteTypeError(
                f"expected a {getattr(python_type, '__name__', python_type)}, got None. Python value cannot be "
                "None here: annotate Optional[...] to allow it."
            )
        if getattr(self.custom, "type_assertions_enabled", True):
            self.custom.assert_type(python_type, value)
        lit = self.custom.to_literal(_context(store), value, python_type, expected)
        return _as_message(lit, literals_pb2.Literal, "to_literal", self.custom)  # type: ignore[no-any-return]

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        return self.custom.to_python_value(_context(store), literal, python_type)

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        return self.custom.guess_python_type(literal_type)

    def describe(self, python_type: Any) -> str:
        return f"{getattr(python_type, '__name__', python_type)} (custom: {self.name})"

    def to_html(self, value: Any, python_type: Any, store: RawStore) -> str:
        """The custom transformer's deck HTML for ``value``."""
        return str(self.custom.to_html(_context(store), value, python_type))


#: Python type -> adapter of the custom transformer registered for it. Empty until something registers.
_REGISTRY: dict[Any, _Adapter] = {}
_LOCK = threading.Lock()


def registered() -> dict[Any, Any]:
    """Python type -> the custom transformer registered for it (a copy)."""
    return {t: a.custom for t, a in _REGISTRY.items()}


def _native_types() -> set[Any]:
    """Types flyte_nb encodes itself: a custom transformer for them would change flytekit's wire format."""
    import collections.abc
    import datetime

    return {
        int,
        float,
        str,
        bool,
        type(None),
        datetime.datetime,
        datetime.date,
        datetime.timedelta,
        list,
        dict,
        tuple,
        typing.List,  # noqa: UP006 - the typing aliases are keys users could pass too
        typing.Dict,  # noqa: UP006
        typing.Union,
        typing.Any,
        collections.abc.Iterator,
        typing.Iterator,
    }


def register(
    transformer: Any, additional_types: Iterable[Any] | None = None, *, override: bool = False
) -> None:
    """Register a flytekit-style ``transformer`` for its ``python_type`` (and ``additional_types``).

    Raises
    ------
    TypeRegistrationError
        ``transformer`` lacks a method of the flytekit shape, names a type flyte_nb encodes itself
        (``int``, ``list``…), or a type already has a transformer of another name.
    """
    missing = [m for m in _REQUIRED if not hasattr(transformer, m)]
    if missing:
        raise TypeRegistrationError(
            f"TypeEngine.register: expected a TypeTransformer (flyte_nb.TypeTransformer subclass), got "
            f"{transformer!r} ({type(transformer).__name__}), which lacks {', '.join(missing)}."
        )
    adapter = _Adapter(transformer)
    types = [transformer.python_type, *(additional_types or ())]
    native = _native_types()
    with _LOCK:
        for t in types:
            if t in native:
                raise TypeRegistrationError(
                    f"TypeEngine.register: {t!r} is a type flyte_nb encodes itself, with flytekit's wire "
                    f"format; transformer {adapter.name!r} cannot replace it. Register it for your own class "
                    "(e.g. a subclass) instead."
                )
            existing = _REGISTRY.get(t)
            if existing is not None and existing.name != adapter.name and not override:
                raise TypeRegistrationError(
                    f"TypeEngine.register: {t!r} already has transformer {existing.name!r}; cannot register "
                    f"{adapter.name!r} for it too. Give both the same name to replace it, or pass override=True."
                )
        for t in types:
            _REGISTRY[t] = adapter
    from flyte_nb.core.types.engine import forget_cached_types

    forget_cached_types()


def lookup(python_type: Any) -> base.TypeTransformer[Any] | None:
    """The adapter of the custom transformer for ``python_type`` (``Annotated`` stripped), if any.

    As flytekit: the exact type, then a generic's origin, then the classes of the MRO.
    """
    if not _REGISTRY:
        return None
    try:
        found = _REGISTRY.get(python_type)
    except TypeError:  # unhashable annotation objects
        found = None
    if found is not None:
        return found
    origin = typing.get_origin(python_type)
    if origin is not None and origin in _REGISTRY:
        return _REGISTRY[origin]
    for cls in getattr(python_type, "__mro__", ())[1:]:
        if cls is not object and cls in _REGISTRY:
            return _REGISTRY[cls]
    return None
