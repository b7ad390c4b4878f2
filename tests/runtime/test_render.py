"""Propeller's template substitution (flyte_nb.runtime.render), checked against the test harness's own."""

from __future__ import annotations

import datetime

import msgpack
import pytest
from flyteidl.core import literals_pb2

from flyte_nb.errors import TaskInputError
from flyte_nb.runtime.render import RenderParams, per_retry_unique_key, render, render_all
from tests import propeller

PARAMS = RenderParams(
    input_path="s3://b/meta/exec/n0/data/inputs.pb",
    input_prefix="s3://b/meta/exec/n0/data",
    output_prefix="s3://b/meta/exec/n0/data/0",
    raw_output_prefix="s3://b/raw/ab/xyz",
    checkpoint_prefix="s3://b/raw/ab/xyz/_flytecheckpoints",
    prev_checkpoint_prefix="",
    generated_name="9exec-n0-0",
    task_template_path="s3://b/meta/exec/n0/data/task.pb",
    namespace="proj-dev",
)
HARNESS_VALUES = {
    "input": PARAMS.input_path,
    "output": PARAMS.output_prefix,
    "input_prefix": PARAMS.input_prefix,
    "raw": PARAMS.raw_output_prefix,
    "prev": '""',
    "ckpt": PARAMS.checkpoint_prefix,
    "key": per_retry_unique_key(PARAMS.generated_name),
    "tpl": PARAMS.task_template_path,
    "ns": PARAMS.namespace,
}


def _lit(**scalar: object) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(**scalar))  # type: ignore[arg-type]


def _prim(**kw: object) -> literals_pb2.Literal:
    return _lit(primitive=literals_pb2.Primitive(**kw))  # type: ignore[arg-type]


INPUTS = literals_pb2.LiteralMap(
    literals={
        "n": _prim(integer=42),
        "f": _prim(float_value=1e6),
        "g": _prim(float_value=2.5),
        "b": _prim(boolean=True),
        "s": _prim(string_value="hello world"),
        "xs": literals_pb2.Literal(
            collection=literals_pb2.LiteralCollection(literals=[_prim(integer=1), _prim(integer=2)])
        ),
        "blob": _lit(blob=literals_pb2.Blob(uri="s3://b/x.npy")),
        "d": _lit(binary=literals_pb2.Binary(value=msgpack.dumps({"b": 1, "a": [1.5, None]}), tag="msgpack")),
        "m": literals_pb2.Literal(map=literals_pb2.LiteralMap(literals={"k": _prim(integer=1)})),
    }
)

CASES = [
    ("{{.input}}", PARAMS.input_path),
    ("{{ .Input }}", PARAMS.input_path),
    ("{{$input}}", PARAMS.input_path),
    ("{{.INPUTPREFIX}}", PARAMS.input_prefix),
    ("--out={{.outputPrefix}}/x", "--out=s3://b/meta/exec/n0/data/0/x"),
    ("{{.rawOutputDataPrefix}}", PARAMS.raw_output_prefix),
    ("{{.checkpointOutputPrefix}}", PARAMS.checkpoint_prefix),
    ("{{.prevCheckpointPrefix}}", '""'),
    ("{{.PerRetryUniqueKey}}", "aexec_n0_0"),
    ("{{.TaskTemplatePath}}", PARAMS.task_template_path),
    ("{{.namespace}}", "proj-dev"),
    ("{{.unknown}}", "{{.unknown}}"),
    ("{{.Inputs.n}}", "42"),
    ("{{ $inputs.n }}", "42"),
    ("{{.Inputs.f}}", "1e+06"),
    ("{{.Inputs.g}}", "2.5"),
    ("{{.Inputs.b}}", "true"),
    ("{{.Inputs.s}}", "hello world"),
    ("{{.Inputs.xs}}", "[1,2]"),
    ("{{.Inputs.blob}}", "s3://b/x.npy"),
    ("{{.Inputs.d}}", "map[a:[1.5 <nil>] b:1]"),
]


@pytest.mark.parametrize(("template", "expected"), CASES)
def test_placeholders_render_as_propeller_renders_them(template: str, expected: str) -> None:
    assert render(template, PARAMS, INPUTS) == expected
    assert propeller.render_arg(template, HARNESS_VALUES, INPUTS) == expected


def test_previous_checkpoint_is_substituted_when_there_is_one() -> None:
    params = RenderParams(
        **{**PARAMS.__dict__, "prev_checkpoint_prefix": "s3://b/raw/prev/_flytecheckpoints"}
    )
    assert render_all(["--prev-checkpoint", "{{.prevCheckpointPrefix}}"], params, None) == [
        "--prev-checkpoint",
        "s3://b/raw/prev/_flytecheckpoints",
    ]


def test_datetime_input_is_rfc3339() -> None:
    lit = _prim()
    lit.scalar.primitive.datetime.FromDatetime(datetime.datetime(2024, 1, 2, 3, 4, 5, 500000))
    inputs = literals_pb2.LiteralMap(literals={"t": lit})
    assert render("{{.Inputs.t}}", PARAMS, inputs) == "2024-01-02T03:04:05.5Z"
    assert propeller.render_arg("{{.Inputs.t}}", HARNESS_VALUES, inputs) == "2024-01-02T03:04:05.5Z"


@pytest.mark.parametrize(
    ("template", "message"),
    [("{{.Inputs.missing}}", "has no input 'missing'"), ("{{.Inputs.m}}", "a map literal cannot be printed")],
)
def test_inputs_propeller_cannot_print_fail_rendering(template: str, message: str) -> None:
    with pytest.raises(TaskInputError, match=message):
        render(template, PARAMS, INPUTS)
    with pytest.raises(propeller.RenderFailure):
        propeller.render_arg(template, HARNESS_VALUES, INPUTS)


def test_paths_with_backslashes_are_inserted_literally() -> None:
    params = RenderParams(**{**PARAMS.__dict__, "output_prefix": r"C:\out\1"})
    assert render("{{.outputPrefix}}", params, None) == r"C:\out\1"
