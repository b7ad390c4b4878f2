"""flyte-nb-execute run exactly as propeller runs a container task (tests/propeller.py)."""

from __future__ import annotations

import dataclasses
import datetime
import os
import pathlib
import subprocess
import sys

import pytest
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2

from flyte_nb.core.serialize import serialize_task
from tests import propeller
from tests.runtime import tasks_mod as m
from tests.runtime.conftest import RunTask, inputs_for, outputs_of

NON_RECOVERABLE = errors_pb2.ContainerError.NON_RECOVERABLE
RECOVERABLE = errors_pb2.ContainerError.RECOVERABLE
USER = execution_pb2.ExecutionError.USER
SYSTEM = execution_pb2.ExecutionError.SYSTEM


def test_simple_task_writes_outputs_and_exits_zero(run_task: RunTask) -> None:
    res = run_task(m.add, a=2, b=5)
    assert (res.phase, res.exit_code) == ("SUCCEEDED", 0)
    assert outputs_of(m.add, res.outputs) == {"o0": 7}
    assert res.paths.outputs.exists()
    assert not res.paths.error.exists()
    # the command propeller ran was the template's own, rendered
    cmd = res.attempts[0].command
    assert cmd[0] == str(pathlib.Path(sys.executable).parent / "flyte-nb-execute")
    assert cmd[cmd.index("--inputs") + 1] == str(res.paths.inputs)
    assert cmd[cmd.index("--prev-checkpoint") + 1] == '""'


def test_every_supported_type_round_trips(run_task: RunTask) -> None:
    dt = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
    values = {
        "i": 41,
        "f": 1.25,
        "s": "abc",
        "b": True,
        "dt": dt,
        "td": datetime.timedelta(seconds=90),
        "li": [1, 2, 3],
        "ds": {"x": 1.5},
        "raw": {"k": [1, "v"]},
        "opt": 5,
        "color": m.Color.RED,
        "point": m.Point(1, 2.5),
        "obj": m.Opaque(9),
    }
    res = run_task(m.everything, **values)
    assert res.phase == "SUCCEEDED", res.error
    out = outputs_of(m.everything, res.outputs)
    assert [out[f"o{i}"] for i in range(13)] == [
        42,
        2.5,
        "ABC",
        False,
        dt + datetime.timedelta(days=1),
        datetime.timedelta(seconds=180),
        [1, 2, 3, 4],
        {"x": 2.5},
        {"k": [1, "v"], "seen": True},
        None,
        m.Color.GREEN,
        m.Point(2, 2.5, "p!"),
        m.Opaque(10),
    ]
    # the pickled output lives under this attempt's raw output prefix, not in outputs.pb
    pickle_uri = res.outputs.literals["o12"].scalar.blob.uri
    assert pickle_uri.startswith(str(res.paths.raw_output_prefix))
    assert dataclasses.is_dataclass(out["o11"])


def test_task_without_inputs_reads_an_empty_inputs_file(run_task: RunTask) -> None:
    res = run_task(m.no_inputs)
    assert res.paths.inputs.stat().st_size == 0  # propeller writes a 0-byte inputs.pb
    assert res.phase == "SUCCEEDED"
    assert outputs_of(m.no_inputs, res.outputs) == {"o0": "hello"}


def test_task_without_outputs_writes_an_empty_map(run_task: RunTask) -> None:
    res = run_task(m.nothing, a=3)
    assert res.phase == "SUCCEEDED"
    assert "side effect 3" in res.stdout
    written = literals_pb2.LiteralMap()
    written.ParseFromString(res.paths.outputs.read_bytes())
    assert written == literals_pb2.LiteralMap()


def _container_error(res: propeller.PropellerResult) -> errors_pb2.ContainerError:
    doc = errors_pb2.ErrorDocument()
    doc.ParseFromString(res.paths.error.read_bytes())
    return doc.error


def test_user_exception_gives_user_error_document_and_exit_zero(run_task: RunTask) -> None:
    res = run_task(m.fails, a=4)
    assert (res.phase, res.exit_code) == ("FAILED", 0)
    err = _container_error(res)
    assert err.code == "USER:ValueError"
    assert err.kind == NON_RECOVERABLE
    assert err.origin == USER
    assert err.worker == ""
    assert err.timestamp.seconds > 0
    # the user's own frames, in order, and none of ours
    assert err.message.startswith("Traceback (most recent call last):")
    assert "in fails\n    return helper_that_fails(a)" in err.message
    assert 'in helper_that_fails\n    raise ValueError(f"bad value {a}")' in err.message
    assert err.message.rstrip().endswith("ValueError: bad value 4")
    assert "flyte_nb" + os.sep not in err.message
    # propeller's view: a permanent USER failure, with the code and message copied over
    assert (res.error.code, res.error.kind) == ("USER:ValueError", USER)
    assert len(res.attempts) == 1


