"""``Iterator[T]`` ⇄ a ``LiteralCollection`` of ``T``, as flytekit 1.16's "Typed Iterator".

A task annotated ``-> Iterator[T]`` (usually a generator function) has the literal type of a collection
of ``T``: its items become the collection literal, and whoever reads it gets a :class:`FlyteIterator`
over the values, decoded one at a time. ``Iterator[T]`` inputs work the same way. A bare ``Iterator``
(no item type) is refused, as in flytekit.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, scalar_kind
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine
from flyte_nb.errors import FlyteTypeError

__all__ = ["FlyteIterator", "IteratorTransformer", "is_iterator_type"]


def is_iterator_type(python_type: Any) -> bool:
    """True for ``typing.Iterator[T]`` / ``collections.abc.Iterator[T]`` (with an item type)."""
    return typing.get_origin(python_type) is collections.abc.Iterator and bool(typing.get_args(python_type))


class FlyteIterator:
    """The values of a collection literal, decoded one by one (flytekit's ``FlyteIterator``).

    ``len()`` is the number of items; iterating starts from the first item each time ``iter()`` is
    called, so the result of a task can be read more than once.
    """

    def __init__(self, literals: list[literals_pb2.Literal], item_type: Any, store: RawStore) -> None:
        self._literals = literals
        self._item_type = item_type
        self._store = store
        self._index = 0

    def __len__(self) -> int:
        return len(self._literals)

    def __iter__(self) -> FlyteIterator:
        self._index = 0
        return self

    def __next__(self) -> Any:
        if self._index >= len(self._literals):
            raise StopIteration
        literal = self._literals[self._index]
        self._index += 1
        return TypeEngine.to_python_value(literal, self._item_type, store=self._store)

    def __repr__(self) -> str:
        return f"FlyteIterator({len(self)} items of {TypeEngine.describe(self._item_type)})"


class IteratorTransformer(TypeTransformer[Any]):
    """``Iterator[T]`` ⇄ ``LiteralCollection`` (flytekit's ``IteratorTransformer``)."""

    name = "Typed Iterator"

    def handles(self, python_type: Any) -> bool:
        return is_iterator_type(python_type)

    @staticmethod
    def item_type(python_type: Any) -> Any:
        """``T`` of ``Iterator[T]``."""
        return typing.get_args(python_type)[0]

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(collection_type=TypeEngine.to_literal_type(self.item_type(python_type)))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        try:
            items = iter(value)
        except TypeError:
            raise FlyteTypeError(
                f"expected {self.describe(python_type)} (an iterator or any iterable), got {received(value)}. "
                "Yield the items, or return an iterable of them."
            ) from None
        item_type = self.item_type(python_type)
        lit = literals_pb2.Literal()
        lit.collection.SetInParent()  # no items is {"collection": {}}, as for an empty list
        out = lit.collection.literals
        for i, item in enumerate(items):
            try:
                out.append(TypeEngine.to_literal(item, item_type, store=store))
            except FlyteTypeError as exc:  # noqa: PERF203 - per-item context is the point
                raise type(exc)(f"item [{i}]: {exc}") from exc
        return lit

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        if not literal.HasField("collection"):
            raise FlyteTypeError(
                f"expected a collection literal for {self.describe(python_type)}, got {scalar_kind(literal)}. "
                "The value was produced for another type."
            )
        return FlyteIterator(list(literal.collection.literals), self.item_type(python_type), store)

    def describe(self, python_type: Any) -> str:
        return f"Iterator[{TypeEngine.describe(self.item_type(python_type))}]"

    def validate(self, python_type: Any) -> None:
        TypeEngine.validate_annotation(self.item_type(python_type))

    def is_pickled(self, python_type: Any) -> bool:
        return TypeEngine.is_pickled(self.item_type(python_type))
