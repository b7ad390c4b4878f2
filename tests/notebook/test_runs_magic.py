"""``%flyte_runs`` through a real IPython shell: listing, filters, forgetting, re-attaching."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from flyte_nb.core.ledger import RunLedger
from flyte_nb.notebook.extension import current_magics
from flyte_nb.notebook.runs_magic import format_duration
from tests.notebook.ipshell import cell
from tests.standin import StandIn

REMOTE_TASKS = Path(__file__).resolve().parents[1] / "remote"

DEFINE = (
    "import flyte_nb as fnb\n"
    "@fnb.task\n"
    "def halve(x: float, api_token: str = 'tok-123') -> float:\n"
    "    if x < 0:\n"
    "        raise ValueError('negative input')\n"
    "    return x / 2\n"
)


def _listing(ip: Any, line: str = "") -> str:
    with capture_output() as shown:
        ip.run_line_magic("flyte_runs", line)
    (output,) = shown.outputs
    return str(output.data["text/plain"])


@pytest.fixture
def ledger(ip: Any) -> RunLedger:
    magics = current_magics(ip)
    assert magics is not None
    found = magics.session.ledger
    assert found is not None
    return found


def test_sandbox_runs_are_listed_newest_first_with_filters(ip: Any, ledger: RunLedger) -> None:
    cell(ip, DEFINE)
    cell(ip, "fnb.SandboxExecutor('kernel').run(halve, x=3.0)")
    cell(ip, "fnb.SandboxExecutor('process').run(halve, x=8.0)")
    cell(ip, "halve(x=1.0)")  # a plain call: no run
    with pytest.raises(Exception, match="negative input"):
        cell(ip, "fnb.SandboxExecutor('kernel').run(halve, x=-1.0)")
    text = _listing(ip)
    lines = text.splitlines()
    assert lines[0].split() == [
        "run",
        "started",
        "task",
        "mode",
        "phase",
        "took",
        "inputs",
        "execution",
        "/",
        "error",
    ]
    assert [line.split()[4:6] for line in lines[1:]] == [
        ["kernel", "FAILED"],
        ["process", "SUCCEEDED"],
        ["kernel", "SUCCEEDED"],
    ]
    assert "x=8.0, api_token=***" in text
    assert "tok-123" not in text
    assert "ValueError: negative input" in lines[1]
    assert len(_listing(ip, "--phase failed").splitlines()) == 2
    assert len(_listing(ip, "--mode process --task halve").splitlines()) == 2
    assert len(_listing(ip, "--phase SUCCEEDED,FAILED --limit 1").splitlines()) == 2
    assert "No runs recorded yet" in _listing(ip, "--task other")
    assert len(ledger.runs()) == 3


def test_clear_forgets_and_a_bad_option_is_one_line(ip: Any, ledger: RunLedger) -> None:
    cell(ip, DEFINE)
    cell(ip, "fnb.SandboxExecutor('kernel').run(halve, x=3.0)")
    with capture_output() as shown:
        ip.run_line_magic("flyte_runs", "--clear")
    assert "Forgot 1 run in" in shown.stdout
    assert ledger.runs() == []
    with pytest.raises(UsageError, match=r"%flyte_runs: .*--mode.*invalid choice"):
        ip.run_line_magic("flyte_runs", "--mode cluster")
    with pytest.raises(UsageError, match="expected a positive number"):
        ip.run_line_magic("flyte_runs", "--limit 0")


def test_only_remote_runs_can_be_reattached(ip: Any, ledger: RunLedger) -> None:
    cell(ip, DEFINE)
    cell(ip, "fnb.SandboxExecutor('kernel').run(halve, x=3.0)")
    (run,) = ledger.runs()
    with pytest.raises(UsageError, match=r"ran in the kernel: only remote runs can be re-attached"):
        ip.run_line_magic("flyte_runs", f"--attach {run.id}")
    with pytest.raises(UsageError, match="No run 'nope'"):
        ip.run_line_magic("flyte_runs", "--attach nope")


def test_the_ledger_can_be_switched_off(ip: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTE_NB_RUN_LEDGER", "off")
    cell(ip, DEFINE)
    cell(ip, "fnb.SandboxExecutor('kernel').run(halve, x=3.0)")
    with pytest.raises(UsageError, match="not recorded in this kernel"):
        ip.run_line_magic("flyte_runs", "")


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandIn]:
    with StandIn(tmp_path / "standin", extra_pythonpath=[str(REMOTE_TASKS)]) as server:
        yield server


def test_a_remote_run_is_reattached_after_the_remote_is_forgotten(
    ip: Any, ledger: RunLedger, standin: StandIn
) -> None:
    ip.run_line_magic("flyte_remote", f"{standin.endpoint} --insecure")
    cell(ip, "import flyte_nb as fnb\nfrom tests.remote import tasks")
    cell(ip, "fnb.SandboxExecutor('remote').run(tasks.add, a=2, b=5)")
    (run,) = ledger.runs()
    assert (run.mode, run.phase) == ("remote", "SUCCEEDED")
    assert run.execution in _listing(ip)
    # a restarted kernel: a new remote object, the task object not at hand
    magics = current_magics(ip)
    assert magics is not None
    magics.remote = None
    del ip.user_ns["tasks"]
    execution = ip.run_line_magic("flyte_runs", f"--attach {run.id}")
    assert execution.name == run.execution
    assert execution.outputs == 7
    assert execution.inputs == {"a": 2, "b": 5}
    assert type(execution.task).__name__ == "RegisteredTask"
    by_name = ip.run_line_magic("flyte_runs", f"--attach {run.execution}")
    assert by_name.outputs == 7
    # with the notebook's own task of the same version at hand, its exact types are used
    cell(ip, "from tests.remote.tasks import add")
    assert ip.run_line_magic("flyte_runs", f"--attach {run.id}").task is ip.user_ns["add"]


def test_reattaching_needs_the_same_cluster(ip: Any, ledger: RunLedger, standin: StandIn) -> None:
    from flyte_nb.core.runs import RemoteRun, RunStart

    ledger.run_started(
        RunStart(task="add", version="v1", mode="remote", inputs=""),
        RemoteRun("elsewhere:443", "flytesnacks", "development", "abc", ""),
    )
    with pytest.raises(UsageError, match=r"ran on elsewhere:443, and no Flyte remote is configured"):
        ip.run_line_magic("flyte_runs", "--attach abc")
    ip.run_line_magic("flyte_remote", f"{standin.endpoint} --insecure")
    with pytest.raises(UsageError, match=r"%flyte_remote elsewhere:443 --project flytesnacks"):
        ip.run_line_magic("flyte_runs", "--attach abc")


def test_durations_read_as_people_write_them() -> None:
    assert format_duration(None) == ""
    assert format_duration(0.4213) == "0.42s"
    assert format_duration(12.34) == "12.3s"
    assert format_duration(245) == "4m05s"
    assert format_duration(7380) == "2h03m"


def test_runs_are_filed_under_the_notebook_the_kernel_runs(
    ip: Any, ledger: RunLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    magics = current_magics(ip)
    assert magics is not None
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert magics.session.notebook == ""
    ip.user_ns["__vsc_ipynb_file__"] = "/home/me/work/vscode.ipynb"  # what VS Code sets
    assert magics.session.notebook == "vscode.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", "/srv/notebooks/analysis.ipynb")  # what Jupyter servers set
    assert magics.session.notebook == "analysis.ipynb"
    monkeypatch.setenv("FLYTE_NB_RUN_LEDGER", str(ledger.path.with_name("other.sqlite")))
    other = magics.session.ledger
    assert other is not None
    assert other.notebook == "analysis.ipynb"
    cell(ip, DEFINE)
    cell(ip, "fnb.SandboxExecutor('kernel').run(halve, x=3.0)")
    assert [r.notebook for r in other.runs()] == ["analysis.ipynb"]
    from flyte_nb.core.runs import RunStart

    RunLedger(other.path, notebook="b.ipynb").run_started(RunStart("theirs", "", "kernel", ""))
    assert "theirs" not in _listing(ip)  # this notebook's runs only
    assert "halve" in _listing(ip)
    assert "theirs" in _listing(ip, "--all")
