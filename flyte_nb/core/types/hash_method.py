"""``HashMethod``: a value's own cache key, given through ``Annotated[T, HashMethod(fn)]`` (as in flytekit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["HashMethod"]

T = TypeVar("T")


class HashMethod(Generic[T]):
    """Inside ``Annotated[T, HashMethod(fn)]``, ``fn(value)`` becomes the literal's ``hash``.

    Flyte's cache uses ``Literal.hash`` instead of the value when it is set, so two values with the same
    hash share cached results (e.g. a DataFrame hashed by its content, not by where it was written).
    The kernel's cache (``cache=True``) keys on it the same way.

    Parameters
    ----------
    function:
        Called with the Python value; must return a ``str``.
    """

    def __init__(self, function: Callable[[T], str]) -> None:
        self._function = function

    def calculate(self, obj: T) -> str:
        """The hash of ``obj``."""
        value: object = self._function(obj)  # checked: user code may return anything
        if not isinstance(value, str):
            from flyte_nb.errors import FlyteTypeError

            raise FlyteTypeError(
                f"HashMethod({getattr(self._function, '__name__', self._function)!r}): expected the hash "
                f"function to return a str, got {value!r} ({type(value).__name__}). Return e.g. a hex digest."
            )
        return value

    def __repr__(self) -> str:
        return f"HashMethod({getattr(self._function, '__name__', self._function)!r})"
