"""Every way flyte-nb-execute can end while it can still act leaves a typed error.pb and exits 0, as
propeller needs (PROTOCOL §1.6): run through tests/propeller.py, and by hand."""

from __future__ import annotations

import itertools
import pathlib
import subprocess
import sys

import pytest
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2

from flyte_nb.core.serialize import serialize_task
from tests import propeller
from tests.runtime import tasks_exits as t
from tests.runtime.conftest import RunTask, inputs_for

NON_RECOVERABLE = errors_pb2.ContainerError.NON_RECOVERABLE
RECOVERABLE = errors_pb2.ContainerError.RECOVERABLE
USER = execution_pb2.ExecutionError.USER
SYSTEM = execution_pb2.ExecutionError.SYSTEM


def _typed_error(res: propeller.PropellerResult) -> errors_pb2.ContainerError:
    first = res.attempts[0]
    assert first.exit_code == 0, first.stderr  # propeller reads error.pb only after exit 0
    assert first.container_error is not None, f"no error.pb; stderr: {first.stderr}"
    return first.container_error


# ---- BaseExceptions from the task ----------------------------------------------------------------


@pytest.mark.parametrize("code", [3, 0])
def test_sys_exit_in_the_task_is_a_user_error_not_an_exit(run_task: RunTask, code: int) -> None:
    res = run_task(t.exits, code=code)
    err = _typed_error(res)
    assert (err.code, err.kind, err.origin) == ("USER:SystemExit", NON_RECOVERABLE, USER)
    assert err.message.splitlines()[-1].startswith(f"The task called sys.exit({code}) instead of returning.")
    assert "tasks_exits.py" in err.message  # the user's own frame is in the traceback
    assert (res.phase, len(res.attempts)) == ("FAILED", 1)


def test_sys_exit_0_in_a_task_without_outputs_is_not_read_as_success(run_task: RunTask) -> None:
    res = run_task(t.exits_cleanly)
    assert _typed_error(res).code == "USER:SystemExit"
    assert res.phase == "FAILED"


def test_keyboard_interrupt_is_a_recoverable_system_error(run_task: RunTask) -> None:
    res = run_task(t.interrupted)
    err = _typed_error(res)
    assert (err.code, err.kind, err.origin) == ("SYSTEM:KeyboardInterrupt", RECOVERABLE, SYSTEM)
    assert "interrupted (SIGINT / KeyboardInterrupt)" in err.message
    # RECOVERABLE SYSTEM: propeller retries it within its system budget (3), like a killed pod.
    assert len(res.attempts) == 1 + propeller.SYSTEM_RETRY_BUDGET


@pytest.mark.parametrize(
    ("task", "code", "text"),
    [
        (t.generator_exit, "USER:GeneratorExit", "GeneratorExit: closed early"),
        (t.halts, "USER:Halt", "Halt: stop"),
    ],
)
def test_other_base_exceptions_are_user_errors(run_task: RunTask, task: object, code: str, text: str) -> None:
    res = run_task(task)
    err = _typed_error(res)
    assert (err.code, err.kind, err.origin) == (code, NON_RECOVERABLE, USER)
    assert text in err.message


# ---- failures of the entrypoint itself --------------------------------------------------------------


def _offloaded(uri: pathlib.Path) -> literals_pb2.Literal:
    return literals_pb2.Literal(offloaded_metadata=literals_pb2.LiteralOffloadedMetadata(uri=str(uri)))


def test_an_offloaded_input_that_points_at_itself_is_an_error_document(
    tmp_path: pathlib.Path, image_env: dict[str, str]
) -> None:
    loop = tmp_path / "loop.pb"
    loop.write_bytes(_offloaded(loop).SerializeToString())
    inputs = literals_pb2.LiteralMap(literals={"a": _offloaded(loop)})
    res = propeller.run_task_template(serialize_task(t.succeeds), inputs, tmp_path / "bucket", env=image_env)
    err = _typed_error(res)
    assert (err.code, err.kind, err.origin) == ("SYSTEM:TaskInputError", NON_RECOVERABLE, SYSTEM)
    assert f"points back at itself ({loop} -> {loop})" in err.message
    assert "RecursionError" not in err.message


def test_a_long_chain_of_offloaded_literals_is_refused(
    tmp_path: pathlib.Path, image_env: dict[str, str]
) -> None:
    links = [tmp_path / f"link{i}.pb" for i in range(12)]
    for here, there in itertools.pairwise(links):
        here.write_bytes(_offloaded(there).SerializeToString())
    links[-1].write_bytes(literals_pb2.Literal().SerializeToString())
    inputs = literals_pb2.LiteralMap(literals={"a": _offloaded(links[0])})
    res = propeller.run_task_template(serialize_task(t.succeeds), inputs, tmp_path / "bucket", env=image_env)
    assert "goes on for more than 8 hops" in _typed_error(res).message


