"""Enums, typing.Literal, dataclasses, pydantic models and protobuf messages."""

# Optional[...] is spelled out because it is what users write in dataclass fields.
# ruff: noqa: UP045
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing
from typing import Annotated, Any, Optional

import msgpack
import pytest
from flyteidl.core import literals_pb2
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict

from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import FlyteAnnotation, TypeEngine
from flyte_nb.errors import FlyteTypeError, UnsupportedTypeError
from tests.core.types.conftest import roundtrip, wire


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Status(str, enum.Enum):
    OK = "ok"


class Level(enum.Enum):
    LOW = 1


@dataclasses.dataclass
class Inner:
    x: int
    y: Optional[str] = None


@dataclasses.dataclass
class Outer:
    inner: Inner
    tags: list[str]
    when: dt.datetime
    span: dt.timedelta
    color: Color = Color.RED
    free: dict = dataclasses.field(default_factory=dict)
    pair: tuple[int, int] = (0, 0)


# -- enums -----------------------------------------------------------------------------------------
def test_enum_literal_type_lists_values_in_order(store: MemoryStore) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(Color)) == {"enumType": {"values": ["red", "green"]}}
    assert roundtrip(Color.GREEN, Color, store) is Color.GREEN


def test_str_enum_goes_to_the_enum_transformer(store: MemoryStore) -> None:
    assert TypeEngine.get_transformer(Status).name == "DefaultEnumTransformer"
    assert roundtrip(Status.OK, Status, store) is Status.OK


def test_int_enum_is_unsupported_with_a_fix() -> None:
    with pytest.raises(UnsupportedTypeError, match=r"Level.LOW = 1 \(int\).*str values"):
        TypeEngine.validate_annotation(Level)


def test_plain_str_for_enum_is_rejected_with_the_member_to_use(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"got 'ok' \(str\). Pass Status\('ok'\)"):
        TypeEngine.to_literal("ok", Status, store=store)


def test_unknown_enum_value_on_decode_lists_the_members() -> None:
    lit = TypeEngine.to_literal("blue", str)
    with pytest.raises(FlyteTypeError, match=r"expected one of \['red', 'green'\]"):
        TypeEngine.to_python_value(lit, Color)


# -- typing.Literal --------------------------------------------------------------------------------
def test_literal_values_annotation(store: MemoryStore) -> None:
    t = typing.Literal["a", "b"]
    assert MessageToDict(TypeEngine.to_literal_type(t)) == {
        "simple": "STRING",
        "annotation": {"annotations": {"literal_values": ["a", "b"]}},
    }
    assert roundtrip("b", t, store) == "b"
    with pytest.raises(FlyteTypeError, match=r"expected one of \['a', 'b'\], got 'c' \(str\)"):
        TypeEngine.to_literal("c", t, store=store)


def test_literal_of_mixed_types_is_unsupported() -> None:
    with pytest.raises(UnsupportedTypeError, match="share one of the types"):
        TypeEngine.to_literal_type(typing.Literal["a", 1])


# -- dataclasses -----------------------------------------------------------------------------------
def test_dataclass_literal_type() -> None:
    lt = MessageToDict(TypeEngine.to_literal_type(Inner))
    assert lt["simple"] == "STRUCT"
    assert lt["annotation"] == {"annotations": {"cache-key-metadata": {"serialization-format": "msgpack"}}}
    assert lt["metadata"]["required"] == ["x"]
    assert lt["metadata"]["properties"]["x"] == {"type": "integer"}
    assert lt["structure"]["dataclassType"]["x"] == {"simple": "INTEGER"}


def test_dataclass_fields_without_a_flyte_type_are_left_out_of_dataclass_type() -> None:
    lt = TypeEngine.to_literal_type(Outer)
    assert "pair" not in lt.structure.dataclass_type
    assert "pair" in MessageToDict(lt.metadata)["properties"]


def test_dataclass_msgpack_is_field_ordered_and_complete(store: MemoryStore) -> None:
    lit = TypeEngine.to_literal(Inner(x=1), Inner, store=store)
    assert lit.scalar.binary.tag == "msgpack"
    assert lit.scalar.binary.value == msgpack.dumps({"x": 1, "y": None})


