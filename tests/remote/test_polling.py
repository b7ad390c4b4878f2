"""``RemoteExecution.wait``'s polling schedule, on a simulated clock: fast at first, backing off, capped.

FlyteAdmin is a scripted timeline of phases; ``sleep`` advances the clock instead of waiting, so the
tests check exactly when each poll happens without taking any time.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2

import flyte_nb as fnb
from flyte_nb.errors import WaitTimeoutError
from flyte_nb.remote.executions import RemoteExecution
from flyte_nb.remote.polling import FAST_FOR, FAST_POLL_INTERVAL, FAST_START, MIN_POLL_INTERVAL, PollSchedule

Phase = core_execution_pb2.WorkflowExecution.Phase


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Admin:
    """Answers GetExecution from a timeline ``[(from_time, phase), ...]`` and records when it was asked."""

    def __init__(self, clock: Clock, timeline: list[tuple[float, str]]) -> None:
        self.clock, self.timeline = clock, timeline
        self.polls: list[float] = []
        self.attempt_reads = 0

    def phase_at(self, t: float) -> str:
        return [phase for start, phase in self.timeline if start <= t][-1]

    def call(self, service: str, method: str, request: Any, idempotent: bool = False) -> Any:
        if method == "GetExecution":
            self.polls.append(self.clock.now)
            closure = execution_pb2.ExecutionClosure(phase=Phase.Value(self.phase_at(self.clock.now)))
            return execution_pb2.Execution(id=request.id, closure=closure)
        if method == "GetExecutionData":
            outputs = literals_pb2.LiteralMap()
            outputs.literals["o0"].scalar.primitive.integer = 42
            return execution_pb2.WorkflowExecutionGetDataResponse(full_outputs=outputs)
        if method == "ListNodeExecutions":
            self.attempt_reads += 1
            node = node_execution_pb2.NodeExecution(id=identifier_pb2.NodeExecutionIdentifier(node_id="n0"))
            return node_execution_pb2.NodeExecutionList(node_executions=[node])
        if method == "ListTaskExecutions":
            attempts = [
                task_execution_pb2.TaskExecution(id=identifier_pb2.TaskExecutionIdentifier(retry_attempt=n))
                for n in range(2)
            ]
            return task_execution_pb2.TaskExecutionList(task_executions=attempts)
        raise AssertionError(f"unexpected call {method}")

    # The admin client's typed methods (flyte_nb.remote.client.AdminClient), answered as above.
    def get_execution(self, request: Any) -> Any:
        return self.call("admin", "GetExecution", request)

    def get_execution_data(self, request: Any) -> Any:
        return self.call("admin", "GetExecutionData", request)

    def list_node_executions(self, request: Any) -> Any:
        return self.call("admin", "ListNodeExecutions", request)

    def list_task_executions(self, request: Any) -> Any:
        return self.call("admin", "ListTaskExecutions", request)


@pytest.fixture(autouse=True)
def _no_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls here are counted exactly: no notebook session (and so no run ledger) takes part, whatever
    an earlier test in this process installed."""
    from flyte_nb.core import session

    monkeypatch.setattr(session, "_session", None)


@fnb.task
def answer() -> int:
    """What the polled execution runs (its outputs decode with this task's types)."""
    return 42


class FakeRemote:
    def __init__(self, admin: Admin) -> None:
        self.client = admin

        class Config:
            console_url = "http://console.example"
            endpoint = "admin.example:443"

        self.config = Config()

    def store(self, project: str, domain: str) -> Any:
        from flyte_nb.core.storage import MemoryStore

        return MemoryStore()  # the outputs here are inline primitives: nothing is read from a store


def _execution(timeline: list[tuple[float, str]]) -> tuple[RemoteExecution, Admin, Clock]:
    clock = Clock()
    admin = Admin(clock, timeline)
    eid = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="abc")
    execution = RemoteExecution(FakeRemote(admin), eid, answer)  # type: ignore[arg-type]
    execution._clock, execution._sleep = clock, clock.sleep
    return execution, admin, clock


def _gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def test_the_schedule_starts_at_the_ceiling_grows_to_half_a_second_then_backs_off() -> None:
    schedule = PollSchedule(max_interval=10.0)
    first = [round(schedule.next(waited=0.5), 6) for _ in range(3)]
    assert first == [0.1, 0.1, 0.1]
    early = [round(schedule.next(waited=FAST_START), 6) for _ in range(7)]
    assert early == [0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5]
    late = [round(schedule.next(waited=FAST_FOR), 6) for _ in range(9)]
    assert late == [0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875, 5.695312, 8.542969, 10.0]
    assert schedule.next(waited=3600) == 10.0