@pytest.mark.parametrize("name", ["_F_L_MIN_SIZE_MB", "_F_L_MAX_SIZE_MB"])
@pytest.mark.parametrize("value", ["ten", "-1", "nan", "inf"])
def test_a_malformed_offloading_size_is_an_error_document_before_the_task_runs(
    run_task: RunTask, name: str, value: str
) -> None:
    env = {"_F_L_MIN_SIZE_MB": "10", name: value}
    res = run_task(t.succeeds, env=env, a=1)
    err = _typed_error(res)
    assert (err.code, err.kind, err.origin) == ("SYSTEM:ConfigError", NON_RECOVERABLE, SYSTEM)
    assert (
        f"${name}: expected a size in megabytes (a non-negative number, e.g. 10), got {value!r}"
        in err.message
    )


def test_outputs_that_cannot_be_written_are_reported_in_error_pb(
    tmp_path: pathlib.Path, image_env: dict[str, str]
) -> None:
    # Something already occupies outputs.pb (a directory): the write fails, error.pb says why.
    (tmp_path / "inputs.pb").write_bytes(inputs_for(t.succeeds, tmp_path, a=1).SerializeToString())
    (tmp_path / "out" / "outputs.pb").mkdir(parents=True)
    proc = _execute_by_hand(tmp_path, image_env, "succeeds")
    assert proc.returncode == 0, proc.stderr
    doc = errors_pb2.ErrorDocument.FromString((tmp_path / "out" / "error.pb").read_bytes())
    assert (doc.error.code, doc.error.kind, doc.error.origin) == ("SYSTEM:StorageError", RECOVERABLE, SYSTEM)
    assert "outputs.pb" in doc.error.message


# ---- by hand --------------------------------------------------------------------------------------


def _execute_by_hand(
    tmp_path: pathlib.Path, env: dict[str, str], task_name: str
) -> subprocess.CompletedProcess[str]:
    script = pathlib.Path(sys.executable).parent / "flyte-nb-execute"
    argv = [
        *("--inputs", str(tmp_path / "inputs.pb"), "--output-prefix", str(tmp_path / "out")),
        *("--resolver", "flyte_nb.core.resolver.default_task_resolver", "--"),
        *("task-module", "tests.runtime.tasks_exits", "task-name", task_name),
    ]
    hand_env = {k: v for k, v in env.items() if not k.startswith("FLYTE_INTERNAL_")}
    return subprocess.run([str(script), *argv], env=hand_env, capture_output=True, text=True, timeout=60)


def test_run_by_hand_a_failure_says_in_one_line_where_the_error_document_is(
    tmp_path: pathlib.Path, image_env: dict[str, str]
) -> None:
    (tmp_path / "inputs.pb").write_bytes(inputs_for(t.exits, tmp_path, code=3).SerializeToString())
    proc = _execute_by_hand(tmp_path, image_env, "exits")
    assert proc.returncode == 0
    (line,) = proc.stderr.splitlines()
    error_pb = tmp_path / "out" / "error.pb"
    assert line == (
        f"flyte-nb-execute: the task failed; wrote {error_pb} (USER:SystemExit, non-recoverable user error): "
        "The task called sys.exit(3) instead of returning. A task ends by returning its outputs, or by raising "
        "an exception when it fails."
    )
    assert errors_pb2.ErrorDocument.FromString(error_pb.read_bytes()).error.code == "USER:SystemExit"


def test_under_propeller_the_notice_is_not_printed(run_task: RunTask) -> None:
    res = run_task(t.exits, code=1)
    assert _typed_error(res).code == "USER:SystemExit"
    assert "flyte-nb-execute: the task failed" not in res.attempts[0].stderr


def test_run_by_hand_a_success_prints_nothing(tmp_path: pathlib.Path, image_env: dict[str, str]) -> None:
    (tmp_path / "inputs.pb").write_bytes(inputs_for(t.succeeds, tmp_path, a=1).SerializeToString())
    proc = _execute_by_hand(tmp_path, image_env, "succeeds")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (tmp_path / "out" / "outputs.pb").exists()


def test_a_failure_of_the_entrypoint_itself_is_a_recoverable_system_error(
    run_task: RunTask, tmp_path: pathlib.Path, image_env: dict[str, str]
) -> None:
    # Stands in for a bug in flyte_nb: something the entrypoint calls raises where nothing expects it.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import flyte_nb.runtime.entrypoint as e\n"
        "def _broken(*args, **kwargs):\n"
        "    raise RecursionError('simulated bug')\n"
        "e.execution_params = _broken\n"
    )
    res = run_task(t.succeeds, env={"PYTHONPATH": f"{hooks}:{image_env['PYTHONPATH']}"}, a=1)
    err = _typed_error(res)
    assert (err.code, err.kind, err.origin) == ("SYSTEM:RecursionError", RECOVERABLE, SYSTEM)
    assert "RecursionError: simulated bug" in err.message
    assert "entrypoint.py" in err.message  # a bug keeps its traceback
