"""Decoding flytekit's literals from their literal type alone, as ``Remote.execution(name)`` does.

For each case flytekit writes the literal type and the literal; flyte_nb guesses a Python type from the
literal type (``TypeEngine.guess_python_type``) and decodes the literal with it. The value must be the
one flytekit wrote (a dataclass compares field by field: the guessed class is a generated one), and for
the types flytekit can reverse exactly, the guessed type is the one flytekit's own ``FlyteRemote``
guesses.
"""

# The typing.Optional/List spellings are what flytekit users write.
# ruff: noqa: UP006, UP007, UP045
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing
from typing import Any, Optional

import numpy as np
import pandas as pd
import pydantic
import pytest
from flyteidl.core import literals_pb2, types_pb2

from flyte_nb import StructuredDataset
from flyte_nb.core.storage import LocalStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.core.types.generated import GENERATED_MODULE, dataclass_from_schema

pytestmark = pytest.mark.differential

UTC = dt.timezone.utc


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Inner:
    x: int
    y: Optional[str] = None


@dataclasses.dataclass
class Outer:
    a: int
    inner: Inner
    inners: typing.List[Inner]
    tags: typing.List[str]
    by_name: typing.Dict[str, float]
    color: Color = Color.RED
    when: Optional[dt.datetime] = None
    maybe: Optional[Inner] = None


class Point(pydantic.BaseModel):
    x: int
    label: Optional[str] = None


class Blob:
    """No Flyte type: pickled (importable here, so it unpickles)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and other.n == self.n

    __hash__ = None  # type: ignore[assignment]


CASES = [
    pytest.param(int, 7, int, id="int"),
    pytest.param(float, 2.5, float, id="float"),
    pytest.param(str, "s", str, id="str"),
    pytest.param(bool, True, bool, id="bool"),
    pytest.param(dt.datetime, dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), dt.datetime, id="datetime"),
    pytest.param(dt.timedelta, dt.timedelta(seconds=90), dt.timedelta, id="timedelta"),
    pytest.param(typing.List[int], [1, 2], list[int], id="list"),
    pytest.param(typing.Dict[str, float], {"a": 1.5}, dict[str, float], id="typed-dict"),
    pytest.param(Optional[str], None, None, id="optional-none"),
    pytest.param(Optional[str], "x", None, id="optional-value"),
    pytest.param(typing.Union[int, str], "u", None, id="union"),
    pytest.param(dict, {"a": [1, 2], "b": {"c": None}}, dict, id="untyped-dict"),
    pytest.param(
        Outer,
        Outer(
            1,
            Inner(2, "y"),
            [Inner(3), Inner(4, "z")],
            ["t"],
            {"w": 0.5},
            Color.GREEN,
            dt.datetime(2024, 5, 6, tzinfo=UTC),
            Inner(5),
        ),
        None,
        id="dataclass",
    ),
    pytest.param(Point, Point(x=3, label="p"), None, id="pydantic"),
    pytest.param(Color, Color.GREEN, None, id="enum"),
    pytest.param(typing.Literal["a", "b"], "b", typing.Literal["a", "b"], id="literal"),
    pytest.param(Blob, Blob(4), typing.Any, id="pickle"),
    # flytekit guesses a StructuredDataset (a lazy handle) for a dataframe: so does flyte_nb
    pytest.param(
        pd.DataFrame, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), StructuredDataset, id="dataframe"
    ),
    pytest.param(np.ndarray, np.arange(4.0), np.ndarray, id="ndarray"),
]


def _plain(value: Any) -> Any:
    """Values compared across classes: dataclasses and models as dicts, enums as their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pydantic.BaseModel):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(str(tmp_path_factory.mktemp("raw")))


@pytest.mark.parametrize(("python_type", "value", "expected_guess"), CASES)
def test_flytekit_literals_decode_from_their_literal_type(
    flytekit: Any, store: LocalStore, python_type: Any, value: Any, expected_guess: Any
) -> None:
    fk = flytekit
    fk_type = fk.TypeEngine.to_literal_type(python_type)
    literal_type = types_pb2.LiteralType.FromString(fk_type.to_flyte_idl().SerializeToString())
    literal = literals_pb2.Literal.FromString(
        fk.TypeEngine.to_literal(fk.ctx, value, python_type, fk_type).to_flyte_idl().SerializeToString()
    )
    guessed = TypeEngine.guess_python_type(literal_type)
    if expected_guess is not None:
        assert guessed == expected_guess
    decoded = TypeEngine.to_python_value(literal, guessed, store=store)
    if isinstance(value, pd.DataFrame):
        assert decoded.open(pd.DataFrame).all().equals(value)
    elif isinstance(value, np.ndarray):
        assert np.array_equal(decoded, value)
    else:
        assert _plain(decoded) == _plain(value)


def test_a_dataclass_guess_is_a_generated_dataclass_with_typed_fields(flytekit: Any) -> None:
    literal_type = types_pb2.LiteralType.FromString(
        flytekit.TypeEngine.to_literal_type(Outer).to_flyte_idl().SerializeToString()
    )
    cls = TypeEngine.guess_python_type(literal_type)
    assert cls.__name__ == "Outer"
    assert cls.__module__ == GENERATED_MODULE
    hints = typing.get_type_hints(cls)
    assert hints["a"] is int
    assert typing.get_args(hints["inners"])[0].__name__ == "Inner"  # flytekit's own guess says List[str]
    assert hints["by_name"] == dict[str, float]
    # required fields first, in declaration order
    assert [f.name for f in dataclasses.fields(cls)][:5] == ["a", "inner", "inners", "tags", "by_name"]
    assert TypeEngine.guess_python_type(literal_type) is cls  # the same class every time


def test_a_dataclass_inside_a_union_is_generated_from_its_json_schema(flytekit: Any) -> None:
    """A union variant loses ``structure.dataclass_type`` (flytekit replaces it by the tag): the JSON
    schema in its metadata is all that is left, as for flytekit's own guess."""
    union = types_pb2.LiteralType.FromString(
        flytekit.TypeEngine.to_literal_type(Optional[Inner]).to_flyte_idl().SerializeToString()
    )
    variant = union.union_type.variants[0]
    assert not variant.structure.dataclass_type
    guessed = TypeEngine.guess_python_type(variant)
    assert guessed.__name__ == "Inner"
    assert typing.get_type_hints(guessed)["x"] is int


def test_schemas_without_a_title_or_with_odd_names_stay_dicts() -> None:
    assert dataclass_from_schema({"type": "object", "properties": {"a": {"type": "integer"}}}) is None
    assert dataclass_from_schema({"title": "T", "properties": {"not valid": {"type": "integer"}}}) is None
    nested = dataclass_from_schema(
        {
            "title": "Run",
            "properties": {
                "points": {"type": "array", "items": {"$ref": "#/$defs/P"}},
                "scores": {"type": "object", "additionalProperties": {"type": "number"}},
                "at": {"type": "string", "format": "date-time"},
            },
            "required": ["points"],
            "$defs": {"P": {"title": "P", "properties": {"x": {"type": "integer"}}, "required": ["x"]}},
        }
    )
    assert nested is not None
    hints = typing.get_type_hints(nested)
    assert typing.get_args(hints["points"])[0].__name__ == "P"
    assert hints["scores"] == dict[str, float]
    assert hints["at"] is dt.datetime
