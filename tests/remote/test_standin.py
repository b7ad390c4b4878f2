"""Evidence that the stand-in behaves like FlyteAdmin: its validation rules and error codes, and a client
we did not write (flytekit's FlyteRemote) registering and running a plain flytekit task through it."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import execution_pb2, task_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.service import admin_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc

from tests.standin import StandIn

TID = identifier_pb2.Identifier(
    resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development", name="m.f", version="v1"
)


@pytest.fixture
def raw(
    standin: StandIn,
) -> Iterator[tuple[admin_pb2_grpc.AdminServiceStub, dataproxy_pb2_grpc.DataProxyServiceStub]]:
    channel = grpc.insecure_channel(standin.endpoint)
    yield admin_pb2_grpc.AdminServiceStub(channel), dataproxy_pb2_grpc.DataProxyServiceStub(channel)
    channel.close()


def _template(image: str = "img:1") -> tasks_pb2.TaskTemplate:
    var = interface_pb2.Variable(type=types_pb2.LiteralType(simple=types_pb2.INTEGER))
    return tasks_pb2.TaskTemplate(
        id=TID,
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(retries=literals_pb2.RetryStrategy()),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables={"a": var}),
            outputs=interface_pb2.VariableMap(variables={"o0": var}),
        ),
        container=tasks_pb2.Container(image=image, args=["true"]),
    )


def _code(call, request) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        call(request)
    return info.value.code(), info.value.details()  # type: ignore[attr-defined]


def test_create_task_validation_and_reregistration(raw) -> None:  # type: ignore[no-untyped-def]
    admin, _ = raw
    assert _code(admin.CreateTask, task_pb2.TaskCreateRequest()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "missing id",
    )
    no_version = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development", name="m.f"
    )
    assert _code(admin.CreateTask, task_pb2.TaskCreateRequest(id=no_version))[1] == "missing version"
    bad_project = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="nope", domain="development", name="m.f", version="1"
    )
    code, details = _code(
        admin.CreateTask,
        task_pb2.TaskCreateRequest(id=bad_project, spec=task_pb2.TaskSpec(template=_template())),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "project [nope]" in details
    no_interface = _template()
    no_interface.ClearField("interface")
    assert (
        _code(
            admin.CreateTask,
            task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=no_interface)),
        )[1]
        == "missing typed interface"
    )
    no_args = _template()
    del no_args.container.args[:]
    assert (
        _code(admin.CreateTask, task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=no_args)))[
            0
        ]
        == grpc.StatusCode.INTERNAL
    )
    admin.CreateTask(task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=_template())))
    code, details = _code(
        admin.CreateTask, task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=_template()))
    )
    assert (code, details) == (grpc.StatusCode.ALREADY_EXISTS, "task with identical structure already exists")
    code, details = _code(
        admin.CreateTask,
        task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=_template("img:2"))),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "task with different structure already exists" in details


def _with_resources(requests: dict[int, str], limits: dict[int, str]) -> task_pb2.TaskCreateRequest:
    template = _template()
    for name, value in requests.items():
        template.container.resources.requests.add(name=name, value=value)  # type: ignore[arg-type]
    for name, value in limits.items():
        template.container.resources.limits.add(name=name, value=value)  # type: ignore[arg-type]
    return task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=template))


def test_create_task_checks_resources_as_flyteadmin_does(raw) -> None:  # type: ignore[no-untyped-def]
    admin, _ = raw
    R = tasks_pb2.Resources
    bad = grpc.StatusCode.INVALID_ARGUMENT
    code, details = _code(admin.CreateTask, _with_resources({R.CPU: "2"}, {R.CPU: "1"}))
    assert (code, details) == (
        bad,
        "Requested CPU default [2] is greater than the limit [1]. Please fix your configuration",
    )
    code, details = _code(admin.CreateTask, _with_resources({R.MEMORY: "lots"}, {}))
    assert code == bad
    assert details.startswith("Parsing of MEMORY request failed for value lots")
    assert "must be a whole number" in _code(admin.CreateTask, _with_resources({R.GPU: "0.5"}, {}))[1]
    assert "must equal the limit" in _code(admin.CreateTask, _with_resources({R.GPU: "1"}, {R.GPU: "2"}))[1]
    twice = _with_resources({}, {R.CPU: "1"})
    twice.spec.template.container.resources.limits.add(name=R.CPU, value="2")
    assert "can't specify CPU limit" in _code(admin.CreateTask, twice)[1]
    # Fine: requests within limits, in any unit (500m CPU, Mi vs Gi memory).
    admin.CreateTask(_with_resources({R.CPU: "500m", R.MEMORY: "512Mi"}, {R.CPU: "1", R.MEMORY: "1Gi"}))


def _exec_request(name: str = "", **inputs: int) -> execution_pb2.ExecutionCreateRequest:
    lm = literals_pb2.LiteralMap()
    for k, v in inputs.items():
        lm.literals[k].scalar.primitive.integer = v
    return execution_pb2.ExecutionCreateRequest(
        project="flytesnacks",
        domain="development",
        name=name,
        spec=execution_pb2.ExecutionSpec(launch_plan=TID),
        inputs=lm,
    )


def test_create_execution_rules_of_single_task_executions(raw, standin: StandIn) -> None:  # type: ignore[no-untyped-def]
    admin, _ = raw
    assert (
        _code(admin.CreateExecution, _exec_request(a=1))[0] == grpc.StatusCode.NOT_FOUND
    )  # no such task version
    admin.CreateTask(task_pb2.TaskCreateRequest(id=TID, spec=task_pb2.TaskSpec(template=_template())))
    assert _code(admin.CreateExecution, _exec_request())[1] == "expected_inputs a missing"
    assert _code(admin.CreateExecution, _exec_request(a=1, b=2))[1] == "invalid input b"
    wrong = _exec_request()
    wrong.inputs.literals["a"].scalar.primitive.string_value = "1"
    assert "invalid a input wrong type" in _code(admin.CreateExecution, wrong)[1]
    assert "does not match supported regex" in _code(admin.CreateExecution, _exec_request("9lives", a=1))[1]
    assert "cannot exceed 63" in _code(admin.CreateExecution, _exec_request("a" * 64, a=1))[1]
    created = admin.CreateExecution(_exec_request("mine", a=1))
    assert created.id.name == "mine"
    assert _code(admin.CreateExecution, _exec_request("mine", a=1))[0] == grpc.StatusCode.ALREADY_EXISTS
    generated = admin.CreateExecution(_exec_request(a=2)).id.name
    assert len(generated) == 20
    assert generated[0] == "a"
    standin.wait_idle()
    got = admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=created.id))
    assert got.closure.phase in (4, 6)  # finished: SUCCEEDED or FAILED (the container here is `true`)
    code, details = _code(admin.TerminateExecution, execution_pb2.ExecutionTerminateRequest(id=created.id))
    assert (code, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "Cannot abort an already terminated workflow execution",
    )


def test_data_proxy_upload_rules(raw, standin: StandIn) -> None:  # type: ignore[no-untyped-def]
    _, proxy = raw
    request = dataproxy_pb2.CreateUploadLocationRequest(project="flytesnacks", domain="development")
    assert "content_md5 or filename_root" in _code(proxy.CreateUploadLocation, request)[1]
    md5 = hashlib.md5(b"data").digest()
    request = dataproxy_pb2.CreateUploadLocationRequest(
        project="flytesnacks",
        domain="development",
        content_md5=md5,
        filename="f.bin",
        filename_root="root",
        add_content_md5_metadata=True,
    )
    location = proxy.CreateUploadLocation(request)
    assert location.headers["Content-Length"] == "24"  # stow's quirk, reproduced
    assert location.native_url.endswith("/uploads/flytesnacks/development/root/f.bin")
    standin.bucket.write("uploads/flytesnacks/development/root/f.bin", b"other", "b3RoZXI=")
    assert _code(proxy.CreateUploadLocation, request)[0] == grpc.StatusCode.ALREADY_EXISTS


def test_flytekit_flyteremote_registers_and_runs_a_flytekit_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flytekit
    import flytekit.core.tracker
    import flytekit.remote.remote
    from flytekit.configuration import Config, ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    # Other tests in this process create an IPython shell, which flytekit takes as "running in a
    # notebook" and switches to pickled (interactive) registration; this test is about the plain path.
    monkeypatch.setattr(flytekit.remote.remote, "ipython_check", lambda: False)
    monkeypatch.setattr(flytekit.core.tracker, "ipython_check", lambda: False)

    from tests.remote import flytekit_tasks as module

    with StandIn(tmp_path / "standin") as standin:
        remote = FlyteRemote(
            Config.for_endpoint(standin.endpoint, insecure=True),
            default_project="flytesnacks",
            default_domain="development",
        )
        settings = SerializationSettings(
            image_config=ImageConfig.auto_default_image(),
            project="flytesnacks",
            domain="development",
            version="v1",
        )
        registered = remote.register_task(module.fk_add, settings, version="v1")
        execution = remote.execute(registered, inputs={"a": 4, "b": 5})
        execution = remote.wait(
            execution, timeout=datetime.timedelta(seconds=60), poll_interval=datetime.timedelta(seconds=0.2)
        )
        assert execution.closure.phase == 4  # SUCCEEDED
        assert execution.outputs["o0"] == 9
        # flytekit reads node status (ListNodeExecutions) and node data as it would from FlyteAdmin.
        synced = remote.sync_execution(execution, sync_nodes=True)
        assert {k: n.closure.phase for k, n in synced.node_executions.items()} == {
            "testsremoteflytekittasksfkadd": 3
        }
        assert synced.node_executions["testsremoteflytekittasksfkadd"].outputs["o0"] == 9
        # flytekit's own container entrypoint ran the command the stand-in rendered.
        (result,) = standin.last_results.values()
        assert result.attempts[0].command[0].endswith("pyflyte-execute")
    assert flytekit.__version__.startswith("1.16")
