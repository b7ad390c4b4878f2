"""The task widget's *Recent runs* section, read from the notebook's run ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flyte_nb.core.ledger import RunLedger
from flyte_nb.core.runs import RemoteRun, RunStart
from flyte_nb.notebook.widgets import TaskWidget
from flyte_nb.notebook.widgets.recent_runs import RecentRuns
from tests.notebook.ipshell import shell_fixture
from tests.widgets import tasks


def _record(ledger: RunLedger, task: str, phase: str, remote: RemoteRun | None = None) -> None:
    run = ledger.run_started(
        RunStart(task=task, version="v", mode="remote" if remote else "kernel", inputs="a=1"), remote
    )
    assert run is not None
    ledger.run_finished(run, phase, 1.5, "ValueError: no" if phase == "FAILED" else "")


def test_the_section_lists_this_tasks_runs_only_and_hides_without_runs(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path / "runs.sqlite")
    empty = RecentRuns(tasks.add, ledger=ledger)
    assert empty.count == 0
    assert empty.layout.display == "none"
    _record(ledger, tasks.add.name, "SUCCEEDED")
    _record(ledger, "other", "SUCCEEDED")
    where = RemoteRun("admin:81", "p", "d", "add-123", "http://console/add-123")
    _record(ledger, tasks.add.name, "FAILED", where)
    section = RecentRuns(tasks.add, ledger=ledger)
    assert section.count == 2
    assert section.layout.display == ""
    assert section.get_title(0) == "Recent runs (2)"
    page = section.table.value
    assert "FAILED" in page
    assert "SUCCEEDED" in page
    assert "href='http://console/add-123'" in page
    assert "ValueError: no" in page
    # opening the section re-reads the ledger: runs made since show up
    _record(ledger, tasks.add.name, "SUCCEEDED")
    section.selected_index = 0
    assert section.count == 3


def test_a_damaged_ledger_does_not_break_the_widget(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    section = RecentRuns(tasks.add, ledger=RunLedger(path))
    assert section.count == 0
    assert "could not be read" in section.table.value


@pytest.fixture
def ip() -> Iterator[Any]:
    yield from shell_fixture()


def test_the_task_widget_shows_recent_runs_from_the_kernels_ledger(ip: Any) -> None:
    from flyte_nb.notebook.extension import current_magics

    magics = current_magics(ip)
    assert magics is not None
    ledger = magics.session.ledger
    assert ledger is not None
    _record(ledger, tasks.add.name, "SUCCEEDED")
    widget = TaskWidget(tasks.add, namespace={})
    (section,) = [c for c in widget.children if isinstance(c, RecentRuns)]
    assert section.count == 1
