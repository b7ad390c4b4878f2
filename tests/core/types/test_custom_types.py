"""Custom types: a transformer written for flytekit, registered with ``TypeEngine.register``, and HashMethod."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Annotated, Any, Optional, Union

import pytest
from flyteidl.core.literals_pb2 import Literal, Primitive, Scalar
from flyteidl.core.types_pb2 import LiteralType, SimpleType

import flyte_nb as fnb
from flyte_nb.core.types import custom
from flyte_nb.core.types.engine import forget_cached_types
from flyte_nb.errors import FlyteTypeError, TaskInputError, TypeRegistrationError


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Celsius) and other.degrees == self.degrees

    def __repr__(self) -> str:
        return f"Celsius({self.degrees})"


class Kelvin(Celsius):
    """A subclass: handled by the parent's transformer through the MRO, as in flytekit."""


class CelsiusTransformer(fnb.TypeTransformer[Celsius]):
    """Written exactly as for flytekit (ctx first), with flyteidl messages for flytekit's models."""

    def __init__(self) -> None:
        super().__init__(name="celsius", t=Celsius)
        self.contexts: list[Any] = []

    def get_literal_type(self, t: type[Celsius]) -> LiteralType:
        return LiteralType(simple=SimpleType.STRING)

    def to_literal(self, ctx: Any, python_val: Celsius, python_type: Any, expected: LiteralType) -> Literal:
        self.contexts.append(ctx)
        return Literal(scalar=Scalar(primitive=Primitive(string_value=f"{python_val.degrees}C")))

    def to_python_value(self, ctx: Any, lv: Literal, expected_python_type: Any) -> Celsius:
        return expected_python_type(float(lv.scalar.primitive.string_value[:-1]))

    def guess_python_type(self, literal_type: LiteralType) -> type[Celsius]:
        return Celsius


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(custom._REGISTRY)
    yield
    custom._REGISTRY.clear()
    custom._REGISTRY.update(saved)
    forget_cached_types()


def test_a_flytekit_style_transformer_converts_values_in_tasks() -> None:
    transformer = CelsiusTransformer()
    fnb.TypeEngine.register(transformer)

    @fnb.task
    def warmer(t: Celsius, by: float) -> Celsius:
        return Celsius(t.degrees + by)

    assert warmer(t=Celsius(20.0), by=1.5) == Celsius(21.5)
    assert warmer.interface.inputs.variables["t"].type == LiteralType(simple=SimpleType.STRING)
    lit = fnb.TypeEngine.to_literal(Celsius(3.0), Celsius)
    assert lit.scalar.primitive.string_value == "3.0C"
    assert isinstance(transformer.contexts[-1], fnb.FlyteContext)  # the ctx argument is a FlyteContext
    assert fnb.TypeEngine.to_python_value(lit, Celsius) == Celsius(3.0)
    assert fnb.TypeEngine.get_transformer(Celsius).name == "celsius"


def test_subclasses_and_unions_use_the_transformer_and_its_name_as_tag() -> None:
    fnb.TypeEngine.register(CelsiusTransformer())
    assert fnb.TypeEngine.to_python_value(fnb.TypeEngine.to_literal(Kelvin(1.0), Kelvin), Kelvin) == Kelvin(
        1.0
    )
    lt = fnb.TypeEngine.to_literal_type(Optional[Celsius])  # noqa: UP045 - flytekit users write Optional
    assert [v.structure.tag for v in lt.union_type.variants] == ["celsius", "none"]
    lit = fnb.TypeEngine.to_literal(Celsius(2.0), Union[Celsius, int])  # noqa: UP007
    assert lit.scalar.union.type.structure.tag == "celsius"


def test_type_assertions_name_what_was_expected() -> None:
    fnb.TypeEngine.register(CelsiusTransformer())

    @fnb.task
    def show(t: Celsius) -> str:
        return repr(t)

    with pytest.raises(TaskInputError, match=r"Expected value of type .*Celsius.* but got '21' of type"):
        show(t=21)


