"""``FlyteAnnotation``: extra literal-type annotations given through ``typing.Annotated``."""

from __future__ import annotations

import collections
from typing import Any

from flyte_nb.errors import FlyteTypeError

__all__ = ["FlyteAnnotation", "kwtypes"]


class FlyteAnnotation:
    """Inside ``Annotated[T, FlyteAnnotation({...})]``, adds ``{...}`` as ``LiteralType.annotation``.

    As in flytekit, exactly one ``FlyteAnnotation`` may be given per ``Annotated``; numbers inside it
    become doubles on the wire (it is a protobuf ``Struct``).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise FlyteTypeError(
                f"FlyteAnnotation: expected a dict, got {data!r} ({type(data).__name__}). "
                "Pass e.g. FlyteAnnotation({'unit': 'cm'})."
            )
        self.data = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FlyteAnnotation) and other.data == self.data

    def __hash__(self) -> int:
        return hash(repr(sorted(self.data.items(), key=lambda kv: kv[0])))

    def __repr__(self) -> str:
        return f"FlyteAnnotation({self.data!r})"


def kwtypes(**kwargs: Any) -> collections.OrderedDict[str, Any]:
    """Types by name, in order: ``Annotated[pd.DataFrame, kwtypes(a=int, b=str)]`` declares a dataset's
    columns, ``Annotated[dict, kwtypes(allow_pickle=True)]`` lets a dict fall back to pickle (flytekit's)."""
    return collections.OrderedDict(kwargs)
