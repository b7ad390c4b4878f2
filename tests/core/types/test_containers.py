"""list[T], dict[str, T], untyped dict (msgpack) and unions."""

# typing.Optional/Union spellings are part of what is tested.
# ruff: noqa: UP007, UP045
from __future__ import annotations

import typing
from typing import Annotated, Any, Optional, Union

import msgpack
import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf.json_format import MessageToDict

from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import FlyteAnnotation, TypeEngine
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError
from tests.core.types.conftest import roundtrip, wire

MSGPACK_ANNOTATION = {"annotations": {"cache-key-metadata": {"serialization-format": "msgpack"}}}


# -- lists -----------------------------------------------------------------------------------------
def test_list_literal_type_and_empty_list(store: MemoryStore) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(list[int])) == {"collectionType": {"simple": "INTEGER"}}
    assert MessageToDict(TypeEngine.to_literal([], list[int], store=store)) == {"collection": {}}
    assert roundtrip([], list[int], store) == []


def test_nested_list_round_trip(store: MemoryStore) -> None:
    assert roundtrip([[1], [], [2, 3]], typing.List[typing.List[int]], store) == [[1], [], [2, 3]]  # noqa: UP006


def test_list_rejects_tuple_and_names_the_bad_item(store: MemoryStore) -> None:
    with pytest.raises(
        FlyteTypeError, match=r"expected list\[int\], got \(1, 2\) \(tuple\). Pass list\(value\)"
    ):
        TypeEngine.to_literal((1, 2), list[int], store=store)
    with pytest.raises(FlyteTypeError, match=r"item \[1\]: expected int, got 'x' \(str\)"):
        TypeEngine.to_literal([1, "x"], list[int], store=store)


@pytest.mark.parametrize("bare", [list, typing.List])  # noqa: UP006
def test_bare_list_is_unsupported(bare: Any) -> None:
    with pytest.raises(UnsupportedTypeError, match=r"list\[int\]"):
        TypeEngine.to_literal_type(bare)


def test_list_accepts_msgpack_binary() -> None:
    lit = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=msgpack.dumps([1, 2]), tag="msgpack"))
    )
    assert TypeEngine.to_python_value(lit, list[int]) == [1, 2]


def test_list_rejects_a_scalar_literal() -> None:
    lit = TypeEngine.to_literal(3, int)
    with pytest.raises(
        FlyteTypeError, match=r"expected a collection literal for list\[int\], got primitive.integer"
    ):
        TypeEngine.to_python_value(lit, list[int])


# -- typed dicts -----------------------------------------------------------------------------------
def test_typed_dict_is_a_literal_map(store: MemoryStore) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(dict[str, float])) == {
        "mapValueType": {"simple": "FLOAT"}
    }
    assert MessageToDict(TypeEngine.to_literal({}, dict[str, int], store=store)) == {"map": {}}
    assert roundtrip({"a": 1.5, "b": 2.0}, typing.Dict[str, float], store) == {"a": 1.5, "b": 2.0}  # noqa: UP006


def test_typed_dict_errors(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"key 'a': expected int, got 'x' \(str\)"):
        TypeEngine.to_literal({"a": "x"}, dict[str, int], store=store)
    with pytest.raises(FlyteTypeError, match=r"expected dict\[str, int\], got \[1\] \(list\)"):
        TypeEngine.to_literal([1], dict[str, int], store=store)


# -- untyped dicts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("python_type", [dict, typing.Dict, dict[int, str]])  # noqa: UP006
def test_untyped_dict_is_msgpack_struct(python_type: Any) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(python_type)) == {
        "simple": "STRUCT",
        "annotation": MSGPACK_ANNOTATION,
    }


def test_untyped_dict_keeps_key_order_and_int_keys(store: MemoryStore) -> None:
    value = {"z": 1, "a": [1, None], "m": {"n": 1.5}}
    lit = TypeEngine.to_literal(value, dict, store=store)
    assert lit.scalar.binary.tag == "msgpack"
    assert lit.scalar.binary.value == msgpack.dumps(value)
    assert list(roundtrip(value, dict, store)) == ["z", "a", "m"]
    assert roundtrip({1: "a", 2: "b"}, dict[int, str], store) == {1: "a", 2: "b"}


def test_untyped_dict_rejects_what_msgpack_cannot_encode(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match="allow_pickle"):
        TypeEngine.to_literal({"s": {1}}, dict, store=store)


