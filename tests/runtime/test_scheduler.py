"""The graph scheduler and line prefixer behind concurrent sub-nodes, without processes."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pytest

from flyte_nb.errors import ConfigError, InternalError
from flyte_nb.runtime.nodelog import LinePrefixer
from flyte_nb.runtime.scheduler import Slots, check_parallelism, default_parallelism, run_graph


class Tracker:
    """Counts how many nodes run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = self.most = 0
        self.order: list[str] = []

    def enter(self, node: str) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.order.append(node)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


def test_ready_nodes_run_together_up_to_the_limit() -> None:
    tracker = Tracker()
    pair = threading.Barrier(2, timeout=10)  # a node returns only once a partner runs alongside it

    def run(node: str, upstream: Mapping[str, int]) -> int:
        tracker.enter(node)
        pair.wait()
        tracker.leave()
        return int(node[1:])

    deps = {f"n{i}": frozenset[str]() for i in range(6)}
    assert run_graph(deps, run, limit=2, on_failure=pytest.fail) == {f"n{i}": i for i in range(6)}
    assert tracker.most == 2


def test_a_node_starts_after_its_dependencies_with_their_results() -> None:
    tracker = Tracker()

    def run(node: str, upstream: Mapping[str, int]) -> int:
        tracker.enter(node)
        tracker.leave()
        return {"a": 1, "b": 2}.get(node, 0) + sum(upstream.values())

    deps = {"c": frozenset({"a", "b"}), "a": frozenset[str](), "b": frozenset({"a", "start-node"})}
    assert run_graph(deps, run, limit=4, on_failure=pytest.fail) == {"a": 1, "b": 3, "c": 4}
    assert tracker.order == ["a", "b", "c"]


def test_the_first_failure_stops_new_nodes_and_is_raised_after_the_running_ones_return() -> None:
    started: list[str] = []
    failures: list[BaseException] = []
    release = threading.Event()
    lock = threading.Lock()

    def run(node: str, upstream: Mapping[str, int]) -> int:
        with lock:
            started.append(node)
        if node == "bad":
            raise ValueError("bad node")
        release.wait(10)  # the sibling runs on until on_failure stops it
        if node == "sibling":
            raise RuntimeError("stopped")
        return 1

    def on_failure(exc: BaseException) -> None:
        failures.append(exc)
        release.set()

    deps = {"sibling": frozenset[str](), "bad": frozenset[str](), "later": frozenset[str]()}
    with pytest.raises(ValueError, match="bad node"):
        run_graph(deps, run, limit=2, on_failure=on_failure)
    assert sorted(started) == ["bad", "sibling"]  # `later` waited for room and never started
    assert [str(e) for e in failures] == ["bad node"]  # called once, with the first failure


def test_nodes_that_wait_for_each_other_are_an_internal_error() -> None:
    deps = {"a": frozenset({"b"}), "b": frozenset({"a"})}
    with pytest.raises(InternalError, match="depend on each other"):
        run_graph(deps, lambda node, up: 0, limit=2, on_failure=pytest.fail)


def test_slots_bound_holders_and_stop_wakes_waiters() -> None:
    slots = Slots(1)
    assert slots.acquire()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire()))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive(), "a second holder got the only slot"
    slots.stop()
    waiter.join(10)
    assert got == [False]
    slots.release()
    assert not slots.acquire()  # stopped for good


def test_parallelism_defaults_to_the_cores_and_refuses_non_positive_ints() -> None:
    assert default_parallelism() >= 1
    assert check_parallelism(None, "X") is None
    assert check_parallelism(3, "X") == 3
    with pytest.raises(ConfigError, match=r"X max_parallelism: expected a positive int .* got 0 \(int\)"):
        check_parallelism(0, "X")


def test_prefixer_writes_whole_lines_each_with_its_prefix() -> None:
    out: list[str] = []
    write = LinePrefixer("[n1] ", out.append, threading.Lock())
    write("one\ntw")
    assert out == ["[n1] one\n"]  # the partial line waits for its end
    write("o\nthree\nfour")
    write("")
    assert out == ["[n1] one\n", "[n1] two\n[n1] three\n"]
    write.close()
    assert out[-1] == "[n1] four\n"  # the unfinished last line, ended so the next line starts fresh
    write.close()
    assert len(out) == 3


def test_prefixer_passes_an_endless_line_on_in_pieces() -> None:
    out: list[str] = []
    write = LinePrefixer("[n2] ", out.append, threading.Lock())
    write("y" * 70_000)
    assert out == ["[n2] " + "y" * 70_000 + "\n"]
