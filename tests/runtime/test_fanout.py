"""The process sandbox runs a dynamic task's sub-nodes at once, as propeller does.

Concurrency is shown without timing: sub-tasks wait for each other's marker files (with a deadline), so
a sandbox that ran them one after another would make them give up and return the wrong count.
"""

from __future__ import annotations

import os
import pathlib
import re
import threading
import time
from typing import Any

import pytest

import flyte_nb as fnb
from flyte_nb.errors import ConfigError
from flyte_nb.runtime.scheduler import NodeProgress
from tests.runtime import tasks_fanout as t


class Collect:
    """A thread-safe stdout/stderr callback."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self._lock:
            self.chunks.append(text)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(pathlib.Path(__file__).resolve().parents[2])


def _process(**kwargs: Any) -> fnb.SandboxExecutor:
    kwargs.setdefault("stdout", Collect())
    kwargs.setdefault("stderr", Collect())
    return fnb.SandboxExecutor("process", **kwargs)


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_independent_sub_tasks_run_at_once(tmp_path: pathlib.Path) -> None:
    # each of the 4 sub-tasks waits until all 4 have started: only concurrent runs can meet
    out = _process(max_parallelism=4).run(t.gather, marker_dir=str(tmp_path), n=4, meet_at=4)
    assert out == [4, 4, 4, 4]


def test_max_parallelism_bounds_the_running_processes(tmp_path: pathlib.Path) -> None:
    most = _process(max_parallelism=2).run(t.crowded, marker_dir=str(tmp_path), n=6)
    assert len(most) == 6
    assert max(most) <= 2, f"more than 2 sub-tasks ran at once: {most}"


def test_with_overrides_sets_max_parallelism_for_one_run(tmp_path: pathlib.Path) -> None:
    base = _process(max_parallelism=4)
    one = base.with_overrides(max_parallelism=1)
    assert (base.max_parallelism, one.max_parallelism, one.mode) == (4, 1, "process")
    assert max(one.run(t.crowded, marker_dir=str(tmp_path), n=3)) == 1
    assert base.with_overrides().max_parallelism == 4  # nothing given: nothing replaced
    assert base.with_overrides(max_parallelism=None).max_parallelism is None  # None: the number of cores


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "4"])
def test_max_parallelism_must_be_a_positive_int(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"max_parallelism: expected a positive int .* got") as info:
        fnb.SandboxExecutor("process", max_parallelism=bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(ConfigError, match="max_parallelism"):
        fnb.SandboxExecutor("process").with_overrides(max_parallelism=bad)


def test_dependencies_are_honoured_and_results_flow_between_nodes() -> None:
    # squares run at once, `total` only after all of them, the last square after `total`
    assert _process(max_parallelism=4).run(t.chain, n=4) == (0 + 1 + 4 + 9) ** 2


def test_nested_dynamic_tasks_run_and_count_their_nodes() -> None:
    seen: list[NodeProgress] = []
    lock = threading.Lock()

    def on_node(p: NodeProgress) -> None:
        with lock:
            seen.append(p)

    assert _process(on_node=on_node).run(t.outer, ks=[2, 3]) == [1, 5]
    finished = [p for p in seen if p.phase == "SUCCEEDED"]
    # 2 inner nodes + (2 squares + total) + (3 squares + total)
    assert sorted(p.node for p in finished) == sorted(
        ["n0", "n1", "n0-n0", "n0-n1", "n0-n2", "n1-n0", "n1-n1", "n1-n2", "n1-n3"]
    )
    assert (finished[-1].done, finished[-1].total) == (9, 9)
    assert [p.done for p in finished] == list(range(1, 10))
    assert all(p.done <= p.total for p in seen)
    assert {p.task for p in finished} == {
        "tests.runtime.tasks_fanout." + n for n in ("inner", "square", "total")
    }


def test_one_failing_node_fails_the_run_and_stops_the_others(tmp_path: pathlib.Path) -> None:
    seen: list[NodeProgress] = []
    executor = _process(max_parallelism=4, keep_files=True, on_node=seen.append)
    with pytest.raises(fnb.TaskExecutionError) as info:
        executor.run(t.one_fails, marker_dir=str(tmp_path), sleepers=3)
    err = info.value
    # the run reports the node that failed, not the ones it stopped
    assert err.code == "USER:ValueError"
    assert "node failed on purpose with 3 others running" in str(err)
    pids = t.pids(str(tmp_path))
    assert sorted(pids) == ["pid-0", "pid-1", "pid-2"], "the node waiting for a slot was started"
    assert all(_dead(pid) for pid in pids.values()), "a sleeping sub-task outlived the failed run"
    phases = {p.node: p.phase for p in seen if p.phase not in ("RUNNING", "RETRYING")}
    assert phases == {"n0": "ABORTED", "n1": "ABORTED", "n2": "ABORTED", "n3": "FAILED"}
    assert not any(p.node == "n4" for p in seen)
    # nothing half-written: the stopped nodes left neither outputs nor error documents
    assert executor.last_run_dir is not None
    for node in ("n0", "n1", "n2"):
        written = {p.name for p in executor.last_run_dir.rglob(f"n0/data/0/{node}/data/0/*")}
        assert not written & {"outputs.pb", "error.pb"}, (node, written)


def test_cancel_stops_every_running_sub_task(tmp_path: pathlib.Path) -> None:
    executor = _process(max_parallelism=3)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            executor.run(t.sleepers, marker_dir=str(tmp_path), n=3)
        except fnb.TaskExecutionError as exc:
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while len(t.pids(str(tmp_path))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(t.pids(str(tmp_path))) == 3
    executor.cancel()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert result["error"].code == "Aborted"
    assert "cancelled" in str(result["error"])
    assert all(_dead(pid) for pid in t.pids(str(tmp_path)).values())


def test_each_node_retries_on_its_own(tmp_path: pathlib.Path) -> None:
    err = Collect()
    seen: list[NodeProgress] = []
    retried: list[tuple[int, str]] = []
    executor = _process(stderr=err, on_node=seen.append, on_retry=lambda n, c: retried.append((n, c)))
    assert executor.run(t.flaky_fan, marker_dir=str(tmp_path), n=3) == 0 + 1 + 4
    for node in ("n0", "n1", "n2"):
        assert f"[{node}] [flyte_nb] attempt 0 failed with USER:RecoverableError; retrying.\n" in err.text
        attempts = [p.attempt for p in seen if p.node == node and p.phase == "RUNNING"]
        assert attempts == [1, 2]
    assert retried == []  # on_retry is about the run's own task, which never failed


def test_concurrent_output_arrives_as_whole_prefixed_lines() -> None:
    out = Collect()
    assert _process(stdout=out, max_parallelism=4).run(t.chorus, n=4, lines=200) == [0, 1, 2, 3]
    lines = out.text.splitlines()
    assert out.text.endswith("\n")
    pattern = re.compile(r"^\[n(\d)\] node \1 (line \d+ x{40}|no newline)$")
    bad = [line for line in lines if not pattern.match(line)]
    assert not bad, bad[:5]
    for i in range(4):
        mine = [line for line in lines if line.startswith(f"[n{i}] ")]
        assert mine == [f"[n{i}] node {i} line {k} " + "x" * 40 for k in range(200)] + [
            f"[n{i}] node {i} no newline"
        ]


def test_a_plain_task_output_is_unchanged() -> None:
    out = Collect()
    assert _process(stdout=out).run(t.talk, i=7, lines=2) == 7
    assert out.text == f"node 7 line 0 {'x' * 40}\nnode 7 line 1 {'x' * 40}\nnode 7 no newline"
