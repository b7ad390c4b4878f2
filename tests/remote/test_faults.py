"""Injected faults: each one either recovers or fails with a clear message, with exactly one execution
created and nothing lost."""

from __future__ import annotations

import time

import pytest

from flyte_nb.errors import RemoteUnavailableError
from flyte_nb.remote import Remote
from flyte_nb.remote.client import RetryPolicy
from tests.remote import tasks
from tests.remote.conftest import make_remote
from tests.standin import StandIn


def test_unavailable_burst_before_create_execution_recovers_with_one_execution(
    remote: Remote, standin: StandIn
) -> None:
    standin.faults.unavailable("CreateExecution", count=3)
    assert remote.submit(tasks.add, a=1, b=2).wait(timeout=60) == 3
    assert standin.faults.injected.count("CreateExecution") == 4 - 1  # three refused, the fourth went through
    assert len(standin.executions()) == 1


def test_lost_create_execution_answer_is_claimed_not_duplicated(remote: Remote, standin: StandIn) -> None:
    # The server creates the execution, then the connection drops before the client hears back: the
    # retry with the same name gets ALREADY_EXISTS, which the client recognises as its own execution.
    standin.faults.unavailable("CreateExecution", count=1, after=True)
    execution = remote.submit(tasks.add, a=20, b=22)
    assert execution.wait(timeout=60) == 42
    (only,) = standin.executions()
    assert only.id.name == execution.name
    assert len(standin.propeller.started) == 1


def test_lost_create_task_answer_is_idempotent(remote: Remote, standin: StandIn) -> None:
    standin.faults.unavailable("CreateTask", count=1, after=True)
    assert remote.submit(tasks.add, a=1, b=1).wait(timeout=60) == 2
    assert standin.calls.count("CreateTask") == 1
    assert len(standin.executions()) == 1


def test_slow_reads_hit_the_deadline_and_are_retried(standin: StandIn) -> None:
    remote = make_remote(standin, timeout=0.5)
    execution = remote.submit(tasks.add, a=2, b=2)
    standin.faults.slow("GetExecution", seconds=1.0, count=2)
    assert execution.wait(timeout=60) == 4
    assert standin.faults.injected.count("GetExecution") == 2


def test_slow_create_execution_is_retried_under_the_same_name_without_a_second_run(standin: StandIn) -> None:
    # The first CreateExecution outlives the client's deadline (the server still handles it later).
    # The name was chosen by the client, so the call is repeated with that name: whichever of the two
    # reaches admin second gets ALREADY_EXISTS, and only one run exists.
    remote = make_remote(standin, timeout=0.5)
    standin.faults.slow("CreateExecution", seconds=1.0)
    execution = remote.submit(tasks.add, a=5, b=5)
    assert execution.wait(timeout=60) == 10
    time.sleep(0.6)  # the slow first call has reached the handler by now
    assert standin.faults.injected == ["CreateExecution"]
    (only,) = standin.executions()
    assert only.id.name == execution.name
    assert standin.propeller.started == [execution.name]


def test_upload_5xx_is_retried_and_the_payload_arrives_intact(remote: Remote, standin: StandIn) -> None:
    standin.bucket.faults.put_failures = 2
    assert remote.submit(tasks.shipped, name="eve", times=1).wait(timeout=60) == "hello eve"
    assert standin.bucket.faults.put_failures == 0
    assert len(standin.executions()) == 1


def test_persistent_upload_failure_is_clear_and_creates_nothing(remote: Remote, standin: StandIn) -> None:
    standin.bucket.faults.put_failures = 100
    with pytest.raises(OSError, match="expected HTTP 200 or 201, got 503"):
        remote.submit(tasks.shipped, name="eve")
    assert standin.executions() == []
    assert "CreateTask" not in standin.calls