def test_nested_dataclass_round_trip(store: MemoryStore) -> None:
    value = Outer(
        inner=Inner(1, "z"),
        tags=["t"],
        when=dt.datetime(2024, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        span=dt.timedelta(seconds=1.5),
        free={"k": [1, None]},
        pair=(1, 2),
    )
    assert roundtrip(value, Outer, store) == value


def test_dataclass_accepts_a_legacy_struct_and_fixes_ints() -> None:
    generic = struct_pb2.Struct()
    generic.update({"x": 3, "y": "q"})
    lit = literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=generic))
    out = TypeEngine.to_python_value(lit, Inner)
    assert out == Inner(3, "q")
    assert type(out.x) is int


def test_dataclass_with_flyte_annotation_is_unsupported() -> None:
    with pytest.raises(UnsupportedTypeError, match="FlyteAnnotation is not supported"):
        TypeEngine.to_literal_type(Annotated[Inner, FlyteAnnotation({"a": 1})])


def test_dataclass_errors(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"expected a Inner instance, got 3 \(int\)"):
        TypeEngine.to_literal(3, Inner, store=store)
    bad = Outer(Inner(1), [], dt.datetime(2024, 1, 1), dt.timedelta(0), free={"s": {1}})
    with pytest.raises(FlyteTypeError, match="whose field values match"):
        TypeEngine.to_literal(bad, Outer, store=store)
    broken = TypeEngine.to_literal({"y": "only"}, dict, store=store)
    with pytest.raises(FlyteTypeError, match="make new fields optional"):
        TypeEngine.to_python_value(broken, Inner, store=store)


def test_dataclass_redefined_in_a_rerun_cell_still_encodes(store: MemoryStore) -> None:
    old = Inner(5)
    namespace: dict[str, Any] = {}
    exec(  # the same class body run again, as re-running a notebook cell does
        "import dataclasses\nfrom typing import Optional\n"
        "@dataclasses.dataclass\nclass Inner:\n    x: int\n    y: Optional[str] = None\n",
        {"__name__": __name__},
        namespace,
    )
    new_cls = namespace["Inner"]
    assert TypeEngine.to_python_value(
        wire(TypeEngine.to_literal(old, new_cls, store=store)), new_cls, store=store
    ) == new_cls(5)


# -- pydantic --------------------------------------------------------------------------------------
def test_pydantic_model_round_trip(store: MemoryStore) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Sub(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        a: int
        when: Optional[dt.datetime] = None

    t = Sub
    value = t(a=1, when=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))
    lit = TypeEngine.to_literal(value, t, store=store)
    assert msgpack.loads(lit.scalar.binary.value) == {"a": 1, "when": "2024-01-02T00:00:00Z"}
    assert roundtrip(value, t, store) == value
    assert TypeEngine.get_transformer(t).name == "Pydantic Transformer"
    with pytest.raises(FlyteTypeError, match=r"expected a Sub instance, got \{'a': 1\} \(dict\)"):
        TypeEngine.to_literal({"a": 1}, t, store=store)


# -- protobuf --------------------------------------------------------------------------------------
def test_protobuf_message_is_a_struct(store: MemoryStore) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(struct_pb2.Struct)) == {
        "simple": "STRUCT",
        "metadata": {"pb_type": "google.protobuf.struct_pb2.Struct"},
    }
    value = struct_pb2.Struct()
    value.update({"a": "b"})
    assert roundtrip(value, struct_pb2.Struct, store) == value


class Opaque:
    pass


@dataclasses.dataclass
class HoldsOpaque:
    thing: Opaque


def test_dataclass_with_a_field_msgpack_cannot_encode_fails_validation() -> None:
    # flytekit accepts the annotation and fails on the first value; flyte_nb says so at definition.
    TypeEngine.to_literal_type(HoldsOpaque)
    with pytest.raises(UnsupportedTypeError, match=r"HoldsOpaque.*thing"):
        TypeEngine.validate_annotation(HoldsOpaque)
    with pytest.raises(UnsupportedTypeError, match="HoldsOpaque"):
        TypeEngine.validate_annotation(Optional[list[HoldsOpaque]])


def test_enum_member_of_a_rerun_cell_class_still_encodes(store: MemoryStore) -> None:
    old = Color.GREEN
    namespace: dict[str, Any] = {}
    exec(
        "import enum\nclass Color(enum.Enum):\n    RED = 'red'\n    GREEN = 'green'\n",
        {"__name__": __name__},
        namespace,
    )
    new_cls = namespace["Color"]
    lit = TypeEngine.to_literal(old, new_cls, store=store)
    assert TypeEngine.to_python_value(wire(lit), new_cls, store=store) is new_cls.GREEN
    with pytest.raises(FlyteTypeError, match="expected a member of enum"):
        TypeEngine.to_literal(Status.OK, Color, store=store)
