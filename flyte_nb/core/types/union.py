"""``Union[...]`` / ``Optional[T]`` / ``A | B`` ⇄ a union literal tagged with the variant's transformer name.

As in flytekit: every variant is tried on encode and more than one success is an error (so ``[]`` for
``Union[list[int], list[str]]`` is ambiguous); on decode the stored tag picks the variant, and a bare
literal without a union wrapper (a launch-plan default, a msgpack Binary) is tried against every variant.
"""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from flyte_nb.core.storage import RawStore
from flyte_nb.core.types._common import received, scalar_kind, with_tag
from flyte_nb.core.types.base import TypeTransformer
from flyte_nb.core.types.engine import TypeEngine
from flyte_nb.errors import FlyteTypeError

__all__ = ["UnionTransformer"]

_NoneType = type(None)


class UnionTransformer(TypeTransformer[Any]):
    """``typing.Union`` in all its spellings ⇄ ``UnionType`` / ``Union`` scalar."""

    name = "Typed Union"

    def handles(self, python_type: Any) -> bool:
        from flyte_nb.core.types.engine import is_union

        return is_union(python_type)

    def get_literal_type(self, python_type: Any) -> types_pb2.LiteralType:
        variants = [
            with_tag(TypeEngine.to_literal_type(arg), TypeEngine.get_transformer(arg).name)
            for arg in typing.get_args(python_type)
        ]
        return types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=variants))

    def to_literal(
        self, value: Any, python_type: Any, expected: types_pb2.LiteralType, store: RawStore
    ) -> literals_pb2.Literal:
        found: list[tuple[Any, literals_pb2.Literal]] = []
        errors: list[str] = []
        for arg in typing.get_args(python_type):
            try:
                found.append((arg, TypeEngine.to_literal(value, arg, store=store)))
            except (FlyteTypeError, TypeError, ValueError) as exc:  # noqa: PERF203 - per-item context is the point
                errors.append(f"{TypeEngine.describe(arg)}: {exc}")
        if len(found) > 1:
            names = ", ".join(TypeEngine.describe(a) for a, _ in found)
            raise FlyteTypeError(
                f"expected a value matching exactly one variant of {self.describe(python_type)}, got "
                f"{received(value)}, which matches {names}. Make the variants distinguishable "
                "(e.g. a non-empty list) or narrow the annotation."
            )
        if not found:
            raise FlyteTypeError(
                f"expected {self.describe(python_type)}, got {received(value)}. No variant accepts it ("
                + "; ".join(errors)
                + "). Convert the value or widen the annotation."
            )
        arg, inner = found[0]
        # The stored type is the transformer's type without FlyteAnnotation data (flytekit's quirk).
        stored = with_tag(TypeEngine.base_literal_type(arg), TypeEngine.get_transformer(arg).name)
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=inner, type=stored))
        )

    def to_python_value(self, literal: literals_pb2.Literal, python_type: Any, store: RawStore) -> Any:
        args = typing.get_args(python_type)
        if literal.scalar.HasField("union"):
            union = literal.scalar.union
            tag = union.type.structure.tag
            candidates = [a for a in args if TypeEngine.get_transformer(a).name == tag] if tag else list(args)
            if len(candidates) > 1:
                # Same family twice (list[int] | list[str]): prefer the variant whose type was stored.
                exact = [a for a in candidates if _same_shape(TypeEngine.base_literal_type(a), union.type)]
                candidates = exact or candidates
            return self._decode_one(union.value, candidates, python_type, store, strict=False)
        return self._decode_one(literal, list(args), python_type, store, strict=True)

    def _decode_one(
        self,
        literal: literals_pb2.Literal,
        candidates: list[Any],
        python_type: Any,
        store: RawStore,
        *,
        strict: bool,
    ) -> Any:
        results: list[tuple[Any, Any]] = []
        errors: list[str] = []
        for arg in candidates:
            try:
                results.append((arg, TypeEngine.to_python_value(literal, arg, store=store)))
            except (FlyteTypeError, TypeError, ValueError, AssertionError) as exc:
                errors.append(f"{TypeEngine.describe(arg)}: {exc}")
            if results and not strict:
                break
        if len(results) > 1:
            names = ", ".join(TypeEngine.describe(a) for a, _ in results)
            raise FlyteTypeError(
                f"expected a literal matching exactly one variant of {self.describe(python_type)}, got a bare "
                f"{scalar_kind(literal)} that {names} all accept. Wrap it in a union literal with a tag."
            )
        if not results:
            raise FlyteTypeError(
                f"expected a literal for {self.describe(python_type)}, got {scalar_kind(literal)}, which no "
                "variant decodes (" + "; ".join(errors) + "). The value was produced for another type."
            )
        return results[0][1]

    def guess_python_type(self, literal_type: types_pb2.LiteralType) -> Any:
        args = tuple(TypeEngine.guess_python_type(v) for v in literal_type.union_type.variants)
        return typing.Union[args]  # noqa: UP007 - a runtime-built union needs the subscript form

    def describe(self, python_type: Any) -> str:
        args = typing.get_args(python_type)
        rest = [a for a in args if a is not _NoneType]
        if len(rest) == 1 and len(args) == 2:
            return f"Optional[{TypeEngine.describe(rest[0])}]"
        return "Union[" + ", ".join(TypeEngine.describe(a) for a in args) + "]"

    def validate(self, python_type: Any) -> None:
        for arg in typing.get_args(python_type):
            TypeEngine.validate_annotation(arg)

    def is_pickled(self, python_type: Any) -> bool:
        return any(TypeEngine.is_pickled(a) for a in typing.get_args(python_type))


def _same_shape(a: types_pb2.LiteralType, b: types_pb2.LiteralType) -> bool:
    """Equal ignoring ``structure`` (the tag), which flytekit rewrites on union variants."""
    a2, b2 = types_pb2.LiteralType(), types_pb2.LiteralType()
    a2.CopyFrom(a)
    b2.CopyFrom(b)
    a2.ClearField("structure")
    b2.ClearField("structure")
    return a2 == b2
