"""A custom transformer written for flytekit runs under flyte_nb with only its imports changed.

The transformer's source below is flytekit code (a ``TypeTransformer[T]`` with ``ctx`` arguments, built
from flytekit's models). It is compiled twice: as is for flytekit, and with the imports swapped for
flyte_nb (``flytekit`` → ``flyte_nb``; flytekit's models → the flyteidl messages flyte_nb's seed API
uses). Both register it; the literal types, literals, union tags and a task's interface must be equal.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from google.protobuf.json_format import MessageToDict

import flyte_nb as fnb
from flyte_nb.core.types import custom
from flyte_nb.core.types.engine import forget_cached_types

pytestmark = pytest.mark.differential

SOURCE = """
from flytekit.extend import TypeEngine, TypeTransformer
from flytekit.models.literals import Literal, Primitive, Scalar
from flytekit.models.types import LiteralType, SimpleType


class Money:
    def __init__(self, cents: int, currency: str) -> None:
        self.cents, self.currency = cents, currency

    def __eq__(self, other):
        return (self.cents, self.currency) == (other.cents, other.currency)


class MoneyTransformer(TypeTransformer[Money]):
    def __init__(self):
        super().__init__(name="money", t=Money)

    def get_literal_type(self, t):
        return LiteralType(simple=SimpleType.STRING, metadata={"unit": "cents"})

    def to_literal(self, ctx, python_val, python_type, expected):
        return Literal(scalar=Scalar(primitive=Primitive(string_value=f"{python_val.cents} {python_val.currency}")))

    def to_python_value(self, ctx, lv, expected_python_type):
        cents, currency = lv.scalar.primitive.string_value.split()
        return Money(int(cents), currency)


TypeEngine.register(MoneyTransformer())
"""

SWAPS = {
    "from flytekit.extend import": "from flyte_nb import",
    "flytekit.models.literals": "flyteidl.core.literals_pb2",
    "flytekit.models.types": "flyteidl.core.types_pb2",
}


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def flyte_nb_source() -> str:
    source = SOURCE
    for theirs, ours in SWAPS.items():
        source = source.replace(theirs, ours)
    return source


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[types.ModuleType, types.ModuleType]]:
    pytest.importorskip("flytekit")
    saved = dict(custom._REGISTRY)
    theirs = _module("fk_money", SOURCE)
    ours = _module("fnb_money", flyte_nb_source())
    yield theirs, ours
    custom._REGISTRY.clear()
    custom._REGISTRY.update(saved)
    forget_cached_types()
    for name in ("fk_money", "fnb_money"):
        sys.modules.pop(name, None)


def test_only_the_imports_changed() -> None:
    assert flyte_nb_source() != SOURCE
    assert [line for line in SOURCE.splitlines() if "import" not in line] == [
        line for line in flyte_nb_source().splitlines() if "import" not in line
    ]


def test_literal_types_and_literals_are_equal(both: tuple[types.ModuleType, types.ModuleType]) -> None:
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine as FkEngine

    theirs, ours = both
    ctx = FlyteContextManager.current_context()
    for t_theirs, t_ours in ((theirs.Money, ours.Money), (Optional[theirs.Money], Optional[ours.Money])):  # noqa: UP045
        lt_theirs = FkEngine.to_literal_type(t_theirs).to_flyte_idl()
        lt_ours = fnb.TypeEngine.to_literal_type(t_ours)
        assert lt_ours.SerializeToString(deterministic=True) == lt_theirs.SerializeToString(
            deterministic=True
        )
        lit_theirs = FkEngine.to_literal(
            ctx, theirs.Money(250, "EUR"), t_theirs, FkEngine.to_literal_type(t_theirs)
        )
        lit_ours = fnb.TypeEngine.to_literal(ours.Money(250, "EUR"), t_ours)
        assert MessageToDict(lit_ours) == MessageToDict(lit_theirs.to_flyte_idl())
        # each side decodes the other's literal
        back = fnb.TypeEngine.to_python_value(lit_theirs.to_flyte_idl(), t_ours)
        assert (back.cents, back.currency) == (250, "EUR")


def test_task_interfaces_are_equal(both: tuple[types.ModuleType, types.ModuleType]) -> None:
    import flytekit

    theirs, ours = both

    def convert_theirs(m: Any, rate: float) -> Any:
        return theirs.Money(int(m.cents * rate), "USD")

    def convert_ours(m: Any, rate: float) -> Any:
        return ours.Money(int(m.cents * rate), "USD")

    # real classes, not the strings `from __future__ import annotations` would leave
    convert_theirs.__annotations__ = {"m": theirs.Money, "rate": float, "return": theirs.Money}
    convert_ours.__annotations__ = {"m": ours.Money, "rate": float, "return": ours.Money}
    fk_task: Any = flytekit.task(convert_theirs)
    nb_task = fnb.task(convert_ours)
    assert MessageToDict(nb_task.interface) == MessageToDict(fk_task.interface.to_flyte_idl())
    assert fk_task(m=theirs.Money(100, "EUR"), rate=1.5) == theirs.Money(150, "USD")
    assert nb_task(m=ours.Money(100, "EUR"), rate=1.5) == ours.Money(150, "USD")
