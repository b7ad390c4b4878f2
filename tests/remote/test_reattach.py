"""Re-attaching without the task: inputs and outputs decode from the interface FlyteAdmin registered.

Each test submits with one Remote and reads back with a fresh one that has never seen the task, as a
kernel does after a restart (or as a colleague does with someone else's execution).
"""

from __future__ import annotations

import dataclasses
import pickle
import time

import pandas as pd
import pytest
from flyteidl.admin import execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2

from flyte_nb.errors import ConfigError, FlyteTypeError
from flyte_nb.remote import Remote
from flyte_nb.remote.registered import RegisteredTask
from tests.remote import reattach_tasks as rt
from tests.remote import tasks
from tests.remote.conftest import make_remote
from tests.standin import StandIn


@pytest.fixture
def fresh(standin: StandIn) -> Remote:
    """Another Remote on the same server, as in a restarted kernel: it never saw the tasks."""
    return make_remote(standin)


def _done(remote: Remote, task: object, **inputs: object) -> str:
    """Submit, wait until the execution ends (without decoding its outputs), return its name."""
    execution = remote.submit(task, **inputs)  # type: ignore[arg-type]
    deadline = time.monotonic() + 120
    while not execution.is_done:
        assert time.monotonic() < deadline, f"{execution.name} still {execution.phase}"
        time.sleep(0.1)
    return execution.name


def test_a_dataclass_output_comes_back_as_a_generated_dataclass(remote: Remote, fresh: Remote) -> None:
    name = _done(remote, rt.evaluate, n=7, tags={"b": 2, "a": 1})
    again = fresh.execution(name)
    assert isinstance(again.task, RegisteredTask)
    out = again.wait(timeout=30)
    assert type(out).__name__ == "Metrics"
    assert dataclasses.is_dataclass(out)
    assert out.accuracy == 0.7
    assert out.labels == ["a", "b"]
    assert (out.best.width, out.best.activation) == (7, "relu")
    assert [(layer.width, layer.activation) for layer in out.layers] == [(1, "relu"), (2, "tanh")]
    assert out.note is None
    # required fields first, in declaration order; optional ones after
    assert [f.name for f in dataclasses.fields(out)][:4] == ["accuracy", "labels", "best", "layers"]
    # fetched twice, the values are of the same class and compare equal
    assert fresh.execution(name).outputs == out
    assert again.inputs == {"n": 7, "tags": {"a": 1, "b": 2}}


def test_passing_the_task_keeps_its_exact_types(remote: Remote, fresh: Remote) -> None:
    name = _done(remote, rt.evaluate, n=3, tags={})
    out = fresh.execution(name, rt.evaluate).outputs
    assert type(out) is rt.Metrics
    assert out.best == rt.Layer(3)


def test_tuples_come_back_in_order_and_named_tuples_by_name(remote: Remote, fresh: Remote) -> None:
    assert fresh.execution(_done(remote, rt.pair, x=5)).outputs == (10, "x=5")
    stats = fresh.execution(_done(remote, rt.stats_by_name, xs=[1.0, 2.5], weights={"w": 0.5})).outputs
    assert (stats.total, stats.mean) == (3, 0.5)  # the fields, by the names the task declared
    assert stats._fields == ("mean", "total")  # FlyteAdmin does not keep their order: sorted by name
    assert fresh.execution(_done(remote, tasks.add, a=1, b=2)).outputs == 3


def test_dataframes_lists_and_dicts_decode(remote: Remote, fresh: Remote) -> None:
    dataset = fresh.execution(_done(remote, rt.frame, n=4)).outputs  # a lazy handle, as flytekit guesses
    df = dataset.open(pd.DataFrame).all()
    assert df["sq"].tolist() == [0, 1, 4, 9]
    execution = fresh.execution(_done(remote, rt.stats_by_name, xs=[1.0, 2.0], weights={"a": 1.0}))
    assert execution.inputs == {"weights": {"a": 1.0}, "xs": [1.0, 2.0]}


def test_a_pickle_decodes_when_its_class_is_importable(remote: Remote, fresh: Remote) -> None:
    out = fresh.execution(_done(remote, rt.model, weight=2.5)).outputs
    assert isinstance(out, tasks.Model)
    assert out.weight == 2.5


def test_a_pickle_whose_class_is_not_importable_is_named_in_the_error(remote: Remote, fresh: Remote) -> None:
    execution = fresh.execution(_done(remote, rt.opaque, weight=1.0))
    assert execution.phase == "SUCCEEDED"
    with pytest.raises(FlyteTypeError) as info:
        execution.outputs  # noqa: B018
    message = str(info.value)
    assert f"Execution {execution.name} output 'o0'" in message
    assert "No module named 'container_only'" in message
    assert "Install or import the module" in message
    assert f"remote.execution({execution.name!r}, task)" in message


