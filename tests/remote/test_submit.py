"""End to end against the FlyteAdmin stand-in: submit, watch, outputs, failures, terminate."""

from __future__ import annotations

import base64
import hashlib
import pickle
import time
from typing import Any

import pytest
from flyteidl.admin import task_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2

import flyte_nb as fnb
from flyte_nb.errors import (
    RemoteError,
    RemoteInvalidArgumentError,
    TaskExecutionError,
    TaskInputError,
    WaitTimeoutError,
)
from flyte_nb.remote import Remote
from tests.remote import tasks
from tests.standin import StandIn

Phase = core_execution_pb2.WorkflowExecution


def test_submit_waits_through_the_phases_and_returns_native_outputs(remote: Remote, standin: StandIn) -> None:
    seen: list[str] = []
    execution = remote.submit(tasks.add, a=4, b=5)
    assert execution.wait(timeout=60, on_update=lambda e: seen.append(e.phase)) == 9
    assert seen[-1] == "SUCCEEDED"
    assert seen == sorted(seen, key=["UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "SUCCEEDED"].index)
    # Admin reported every phase propeller moves a run through, in order (polls may skip some).
    assert standin.propeller.phases[execution.name] == [
        "UNDEFINED",
        "QUEUED",
        "RUNNING",
        "SUCCEEDING",
        "SUCCEEDED",
    ]
    # The container ran the template's args rendered as propeller renders them, in its storage layout.
    (result,) = standin.last_results.values()
    command = result.attempts[0].command
    assert not any("{{" in arg for arg in command)
    data_dir = result.paths.data_dir
    # <metadata prefix>/<project>-<domain>-<name>/<node: the task name's letters, digits and '-'>/data
    assert data_dir.parts[-4:] == (
        "propeller",
        f"flytesnacks-development-{execution.name}",
        "testsremotetasksadd",
        "data",
    )
    assert command[command.index("--inputs") + 1] == str(data_dir / "inputs.pb")
    assert command[command.index("--output-prefix") + 1] == str(data_dir / "0")
    assert command[command.index("--prev-checkpoint") + 1] == '""'
    assert execution.phase == "SUCCEEDED"
    assert execution.error is None
    assert execution.url == (
        f"http://{standin.endpoint}/console/projects/flytesnacks/domains/development/executions/{execution.name}"
    )
    # Admin stored exactly what was sent: the TASK identifier as launch plan and every input.
    (stored,) = standin.executions()
    assert stored.spec.launch_plan.resource_type == 1
    assert stored.spec.launch_plan.name == "tests.remote.tasks.add"


def test_python_defaults_are_sent_because_single_task_executions_have_none(
    remote: Remote, standin: StandIn
) -> None:
    assert remote.submit(tasks.add, a=4).wait(timeout=60) == 7


def test_named_tuple_outputs_come_back_as_the_named_tuple(remote: Remote) -> None:
    result = remote.submit(tasks.stats, xs=[1, 2, 3, 6]).wait(timeout=60)
    assert result == tasks.Stats(total=12, mean=3.0)
    assert type(result) is tasks.Stats


def test_pickled_inputs_are_uploaded_and_pickled_outputs_downloaded_through_signed_urls(
    remote: Remote, standin: StandIn
) -> None:
    result = remote.submit(tasks.scale, model=tasks.Model(2.0), k=3.0).wait(timeout=60)
    assert isinstance(result, tasks.Model)
    assert result.weight == 6.0
    # The input pickle went through a signed PUT into the bucket, under the data proxy's layout.
    assert any(rel.startswith("uploads/flytesnacks/development/") for rel in standin.bucket.puts)


def test_notebook_payload_is_uploaded_once_and_the_container_loads_it(
    remote: Remote, standin: StandIn
) -> None:
    assert remote.submit(tasks.shipped, name="ada").wait(timeout=60) == "hello ada hello ada"
    assert remote.submit(tasks.shipped, name="bob", times=1).wait(timeout=60) == "hello bob"
    payload_puts = [rel for rel in standin.bucket.puts if rel.endswith(".fnb.pkl.gz")]
    assert len(payload_puts) == 1, "an unchanged payload must not be uploaded twice"
    # Stored byte for byte, under a content-addressed root, with its MD5 recorded as object metadata.
    payload = tasks.shipped.task_resolver.payload(tasks.shipped)
    assert (standin.bucket.root / payload_puts[0]).read_bytes() == payload.data
    assert payload_puts[0].split("/")[-2] == payload.sha256[:32]
    assert (
        standin.bucket.stored_md5(payload_puts[0])
        == base64.b64encode(hashlib.md5(payload.data).digest()).decode()
    )
    # Both containers got the payload's native_url (not the signed URL) in their loader args.
    for result in standin.last_results.values():
        assert any(a.startswith("file://") and a.endswith(".fnb.pkl.gz") for a in result.attempts[0].command)


def test_a_remote_failure_raises_the_tasks_own_traceback(remote: Remote, standin: StandIn) -> None:
    execution = remote.submit(tasks.divide, a=1.0, b=0.0)
    with pytest.raises(TaskExecutionError) as info:
        execution.wait(timeout=60)
    err = info.value
    assert err.code == "USER:ZeroDivisionError"
    assert err.origin == "USER"
    assert err.kind == "NON_RECOVERABLE"
    assert "return a / b" in err.traceback_text
    assert "ZeroDivisionError" in str(err)
    assert execution.url in str(err)
    assert execution.phase == "FAILED"
    assert isinstance(execution.error, TaskExecutionError)
    assert standin.propeller.phases[execution.name] == ["UNDEFINED", "QUEUED", "RUNNING", "FAILING", "FAILED"]


def test_bad_inputs_are_rejected_before_anything_is_sent(remote: Remote, standin: StandIn) -> None:
    with pytest.raises(TaskInputError, match="missing input"):
        remote.submit(tasks.add, b=1)
    with pytest.raises(TaskInputError, match="unknown input"):
        remote.submit(tasks.add, a=1, c=2)
    with pytest.raises(TaskInputError, match="'a'"):
        remote.submit(tasks.add, a="three")
    assert standin.calls == []
    assert standin.executions() == []


def test_identical_registration_is_idempotent_and_a_different_template_is_explained(
    remote: Remote, standin: StandIn
) -> None:
    tid = remote.register(tasks.add)
    assert remote.register(tasks.add) == tid  # ALREADY_EXISTS is success
    assert standin.calls.count("CreateTask") == 1
    changed = fnb.serialize_task(tasks.add, remote.settings())
    changed.container.image = "somewhere/else:1"
    stored = task_pb2.Task(id=tid)
    stored.closure.compiled_task.template.CopyFrom(changed)
    standin.store.put_task(stored)  # as if another client registered a different template first
    with pytest.raises(RemoteInvalidArgumentError) as info:
        remote.register(tasks.add)
    message = str(info.value)
    assert f"version {tid.version} already exists" in message
    assert "different template" in message
    assert "somewhere/else" in info.value.details  # admin's diff is kept


def test_terminate_aborts_a_running_execution_and_refuses_a_finished_one(
    remote: Remote, standin: StandIn
) -> None:
    execution = remote.submit(tasks.sleepy, seconds=30.0)
    deadline = time.monotonic() + 30
    while execution.phase != "RUNNING":
        assert time.monotonic() < deadline, f"still {execution.phase} after 30 s"
    execution.terminate()
    with pytest.raises(TaskExecutionError, match="aborted"):
        execution.wait(timeout=30)
    assert execution.phase == "ABORTED"
    assert standin.propeller.phases[execution.name][-3:] == ["RUNNING", "ABORTING", "ABORTED"]
    with pytest.raises(RemoteError) as info:
        execution.terminate()
    assert info.value.code == "FAILED_PRECONDITION"
    assert "already finished (ABORTED)" in str(info.value)


def test_wait_timeout_leaves_the_execution_running(remote: Remote) -> None:
    execution = remote.submit(tasks.sleepy, seconds=1.5)
    with pytest.raises(WaitTimeoutError, match="keeps running"):
        execution.wait(timeout=0.2)
    assert execution.wait(timeout=60) == "woke up"


def test_outputs_over_the_inline_limit_are_read_from_the_signed_outputs_url(
    remote: Remote, standin: StandIn
) -> None:
    standin.max_inline_bytes = 100
    assert remote.submit(tasks.big, n=5000).wait(timeout=60) == "x" * 5000
    standin.signed_urls = False
    with pytest.raises(RemoteError, match="maxSizeInBytes"):
        remote.submit(tasks.big, n=5000).wait(timeout=60)


def test_reattach_by_name_reads_the_same_execution(remote: Remote) -> None:
    execution = remote.submit(tasks.add, a=1, b=1)
    execution.wait(timeout=60)
    again = remote.execution(execution.name, task=tasks.add)
    assert again.phase == "SUCCEEDED"
    assert again.outputs == 2


def test_remote_and_its_credentials_refuse_to_be_pickled(remote: Remote) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(remote)


def test_offloaded_outputs_are_fetched_through_the_data_proxy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.remote.conftest import make_remote

    with StandIn(tmp_path / "standin", literal_offloading_min_mb=0.001) as standin:
        remote = make_remote(standin)
        assert remote.submit(tasks.big, n=5000).wait(timeout=60) == "x" * 5000
        (result,) = standin.last_results.values()
        assert result.outputs.literals["o0"].HasField("offloaded_metadata")


def test_sandbox_executor_remote_mode_runs_through_the_cluster(remote: Remote, standin: StandIn) -> None:
    assert fnb.SandboxExecutor(mode="remote", remote=remote).run(tasks.add, a=1) == 4
    assert len(standin.executions()) == 1


def test_sandbox_executor_remote_mode_takes_the_kernels_remote_or_names_the_fix(
    remote: Remote, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without remote=, the remote comes from the notebook session the extension installs (the kernel's
    configured one); with no session, the error says what to pass. The runtime never builds one itself."""
    from flyte_nb.core import session
    from flyte_nb.errors import ConfigError

    monkeypatch.setattr(session, "_session", None)
    with pytest.raises(ConfigError, match=r"expected a remote to submit to.*remote=fnb\.Remote"):
        fnb.SandboxExecutor(mode="remote").run(tasks.add, a=1)
    assert standin.executions() == []

    class Kernel:  # what the extension's KernelSession answers
        def default_submitter(self) -> Remote:
            return remote

        def run_recorder(self) -> None:
            return None

    monkeypatch.setattr(session, "_session", Kernel())
    assert fnb.SandboxExecutor(mode="remote").run(tasks.add, a=1) == 4
    assert len(standin.executions()) == 1


def test_submit_reports_each_step_as_it_starts(remote: Remote) -> None:
    steps: list[tuple[str, str]] = []
    execution = remote.submit(tasks.shipped, lambda p: steps.append((p.step, p.message)), name="x")
    assert [s for s, _ in steps] == ["inputs", "upload", "register", "launch"]
    assert steps[1][1].startswith("uploading the task's code (")
    assert steps[2][1].startswith("registering the task (version ")
    assert steps[3][1] == f"launching execution {execution.name}"
    assert execution.wait(timeout=60) == "hello x hello x"
    again: list[Any] = []
    remote.submit(tasks.shipped, again.append, name="y").wait(timeout=60)
    assert [p.step for p in again] == ["inputs", "register", "launch"]  # the code is uploaded once


def test_an_input_may_be_called_like_the_progress_parameter(remote: Remote) -> None:
    @fnb.task
    def echo(progress: int) -> int:
        return progress

    assert remote.submit(echo, progress=4).wait(timeout=60) == 4
