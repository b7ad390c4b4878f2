"""The engine around the transformers: Annotated, describe, is_pickled, validation, maps, offloading."""

# Optional/Union spellings are part of what describe() must handle.
# ruff: noqa: UP006, UP007, UP045
from __future__ import annotations

import dataclasses
import enum
import json
import subprocess
import sys
import typing
from typing import Annotated, Any, NamedTuple, Optional, Union

import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf.json_format import MessageToDict

from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import FlyteAnnotation, TypeEngine
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int


class Model:
    pass


class Pair(NamedTuple):
    a: int
    b: str


# -- Annotated -------------------------------------------------------------------------------------
def test_flyte_annotation_is_added_and_other_metadata_ignored() -> None:
    t = Annotated[int, "note", FlyteAnnotation({"unit": "cm", "n": 1})]
    assert MessageToDict(TypeEngine.to_literal_type(t)) == {
        "simple": "INTEGER",
        "annotation": {"annotations": {"unit": "cm", "n": 1.0}},
    }
    assert TypeEngine.to_literal_type(Annotated[int, "note"]) == TypeEngine.to_literal_type(int)


def test_flyte_annotation_merges_with_the_types_own_annotation() -> None:
    lt = TypeEngine.to_literal_type(Annotated[dict, FlyteAnnotation({"k": "v"})])
    assert MessageToDict(lt.annotation) == {
        "annotations": {"k": "v", "cache-key-metadata": {"serialization-format": "msgpack"}}
    }


def test_flyte_annotation_misuse() -> None:
    with pytest.raises(UnsupportedTypeError, match="at most one FlyteAnnotation"):
        TypeEngine.to_literal_type(Annotated[int, FlyteAnnotation({"a": 1}), FlyteAnnotation({"b": 2})])
    with pytest.raises(UnsupportedTypeError, match="reserved key 'cache-key-metadata'"):
        TypeEngine.to_literal_type(Annotated[int, FlyteAnnotation({"cache-key-metadata": 1})])
    with pytest.raises(TypeError, match="expected a dict"):
        FlyteAnnotation([1])  # type: ignore[arg-type]


def test_annotated_values_convert_like_the_inner_type(store: MemoryStore) -> None:
    t = Annotated[list[int], FlyteAnnotation({"a": "b"})]
    lit = TypeEngine.to_literal([1], t, store=store)
    assert lit == TypeEngine.to_literal([1], list[int], store=store)
    assert TypeEngine.to_python_value(lit, t, store=store) == [1]


# -- describe / is_pickled -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("python_type", "text"),
    [
        (int, "int"),
        (None, "None"),
        (list[int], "list[int]"),
        (typing.List[typing.Dict[str, float]], "list[dict[str, float]]"),
        (Optional[int], "Optional[int]"),
        (Union[int, str], "Union[int, str]"),
        (dict, "dict"),
        (Color, "enum(red, green)"),
        (typing.Literal["a", "b"], "Literal['a', 'b']"),
        (Point, "Point (dataclass)"),
        (Model, "pickle (Model)"),
        (Any, "pickle (Any)"),
        (bytes, "pickle (bytes)"),
        (Annotated[int, FlyteAnnotation({"a": 1})], "int"),
    ],
)
def test_describe(python_type: Any, text: str) -> None:
    assert TypeEngine.describe(python_type) == text


@pytest.mark.parametrize(
    ("python_type", "pickled"),
    [
        (int, False),
        (Point, False),
        (dict, False),
        (Model, True),
        (Any, True),
        (bytes, True),
        (list[Model], True),
        (dict[str, Optional[Any]], True),
        (Optional[list[int]], False),
    ],
)
def test_is_pickled_looks_inside_containers(python_type: Any, pickled: bool) -> None:
    assert TypeEngine.is_pickled(python_type) is pickled


# -- validation ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("python_type", "fragment"),
    [
        (list, "list[int]"),
        (tuple, "Tuples cannot be task inputs"),
        (typing.Tuple[int, str], "use list[T]"),
        (Pair, "dataclass for fixed fields"),
        (typing.NamedTuple, "Tuples cannot be task inputs"),
        (list[tuple[int, int]], "Tuples cannot"),
        (Optional[list], "list[int]"),
    ],
)
def test_validate_annotation_rejects_impossible_types(python_type: Any, fragment: str) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        TypeEngine.validate_annotation(python_type)
    assert fragment in str(info.value)
    assert "expected" in str(info.value)


@pytest.mark.parametrize("python_type", [int, Optional[Point], dict[str, list[Color]], Model, Any, None])
def test_validate_annotation_accepts_convertible_types(python_type: Any) -> None:
    TypeEngine.validate_annotation(python_type)


