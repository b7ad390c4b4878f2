"""``BoundedMemo``: the one shape of process-wide memo cache in flyte_nb.

The type engine remembers what it computed per annotation, and the type transformers remember their
mashumaro encoders per class, so that converting a value in a hot loop costs a dict lookup. A notebook
re-runs the cell that defines a ``@dataclass`` many times, each time making a new class; an unbounded
memo would keep every old class (and what it references) alive for the life of the kernel. These memos
therefore hold at most ``maxsize`` entries and forget the oldest first.

Reads take no lock (a ``dict`` lookup is atomic under the GIL); inserts and evictions take one, so two
widget threads filling the same memo cannot corrupt it. A lost race only means a value is computed twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["BoundedMemo", "bounded_memo"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """A dict that keeps at most ``maxsize`` entries, evicting the oldest inserted first.

    Attributes
    ----------
    get:
        ``get(key)``: the value stored for ``key``, or ``None``. The dict's own ``get`` (no Python frame:
        lookups sit on every task call's path).
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: dict[K, V] = {}
        self._lock = threading.Lock()
        self.get: Callable[[K], V | None] = self._data.get

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key``, forgetting the oldest entries beyond ``maxsize``."""
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.maxsize:
                del self._data[next(iter(self._data))]  # dicts iterate in insertion order

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def bounded_memo(maxsize: int) -> Callable[[Callable[[K], V]], Callable[[K], V]]:
    """Memoise a one-argument function in a :class:`BoundedMemo` (``functools.cache``, but bounded).

    Unlike ``functools.lru_cache`` the cached function's hits take no lock and allocate nothing.
    """

    def decorate(fn: Callable[[K], V]) -> Callable[[K], V]:
        memo: BoundedMemo[K, V] = BoundedMemo(maxsize)

        def cached(key: K) -> V:
            hit = memo.get(key)
            if hit is None:
                hit = fn(key)
                memo.put(key, hit)
            return hit

        cached.__wrapped__ = fn  # type: ignore[attr-defined]
        cached.__doc__ = fn.__doc__
        cached.memo = memo  # type: ignore[attr-defined]
        return cached

    return decorate