def test_recoverable_error_is_retried_until_success(run_task: RunTask, tmp_path: pathlib.Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    res = run_task(m.flaky, marker_dir=str(markers))
    assert res.phase == "SUCCEEDED"
    assert [a.phase for a in res.attempts] == ["RETRYABLE_FAILURE", "RETRYABLE_FAILURE", "SUCCEEDED"]
    assert sorted(p.name for p in markers.iterdir()) == ["attempt-0", "attempt-1", "attempt-2"]
    assert outputs_of(m.flaky, res.outputs) == {"o0": 2}
    first = res.attempts[0].container_error
    assert (first.code, first.kind, first.origin) == ("USER:RecoverableError", RECOVERABLE, USER)
    # each attempt has its own output dir and raw prefix; the second sees the first's checkpoint dir
    assert [a.paths.output_prefix.name for a in res.attempts] == ["0", "1", "2"]
    assert len({a.paths.raw_output_prefix for a in res.attempts}) == 3
    cmd = res.attempts[1].command
    assert cmd[cmd.index("--prev-checkpoint") + 1] == str(res.attempts[0].paths.checkpoint_prefix)


def test_recoverable_error_fails_after_retries_are_used_up(run_task: RunTask) -> None:
    res = run_task(m.always_recoverable)
    assert res.phase == "FAILED"
    assert len(res.attempts) == 4  # retries=3
    assert all(a.exit_code == 0 for a in res.attempts)
    err = _container_error(res)
    assert (err.code, err.kind, err.origin) == ("USER:RecoverableError", RECOVERABLE, USER)
    assert "RecoverableError: still broken" in err.message


def test_input_that_does_not_convert_is_a_system_error(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    template = serialize_task(m.add)
    bad = literals_pb2.LiteralMap()
    bad.literals["a"].scalar.primitive.string_value = "three"
    res = propeller.run_task_template(template, bad, tmp_path / "b", env=image_env)
    assert (res.phase, res.exit_code) == ("FAILED", 0)
    err = _container_error(res)
    assert err.code == "SYSTEM:TaskInputError"
    assert (err.kind, err.origin) == (NON_RECOVERABLE, SYSTEM)
    assert "input 'a'" in err.message
    assert "Traceback" not in err.message


def test_unknown_input_is_a_system_error(image_env: dict[str, str], tmp_path: pathlib.Path) -> None:
    template = serialize_task(m.add)
    lm = inputs_for(m.add, tmp_path, a=1)
    lm.literals["zzz"].scalar.primitive.integer = 1
    res = propeller.run_task_template(template, lm, tmp_path / "b", env=image_env)
    err = _container_error(res)
    assert (err.code, err.kind, err.origin) == ("SYSTEM:TaskInputError", NON_RECOVERABLE, SYSTEM)
    assert "zzz" in err.message


def test_wrong_return_type_is_the_users_error(run_task: RunTask) -> None:
    res = run_task(m.wrong_output, a=1)
    err = _container_error(res)
    assert (err.code, err.kind, err.origin) == ("USER:TaskOutputError", NON_RECOVERABLE, USER)
    assert "output 'o0'" in err.message


@pytest.mark.parametrize(
    ("old", "new", "code", "text"),
    [
        (
            "tests.runtime.tasks_mod",
            "tests.runtime.no_such_module",
            "USER:ResolverError",
            "cannot import module 'tests.runtime.no_such_module'",
        ),
        (
            "flyte_nb.core.resolver.default_task_resolver",
            "no_such_pkg.resolver",
            "USER:ImportError",
            "--resolver 'no_such_pkg.resolver': cannot import module 'no_such_pkg' (No module named 'no_such_pkg')",
        ),
        (
            "flyte_nb.core.resolver.default_task_resolver",
            "flyte_nb.core.resolver.nope",
            "USER:ImportError",
            "has no attribute 'nope'",
        ),
    ],
)
def test_task_that_cannot_be_loaded_is_a_user_error(
    image_env: dict[str, str], tmp_path: pathlib.Path, old: str, new: str, code: str, text: str
) -> None:
    template = serialize_task(m.add)
    args = [new if a == old else a for a in template.container.args]
    del template.container.args[:]
    template.container.args.extend(args)
    res = propeller.run_task_template(
        template, inputs_for(m.add, tmp_path, a=1), tmp_path / "b", env=image_env
    )
    assert (res.phase, res.exit_code) == ("FAILED", 0)
    err = _container_error(res)
    assert (err.code, err.kind, err.origin) == (code, NON_RECOVERABLE, USER)
    assert text in err.message
    assert "importlib" not in err.message  # the import machinery's frames are not the user's


def test_import_error_in_the_task_module_shows_the_modules_own_line(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    (tmp_path / "broken_tasks.py").write_text("import json\nLIMIT = 1 / 0\n")
    template = serialize_task(m.add)
    args = ["broken_tasks" if a == "tests.runtime.tasks_mod" else a for a in template.container.args]
    del template.container.args[:]
    template.container.args.extend(args)
    env = {**image_env, "PYTHONPATH": os.pathsep.join([str(tmp_path), image_env.get("PYTHONPATH", "")])}
    res = propeller.run_task_template(template, inputs_for(m.add, tmp_path, a=1), tmp_path / "b", env=env)
    err = _container_error(res)
    assert err.code == "USER:ZeroDivisionError"
    assert err.message.startswith("Traceback (most recent call last):\n  File ")
    assert 'broken_tasks.py", line 2, in <module>\n    LIMIT = 1 / 0' in err.message
    assert "importlib" not in err.message


def test_execution_parameters_come_from_propellers_environment(run_task: RunTask) -> None:
    res = run_task(m.env_info)
    info = outputs_of(m.env_info, res.outputs)["o0"]
    exec_name = res.paths.data_dir.parent.parent.name.split("-", 2)[2]
    assert info["execution_id"] == exec_name
    assert (info["project"], info["domain"]) == ("flytesnacks", "development")
    assert info["task_name"] == "tests.runtime.tasks_mod.env_info"
    assert info["attempt"] == "0"
    assert info["checkpoint"] == str(res.paths.checkpoint_prefix)
    assert info["prev_checkpoint"] == "None"  # propeller's "" means none
    assert info["raw"] == str(res.paths.raw_output_prefix)
    assert info["cwd"] == str(res.paths.working_dir)
    assert info["workdir_exists"] == "True"


def test_dynamic_task_writes_futures_and_its_sub_nodes_run(run_task: RunTask) -> None:
    res = run_task(m.fan_out, n=4)
    assert res.phase == "SUCCEEDED", res.error
    spec = res.attempts[0].futures
    assert spec is not None
    assert not res.attempts[0].paths.error.exists()
    assert [n.id for n in spec.nodes] == ["n0", "n1", "n2", "n3", "n4"]
    assert sorted(res.sub_nodes) == ["n0", "n1", "n2", "n3", "n4"]
    assert outputs_of(m.fan_out, res.outputs) == {"o0": 0 + 1 + 4 + 9}


def test_fail_on_error_env_makes_a_failure_exit_one(run_task: RunTask) -> None:
    res = run_task(m.fails, a=1, env={"FLYTE_FAIL_ON_ERROR": "true"})
    assert res.exit_code == 1
    assert res.paths.error.exists()  # written before exiting


def test_large_output_is_offloaded_when_the_cluster_asks(run_task: RunTask) -> None:
    res = run_task(m.no_inputs, env={"_F_L_MIN_SIZE_MB": "0"})
    lit = res.outputs.literals["o0"]
    assert lit.HasField("offloaded_metadata")
    full = literals_pb2.Literal()
    full.ParseFromString(pathlib.Path(lit.offloaded_metadata.uri).read_bytes())
    assert full.scalar.primitive.string_value == "hello"
    assert (
        lit.offloaded_metadata.inferred_type
        == serialize_task(m.no_inputs).interface.outputs.variables["o0"].type
    )


def test_offloaded_input_is_fetched(image_env: dict[str, str], tmp_path: pathlib.Path) -> None:
    full = inputs_for(m.add, tmp_path, a=20).literals["a"]
    (tmp_path / "a.pb").write_bytes(full.SerializeToString())
    lm = literals_pb2.LiteralMap()
    lm.literals["a"].offloaded_metadata.uri = str(tmp_path / "a.pb")
    res = propeller.run_task_template(serialize_task(m.add), lm, tmp_path / "b", env=image_env)
    assert outputs_of(m.add, res.outputs) == {"o0": 23}


def _execute(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = pathlib.Path(sys.executable).parent / "flyte-nb-execute"
    return subprocess.run([str(script), *argv], env=env, capture_output=True, text=True, timeout=60)


def test_unrendered_placeholders_are_treated_as_absent(
    image_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    (tmp_path / "inputs.pb").write_bytes(inputs_for(m.add, tmp_path, a=1, b=1).SerializeToString())
    proc = _execute(
        [
            "--inputs",
            str(tmp_path / "inputs.pb"),
            "--output-prefix",
            str(tmp_path / "out"),
            "--raw-output-data-prefix",
            "{{.rawOutputDataPrefix}}",
            "--checkpoint-path",
            "{{ .checkpointOutputPrefix }}",
            "--prev-checkpoint",
            "{{.prevCheckpointPrefix}}",
            "--resolver",
            "flyte_nb.core.resolver.default_task_resolver",
            "--",
            "task-module",
            "tests.runtime.tasks_mod",
            "task-name",
            "add",
        ],
        image_env,
    )
    assert proc.returncode == 0, proc.stderr
    out = literals_pb2.LiteralMap()
    out.ParseFromString((tmp_path / "out" / "outputs.pb").read_bytes())
    assert out.literals["o0"].scalar.primitive.integer == 2


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--inputs", "x", "--output-prefix", "y", "--resolver", "r"], "expected '-- <loader args>'"),
        (["--inputs", "x", "--output-prefix", "y", "--resolver", "r", "--"], "at least one loader arg"),
        (
            ["--inputs", "{{.input}}", "--output-prefix", "y", "--resolver", "r", "--", "a"],
            "--inputs must be a path",
        ),
        (["--output-prefix", "y", "--resolver", "r", "--", "a"], "invalid arguments"),
    ],
)
def test_malformed_command_line_exits_two(image_env: dict[str, str], argv: list[str], expected: str) -> None:
    proc = _execute(argv, image_env)
    assert proc.returncode == 2
    assert expected in proc.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_options_and_exits_zero(image_env: dict[str, str], flag: str) -> None:
    proc = _execute([flag], image_env)
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: flyte-nb-execute")
    assert "--raw-output-data-prefix" in proc.stdout


def test_failure_to_write_results_exits_nonzero(image_env: dict[str, str], tmp_path: pathlib.Path) -> None:
    (tmp_path / "inputs.pb").write_bytes(b"")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the output directory should be")
    proc = _execute(
        [
            "--inputs",
            str(tmp_path / "inputs.pb"),
            "--output-prefix",
            str(blocker / "out"),
            "--resolver",
            "flyte_nb.core.resolver.default_task_resolver",
            "--",
            "task-module",
            "tests.runtime.tasks_mod",
            "task-name",
            "no_inputs",
        ],
        image_env,
    )
    assert proc.returncode == 1
    assert "could not write the task's results" in proc.stderr


def test_task_timeout_from_the_template_kills_the_pod(run_task: RunTask) -> None:
    res = run_task(m.slow_with_timeout)
    assert res.phase == "TIMED_OUT"
    assert len(res.attempts) == 1  # retries=0
    assert res.attempts[0].exit_code == 137
    assert not res.paths.outputs.exists()


def test_unknown_result_of_dispatch_execute_is_reported() -> None:
    from flyte_nb.runtime import entrypoint

    results = entrypoint._result_files(object(), m.add, "out", "raw")
    assert results.failed
    ((name, data),) = results.files
    doc = errors_pb2.ErrorDocument()
    doc.ParseFromString(data)
    assert name == "error.pb"
    assert (doc.error.code, doc.error.kind, doc.error.origin) == ("UNKNOWN_OUTPUT", RECOVERABLE, SYSTEM)
    assert "returned object" in doc.error.message


def test_numpy_pandas_pydantic_and_typing_forms_round_trip(run_task: RunTask) -> None:
    import numpy
    import pandas

    from tests.runtime import tasks_numpy as nt

    res = run_task(
        nt.more_types,
        day=datetime.date(2024, 2, 28),
        choice="a",
        either="ab",
        scaled=4,
        model=nt.Settings(name="m"),
        frame=pandas.DataFrame({"x": [1, 2]}),
        array=numpy.array([1.0, 2.0, 3.0]),
    )
    assert res.phase == "SUCCEEDED", res.error
    assert sorted(res.outputs.literals) == ["array", "choice", "day", "either", "frame", "model", "scaled"]
    out = outputs_of(nt.more_types, res.outputs)
    assert out["day"] == datetime.date(2024, 2, 29)
    assert (out["choice"], out["either"], out["scaled"]) == ("b", "abab", 40)
    assert out["model"] == nt.Settings(name="M", depth=3)
    assert out["frame"].to_dict("list") == {"x": [1, 2], "total": [2, 4]}
    assert out["array"].tolist() == [3.0, 2.0, 1.0]
    # the dataframe and the array are raw data under the attempt's raw output prefix
    assert res.outputs.literals["frame"].scalar.structured_dataset.uri.startswith(
        str(res.paths.raw_output_prefix)
    )
    assert res.outputs.literals["array"].scalar.blob.uri.startswith(str(res.paths.raw_output_prefix))