def test_untyped_dict_with_allow_pickle_pickles_the_rest(store: MemoryStore) -> None:
    t = Annotated[dict, {"allow_pickle": True}]
    lit = TypeEngine.to_literal({"s": {1}}, t, store=store)
    assert dict(lit.metadata) == {"format": "pickle"}
    assert lit.scalar.generic.fields["pickle_file"].string_value.startswith(store.raw_prefix)
    assert TypeEngine.to_python_value(wire(lit), t, store=store) == {"s": {1}}


def test_untyped_dict_accepts_a_legacy_struct() -> None:
    from google.protobuf.struct_pb2 import Struct

    generic = Struct()
    generic.update({"a": 1, "b": ["x"]})
    lit = literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=generic))
    assert TypeEngine.to_python_value(lit, dict) == {"a": 1.0, "b": ["x"]}


def test_dict_with_any_values_is_a_map_of_pickles(store: MemoryStore) -> None:
    lit = TypeEngine.to_literal({"a": {1, 2}}, dict[str, Any], store=store)
    assert lit.map.literals["a"].scalar.blob.metadata.type.format == "PythonPickle"
    assert TypeEngine.to_python_value(wire(lit), dict[str, Any], store=store) == {"a": {1, 2}}


# -- unions ----------------------------------------------------------------------------------------
def test_optional_literal_type_tags_variants() -> None:
    assert MessageToDict(TypeEngine.to_literal_type(Optional[int])) == {
        "unionType": {
            "variants": [
                {"simple": "INTEGER", "structure": {"tag": "int"}},
                {"simple": "NONE", "structure": {"tag": "none"}},
            ]
        }
    }
    assert TypeEngine.to_literal_type(int | None) == TypeEngine.to_literal_type(Optional[int])


@pytest.mark.parametrize(
    ("python_type", "value", "tag"),
    [
        (Union[int, float], 1, "int"),
        (Union[int, float], 1.0, "float"),
        (Union[int, bool], True, "bool"),
        (Optional[str], None, "none"),
        (Union[list[int], dict[str, int]], {"a": 1}, "Typed Dict"),
    ],
)
def test_union_picks_the_exact_variant(store: MemoryStore, python_type: Any, value: Any, tag: str) -> None:
    lit = TypeEngine.to_literal(value, python_type, store=store)
    assert lit.scalar.union.type.structure.tag == tag
    out = roundtrip(value, python_type, store)
    assert out == value
    assert type(out) is type(value)


def test_ambiguous_union_value_is_an_error(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"matches list\[int\], list\[str\]"):
        TypeEngine.to_literal([], Union[list[int], list[str]], store=store)


def test_union_without_a_matching_variant_lists_why(store: MemoryStore) -> None:
    with pytest.raises(
        FlyteTypeError, match=r"expected Optional\[int\], got 'x' \(str\). No variant accepts it"
    ):
        TypeEngine.to_literal("x", Optional[int], store=store)


def test_union_stored_type_drops_flyte_annotations(store: MemoryStore) -> None:
    t = Optional[Annotated[int, FlyteAnnotation({"foo": "bar"})]]
    variant = TypeEngine.to_literal_type(t).union_type.variants[0]
    assert MessageToDict(variant.annotation) == {"annotations": {"foo": "bar"}}
    stored = TypeEngine.to_literal(7, t, store=store).scalar.union.type
    assert MessageToDict(stored) == {"simple": "INTEGER", "structure": {"tag": "int"}}


def test_union_decodes_a_bare_literal() -> None:
    assert TypeEngine.to_python_value(TypeEngine.to_literal(5, int), Optional[int]) == 5
    none = literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    assert TypeEngine.to_python_value(none, Optional[int]) is None


def test_bare_literal_that_fits_two_variants_is_ambiguous() -> None:
    with pytest.raises(FlyteTypeError, match="all accept"):
        TypeEngine.to_python_value(TypeEngine.to_literal(5, int), Union[int, float])


def test_union_tag_selects_between_same_shaped_variants(store: MemoryStore) -> None:
    t = Union[list[int], list[str]]
    assert roundtrip(["a"], t, store) == ["a"]
    assert roundtrip([1], t, store) == [1]


def test_union_literal_with_unknown_tag_is_rejected(store: MemoryStore) -> None:
    lit = TypeEngine.to_literal(5, Optional[int], store=store)
    lit.scalar.union.type.structure.tag = "str"
    with pytest.raises(FlyteTypeError, match="no variant decodes"):
        TypeEngine.to_python_value(lit, Optional[int], store=store)


def test_literal_type_is_a_copy() -> None:
    lt = TypeEngine.to_literal_type(list[int])
    lt.collection_type.simple = types_pb2.STRING
    assert TypeEngine.to_literal_type(list[int]).collection_type.simple == types_pb2.INTEGER
