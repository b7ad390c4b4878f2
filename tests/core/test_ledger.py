"""The run ledger: what a run leaves behind, how it is found again, and that kernels can share it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from flyte_nb.core.ledger import LEDGER_ENV, RunLedger, ledger_path
from flyte_nb.core.runs import (
    RemoteRun,
    RunStart,
    error_summary,
    input_summary,
    phase_of_exception,
    scrub,
)
from flyte_nb.errors import TaskExecutionError, TaskTimeoutError

ROOT = Path(__file__).resolve().parents[2]


def _start(task: str = "add", mode: str = "kernel", inputs: str = "a=1", at: float | None = None) -> RunStart:
    if at is None:
        return RunStart(task=task, version="v1", mode=mode, inputs=inputs)
    return RunStart(task=task, version="v1", mode=mode, inputs=inputs, started_at=at)


def test_a_run_is_recorded_with_its_phase_duration_and_error(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs.sqlite", notebook="analysis.ipynb")
    ok = ledger.run_started(_start(inputs="a=1, b=2"))
    bad = ledger.run_started(_start(task="train"))
    assert ok is not None
    assert bad is not None
    assert ledger.runs()[0].phase == "RUNNING"  # visible while it runs
    ledger.run_finished(ok, "SUCCEEDED", 0.25)
    ledger.run_finished(bad, "FAILED", 1.5, "ValueError: lr must be positive")
    runs = {r.task: r for r in ledger.runs()}
    assert runs["add"].phase == "SUCCEEDED"
    assert runs["add"].duration == pytest.approx(0.25)
    assert runs["add"].inputs == "a=1, b=2"
    assert runs["add"].notebook == "analysis.ipynb"
    assert runs["add"].version == "v1"
    assert runs["train"].error == "ValueError: lr must be positive"
    assert not runs["add"].is_remote


def test_runs_are_listed_newest_first_and_filtered(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs.sqlite")
    for i, (task, mode) in enumerate([("add", "kernel"), ("mod.train", "process"), ("add", "remote")]):
        run = ledger.run_started(_start(task=task, mode=mode, at=1000.0 + i))
        assert run is not None
        ledger.run_finished(run, "FAILED" if mode == "process" else "SUCCEEDED", 1.0)
    assert [r.task for r in ledger.runs()] == ["add", "mod.train", "add"]
    assert [r.mode for r in ledger.runs(task="add")] == ["remote", "kernel"]
    # a task from a module is found by its short name too, and `_` is not a wildcard
    assert [r.task for r in ledger.runs(task="train")] == ["mod.train"]
    assert ledger.runs(task="tra_n") == []
    assert [r.task for r in ledger.runs(phase="failed")] == ["mod.train"]
    assert [r.mode for r in ledger.runs(phase=["SUCCEEDED", "FAILED"], mode="kernel")] == ["kernel"]
    assert len(ledger.runs(limit=2)) == 2


def test_remote_runs_are_updated_by_execution_id_only(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs.sqlite")
    here = RemoteRun("admin:81", "flytesnacks", "development", "add-1234", "http://admin:81/console/…")
    ledger.run_started(_start(mode="remote"), here)
    other = RemoteRun("other:81", "flytesnacks", "development", "add-1234", "")
    ledger.remote_phase(other, "FAILED", 3.0, "boom")  # same name on another cluster: not ours
    (run,) = ledger.runs()
    assert (run.phase, run.execution, run.endpoint) == ("QUEUED", "add-1234", "admin:81")
    ledger.remote_phase(here, "RUNNING")
    assert ledger.runs()[0].duration is None
    ledger.remote_phase(here, "SUCCEEDED", 12.5)
    run = ledger.runs()[0]
    assert (run.phase, run.duration) == ("SUCCEEDED", 12.5)
    assert run.remote == here
    assert ledger.get("add-1234") == run
    assert ledger.get(run.id) == run
    assert ledger.get(str(run.id)) == run
    assert ledger.get("nope") is None


def test_a_terminal_phase_without_a_reported_duration_gets_the_elapsed_time(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs.sqlite")
    where = RemoteRun("admin:81", "p", "d", "x-1", "")
    ledger.run_started(_start(mode="remote", at=1.0), where)
    ledger.remote_phase(where, "ABORTED")
    duration = ledger.runs()[0].duration
    assert duration is not None
    assert duration > 1000


def test_clear_forgets_this_notebooks_runs_or_all(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    mine, theirs = RunLedger(path, notebook="a.ipynb"), RunLedger(path, notebook="b.ipynb")
    mine.run_started(_start())
    theirs.run_started(_start())
    assert len(mine.runs()) == 2
    assert mine.clear(notebook="a.ipynb") == 1
    assert [r.notebook for r in mine.runs()] == ["b.ipynb"]
    assert mine.clear() == 1
    assert mine.runs() == []


def test_a_run_whose_kernel_died_is_shown_aborted(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    code = textwrap.dedent(
        f"""
        from flyte_nb.core.ledger import RunLedger
        from flyte_nb.core.runs import RunStart
        RunLedger({str(path)!r}).run_started(RunStart(task="slow", version="", mode="kernel", inputs=""))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)  # that process has exited now
    (run,) = RunLedger(path).runs()
    assert run.phase == "ABORTED"
    assert "kernel ended" in run.error


