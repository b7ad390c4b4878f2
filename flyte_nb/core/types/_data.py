"""What ``FlyteFile``, ``FlyteDirectory`` and ``StructuredDataset`` share: the store they read and write
through, where lazy downloads land, and how they embed in dataclasses and pydantic models.

**Which store.** A value decoded from a literal keeps the store it was decoded with, and downloads
through it when opened (a remote run's outputs through the data proxy's signed URLs, an in-kernel call's
``memory://`` data from that call's store). Values a user makes (``FlyteFile.new_remote_file()``,
``FlyteFile("s3://…")``) and values inside a dataclass being converted have no store of their own; they
use :func:`current_store`:

1. the store of the conversion in progress: the dataclass and pydantic transformers convert their fields
   through mashumaro's and pydantic's hooks, which take no arguments, so the transformer sets the store
   for the duration of that one call (:func:`converting_with`, a ``ContextVar`` reset when it returns);
2. else the store of the task running in this thread (the current ``FlyteContext``);
3. else the type engine's default store (a local temporary directory).

**Downloads** go to a per-process directory created on the first download and removed at interpreter
exit, never when a handle is garbage-collected: a path returned by ``download()`` stays valid.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from mashumaro.types import SerializableType

from flyte_nb.core.storage import BaseStore, RawStore, as_store
from flyte_nb.core.types._common import strip_annotated

__all__ = [
    "StoredValue",
    "converting_with",
    "current_store",
    "download_path",
    "labelled",
    "pydantic_core_schema",
    "pydantic_json_schema",
]

_CONVERSION: contextvars.ContextVar[BaseStore | None] = contextvars.ContextVar(
    "flyte_nb_conversion_store", default=None
)


@contextlib.contextmanager
def converting_with(store: RawStore) -> Iterator[BaseStore]:
    """Make ``store`` the one Flyte values inside a dataclass/pydantic value convert through."""
    full = as_store(store)
    token = _CONVERSION.set(full)
    try:
        yield full
    finally:
        _CONVERSION.reset(token)


def current_store() -> BaseStore:
    """The store a value without one of its own reads and writes through (see the module docstring)."""
    store = _CONVERSION.get()
    if store is not None:
        return store
    from flyte_nb.core.context import _CURRENT

    ctx = _CURRENT.get()
    if ctx is not None:
        return as_store(ctx.store)
    from flyte_nb.core.types.engine import default_store

    return as_store(default_store())


class _DownloadRoot:
    """The per-process download directory, made on first use and removed at interpreter exit."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="flyte-nb-downloads-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)


_ROOT: list[_DownloadRoot] = []  # filled on first use, never at import
_ROOT_LOCK = threading.Lock()


def download_path(uri: str = "") -> str:
    """A fresh local path ``<download dir>/<hex32>[/<basename of uri>]`` (nothing is created there)."""
    with _ROOT_LOCK:
        if not _ROOT:
            _ROOT.append(_DownloadRoot())
        root = _ROOT[0].path
    tail = uri.rstrip("/").rsplit("/", 1)[-1] if uri else ""
    return os.path.join(root, os.urandom(16).hex(), *([tail] if tail else []))


def labelled(label: str, message: str) -> str:
    """``message`` prefixed with the variable it is about (``Task 'f' input 'x': …``), when known."""
    return f"{label}: {message}" if label and not message.startswith(label) else message


# ---- pydantic --------------------------------------------------------------------------------------


