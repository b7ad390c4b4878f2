"""Remote runs in the notebook's run ledger: recorded at launch, updated with every phase seen."""

from __future__ import annotations

from pathlib import Path

import pytest

import flyte_nb as fnb
from flyte_nb.core import session
from flyte_nb.core.ledger import RunLedger
from flyte_nb.errors import TaskExecutionError
from flyte_nb.remote import Remote
from tests.remote import tasks
from tests.remote.conftest import make_remote
from tests.standin import StandIn


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunLedger:
    runs = RunLedger(tmp_path / "runs.sqlite", notebook="remote.ipynb")

    class Notebook:  # the parts of the extension's KernelSession a remote run uses
        def run_recorder(self) -> RunLedger:
            return runs

        def default_submitter(self) -> None:
            return None

    monkeypatch.setattr(session, "_session", Notebook())
    return runs


def test_a_submitted_run_is_recorded_with_its_execution_and_final_phase(
    remote: Remote, ledger: RunLedger, standin: StandIn
) -> None:
    execution = remote.submit(tasks.add, a=4)
    (run,) = ledger.runs()
    assert (run.mode, run.phase, run.execution, run.url) == (
        "remote",
        "QUEUED",
        execution.name,
        execution.url,
    )
    assert run.endpoint == standin.endpoint
    assert (run.project, run.domain) == ("flytesnacks", "development")
    assert run.inputs == "a=4, b=3"  # the defaults that were sent too
    assert run.version == remote.register(tasks.add).version
    assert execution.wait(timeout=120) == 7
    (run,) = ledger.runs()
    assert run.phase == "SUCCEEDED"
    assert run.duration is not None
    assert run.duration > 0


def test_a_failed_remote_run_keeps_its_error_line(remote: Remote, ledger: RunLedger) -> None:
    execution = remote.submit(tasks.divide, a=1.0, b=0.0)
    with pytest.raises(TaskExecutionError):
        execution.wait(timeout=120)
    (run,) = ledger.runs()
    assert run.phase == "FAILED"
    assert "ZeroDivisionError" in run.error
    assert "\n" not in run.error


def test_a_run_finished_after_a_restart_is_updated_when_seen_again(
    remote: Remote, ledger: RunLedger, standin: StandIn
) -> None:
    execution = remote.submit(tasks.sleepy, seconds=0.5)
    assert ledger.runs()[0].phase == "QUEUED"
    # the kernel restarts: a new Remote re-attaches by name and watches it to the end
    again = make_remote(standin).execution(execution.name)
    assert again.wait(timeout=120) == "woke up"
    assert ledger.get(execution.name).phase == "SUCCEEDED"  # type: ignore[union-attr]


def test_sandbox_executor_remote_runs_are_recorded_once(
    remote: Remote, ledger: RunLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fnb.SandboxExecutor("remote", remote=remote).run(tasks.add, a=1, b=1) == 2
    assert [(r.mode, r.phase) for r in ledger.runs()] == [("remote", "SUCCEEDED")]
