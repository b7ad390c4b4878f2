"""SandboxExecutor: kernel and process runs, retries, timeout, streaming, cancellation, remote delegation."""

from __future__ import annotations

import pathlib
import threading
import time
from typing import Any

import pytest

import flyte_nb as fnb
from flyte_nb.errors import ConfigError, TaskInputError, TaskTimeoutError
from tests.runtime import tasks_mod as m

MODES = ["kernel", "process"]


class Collect:
    """A stdout/stderr callback that records what arrived and when."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, str]] = []

    def __call__(self, text: str) -> None:
        self.chunks.append((time.monotonic(), text))

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.chunks)


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # the process sandbox puts the caller's working directory on the task's PYTHONPATH (like a kernel's
    # notebook directory); the test task modules live under the repository root
    monkeypatch.chdir(pathlib.Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("mode", MODES)
def test_run_returns_native_outputs_with_defaults_filled(mode: str) -> None:
    ex = fnb.SandboxExecutor(mode, stdout=Collect(), stderr=Collect())
    assert ex.run(m.add, a=2) == 5
    assert ex.run(m.add, a=2, b=10) == 12


@pytest.mark.parametrize("mode", MODES)
def test_dynamic_task_runs_its_sub_tasks(mode: str) -> None:
    assert fnb.SandboxExecutor(mode, stdout=Collect()).run(m.fan_out, n=5) == 30


@pytest.mark.parametrize("mode", MODES)
def test_failure_raises_task_execution_error_with_the_tasks_traceback(mode: str) -> None:
    with pytest.raises(fnb.TaskExecutionError) as info:
        fnb.SandboxExecutor(mode, stderr=Collect()).run(m.fails, a=7)
    err = info.value
    assert (err.code, err.kind, err.origin) == ("USER:ValueError", "NON_RECOVERABLE", "USER")
    assert err.task_name == "tests.runtime.tasks_mod.fails"
    assert "in helper_that_fails" in err.traceback_text
    assert err.traceback_text.rstrip().endswith("ValueError: bad value 7")
    assert "ValueError: bad value 7" in str(err)


@pytest.mark.parametrize("mode", MODES)
def test_recoverable_errors_are_retried(mode: str, tmp_path: pathlib.Path) -> None:
    err = Collect()
    assert fnb.SandboxExecutor(mode, stderr=err).run(m.flaky, marker_dir=str(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attempt-0", "attempt-1", "attempt-2"]
    assert err.text.count("failed with USER:RecoverableError; retrying") == 2


@pytest.mark.parametrize("mode", MODES)
def test_on_retry_reports_each_new_attempt(mode: str, tmp_path: pathlib.Path) -> None:
    seen: list[tuple[int, str]] = []
    sandbox = fnb.SandboxExecutor(mode, stderr=Collect(), on_retry=lambda n, code: seen.append((n, code)))
    assert sandbox.run(m.flaky, marker_dir=str(tmp_path)) == 2
    assert seen == [(1, "USER:RecoverableError"), (2, "USER:RecoverableError")]


@pytest.mark.parametrize("mode", MODES)
def test_retries_override_limits_attempts(mode: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(fnb.TaskExecutionError) as info:
        fnb.SandboxExecutor(mode, retries=1, stderr=Collect()).run(m.flaky, marker_dir=str(tmp_path))
    assert info.value.kind == "RECOVERABLE"
    assert "after 2 attempts" in str(info.value)
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("mode", MODES)
def test_bad_inputs_are_rejected_before_running(mode: str) -> None:
    ex = fnb.SandboxExecutor(mode)
    with pytest.raises(TaskInputError, match="unknown input"):
        ex.run(m.add, a=1, c=2)
    with pytest.raises(TaskInputError, match="missing input"):
        ex.run(m.add)
    with pytest.raises(TaskInputError, match="input 'a'"):
        ex.run(m.add, a="three")


def test_process_output_streams_while_the_task_runs() -> None:
    out = Collect()
    started = time.monotonic()
    assert fnb.SandboxExecutor("process", stdout=out).run(m.sleepy, seconds=1.0) == 1.0
    finished = time.monotonic()
    assert out.text == "started\n"
    first_arrival = out.chunks[0][0]
    assert finished - first_arrival >= 0.8, "output arrived only after the process ended"
    assert first_arrival - started < finished - started


def test_process_streams_stdout_and_stderr_separately() -> None:
    out, err = Collect(), Collect()
    assert fnb.SandboxExecutor("process", stdout=out, stderr=err).run(m.chatty, n=3) == 3
    assert out.text == "line 0\nline 1\nline 2\n"
    assert err.text == "err 0\nerr 1\nerr 2\n"


def test_process_timeout_kills_the_task() -> None:
    out = Collect()
    started = time.monotonic()
    with pytest.raises(TaskTimeoutError) as info:
        fnb.SandboxExecutor("process", timeout=1.5, retries=0, stdout=out).run(m.sleepy, seconds=60.0)
    assert time.monotonic() - started < 20
    assert info.value.code == "Timeout"
    assert "ran past its timeout of 1.5s" in str(info.value)
    assert out.text == "started\n"


def test_process_cancel_stops_a_running_task() -> None:
    out = Collect()
    ex = fnb.SandboxExecutor("process", stdout=out)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            ex.run(m.sleepy, seconds=60.0)
        except fnb.TaskExecutionError as exc:
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 20
    while "started" not in out.text and time.monotonic() < deadline:
        time.sleep(0.02)
    ex.cancel()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert result["error"].code == "Aborted"


def test_process_refuses_outputs_a_cluster_would_refuse() -> None:
    with pytest.raises(fnb.TaskExecutionError) as info:
        fnb.SandboxExecutor("process").run(m.big_string, n=3 * 1024 * 1024)
    assert (info.value.code, info.value.kind) == ("OutputSizeExceeded", "NON_RECOVERABLE")
    assert "2 MB" in str(info.value)


def test_process_run_directory_is_removed_unless_kept() -> None:
    ex = fnb.SandboxExecutor("process")
    ex.run(m.no_inputs)
    assert ex.last_run_dir is not None
    assert not ex.last_run_dir.exists()
    keep = fnb.SandboxExecutor("process", keep_files=True)
    keep.run(m.no_inputs)
    assert keep.last_run_dir is not None
    outputs = list(keep.last_run_dir.glob("metadata/n0/data/0/outputs.pb"))
    assert len(outputs) == 1


def test_remote_mode_submits_and_waits() -> None:
    calls: list[Any] = []

    class FakeExecution:
        def wait(self, timeout: float | None = None) -> int:
            calls.append(("wait", timeout))
            return 99

    class FakeRemote:
        def submit(self, task: Any, **inputs: Any) -> FakeExecution:
            calls.append(("submit", task.name, inputs))
            return FakeExecution()

    assert fnb.SandboxExecutor("remote", remote=FakeRemote(), timeout=5).run(m.add, a=1) == 99
    assert calls == [("submit", "tests.runtime.tasks_mod.add", {"a": 1}), ("wait", 5)]


def test_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="expected one of 'kernel', 'process', 'remote', got 'cluster'"):
        fnb.SandboxExecutor("cluster")