def pydantic_core_schema(
    cls: type,
    source: Any,
    handler: Any,
    serialize: Callable[[Any], dict[str, Any]],
    rebuild: Callable[[Any, bool], Any],
) -> Any:
    """A pydantic-core schema for a Flyte dataclass type (``FlyteFile``…) that keeps pydantic's own
    dataclass schema (so ``model_json_schema()`` is flytekit's) but serializes with ``serialize`` and
    turns validated instances into working handles with ``rebuild(value, deserializing)``.

    Only called by pydantic, so pydantic is imported only when it is in use.
    """
    from pydantic_core import core_schema

    schema = handler(source)
    schema["serialization"] = core_schema.plain_serializer_function_ser_schema(serialize)

    def after(value: Any, info: Any) -> Any:
        context = info.context if info is not None else None
        deserializing = isinstance(context, dict) and context.get("deserialize") is True
        return rebuild(value, deserializing)

    # The reference moves to the wrapper so the JSON schema still lists the type under "$defs", named
    # after the class's __name__ as flytekit's are ("FlyteFile", "_SpecificFormatClass").
    schema.pop("ref", None)
    ref = f"{cls.__module__}.{cls.__name__}:{id(cls)}"
    return core_schema.with_info_after_validator_function(after, schema, ref=ref)


def pydantic_json_schema(core: Any, handler: Any, description: str | None) -> Any:
    """pydantic's JSON schema for the type with ``description`` as flytekit's shows it (or none)."""
    json_schema = handler(core)
    target = handler.resolve_ref_schema(json_schema)
    target.pop("description", None)
    if description:
        target["description"] = description
    return json_schema


# ---- the str shortcut in dataclasses ---------------------------------------------------------------


