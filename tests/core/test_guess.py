"""Interfaces known only as a TypedInterface: the guessed Python types, their order, and what happens to a
variable no type fits (it fails alone, by name) — and to one the type engine learns to guess later."""

from __future__ import annotations

import typing

import pytest
from flyteidl.core import interface_pb2, literals_pb2, types_pb2

from flyte_nb.core.execution import shape_outputs
from flyte_nb.core.guess import Undecodable, decode_literals, guess_interface
from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import FlyteTypeError


def _interface() -> interface_pb2.TypedInterface:
    iface = interface_pb2.TypedInterface()
    iface.outputs.variables["report"].type.schema.SetInParent()  # the old FlyteSchema: no Python type
    iface.outputs.variables["total"].type.simple = types_pb2.INTEGER
    iface.outputs.variables["mean"].type.simple = types_pb2.FLOAT
    iface.inputs.variables["xs"].type.collection_type.simple = types_pb2.FLOAT
    iface.inputs.variables["by"].type.map_value_type.simple = types_pb2.STRING
    return iface


def _outputs() -> literals_pb2.LiteralMap:
    outputs = literals_pb2.LiteralMap()
    outputs.literals["total"].scalar.primitive.integer = 3
    outputs.literals["mean"].scalar.primitive.float_value = 1.5
    outputs.literals["report"].scalar.schema.uri = "s3://bucket/report"
    return outputs


def test_guessed_types_and_order() -> None:
    guessed = guess_interface(_interface(), "mod.summarize")
    assert list(guessed.inputs) == ["by", "xs"]
    assert guessed.inputs == {"by": dict[str, str], "xs": list[float]}
    assert list(guessed.outputs) == ["mean", "report", "total"]
    assert isinstance(guessed.outputs["report"], Undecodable)
    assert guessed.output_tuple_type.__name__ == "SummarizeOutputs"
    values = decode_literals(
        "output '{}'", {"mean": float, "total": int}, _outputs(), MemoryStore(), fix="pass it"
    )
    assert shape_outputs(guessed, {**values, "report": None}).total == 3


def test_a_variable_nothing_decodes_fails_alone_and_by_name() -> None:
    guessed = guess_interface(_interface())
    with pytest.raises(FlyteTypeError) as info:
        decode_literals(
            "Execution x output '{}'", guessed.outputs, _outputs(), MemoryStore(), fix="pass the task"
        )
    message = str(info.value)
    assert message.startswith(
        "Execution x output 'report': expected a literal type flyte_nb can decode, got schema"
    )
    assert message.endswith("To read it, pass the task.")
    # the others decode without it
    rest = {k: t for k, t in guessed.outputs.items() if not isinstance(t, Undecodable)}
    assert decode_literals("{}", rest, _outputs(), MemoryStore(), fix="") == {"mean": 1.5, "total": 3}


def test_a_type_the_engine_learns_to_guess_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files and directories are guessed by the type engine once it knows them: decoding asks it per
    variable, so nothing here changes when it does."""

    class Report(str):
        pass

    original = TypeEngine.guess_python_type.__func__  # type: ignore[attr-defined]

    def guess(cls: type, literal_type: types_pb2.LiteralType) -> typing.Any:
        if literal_type.WhichOneof("type") == "schema":
            return Report
        return original(cls, literal_type)

    monkeypatch.setattr(TypeEngine, "guess_python_type", classmethod(guess))
    assert guess_interface(_interface()).outputs["report"] is Report


def test_indexed_outputs_make_a_plain_tuple_in_numeric_order() -> None:
    iface = interface_pb2.TypedInterface()
    for i in (10, 2, 0, 1):
        iface.outputs.variables[f"o{i}"].type.simple = types_pb2.INTEGER
    guessed = guess_interface(iface)
    assert list(guessed.outputs) == ["o0", "o1", "o2", "o10"]
    assert guessed.output_tuple_type is None
    assert shape_outputs(guessed, {"o0": 0, "o1": 1, "o2": 2, "o10": 10}) == (0, 1, 2, 10)
