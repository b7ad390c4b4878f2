"""``DefaultNamedTupleOutput``: what a task with several outputs returns, as in flytekit.

flytekit returns a named tuple for a task with several outputs, so ``res.o0`` works as well as
``a, b = res``. Its class is called ``DefaultNamedTupleOutput`` and has one field per output (``o0, o1, …``
for ``-> tuple[int, str]``). A task declaring a ``NamedTuple`` return gets that class back instead.

The classes are made on first use, one per tuple of output names, and pickle by value (field names and
items), so a result can itself be sent to another task or process.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

__all__ = ["default_named_tuple"]

TYPE_NAME = "DefaultNamedTupleOutput"

_CLASSES: dict[tuple[str, ...], type[tuple[Any, ...]]] = {}
_LOCK = threading.Lock()


def _rebuild(names: tuple[str, ...], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Unpickle a ``DefaultNamedTupleOutput`` (the class is made again from its field names)."""
    return default_named_tuple(names)(*values)


def _reduce(self: tuple[Any, ...]) -> tuple[Any, ...]:
    return (_rebuild, (type(self)._fields, tuple(self)))  # type: ignore[attr-defined]


def default_named_tuple(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    """The ``DefaultNamedTupleOutput`` class with fields ``names`` (made once per tuple of names)."""
    found = _CLASSES.get(names)
    if found is not None:
        return found
    with _LOCK:
        if names not in _CLASSES:
            made: Any = collections.namedtuple(TYPE_NAME, names)  # type: ignore[misc]
            made.__module__ = __name__
            setattr(made, "__reduce__", _reduce)  # noqa: B010 - set on a class made at run time
            _CLASSES[names] = made
        return _CLASSES[names]