def _flyte_path_classes() -> tuple[type, ...]:
    """FlyteFile and FlyteDirectory, when their modules are loaded (else no annotation can name them)."""
    import sys

    found = []
    for module, name in (
        ("flyte_nb.core.types.file", "FlyteFile"),
        ("flyte_nb.core.types.directory", "FlyteDirectory"),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:
            found.append(getattr(loaded, name))
    return tuple(found)


def with_path_objects(value: Any, python_type: Any) -> Any:
    """``value`` with plain ``str`` paths in ``FlyteFile``/``FlyteDirectory`` fields made into objects.

    flytekit accepts ``DC(ff="s3://…")`` for a ``FlyteFile`` field (mashumaro itself would fail on the
    str). Fields are replaced on a shallow copy, never on the caller's object.
    """
    classes = _flyte_path_classes()
    return _with_paths(value, python_type, classes) if classes else value


def _with_paths(value: Any, t: Any, classes: tuple[type, ...]) -> Any:
    import dataclasses
    import typing

    if value is None:
        return None
    if isinstance(t, type) and issubclass(t, classes):
        maker: Any = t
        return maker(value) if type(value) is str else value
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Union or type(t).__name__ == "UnionType":
        for arg in args:
            if isinstance(value, str) and (
                arg is str or (isinstance(arg, type) and issubclass(arg, classes))
            ):
                return _with_paths(value, arg, classes)
            if isinstance(arg, type) and dataclasses.is_dataclass(arg) and isinstance(value, arg):
                return _with_paths(value, arg, classes)
        return value
    if origin is list and args and isinstance(value, list):
        return [_with_paths(v, args[0], classes) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _with_paths(v, args[1], classes) for k, v in value.items()}
    if not (isinstance(t, type) and dataclasses.is_dataclass(t) and dataclasses.is_dataclass(value)):
        return value
    hints = typing.get_type_hints(t)
    changed = {}
    for f in dataclasses.fields(t):
        old = getattr(value, f.name)
        new = _with_paths(old, hints.get(f.name, f.type), classes)
        if new is not old:
            changed[f.name] = new
    if not changed:
        return value
    import copy

    out = copy.copy(value)
    for name, new in changed.items():
        object.__setattr__(out, name, new)
    return out


class StoredValue(SerializableType):
    """The base of ``FlyteFile``, ``FlyteDirectory`` and ``StructuredDataset``: a value whose bytes live in
    a store, read lazily, that embeds in dataclasses (mashumaro) and pydantic models as a small dict.

    Subclasses set ``_store`` and ``_label`` in ``__init__`` and say how they are written
    (``_serialize``) and rebuilt (:meth:`_from_mapping`, :meth:`_pydantic_rebuild`).
    """

    _store: BaseStore | None
    _label: str
    #: The description flytekit's JSON schema gives the type inside a pydantic model (``None``: none).
    _PYDANTIC_DESCRIPTION: ClassVar[str | None] = None

    def _reader(self) -> BaseStore:
        """The store to read through: the one the value was decoded with, else :func:`current_store`."""
        return self._store if self._store is not None else current_store()

    def _set_flyte_label(self, label: str) -> None:
        """Name the variable this value is (``Task 'f' input 'x'``), for errors raised when it is read."""
        self._label = label

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_store"] = None  # an in-memory store or a network client does not travel in a pickle
        return state

    def _serialize(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - every subclass writes its own dict

    @classmethod
    def _from_mapping(cls, value: Any, store: BaseStore) -> Any:
        """The value a dataclass field or pydantic dict (``{"path": …}``, ``{"uri": …}``) describes."""
        raise NotImplementedError  # pragma: no cover - every subclass reads its own dict

    @classmethod
    def _pydantic_rebuild(cls, value: Any, deserializing: bool) -> Any:
        raise NotImplementedError  # pragma: no cover

    @classmethod
    def _deserialize(cls, value: Any) -> Any:
        return cls._from_mapping(value, current_store())

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return pydantic_core_schema(cls, source, handler, lambda v: v._serialize(), cls._pydantic_rebuild)

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: Any) -> Any:
        return pydantic_json_schema(core, handler, cls._PYDANTIC_DESCRIPTION)


def format_name(item: Any) -> str:
    """flytekit's reading of ``FlyteFile[item]``: a str, or ``Annotated[str, FileExt("tar.gz")]``."""
    inner, metadata = strip_annotated(item)
    text = str(metadata[0]) if metadata and inner is str else str(item)
    return text.strip().lstrip("~").lstrip(".")


class _Hidden:
    """Hides ``__class_getitem__`` on format classes (mashumaro must not take them for generics)."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        raise AttributeError(f"{owner.__qualname__} classes take no further subscripts")


def format_subclass(base: type, fmt: str, class_name: str) -> type:
    """``base[fmt]``: a subclass whose ``extension()`` is ``fmt``, shaped as flytekit's.

    Its ``__name__`` is flytekit's ``class_name`` (pydantic titles the schema of a model holding one
    after it) and mashumaro treats it as its ``__origin__``; people read the qualname, ``FlyteFile['csv']``.
    """
    made = type(
        class_name,
        (base,),
        {"__origin__": base, "__class_getitem__": _Hidden(), "extension": classmethod(lambda cls: fmt)},
    )
    made.__qualname__ = f"{base.__qualname__}[{fmt!r}]"
    made.__module__ = "flyte_nb"
    return made


@functools.cache
def format_class(base: type[StoredPath], fmt: str) -> type:
    """The ``base[fmt]`` class (one per format, so the type engine caches it once)."""
    return format_subclass(base, fmt, base._FORMAT_CLASS_NAME)


class StoredPath(StoredValue, os.PathLike[str]):
    """The base of ``FlyteFile`` and ``FlyteDirectory``: a local path or a URI, with flytekit's class API
    for a declared format (``FlyteFile["csv"]``) and the text forms both show."""

    path: Any
    _remote_source: str | None
    #: flytekit's name for the class (what ``repr`` shows), and for its format subclasses.
    _KIND: ClassVar[str]
    _FORMAT_CLASS_NAME: ClassVar[str]

    @classmethod
    def extension(cls) -> str:
        """The declared format (``"csv"`` for ``FlyteFile["csv"]`` / ``FlyteDirectory["csv"]``; ``""``: any)."""
        return ""

    def __class_getitem__(cls, item: Any) -> Any:
        if item is None:
            return cls
        fmt = format_name(item)
        return cls if not fmt else format_class(cls, fmt)

    @property
    def remote_source(self) -> str | None:
        """The remote URI this value is read from, or ``None`` for a local one."""
        return self._remote_source

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        name = self._KIND if not self.extension() else f"{self._KIND}[{self.extension()!r}]"
        source = f", remote_source={self._remote_source!r}" if self._remote_source else ""
        return f"{name}({str(self.path)!r}{source})"