def test_no_pause_is_shorter_than_the_ceiling_whatever_is_asked() -> None:
    assert PollSchedule(first=0.0).next(0) == MIN_POLL_INTERVAL
    assert PollSchedule(first=0.0, max_interval=0.0).next(100) == MIN_POLL_INTERVAL


def test_a_short_run_is_returned_within_half_a_second_of_admin_reporting_it() -> None:
    for finish in (0.05, 0.33, 0.97, 1.0, 2.35, 7.9, 29.0):
        execution, admin, clock = _execution([(0, "QUEUED"), (0.02, "RUNNING"), (finish, "SUCCEEDED")])
        outputs = execution.wait()
        assert outputs == 42
        late = MIN_POLL_INTERVAL if finish < FAST_START else FAST_POLL_INTERVAL  # a very short run: 0.1 s
        assert finish <= clock.now <= finish + late + 1e-9, (finish, admin.polls)


def test_polls_of_a_long_run_back_off_to_max_poll_interval() -> None:
    execution, admin, _ = _execution([(0, "RUNNING"), (600, "SUCCEEDED")])
    execution.wait()
    gaps = _gaps(admin.polls)
    assert gaps[:10] == [0.1] * 10  # the first second
    assert all(g == 0.1 for t, g in zip(admin.polls, gaps, strict=False) if t < FAST_START)
    grown = gaps.index(0.2)
    assert gaps[grown : grown + 5] == [0.2, 0.3, 0.4, 0.5, 0.5]
    assert min(gaps) >= MIN_POLL_INTERVAL
    early = [g for t, g in zip(admin.polls, gaps, strict=False) if t < FAST_FOR]
    assert max(early) <= FAST_POLL_INTERVAL
    assert max(gaps) == execution.max_poll_interval == 10.0
    assert gaps == sorted(gaps)  # never faster again once backed off
    assert len(admin.polls) < 140  # ~70 polls in the first 30 s, then one every 10 s


def test_max_poll_interval_caps_the_backoff() -> None:
    execution, admin, _ = _execution([(0, "RUNNING"), (200, "SUCCEEDED")])
    execution.max_poll_interval = 2.0
    execution.wait()
    assert max(_gaps(admin.polls)) == 2.0


def test_the_ceiling_holds_across_callers_and_for_any_poll_interval() -> None:
    execution, admin, _ = _execution([(0, "RUNNING"), (3, "SUCCEEDED")])
    assert execution.phase == "RUNNING"  # a progress view asked just before wait() starts
    execution.wait(poll_interval=0.0)
    assert min(_gaps(admin.polls)) >= MIN_POLL_INTERVAL - 1e-9


def test_every_phase_longer_than_a_pause_is_reported_as_it_happens() -> None:
    timeline = [(0, "UNDEFINED"), (0.6, "QUEUED"), (1.2, "RUNNING"), (2.0, "SUCCEEDING"), (2.05, "SUCCEEDED")]
    execution, _, clock = _execution(timeline)
    seen: list[tuple[float, str]] = []
    execution.wait(on_update=lambda e: seen.append((clock.now, e.phase)))
    phases = [phase for _, phase in seen]
    changes = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    # every phase that lasted longer than a pause, in order; SUCCEEDING (50 ms) may fall between two polls
    assert [p for p in changes if p != "SUCCEEDING"] == ["UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDED"]
    for start, phase in [*timeline[1:3], timeline[4]]:
        first_seen = next(t for t, p in seen if p == phase)
        assert first_seen - start <= FAST_POLL_INTERVAL + 1e-9, phase


def test_timeout_raises_at_the_deadline_without_oversleeping() -> None:
    execution, _, clock = _execution([(0, "RUNNING")])
    with pytest.raises(WaitTimeoutError, match=r"still RUNNING after 1\.25 s"):
        execution.wait(timeout=1.25)
    assert 1.25 <= clock.now <= 1.25 + MIN_POLL_INTERVAL


def test_the_attempt_is_read_at_most_once_a_second() -> None:
    execution, admin, clock = _execution([(0, "RUNNING")])
    assert [execution.attempt for _ in range(5)] == [2] * 5
    assert admin.attempt_reads == 1
    clock.sleep(1.0)
    assert execution.attempt == 2
    assert admin.attempt_reads == 2
