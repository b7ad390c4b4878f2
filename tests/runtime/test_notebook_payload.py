"""Notebook-resolver tasks through the container entrypoint: payload in the working dir, and refusals."""

from __future__ import annotations

import gzip
import json
import pathlib

import pytest
from flyteidl.core import errors_pb2, execution_pb2

import flyte_nb as fnb
from flyte_nb.core.serialize import serialize_task
from tests import propeller
from tests.runtime.conftest import inputs_for, outputs_of

SCALE = 10


def _notebook_task() -> fnb.PythonFunctionTask:
    def helper(x: int) -> int:
        return x * SCALE

    def scaled(x: int) -> int:
        return helper(x) + 1

    return fnb.task(task_resolver=fnb.notebook_task_resolver)(scaled)


def _run(
    task: fnb.PythonFunctionTask,
    payload: bytes,
    image_env: dict[str, str],
    tmp_path: pathlib.Path,
    sha256: str | None = None,
) -> propeller.PropellerResult:
    template = serialize_task(task)
    args = list(template.container.args)
    if sha256 is not None:
        args[args.index("sha256") + 1] = sha256
        del template.container.args[:]
        template.container.args.extend(args)
    filename = args[args.index("payload") + 1]
    payload_dir = tmp_path / "payload"
    payload_dir.mkdir()
    (payload_dir / filename).write_bytes(payload)
    return propeller.run_task_template(
        template, inputs_for(task, tmp_path, x=4), tmp_path / "b", payload_dir, image_env
    )


def _error(res: propeller.PropellerResult) -> errors_pb2.ContainerError:
    doc = errors_pb2.ErrorDocument()
    doc.ParseFromString(res.paths.error.read_bytes())
    return doc.error


def test_notebook_task_runs_from_its_payload_in_the_working_directory(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    task = _notebook_task()
    res = _run(task, task.task_resolver.payload(task).data, image_env, tmp_path)
    assert res.phase == "SUCCEEDED", res.error
    assert outputs_of(task, res.outputs) == {"o0": 41}


def test_tampered_payload_is_refused_as_a_user_error(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    task = _notebook_task()
    good = task.task_resolver.payload(task)
    raw = bytearray(gzip.decompress(good.data))
    raw[-5] ^= 0xFF
    res = _run(task, gzip.compress(bytes(raw)), image_env, tmp_path)  # loader args still pin the old digest
    assert (res.phase, res.exit_code) == ("FAILED", 0)
    err = _error(res)
    assert (err.code, err.kind, err.origin) == (
        "USER:PayloadDigestError",
        errors_pb2.ContainerError.NON_RECOVERABLE,
        execution_pb2.ExecutionError.USER,
    )
    assert f"expected sha256 {good.sha256}" in err.message


def test_payload_from_another_python_version_is_refused(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    import hashlib

    task = _notebook_task()
    raw = gzip.decompress(task.task_resolver.payload(task).data)
    magic, header, rest = raw.split(b"\n", 2)
    meta = json.loads(header)
    meta["python"] = "3.4.1"
    forged = gzip.compress(b"\n".join([magic, json.dumps(meta).encode(), rest]))
    res = _run(task, forged, image_env, tmp_path, sha256=hashlib.sha256(forged).hexdigest())
    err = _error(res)
    assert (err.code, err.kind, err.origin) == (
        "USER:PythonVersionMismatchError",
        errors_pb2.ContainerError.NON_RECOVERABLE,
        execution_pb2.ExecutionError.USER,
    )
    assert "pickled by Python 3.4.1" in err.message


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_sandbox_runs_notebook_tasks(mode: str) -> None:
    assert fnb.SandboxExecutor(mode).run(_notebook_task(), x=2) == 21


def _notebook_dynamic() -> fnb.PythonFunctionTask:
    def inner(x: int) -> int:
        return x + 100

    inner_task = fnb.task(task_resolver=fnb.notebook_task_resolver)(inner)

    def outer(n: int) -> list[int]:
        return [inner_task(x=i) for i in range(n)]

    return fnb.dynamic(task_resolver=fnb.notebook_task_resolver)(outer)


def test_notebook_dynamic_task_ships_its_sub_task_payloads(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    task = _notebook_dynamic()
    template = serialize_task(task)
    args = list(template.container.args)
    payload_dir = tmp_path / "payload"
    payload_dir.mkdir()
    (payload_dir / args[args.index("payload") + 1]).write_bytes(task.task_resolver.payload(task).data)
    res = propeller.run_task_template(
        template, inputs_for(task, tmp_path, n=3), tmp_path / "b", payload_dir, image_env
    )
    assert res.phase == "SUCCEEDED", res.error
    assert outputs_of(task, res.outputs) == {"o0": [100, 101, 102]}
    (sub,) = res.attempts[0].futures.tasks
    stored = sub.container.args[list(sub.container.args).index("payload") + 1]
    assert stored.startswith(str(res.paths.raw_output_prefix))  # next to the attempt's raw data
    assert pathlib.Path(stored).exists()