def test_server_restart_between_create_and_get_execution(standin: StandIn) -> None:
    # Backoff long enough to outlast the downtime plus gRPC's own 1 s reconnect backoff.
    remote = make_remote(standin, retry=RetryPolicy(attempts=8, initial=0.2, maximum=1.0))
    execution = remote.submit(tasks.sleepy, seconds=0.5)
    standin.restart(downtime=0.8, background=True)  # admin is down while the client starts polling
    assert execution.wait(timeout=60) == "woke up"
    assert len(standin.executions()) == 1
    assert len(standin.propeller.started) == 1


def test_server_down_for_good_fails_clearly_without_creating_anything(standin: StandIn) -> None:
    remote = make_remote(standin, retry=RetryPolicy(attempts=3, initial=0.01, maximum=0.02))
    remote.register(tasks.add)
    standin.stop_admin()
    with pytest.raises(RemoteUnavailableError) as info:
        remote.submit(tasks.add, a=1)
    message = str(info.value)
    assert "UNAVAILABLE after 3 attempts" in message
    assert standin.endpoint in message
    assert "insecure=" in message
    standin.start()
    assert standin.executions() == []


def test_channels_are_tls_unless_insecure_is_asked_for(standin: StandIn) -> None:
    # The stand-in speaks plaintext, like a local sandbox: a default (TLS) client fails the handshake
    # and is told about insecure=; the same client with insecure=True gets through.
    from flyte_nb.remote.client import AdminClient
    from flyte_nb.remote.config import RemoteConfig

    quick = RetryPolicy(attempts=2, initial=0.01, maximum=0.02)
    tls = Remote(client=AdminClient(RemoteConfig(endpoint=standin.endpoint), retry=quick, timeout=5))
    with pytest.raises(RemoteUnavailableError, match="insecure=") as info:
        tls.register(tasks.add)
    assert "handshake" in str(info.value).lower()
    assert standin.calls == []
    plain = Remote(
        client=AdminClient(RemoteConfig(endpoint=standin.endpoint, insecure=True), retry=quick, timeout=5)
    )
    assert plain.register(tasks.add).name == "tests.remote.tasks.add"
    assert standin.calls == ["CreateTask"]


def test_admin_lost_right_after_creating_the_execution_names_it_so_nothing_runs_twice(
    standin: StandIn,
) -> None:
    # CreateExecution is handled, then the server stops answering: neither the retry nor the check
    # for the execution gets through. The error names the execution, and re-attaching finds it.
    remote = make_remote(standin, retry=RetryPolicy(attempts=3, initial=0.01, maximum=0.02))
    standin.faults.unavailable("CreateExecution", count=1, after=True)
    standin.faults.unavailable("CreateExecution", count=1000)
    standin.faults.unavailable("GetExecution", count=1000)
    with pytest.raises(RemoteUnavailableError) as info:
        remote.submit(tasks.add, a=1, b=2)
    (created,) = standin.executions()
    message = str(info.value)
    assert "FlyteAdmin CreateExecution" in message
    assert f"remote.execution({created.id.name!r}, task)" in message
    assert "second run" in message
    standin.faults.rules.clear()
    assert remote.execution(created.id.name, tasks.add).wait(timeout=60) == 3
    assert len(standin.executions()) == 1


def test_wait_outlasts_an_admin_outage_longer_than_one_calls_retries(standin: StandIn) -> None:
    # One call gives up after ~0.1 s of UNAVAILABLE here; the outage lasts longer. wait() keeps polling
    # (the run goes on), and only a server gone for max_unreachable seconds ends it, naming the execution.
    remote = make_remote(standin, retry=RetryPolicy(attempts=2, initial=0.05, maximum=0.05))
    execution = remote.submit(tasks.sleepy, seconds=0.5)
    standin.restart(downtime=1.0, background=True)
    assert execution.wait(timeout=60) == "woke up"
    assert len(standin.executions()) == 1

    again = remote.submit(tasks.sleepy, seconds=30.0)
    again.max_unreachable = 0.5
    again.refresh()
    standin.stop_admin()
    with pytest.raises(RemoteUnavailableError) as info:
        again.wait(timeout=60)
    message = str(info.value)
    assert f"Execution {again.name} was last seen" in message
    assert "may still be running" in message
    assert again.url in message  # (the fixture's teardown stops the run)
