"""The transformer contract: one Python type family ⇄ one Flyte literal family.

This keeps flytekit's ``TypeTransformer[T]`` shape (literal type, to literal, to python, guess python
type) without its ambient context: the raw-data store is an explicit argument.
"""

from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore

__all__ = ["TypeTransformer"]

T = TypeVar("T")


class TypeTransformer(abc.ABC, Generic[T]):
    """Converts one family of Python types to and from Flyte literals.

    Attributes
    ----------
    name:
        flytekit's transformer name; it is the ``structure.tag`` written on union variants, so it must be
        exactly flytekit's (``"int"``, ``"Typed List"``, ``"Object-Dataclass-Transformer"`` …).
    """

    name: str = ""
    #: When True the engine passes ``Annotated[T, ...]`` unstripped, because the metadata changes the
    #: encoding (dataframe columns, ``allow_pickle``); otherwise transformers only ever see ``T``.
    wants_annotated: bool = False
    #: flytekit refuses ``Annotated[T, FlyteAnnotation(...)]`` for some families (dataclasses).
    flyte_annotation_allowed: bool = True

    @abc.abstractmethod
    def handles(self, python_type: Any) -> bool:
        """True when this transformer is responsible for ``python_type`` (already unwrapped of Annotated)."""

    @abc.abstractmethod
    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        """The Flyte ``LiteralType`` for ``python_type``; raise ``UnsupportedTypeError`` if impossible."""

    @abc.abstractmethod
    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        """Encode ``value`` (raise ``FlyteTypeError`` naming expected and received on mismatch)."""

    def to_literal_into(
        self,
        target: literals_pb2.Literal,
        value: Any,
        python_type: Any,
        expected: types_pb2.LiteralType,
        store: RawStore,
    ) -> None:
        """Encode ``value`` into ``target``, an empty ``Literal`` (e.g. a ``LiteralMap`` entry).

        The default copies :meth:`to_literal`'s result; primitives write in place, which saves a message
        and a copy per value on every task call.
        """
        target.CopyFrom(self.to_literal(value, python_type, expected, store))

    @abc.abstractmethod
    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        """Decode ``literal`` into ``python_type`` (leniently, as flytekit does)."""

    def recursive_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        """What stands in for ``python_type`` inside its own LiteralType (a self-reference).

        The default refuses: only families that can say where a self-reference is expressible (see
        :mod:`flyte_nb.core.types.recursion`) override it.
        """
        from flyte_nb.errors import UnsupportedTypeError

        raise UnsupportedTypeError(
            f"expected a type that does not contain itself, got {self.describe(python_type)}, which refers to "
            "itself. Flyte types are finite: break the cycle, or pickle the value (typing.Any)."
        )

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        """The Python type for a literal type this transformer produced, if it can tell."""
        raise NotImplementedError(f"{type(self).__name__} cannot guess a Python type from a literal type")

    def validate(self, python_type: Any) -> None:
        """Raise ``UnsupportedTypeError`` if values of ``python_type`` can never be encoded.

        Called by ``TypeEngine.validate_annotation`` after the LiteralType was built; containers check
        their item types. The default accepts everything the LiteralType accepted.
        """

    def is_pickled(self, python_type: Any) -> bool:
        """True when values of ``python_type`` travel as Python pickles (containers ask their items)."""
        return False

    def describe(self, python_type: Any) -> str:
        """A short human name of the Flyte type, for interface views (``int``, ``list[int]``, ``pickle``)."""
        return getattr(python_type, "__name__", repr(python_type))
