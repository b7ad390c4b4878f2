"""The run panel counts the sub-nodes of a dynamic task run in a process: ``k/N nodes done``."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from flyte_nb.errors import ConfigError
from flyte_nb.notebook import executor
from flyte_nb.notebook.widgets import TaskWidget
from tests.runtime import tasks_fanout
from tests.widgets.conftest import wait_until


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # the task process imports the test task modules from the caller's working directory, as a kernel does
    monkeypatch.chdir(pathlib.Path(__file__).resolve().parents[2])


def test_the_panel_shows_how_many_nodes_are_done(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks_fanout.chain, namespace=namespace)
    w.form.fields["n"].editor.value = "3"
    statuses: list[str] = []
    w.run_panel.status.observe(lambda change: statuses.append(change["new"]), "value")
    w.run_panel.run("process")
    assert w.run_panel.wait(120) == (0 + 1 + 4) ** 2
    wait_until(lambda: not w.run_panel.running, what="the panel to finish")
    # 3 squares, the total, the last square: counted as they finish, the total grows as none are nested
    assert "5/5 nodes done" in w.run_panel.status.value
    shown = [s for s in statuses if "nodes done" in s]
    assert any("0/5 nodes done" in s for s in shown)  # seen while the first nodes ran
    assert namespace["chain_result"] == 25


def test_a_plain_run_shows_no_node_count(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks_fanout.square, namespace=namespace)
    w.form.fields["x"].editor.value = "3"
    w.run_panel.run("process")
    assert w.run_panel.wait(60) == 9
    wait_until(lambda: not w.run_panel.running)
    assert "nodes done" not in w.run_panel.status.value


def test_start_run_takes_max_parallelism_for_one_run(namespace: dict[str, Any], tmp_path: Any) -> None:
    handle = executor.start_run(
        tasks_fanout.crowded, "process", {"marker_dir": str(tmp_path), "n": 3}, max_parallelism=1
    )
    assert max(handle.wait(120)) == 1
    assert (handle.nodes_done, handle.nodes_total) == (3, 3)
    with pytest.raises(ConfigError, match="start_run max_parallelism"):
        executor.start_run(tasks_fanout.square, "process", {"x": 1}, max_parallelism=0)
