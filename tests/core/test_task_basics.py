"""Calling tasks and compiling them: the first slice other areas rely on."""

from __future__ import annotations

from flyteidl.core import identifier_pb2

import flyte_nb as fnb
from tests.core import tasks_for_tests as m


def test_call_runs_with_keywords_positionals_and_defaults() -> None:
    assert m.add(a=1) == 4
    assert m.add(1, 2) == 3
    assert m.add(1, b=10) == 11


def test_named_tuple_return_keeps_its_type() -> None:
    out = m.stats(6.0, 3)
    assert isinstance(out, m.Stats)
    assert out == m.Stats(2.0, 3)


def test_serialize_task_has_id_interface_and_command() -> None:
    t = fnb.serialize_task(m.add, fnb.SerializationSettings(version="v1"))
    assert t.id.resource_type == identifier_pb2.TASK
    assert (t.id.project, t.id.domain, t.id.name, t.id.version) == (
        "flytesnacks",
        "development",
        "tests.core.tasks_for_tests.add",
        "v1",
    )
    assert t.type == "python-task"
    assert t.metadata.HasField("retries")
    assert t.interface.inputs.variables["a"].description == "first"
    assert list(t.container.args[-4:]) == ["task-module", "tests.core.tasks_for_tests", "task-name", "add"]
    assert t.container.args[0] == "flyte-nb-execute"
