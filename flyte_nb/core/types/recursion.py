"""Types that refer to themselves while their LiteralType is being built (``child: Optional["Node"]``).

Building a dataclass's LiteralType builds its fields' types, so a self-reference would recurse without
end. flytekit recurses until Python's limit and drops the field where the ``RecursionError`` lands; where
the reference sits in a ``Union`` the result is still well defined, because a union variant keeps only
its transformer's tag, not the variant's structure. So the engine does it directly: when an annotation is
met again while its own type is being built (on this thread), the transformer's
:meth:`~flyte_nb.core.types.base.TypeTransformer.recursive_literal_type` stands in for it, and the
transformer decides whether the finished type may contain it (dataclasses: only inside a union).

Entries built while such a stand-in was handed out are not cached, except the outermost one, which is
complete: a stand-in is right only in the context it was made for.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["building", "enter", "leave", "lent_stand_in"]


class _State(threading.local):
    def __init__(self) -> None:
        self.keys: list[Any] = []  # the builds in progress, innermost last
        self.active: dict[Any, int] = {}  # the same, for look-ups by hash (keys are the engine's memo keys)
        self.stand_ins = False


_STATE = _State()


def building(key: Any) -> bool:
    """True when ``key``'s entry is being built on this thread (we are inside its own construction)."""
    return key is not None and key in _STATE.active


def enter(key: Any) -> None:
    """Start building ``key``'s entry."""
    _STATE.keys.append(key)
    if key is not None:
        _STATE.active[key] = _STATE.active.get(key, 0) + 1


def leave() -> bool:
    """Finish the innermost build; return whether its entry may be cached."""
    key = _STATE.keys.pop()
    if key is not None:
        _STATE.active[key] -= 1
        if not _STATE.active[key]:
            del _STATE.active[key]
    if not _STATE.keys:
        _STATE.stand_ins = False
        return True  # the outermost entry is complete, whatever stand-ins were used inside it
    return not _STATE.stand_ins


def lent_stand_in() -> None:
    """Record that a stand-in was handed out: entries built from now until the outermost ends are partial."""
    _STATE.stand_ins = True
