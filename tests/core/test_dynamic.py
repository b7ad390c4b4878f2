"""Dynamic tasks: local runs, compilation into a DynamicJobSpec, and promise misuse."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from flyteidl.core import dynamic_job_pb2, literals_pb2

import flyte_nb as fnb
from flyte_nb.core.context import ExecutionMode, FlyteContext
from flyte_nb.core.dynamic import Promise
from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import TaskDefinitionError, TaskInputError, TaskOutputError
from tests.core import tasks_for_tests as m

SETTINGS = fnb.SerializationSettings(version="v1")


class Split(NamedTuple):
    low: int
    high: int


@fnb.task
def square(x: int) -> int:
    return x * x


@fnb.task
def total(xs: list[int]) -> int:
    return sum(xs)


@fnb.task
def split(x: int) -> Split:
    return Split(x // 2, x - x // 2)


@fnb.dynamic
def sum_of_squares(n: int) -> int:
    return total(xs=[square(x=i) for i in range(n)])


@fnb.dynamic
def halves(x: int) -> tuple[int, int]:
    parts = split(x=x)
    return parts.low, parts.high


@fnb.dynamic
def misuse(n: int) -> int:
    return square(x=n) + 1  # arithmetic on a promise: only possible inside a @task


@fnb.dynamic
def constant(n: int) -> int:
    square(x=n)
    return n


def _compile(task: fnb.PythonFunctionTask[Any], **inputs: Any) -> dynamic_job_pb2.DynamicJobSpec:
    store = MemoryStore()
    types = task.python_interface.inputs
    lm = TypeEngine.to_literal_map(inputs, {k: types[k] for k in inputs}, store=store)
    ctx = FlyteContext(store=store, mode=ExecutionMode.TASK_EXECUTION, serialization_settings=SETTINGS)
    spec = task.dispatch_execute(ctx, lm)
    assert isinstance(spec, dynamic_job_pb2.DynamicJobSpec)
    return spec


def test_dynamic_runs_its_sub_tasks_for_real_in_the_kernel() -> None:
    assert sum_of_squares(n=4) == 0 + 1 + 4 + 9
    assert halves(x=5) == (2, 3)
    assert m.fan_out(n=4) == 6


def test_compiled_spec_has_nodes_tasks_and_output_bindings() -> None:
    spec = _compile(sum_of_squares, n=3)
    assert [n.id for n in spec.nodes] == ["n0", "n1", "n2", "n3"]
    assert spec.min_successes == 4
    # the sub-tasks' templates, once per task, referenced by id from the nodes
    names = sorted(t.id.name for t in spec.tasks)
    assert names == sorted([square.name, total.name])
    ids = {t.id.name: t.id for t in spec.tasks}
    assert spec.nodes[0].task_node.reference_id == ids[square.name]
    assert spec.nodes[3].task_node.reference_id == ids[total.name]
    # constant inputs are bound as literals
    assert spec.nodes[1].inputs[0].var == "x"
    assert spec.nodes[1].inputs[0].binding.scalar.primitive.integer == 1
    # the list of promises becomes a collection of references, and the node depends on them
    last = spec.nodes[3]
    refs = [b.promise for b in last.inputs[0].binding.collection.bindings]
    assert [(r.node_id, r.var) for r in refs] == [("n0", "o0"), ("n1", "o0"), ("n2", "o0")]
    assert list(last.upstream_node_ids) == ["n0", "n1", "n2"]
    # the dynamic task's output reads the last node's output
    assert len(spec.outputs) == 1
    assert spec.outputs[0].var == "o0"
    assert spec.outputs[0].binding.promise.node_id == "n3"


def test_node_metadata_carries_name_and_retries() -> None:
    spec = _compile(m.fan_out, n=1)
    md = spec.nodes[0].metadata
    assert md.name == "add"
    assert md.HasField("retries")


def test_named_tuple_promises_bind_by_field() -> None:
    spec = _compile(halves, x=5)
    assert [(b.var, b.binding.promise.node_id, b.binding.promise.var) for b in spec.outputs] == [
        ("o0", "n0", "low"),
        ("o1", "n0", "high"),
    ]


def test_constant_outputs_are_bound_as_literals() -> None:
    spec = _compile(constant, n=7)
    assert spec.outputs[0].binding.scalar.primitive.integer == 7


def test_compiled_sub_templates_are_complete() -> None:
    spec = _compile(sum_of_squares, n=1)
    for t in spec.tasks:
        assert t.type == "python-task"
        assert t.container.args[0] == "flyte-nb-execute"
        assert t.id.version == "v1"


def test_computing_with_a_promise_is_a_clear_error() -> None:
    with pytest.raises(TaskDefinitionError) as err:
        _compile(misuse, n=2)
    msg = str(err.value)
    assert "misuse" in msg
    assert "square" in msg
    assert "promise" in msg
    assert "@task" in msg


def test_promises_refuse_truth_tests_iteration_and_formatting() -> None:
    p = Promise("n0", "o0", int, "t", "d")
    for action in (bool, list, str, lambda x: f"{x}", lambda x: x < 1, lambda x: x.attr, lambda x: -x):
        with pytest.raises(TaskDefinitionError, match="promise, not a value"):
            action(p)
    assert repr(p) == "Promise(n0.o0: int)"


def test_a_body_the_cluster_refuses_is_refused_in_the_kernel_too() -> None:
    # The kernel compiles the body exactly as the container does before running the nodes, so
    # arithmetic on a sub-task's result fails here first, with the cluster's message.
    with pytest.raises(TaskDefinitionError, match="promise, not a value") as err:
        misuse(n=3)
    assert "move that code into a @task" in str(err.value)


def test_local_dynamic_runs_nodes_in_dependency_order_with_literal_round_trips() -> None:
    assert sum_of_squares(n=3) == 5
    assert sum_of_squares(n=0) == 0


def test_compile_outside_a_dynamic_body_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match="compile\\(\\) needs a dynamic compilation"):
        square.compile(FlyteContext(), x=1)


def test_dispatch_in_local_mode_runs_instead_of_compiling() -> None:
    store = MemoryStore()
    lm = TypeEngine.to_literal_map({"n": 3}, {"n": int}, store=store)
    out = sum_of_squares.dispatch_execute(FlyteContext(store=store), lm)
    assert isinstance(out, literals_pb2.LiteralMap)
    assert out.literals["o0"].scalar.primitive.integer == 5


def test_compile_into_workflow_and_dynamic_execute_seed_methods() -> None:
    ctx = FlyteContext(store=MemoryStore(), serialization_settings=SETTINGS)
    spec = sum_of_squares.compile_into_workflow(ctx, sum_of_squares.task_function, n=2)
    assert len(spec.nodes) == 3
    assert sum_of_squares.dynamic_execute(sum_of_squares.task_function, n=2) == 1
    assert sum_of_squares.execution_mode is fnb.PythonFunctionTask.ExecutionBehavior.DYNAMIC


def test_notebook_sub_tasks_ship_their_payload_with_the_spec(tmp_path: Any) -> None:
    from flyte_nb.core.storage import LocalStore

    ns: dict[str, Any] = {"__name__": "__main__", "fnb": fnb}
    exec(
        "@fnb.task\ndef cell_square(x: int) -> int:\n    return x * x\n\n"
        "@fnb.dynamic\ndef cell_fan(n: int) -> list[int]:\n    return [cell_square(x=i) for i in range(n)]\n",
        ns,
    )
    store = LocalStore(str(tmp_path))
    ctx = FlyteContext(store=store, mode=ExecutionMode.TASK_EXECUTION, serialization_settings=SETTINGS)
    spec = ns["cell_fan"].dispatch_execute(ctx, TypeEngine.to_literal_map({"n": 2}, {"n": int}, store=store))
    (template,) = spec.tasks
    resolver = ns["cell_square"].task_resolver
    args = list(template.container.args)
    loader_args = args[args.index("--") + 1 :]
    assert loader_args[1].startswith(str(tmp_path))  # the payload was written under the raw prefix
    loaded = resolver.load_task(loader_args)
    assert loaded(x=3) == 9


@fnb.task
def as_text(x: int) -> str:
    return str(x)


@fnb.dynamic
def mistyped(n: int) -> int:
    return square(x=as_text(x=n))  # a str promise into an int input


@fnb.dynamic
def wrong_constant(n: int) -> int:
    return "seven"  # type: ignore[return-value]


def test_a_promise_of_the_wrong_type_is_refused_at_compile_time() -> None:
    with pytest.raises(TaskInputError) as err:
        _compile(mistyped, n=2)
    msg = str(err.value)
    assert "input 'x' of task" in msg
    assert "expects int" in msg
    assert "which is str" in msg


def test_a_constant_output_of_the_wrong_type_is_an_output_error() -> None:
    with pytest.raises(TaskOutputError, match=r"Dynamic task '[\w.]*wrong_constant': output 'o0'"):
        _compile(wrong_constant, n=1)


def test_a_compiled_dynamic_task_runs_under_the_propeller_stand_in(tmp_path: Any) -> None:
    """The template's own command, run as propeller runs it: futures.pb, then each sub-node."""
    import pathlib

    from tests.propeller import run_task_template

    root = pathlib.Path(__file__).resolve().parents[2]
    template = fnb.serialize_task(m.fan_out, SETTINGS)
    inputs = TypeEngine.to_literal_map({"n": 3}, {"n": int})
    result = run_task_template(template, inputs, tmp_path, env={"PYTHONPATH": str(root)})
    assert result.phase == "SUCCEEDED", result.stderr
    assert sorted(result.sub_nodes) == ["n0", "n1", "n2"]
    assert result.outputs is not None
    assert result.outputs.literals["o0"].scalar.primitive.integer == 0 + 1 + 2