def test_recording_never_fails_a_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the ledger's directory should be")
    ledger = RunLedger(blocked / "runs.sqlite")
    assert ledger.run_started(_start()) is None
    ledger.run_finished(1, "SUCCEEDED", 1.0)
    ledger.remote_phase(RemoteRun("e", "p", "d", "n", ""), "FAILED")
    warnings = [r for r in caplog.records if "run ledger" in r.getMessage()]
    assert len(warnings) == 1  # said once, not for every run


def test_threads_write_at_once(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs.sqlite")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(n):
                run = ledger.run_started(_start())
                assert run is not None
                ledger.run_finished(run, "SUCCEEDED", 0.0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(25,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(ledger.runs(limit=None)) == 100


def test_two_processes_write_one_ledger_at_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    # Both start on a file that does not exist yet, at the same moment (creating it and switching it
    # to WAL concurrently is the race that matters), then interleave their writes.
    code = textwrap.dedent(
        f"""
        import sys, time
        from flyte_nb.core.ledger import RunLedger
        from flyte_nb.core.runs import RunStart
        ledger = RunLedger({str(path)!r}, notebook=sys.argv[1])
        while time.time() < float(sys.argv[2]):
            pass
        for i in range(150):
            run = ledger.run_started(RunStart(task="t", version="", mode="kernel", inputs=f"i={{i}}"))
            assert run is not None, "not recorded"
            ledger.run_finished(run, "SUCCEEDED", 0.0)
        """
    )
    start = str(time.time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, name, start], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for name in ("one", "two", "three")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "could not" not in err
    runs = RunLedger(path).runs(limit=None)
    assert len(runs) == 450
    assert {r.notebook for r in runs} == {"one", "two", "three"}
    assert all(r.phase == "SUCCEEDED" for r in runs)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_ledger_lives_beside_the_notebook_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    assert ledger_path(tmp_path) == tmp_path / ".flyte_nb_runs.sqlite"
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path / "elsewhere.sqlite"))
    assert ledger_path(tmp_path) == tmp_path / "elsewhere.sqlite"
    monkeypatch.setenv(LEDGER_ENV, "off")
    assert ledger_path(tmp_path) is None


# ---- summaries ------------------------------------------------------------------------------------


@dataclass
class Params:
    lr: float
    layers: list[int]


def test_input_summaries_are_short_and_never_hold_secrets() -> None:
    import numpy as np
    import pandas as pd

    text = input_summary(
        {
            "n": 3,
            "name": "x" * 500,
            "xs": list(range(100_000)),
            "few": [1, 2, 3],
            "df": pd.DataFrame({"a": range(1000), "b": range(1000)}),
            "arr": np.zeros((10, 20)),
            "blob": b"\0" * 4096,
            "params": Params(0.1, [1, 2]),
            "api_key": "sk-live-123456",
            "db_password": "hunter2",
        }
    )
    assert "n=3" in text
    assert "xs=list[100000 items]" in text
    assert "few=[1, 2, 3]" in text
    assert "df=DataFrame(1000x2)" in text
    assert "arr=ndarray(float64, 10x20)" in text
    assert "blob=bytes(4096 B)" in text
    assert "params=Params(lr=0.1, layers=[1, 2])" in text
    assert "api_key=***" in text
    assert "db_password=***" in text
    assert "sk-live" not in text
    assert "hunter2" not in text
    assert len(text) <= 300
    assert "x" * 100 not in text


def test_errors_are_one_scrubbed_line() -> None:
    err = TaskExecutionError(
        "Task 'f' failed: download of https://bucket/obj?X-Amz-Signature=abc123&exp=1 failed\n  traceback…"
    )
    summary = error_summary(err)
    assert summary.startswith("TaskExecutionError: Task 'f' failed: download of https://bucket/obj?…")
    assert "abc123" not in summary
    assert "traceback" not in summary
    assert scrub("header Bearer eyJhbGciOi.xyz sent") == "header Bearer *** sent"
    assert scrub('{"access_token": "tok123", "x": 1}') == '{"access_token": "***", "x": 1}'
    assert scrub("refresh_token=r3fr3sh&grant=x") == "refresh_token=***&grant=x"


def test_the_phase_of_a_failed_run() -> None:
    assert phase_of_exception(ValueError()) == "FAILED"
    assert phase_of_exception(KeyboardInterrupt()) == "ABORTED"
    assert phase_of_exception(TaskTimeoutError("late")) == "TIMED_OUT"


def test_sandbox_runs_are_recorded_through_the_notebook_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flyte_nb as fnb
    from flyte_nb.core import session

    @fnb.task
    def double(x: int, token: str = "s3cret") -> int:
        if x < 0:
            raise ValueError("negative")
        return 2 * x

    ledger = RunLedger(tmp_path / "runs.sqlite")

    class Notebook:  # what the extension's KernelSession answers
        def run_recorder(self) -> RunLedger:
            return ledger

    fnb.SandboxExecutor("kernel").run(double, x=2)
    assert ledger.runs() == []  # no notebook session: nothing recorded
    monkeypatch.setattr(session, "_session", Notebook())
    assert double(x=1) == 2  # a plain call is no run
    assert ledger.runs() == []
    assert fnb.SandboxExecutor("kernel").run(double, x=2) == 4
    with pytest.raises(TaskExecutionError):
        fnb.SandboxExecutor("kernel").run(double, x=-1)
    failed, ok = ledger.runs()
    assert (ok.task, ok.mode, ok.phase, ok.inputs) == (double.name, "kernel", "SUCCEEDED", "x=2, token=***")
    assert ok.version == fnb.serialize_task(double).id.version
    assert ok.duration is not None
    assert ok.duration >= 0
    assert failed.phase == "FAILED"
    assert "negative" in failed.error
    assert os.path.getsize(tmp_path / "runs.sqlite") > 0


def _interrupted_write(ledger: RunLedger, statement: str) -> None:
    with ledger._write() as con:
        con.execute(statement)
        raise KeyboardInterrupt


def test_an_interrupt_inside_a_write_is_not_replaced_by_a_failing_rollback(tmp_path: Path) -> None:
    # A widget's Cancel raises RunCancelled (a KeyboardInterrupt) in the run's thread, possibly while the
    # ledger records the run. Once replaced by sqlite3's "cannot rollback - no transaction is active"
    # (logged as a ledger warning), the interrupt was lost and the cancelled task ran on.
    ledger = RunLedger(tmp_path / "runs.sqlite")
    with pytest.raises(KeyboardInterrupt):  # the transaction already ended, as SQLite does after some errors
        _interrupted_write(ledger, "COMMIT")
    with pytest.raises(KeyboardInterrupt):  # a transaction still open is rolled back
        _interrupted_write(
            ledger, "INSERT INTO runs (task, mode, started_at, phase) VALUES ('t', 'kernel', 0, 'RUNNING')"
        )
    assert ledger.runs() == []  # nothing half-recorded
