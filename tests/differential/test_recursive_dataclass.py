"""A dataclass that refers to itself: supported where flytekit 1.16 can express it (through a Union, such
as ``Optional["Node"]``), with the same LiteralType and literals byte for byte; refused when the task is
defined where the type would be infinitely deep (flytekit fails on those too)."""

# The typing.Optional spelling is what users write for these.
# ruff: noqa: UP045
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import pytest

import flyte_nb as fnb
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import RecursiveTypeError

pytestmark = pytest.mark.differential


@dataclasses.dataclass
class Node:
    value: int
    child: Optional[Node] = None


@dataclasses.dataclass
class Tree:
    value: int
    kids: list[Optional[Tree]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Person:
    name: str
    team: Optional[Team] = None


@dataclasses.dataclass
class Team:
    lead: Optional[Person] = None
    size: int = 0


@dataclasses.dataclass
class Holder:
    node: Node
    nodes: dict[str, Node]


@dataclasses.dataclass
class Direct:
    child: Direct


@dataclasses.dataclass
class Listed:
    children: list[Listed]


@dataclasses.dataclass
class HoldsDirect:
    name: str
    inner: Direct


CASES = [
    pytest.param(Node, Node(1, Node(2, Node(3))), id="optional-self"),
    pytest.param(Tree, Tree(1, [Tree(2), None, Tree(3, [Tree(4)])]), id="list-of-optional-self"),
    pytest.param(Person, Person("a", Team(Person("b"), 2)), id="mutual-through-optional"),
    pytest.param(Team, Team(Person("a", Team()), 1), id="mutual-other-side"),
    pytest.param(Holder, Holder(Node(1), {"k": Node(2, Node(3))}), id="nested-in-another"),
    pytest.param(Optional[Node], Node(5), id="optional-at-top"),
]


@pytest.mark.parametrize(("python_type", "value"), CASES)
def test_self_references_through_a_union_equal_flytekit(flytekit: Any, python_type: Any, value: Any) -> None:
    fk = flytekit
    their_lt = fk.TypeEngine.to_literal_type(python_type)
    ours = TypeEngine.to_literal_type(python_type)
    assert ours.SerializeToString(deterministic=True) == their_lt.to_flyte_idl().SerializeToString(
        deterministic=True
    )

    theirs = fk.TypeEngine.to_literal(fk.ctx, value, python_type, their_lt).to_flyte_idl()
    ours_lit = TypeEngine.to_literal(value, python_type)
    assert ours_lit.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)
    assert fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(ours_lit), python_type) == value
    assert TypeEngine.to_python_value(theirs, python_type) == value


def test_a_task_taking_and_returning_a_linked_list_runs() -> None:
    @fnb.task
    def push(head: Optional[Node], value: int) -> Node:
        return Node(value, head)

    assert push(head=push(head=None, value=1), value=2) == Node(2, Node(1))


@pytest.mark.parametrize(
    ("python_type", "field", "shown"),
    [
        (Direct, "Direct.child", "Direct (dataclass)"),
        (Listed, "Listed.children", "list[Listed (dataclass)]"),
        (HoldsDirect, "Direct.child", "Direct (dataclass)"),
    ],
)
def test_infinitely_deep_self_references_are_refused_like_flytekit_fails(
    flytekit: Any, python_type: Any, field: str, shown: str
) -> None:
    with pytest.raises(Exception):  # noqa: B017 - flytekit fails in several ways (ParseError, RecursionError)
        flytekit.TypeEngine.to_literal_type(python_type).to_flyte_idl()

    def f(x):  # type: ignore[no-untyped-def]  # annotated below: this module's annotations are strings
        return 1

    f.__annotations__ = {"x": python_type, "return": int}
    with pytest.raises(RecursiveTypeError) as info:
        fnb.task(f)
    message = str(info.value)
    target = field.split(".")[0]
    assert f"expected {field} to refer to {target} only where a value may be missing" in message
    assert f"got {shown}" in message
    assert f"Optional[{target!r}] = None" in message
    # Refused, not cached half-built: the next look-up fails the same way.
    with pytest.raises(RecursiveTypeError):
        TypeEngine.to_literal_type(python_type)