# -- guess_python_type -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "python_type",
    [int, float, str, bool, list[int], dict[str, list[float]], Optional[int], dict, Any, typing.Literal["a"]],
)
def test_guess_python_type_decodes_what_the_type_encodes(store: MemoryStore, python_type: Any) -> None:
    guessed = TypeEngine.guess_python_type(TypeEngine.to_literal_type(python_type))
    assert TypeEngine.to_literal_type(guessed) == TypeEngine.to_literal_type(python_type)


def test_guess_python_type_for_an_enum_makes_a_str_enum() -> None:
    guessed = TypeEngine.guess_python_type(TypeEngine.to_literal_type(Color))
    assert [m.value for m in guessed] == ["red", "green"]
    assert TypeEngine.to_python_value(TypeEngine.to_literal(Color.GREEN, Color), guessed).value == "green"


def test_guess_python_type_rejects_unknown_literal_types() -> None:
    with pytest.raises(UnsupportedTypeError, match="Declare the Python type"):
        TypeEngine.guess_python_type(types_pb2.LiteralType(schema=types_pb2.SchemaType()))


# -- literal maps ----------------------------------------------------------------------------------
def test_literal_map_round_trip_in_declared_order(store: MemoryStore) -> None:
    types = {"b": list[int], "a": Optional[str]}
    lm = TypeEngine.to_literal_map({"a": None, "b": [1]}, types, store=store)
    assert set(lm.literals) == {"a", "b"}
    out = TypeEngine.literal_map_to_python(
        literals_pb2.LiteralMap.FromString(lm.SerializeToString()), types, store=store
    )
    assert out == {"b": [1], "a": None}
    assert list(out) == ["b", "a"]


def test_literal_map_errors_name_the_variable(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"^'n': expected int, got '3' \(str\)"):
        TypeEngine.to_literal_map({"n": "3"}, {"n": int}, store=store)
    with pytest.raises(FlyteTypeError, match=r"got a value for 'm'"):
        TypeEngine.to_literal_map({"m": 1}, {"n": int}, store=store)
    lm = TypeEngine.to_literal_map({"n": 1}, {"n": int}, store=store)
    with pytest.raises(FlyteTypeError, match=r"got literals for \['n'\]"):
        TypeEngine.literal_map_to_python(lm, {"x": int}, store=store)
    with pytest.raises(FlyteTypeError, match=r"^'n': expected a literal holding str"):
        TypeEngine.literal_map_to_python(lm, {"n": str}, store=store)


# -- offloaded literals ----------------------------------------------------------------------------
def test_offloaded_literals_are_read_through_the_store(store: MemoryStore) -> None:
    real = TypeEngine.to_literal([1, 2, 3], list[int], store=store)
    uri = store.new_uri("literal.pb")
    store.write_bytes(uri, real.SerializeToString())
    offloaded = literals_pb2.Literal(
        offloaded_metadata=literals_pb2.LiteralOffloadedMetadata(uri=uri, size_bytes=real.ByteSize())
    )
    assert TypeEngine.to_python_value(offloaded, list[int], store=store) == [1, 2, 3]
    nested = literals_pb2.Literal()
    nested.map.literals["k"].CopyFrom(offloaded)
    assert TypeEngine.to_python_value(nested, dict[str, list[int]], store=store) == {"k": [1, 2, 3]}


# -- cost ------------------------------------------------------------------------------------------
def test_lookups_are_cached_per_annotation() -> None:
    t = dict[str, list[Optional[int]]]
    assert TypeEngine.get_transformer(t) is TypeEngine.get_transformer(t)
    assert TypeEngine.to_literal_type(t) == TypeEngine.to_literal_type(dict[str, list[Optional[int]]])


def test_union_argument_order_is_kept_although_typing_calls_them_equal() -> None:
    assert Union[int, float] == Union[float, int]
    first = TypeEngine.to_literal_type(Union[int, float]).union_type.variants
    second = TypeEngine.to_literal_type(Union[float, int]).union_type.variants
    assert [v.structure.tag for v in first] == ["int", "float"]
    assert [v.structure.tag for v in second] == ["float", "int"]
    literal_a = TypeEngine.to_literal_type(typing.Literal["a", "b"]).annotation
    literal_b = TypeEngine.to_literal_type(typing.Literal["b", "a"]).annotation
    assert literal_a != literal_b


def test_simple_conversions_import_no_optional_library() -> None:
    code = (
        "import sys, json\n"
        "from typing import Optional\n"
        "from flyte_nb.core.types import TypeEngine\n"
        "from flyte_nb.core.storage import MemoryStore\n"
        "s = MemoryStore()\n"
        "for v, t in [(1, int), ([1.5], list[float]), ({'a': None}, dict[str, Optional[str]]), ({'x': 1}, dict)]:\n"
        "    assert TypeEngine.to_python_value(TypeEngine.to_literal(v, t, store=s), t, store=s) == v\n"
        "print(json.dumps(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'pydantic') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
