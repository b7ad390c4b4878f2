"""One FlyteAdmin shared by flyte_nb and flytekit users: each reads the other's executions and tasks.

flytekit's own ``FlyteRemote`` fetches what flyte_nb launched (the registered task, the execution, its
inputs and outputs, a dataclass output); flyte_nb re-attaches to what flytekit launched and decodes it,
tuple and dataclass outputs included, without the flytekit task object.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from pathlib import Path
from typing import Any

import pytest

from flyte_nb.remote import Remote
from flyte_nb.remote.registered import RegisteredTask
from tests.remote import reattach_tasks as rt
from tests.remote import tasks
from tests.remote.conftest import make_remote
from tests.standin import StandIn


@pytest.fixture
def flytekit_remote(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Any:
    import flytekit.core.tracker
    import flytekit.remote.remote
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    # Other tests in this process create an IPython shell, which flytekit takes as "running in a
    # notebook" (pickled registration); these tests are about the plain path.
    monkeypatch.setattr(flytekit.remote.remote, "ipython_check", lambda: False)
    monkeypatch.setattr(flytekit.core.tracker, "ipython_check", lambda: False)
    return FlyteRemote(
        Config.for_endpoint(standin.endpoint, insecure=True),
        default_project="flytesnacks",
        default_domain="development",
    )


def _finished(remote: Remote, task: Any, **inputs: Any) -> str:
    execution = remote.submit(task, **inputs)
    execution.wait(timeout=120)
    return execution.name


def test_flytekit_fetches_and_decodes_flyte_nb_executions_and_tasks(
    remote: Remote, flytekit_remote: Any
) -> None:
    name = _finished(remote, tasks.add, a=4, b=5)
    fk_execution = flytekit_remote.fetch_execution(name=name)
    fk_execution = flytekit_remote.sync_execution(fk_execution, sync_nodes=True)
    assert fk_execution.is_done
    assert fk_execution.inputs["a"] == 4
    assert fk_execution.inputs["b"] == 5
    assert fk_execution.outputs["o0"] == 9
    launch_plan = fk_execution.spec.launch_plan
    fk_task = flytekit_remote.fetch_task(name=launch_plan.name, version=launch_plan.version)
    assert set(fk_task.interface.inputs) == {"a", "b"}
    assert fk_task.template.container.args[0] == "flyte-nb-execute"


def test_flytekit_reads_a_flyte_nb_dataclass_output_as_its_generated_class(
    remote: Remote, flytekit_remote: Any
) -> None:
    name = _finished(remote, rt.evaluate, n=8, tags={"z": 1})
    fk_execution = flytekit_remote.sync_execution(flytekit_remote.fetch_execution(name=name))
    metrics = fk_execution.outputs["o0"]
    assert metrics.accuracy == 0.8
    assert metrics.labels == ["z"]
    assert fk_execution.inputs["tags"] == {"z": 1}


def _flytekit_run(flytekit_remote: Any, task: Any, version: str, **inputs: Any) -> str:
    from flytekit.configuration import ImageConfig, SerializationSettings

    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project="flytesnacks",
        domain="development",
        version=version,
    )
    registered = flytekit_remote.register_task(task, settings, version=version)
    execution = flytekit_remote.execute(registered, inputs=inputs)
    execution = flytekit_remote.wait(
        execution, timeout=datetime.timedelta(seconds=120), poll_interval=datetime.timedelta(seconds=0.2)
    )
    assert execution.closure.phase == 4, execution.closure.error  # SUCCEEDED
    return str(execution.id.name)


def test_flyte_nb_reattaches_to_flytekit_executions_with_tuple_and_dataclass_outputs(
    standin: StandIn, flytekit_remote: Any
) -> None:
    from tests.remote import flytekit_tasks as fk

    reader = make_remote(standin)  # has never seen these tasks
    added = reader.execution(_flytekit_run(flytekit_remote, fk.fk_add, "v1", a=4, b=5))
    assert added.wait(timeout=30) == 9
    assert added.inputs == {"a": 4, "b": 5}
    assert isinstance(added.task, RegisteredTask)
    assert added.task.name == "tests.remote.flytekit_tasks.fk_add"

    pair = reader.execution(_flytekit_run(flytekit_remote, fk.fk_divmod, "v1", a=17, b=5))
    quotient, remainder = pair.outputs  # a returned tuple comes back as a tuple, in order
    assert (quotient, remainder) == (3, 2)

    shape = reader.execution(_flytekit_run(flytekit_remote, fk.fk_square, "v1", side=2.0, name="sq")).outputs
    assert type(shape).__name__ == "Shape"
    assert dataclasses.is_dataclass(shape)
    assert shape.name == "sq"
    assert [(c.x, c.y, c.label) for c in shape.corners][:2] == [(-1.0, -1.0, "a"), (1.0, -1.0, "b")]
    assert (shape.center.x, shape.center.label) == (0.0, "origin")
    # listed by the task's registered name, decoded the same way
    assert [e.outputs.name for e in reader.executions("tests.remote.flytekit_tasks.fk_square")] == ["sq"]


def test_a_flyte_nb_kernel_lists_what_flytekit_and_flyte_nb_launched(
    remote: Remote, standin: StandIn, flytekit_remote: Any, tmp_path: Path
) -> None:
    from tests.remote import flytekit_tasks as fk

    ours = _finished(remote, tasks.add, a=1)
    time.sleep(0.01)  # distinct creation times
    theirs = _flytekit_run(flytekit_remote, fk.fk_add, "v2", a=1, b=1)
    listed = make_remote(standin).executions(limit=10)
    assert [e.name for e in listed] == [theirs, ours]
    assert [e.outputs for e in listed] == [2, 4]