def test_re_registering_under_the_same_name_replaces_and_another_name_is_refused() -> None:
    first, second = CelsiusTransformer(), CelsiusTransformer()
    fnb.TypeEngine.register(first)
    fnb.TypeEngine.register(second)  # a notebook cell run twice
    fnb.TypeEngine.to_literal(Celsius(1.0), Celsius)
    assert second.contexts
    assert not first.contexts

    class Other(CelsiusTransformer):
        def __init__(self) -> None:
            fnb.TypeTransformer.__init__(self, name="other", t=Celsius)

    with pytest.raises(TypeRegistrationError, match="already has transformer 'celsius'"):
        fnb.TypeEngine.register(Other())


@pytest.mark.parametrize("t", [int, str, list, dict])
def test_native_types_cannot_be_replaced(t: type) -> None:
    class Bad(CelsiusTransformer):
        def __init__(self) -> None:
            fnb.TypeTransformer.__init__(self, name="bad", t=t)

    with pytest.raises(TypeRegistrationError, match="flyte_nb encodes itself"):
        fnb.TypeEngine.register(Bad())


def test_something_that_is_not_a_transformer_is_refused() -> None:
    with pytest.raises(TypeRegistrationError, match="lacks"):
        fnb.TypeEngine.register(object())


def test_a_transformer_returning_the_wrong_thing_is_named() -> None:
    class Broken(CelsiusTransformer):
        def to_literal(self, ctx: Any, python_val: Any, python_type: Any, expected: Any) -> Any:
            return "3C"

    fnb.TypeEngine.register(Broken())
    with pytest.raises(FlyteTypeError, match=r"'celsius' \(Broken\)\.to_literal returned '3C' \(str\)"):
        fnb.TypeEngine.to_literal(Celsius(3.0), Celsius)


def test_flytekit_models_returned_by_a_transformer_are_accepted() -> None:
    models = pytest.importorskip("flytekit.models.literals")

    class ModelReturning(CelsiusTransformer):
        def to_literal(self, ctx: Any, python_val: Any, python_type: Any, expected: Any) -> Any:
            return models.Literal(
                scalar=models.Scalar(primitive=models.Primitive(string_value=f"{python_val.degrees}C"))
            )

    fnb.TypeEngine.register(ModelReturning())
    assert fnb.TypeEngine.to_literal(Celsius(4.0), Celsius).scalar.primitive.string_value == "4.0C"


# ---------------------------------------------------------------------------------------- HashMethod


def _digest(values: list[int]) -> str:
    return hashlib.sha256(repr(sorted(values)).encode()).hexdigest()


HashedList = Annotated[list[int], fnb.HashMethod(_digest)]


def test_hash_method_sets_the_literal_hash() -> None:
    lit = fnb.TypeEngine.to_literal([3, 1, 2], HashedList)
    assert lit.hash == _digest([1, 2, 3])
    assert fnb.TypeEngine.to_literal_type(HashedList) == fnb.TypeEngine.to_literal_type(list[int])
    assert not fnb.TypeEngine.to_literal([3, 1, 2], list[int]).hash


def test_the_kernel_cache_keys_on_the_hash() -> None:
    calls: list[list[int]] = []

    @fnb.task(cache=True, cache_version="1")
    def total(xs: HashedList) -> int:
        calls.append(xs)
        return sum(xs)

    assert total(xs=[1, 2, 3]) == 6
    assert total(xs=[3, 2, 1]) == 6  # same hash: served from the cache although the list differs
    assert calls == [[1, 2, 3]]
    assert total(xs=[1, 2]) == 3
    assert len(calls) == 2


def test_hash_method_output_hash_is_in_the_outputs() -> None:
    @fnb.task
    def make(n: int) -> HashedList:
        return list(range(n))

    store = fnb.FlyteContext().store
    inputs = fnb.TypeEngine.to_literal_map({"n": 3}, {"n": int}, store=store)
    out = make.dispatch_execute(fnb.FlyteContext(store=store), inputs)
    assert out.literals["o0"].hash == _digest([0, 1, 2])


def test_a_hash_function_must_return_a_str() -> None:
    bad = Annotated[int, fnb.HashMethod(lambda v: v)]  # type: ignore[arg-type,return-value]
    with pytest.raises(FlyteTypeError, match="return a str, got 5 \\(int\\)"):
        fnb.TypeEngine.to_literal(5, bad)