def test_executions_lists_runs_newest_first_by_task_and_phase(remote: Remote, fresh: Remote) -> None:
    first = _done(remote, tasks.add, a=1)
    second = _done(remote, tasks.add, a=2)
    failed = remote.submit(tasks.divide, a=1.0, b=0.0)
    with pytest.raises(Exception, match="ZeroDivisionError"):
        failed.wait(timeout=120)
    assert [e.name for e in fresh.executions(limit=5)] == [failed.name, second, first]
    assert [e.name for e in fresh.executions(tasks.add.name)] == [second, first]
    assert [e.name for e in fresh.executions(phase="FAILED")] == [failed.name]
    assert [e.name for e in fresh.executions(phase=["FAILED", "SUCCEEDED"], limit=2)] == [failed.name, second]
    listed = fresh.executions(tasks.add)
    # the task's own version decodes with its own types; the listing needed no extra GetExecution
    assert listed[0].task is tasks.add
    assert [e.outputs for e in listed] == [5, 4]
    assert [e.inputs for e in listed] == [{"a": 2, "b": 3}, {"a": 1, "b": 3}]
    with pytest.raises(ConfigError, match="phase: expected one of"):
        fresh.executions(phase="DONE")


def test_executions_page_through_admins_answers(remote: Remote, standin: StandIn) -> None:
    from flyte_nb.remote import listing

    names = [_done(remote, tasks.add, a=i) for i in range(3)]
    old_page, listing.PAGE = listing.PAGE, 2  # type: ignore[misc]
    try:
        assert [e.name for e in remote.executions(limit=3)] == names[::-1]
    finally:
        listing.PAGE = old_page  # type: ignore[misc]
    assert standin.calls.count("ListExecutions") == 2


def test_a_launch_plan_execution_decodes_from_its_expected_outputs(fresh: Remote, standin: StandIn) -> None:
    """Workflows flytekit launched: the interface comes from GetLaunchPlan."""
    lp = identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN,
        project="flytesnacks",
        domain="development",
        name="wf.pipeline",
        version="v7",
    )
    plan = launch_plan_pb2.LaunchPlan(id=lp)
    plan.closure.expected_inputs.parameters["n"].var.type.simple = types_pb2.INTEGER
    plan.closure.expected_outputs.variables["o0"].type.CopyFrom(
        types_pb2.LiteralType(collection_type=types_pb2.LiteralType(simple=types_pb2.STRING))
    )
    standin.store.put_launch_plan(plan)
    eid = identifier_pb2.WorkflowExecutionIdentifier(
        project="flytesnacks", domain="development", name="wfrun1"
    )
    execution = execution_pb2.Execution(id=eid)
    execution.spec.launch_plan.CopyFrom(lp)
    execution.closure.phase = 4  # SUCCEEDED
    standin.store.put_execution(execution)
    inputs = literals_pb2.LiteralMap()
    inputs.literals["n"].scalar.primitive.integer = 2
    standin.store.put_blob(eid, "inputs.pb", inputs.SerializeToString())
    outputs = literals_pb2.LiteralMap()
    for word in ("a", "b"):
        outputs.literals["o0"].collection.literals.add().scalar.primitive.string_value = word
    standin.bucket.write("wfrun1/outputs.pb", outputs.SerializeToString(), None)
    standin.store.put_blob(eid, "outputs_uri", b"wfrun1/outputs.pb")
    again = fresh.execution("wfrun1")
    assert again.outputs == ["a", "b"]
    assert again.inputs == {"n": 2}
    assert again.task is not None
    assert again.task.task_type == "launch_plan"


def test_a_registered_task_relaunches_but_does_not_run_in_the_kernel(remote: Remote, fresh: Remote) -> None:
    registered = fresh.execution(_done(remote, tasks.add, a=1)).task
    assert isinstance(registered, RegisteredTask)
    assert fresh.submit(registered, a=5, b=6).wait(timeout=120) == 11
    with pytest.raises(FlyteTypeError, match="its code is not here"):
        registered(a=1, b=2)
    with pytest.raises(Exception, match="cannot be pickled"):
        pickle.dumps(fresh)


def test_guessed_interfaces_order_outputs_and_never_raise() -> None:
    from flyte_nb.core.guess import Undecodable, guess_interface, ordered_outputs

    assert ordered_outputs(["o10", "o2", "o0", "o1"]) == ["o0", "o1", "o2", "o10"]
    assert ordered_outputs(["total", "mean"]) == ["mean", "total"]
    iface = interface_pb2.TypedInterface()
    iface.outputs.variables["f"].type.schema.SetInParent()  # the old FlyteSchema: no Python type
    iface.outputs.variables["n"].type.simple = types_pb2.INTEGER
    guessed = guess_interface(iface, "t")
    assert isinstance(guessed.outputs["f"], Undecodable)
    assert guessed.outputs["n"] is int
