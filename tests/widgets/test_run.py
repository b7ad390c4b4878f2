"""The run panel's buttons, driven through their callbacks: results, errors, cancellation, remote."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pandas as pd
import pytest

from flyte_nb.notebook import executor, output_routing
from flyte_nb.notebook.widgets import ResultView, TaskWidget
from tests.widgets import tasks
from tests.widgets.conftest import wait_until


def test_run_in_kernel_shows_and_binds_the_result(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.add, namespace=namespace)
    panel = w.run_panel
    w.form.fields["a"].editor.value = "40"
    panel.buttons["kernel"].click()
    assert panel.wait(10) == 42.5
    wait_until(lambda: not panel.running, what="the panel to finish")
    assert (panel.phase, panel.mode, panel.attempt) == ("SUCCEEDED", "kernel", 1)
    assert namespace["add_result"] == 42.5
    assert panel.result_name == "add_result"
    assert panel.result.status == "outputs"
    assert "add_result" in panel.result.header.value
    assert panel.result.output.outputs[0]["data"]["text/plain"] == "42.5"
    assert not panel.buttons["kernel"].disabled
    assert panel.cancel_button.disabled


def test_run_in_process_runs_the_container_command(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.pair, namespace=namespace)
    w.form.fields["a"].editor.value = "5"
    w.run_panel.buttons["process"].click()
    assert w.run_panel.wait(60) == (10, "a=5")
    wait_until(lambda: w.run_panel.result.status == "outputs")
    assert namespace["pair_result"] == (10, "a=5")
    texts = [o["data"]["text/plain"] for o in w.run_panel.result.output.outputs]
    assert texts == ["o0:", "10", "o1:", "'a=5'"]  # each output under its name


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_task_output_appears_in_its_own_panel(
    mode: executor.Mode, namespace: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    w = TaskWidget(tasks.chatty, namespace=namespace)
    w.form.fields["n"].editor.value = "3"
    w.run_panel.run(mode)
    assert w.run_panel.wait(60) == 3
    wait_until(lambda: "step 2 of 3" in w.run_panel.logs.value, what="the task's output in the panel")
    assert "step 0 of 3" in w.run_panel.logs.value
    assert "step" not in capsys.readouterr().out  # not leaked into whichever cell runs meanwhile
    assert sys.stdout is sys.__stdout__ or not isinstance(sys.stdout, output_routing.ThreadRouter)


def test_print_heavy_runs_update_the_panel_in_batches_not_per_print(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.chatty, namespace=namespace)
    updates: list[str] = []
    w.run_panel.logs.html.observe(lambda change: updates.append(change["new"]), names="value")
    w.form.fields["n"].editor.value = "3000"
    w.run_panel.run("kernel")
    assert w.run_panel.wait(30) == 3000
    wait_until(lambda: not w.run_panel.running)
    # one browser message per print() made such runs ~10x slower than in a cell; now a few per second
    assert 1 <= len(updates) < 40
    logs = w.run_panel.logs
    assert "step 2999 of 3000" in logs.value
    assert "step 0 of 3000" not in logs.value
    assert logs.lines_cut == 2800
    assert "2,800 earlier lines not shown" in logs.value
    assert "output · 3,000 lines" in logs.value
    assert "flex-direction:column-reverse" in logs.value  # opens scrolled to the end
    assert logs.full_button.layout.display != "none"
    logs.full_button.click()  # the whole log, on demand
    assert "step 0 of 3000" in logs.value
    assert logs.lines_cut == 0
    assert logs.full_button.description == "Show only the end"


def test_a_long_result_is_bounded_and_says_what_was_cut(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.many, namespace=namespace)
    w.form.fields["n"].editor.value = "1000"
    w.run_panel.run("kernel")
    w.run_panel.wait(30)
    result = w.run_panel.result
    wait_until(lambda: result.status == "outputs")
    (shown,) = result.output.outputs
    text = shown["data"]["text/plain"]
    assert len(text.splitlines()) == 41
    assert text.endswith("… (960 more lines)")
    assert result.lines_cut == 960
    assert (
        "960 more lines of text not shown (all of it is in <code>many_result</code>)" in result.header.value
    )
    assert namespace["many_result"] == list(range(1000))  # the value itself is whole
    assert result.output.layout.max_height == "480px"
    result.show_all_button.click()
    (whole,) = result.output.outputs
    assert len(whole["data"]["text/plain"].splitlines()) == 1000
    assert result.show_all_button.layout.display == "none"


def test_cancel_is_coloured_only_while_it_can_be_pressed(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.slow, namespace=namespace)
    cancel = w.run_panel.cancel_button
    assert (cancel.disabled, cancel.button_style) == (True, "")
    w.form.fields["seconds"].editor.value = "0.5"
    w.run_panel.run("kernel")
    assert (cancel.disabled, cancel.button_style) == (False, "warning")
    w.run_panel.wait(10)
    wait_until(lambda: not w.run_panel.running)
    assert (cancel.disabled, cancel.button_style) == (True, "")


def test_a_failing_task_shows_its_traceback_and_error_code(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.fail, namespace=namespace)
    w.form.fields["n"].editor.value = "3"
    w.run_panel.buttons["kernel"].click()
    wait_until(lambda: w.run_panel.result.status == "error")
    assert w.run_panel.phase == "FAILED"
    assert "fail_result" not in namespace
    page = w.run_panel.result.header.value
    assert "n must be negative, got 3" in page
    assert "USER:ValueError" in page  # the Flyte error code
    assert 'class="flyte-nb-traceback"' in page


def test_invalid_input_blocks_the_run_with_a_message(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.scale, namespace=namespace)
    w.form.fields["m"].editor.value = "undefined_name"
    assert w.run_panel.run("kernel") is None
    assert w.run_panel.handle is None
    assert "Not run: 1 input to fix (marked ⚠ above)." in w.run_panel.status.value
    assert "NameError" in w.form.fields["m"].message
    assert "NameError" not in w.run_panel.status.value  # the message shows once: next to its field


def test_a_refused_run_takes_the_previous_result_off_the_panel(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.add, namespace=namespace)
    w.form.fields["a"].editor.value = "1"
    w.run_panel.run("kernel")
    w.run_panel.wait(10)
    wait_until(lambda: w.run_panel.result.status == "outputs")
    w.form.fields["a"].editor.value = "2.7"
    assert w.run_panel.run("kernel") is None
    assert w.run_panel.result.status == "not run"
    assert w.run_panel.result.output.outputs == ()
    assert "3.5" not in w.run_panel.result.header.value
    assert "still in <code>add_result</code>" in w.run_panel.result.header.value
    assert namespace["add_result"] == 3.5


def test_cancel_stops_a_kernel_run(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.slow, namespace=namespace)
    w.form.fields["seconds"].editor.value = "30"
    started = time.monotonic()
    w.run_panel.buttons["kernel"].click()
    wait_until(lambda: w.run_panel.phase == "RUNNING")
    assert not w.run_panel.cancel_button.disabled
    assert w.run_panel.buttons["kernel"].disabled
    w.run_panel.cancel_button.click()
    handle = w.run_panel.handle
    assert handle is not None
    assert handle.phase == "ABORTED"
    handle._thread.join(5)
    assert not handle._thread.is_alive(), "the task thread kept running after Cancel"
    assert time.monotonic() - started < 10
    assert w.run_panel.result.status == "cancelled"
    assert "slow_result" not in namespace
    with pytest.raises(executor.RunCancelled):
        handle.wait(1)


def test_cancel_stops_a_process_run(namespace: dict[str, Any]) -> None:
    handle = executor.start_run(tasks.slow, "process", {"seconds": 30.0}, namespace=namespace)
    wait_until(lambda: handle._sandbox is not None and handle._sandbox._runner is not None, 30)
    time.sleep(0.3)
    assert handle.cancel()
    assert handle.phase == "ABORTED"
    handle._thread.join(10)
    assert not handle._thread.is_alive()
    assert "slow_result" not in namespace


def test_progress_shows_elapsed_time_while_running(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.slow, namespace=namespace)
    w.form.fields["seconds"].editor.value = "1.2"
    w.run_panel.run("kernel")
    wait_until(lambda: w.run_panel.elapsed >= 0.5, what="the clock to tick")
    assert "RUNNING" in w.run_panel.status.value
    assert "attempt 1" in w.run_panel.status.value
    w.run_panel.wait(10)
    wait_until(lambda: not w.run_panel.running)
    assert w.run_panel.elapsed >= 1.2


# -- remote ---------------------------------------------------------------------------------------------
class FakeExecution:
    """Stands in for ``RemoteExecution`` (flyte_nb.notebook.protocols.Execution): walks through phases,
    calling ``on_update`` each time."""

    def __init__(self, outputs: Any, phases: tuple[str, ...] = ("QUEUED", "RUNNING", "SUCCEEDED")) -> None:
        from flyteidl.core import identifier_pb2

        self.id = identifier_pb2.WorkflowExecutionIdentifier(
            project="flytesnacks", domain="development", name="abc123"
        )
        self.name = "abc123"
        self.task = None
        self.attempt = 1
        self.duration = None
        self.url = "http://console.example/executions/abc123"
        self.phase = "UNDEFINED"
        self._phases, self._outputs = phases, outputs
        self.terminated = threading.Event()
        self.seen: list[str] = []

    @property
    def outputs(self) -> Any:
        return self._outputs

    error = None

    def wait(self, timeout: float | None = None, on_update: Any = None) -> Any:
        for phase in self._phases:
            if self.terminated.wait(0.05):
                self.phase = "ABORTED"
                on_update and on_update(self)
                raise RuntimeError("execution aborted")
            self.phase = phase
            self.seen.append(phase)
            if on_update:
                on_update(self)
        return self._outputs

    def terminate(self, cause: str = "") -> None:
        self.terminated.set()


class FakeRemote:
    """Stands in for ``Remote`` (flyte_nb.notebook.protocols.RemoteRunner)."""

    def __init__(self, execution: FakeExecution) -> None:
        self.execution = execution
        self.submitted: list[tuple[str, dict[str, Any]]] = []

    def sign_in_prompts_here(self, show: Any) -> Any:
        import contextlib

        return contextlib.nullcontext()

    def submit(self, task: Any, progress: Any = None, /, **inputs: Any) -> FakeExecution:
        from flyte_nb.remote import SubmitProgress

        for step, words in (
            ("upload", "uploading the task's code (9 bytes)"),
            ("launch", "launching abc123"),
        ):
            if progress is not None:
                progress(SubmitProgress(step, words))
        self.submitted.append((task.name, inputs))
        return self.execution


def test_submit_is_disabled_with_the_reason_without_a_remote(namespace: dict[str, Any]) -> None:
    panel = TaskWidget(tasks.add, namespace=namespace).run_panel
    assert panel.buttons["remote"].disabled
    assert "No Flyte remote is configured" in panel.remote_reason
    assert panel.remote_reason in panel.reason.value
    assert panel.buttons["remote"].tooltip == panel.remote_reason
    assert panel.run("remote") is None


def test_submit_follows_the_remote_execution(namespace: dict[str, Any]) -> None:
    remote = FakeRemote(FakeExecution(7.5, phases=("QUEUED", "RUNNING", "RUNNING", "SUCCEEDED")))
    w = TaskWidget(tasks.add, remote=remote, namespace=namespace)
    panel = w.run_panel
    assert not panel.buttons["remote"].disabled
    assert panel.remote_reason == ""
    w.form.fields["a"].editor.value = "5"
    panel.buttons["remote"].click()
    assert panel.wait(10) == 7.5
    wait_until(lambda: panel.result.status == "outputs")
    assert remote.submitted == [("tests.widgets.tasks.add", {"a": 5, "b": 2.5})]
    assert panel.url == remote.execution.url
    assert remote.execution.url in panel.status.value
    assert namespace["add_result"] == 7.5


def test_cancel_terminates_the_remote_execution(namespace: dict[str, Any]) -> None:
    execution = FakeExecution(1, phases=("QUEUED",) + ("RUNNING",) * 200)
    w = TaskWidget(tasks.add, remote=FakeRemote(execution), namespace=namespace)
    w.form.fields["a"].editor.value = "1"
    w.run_panel.run("remote")
    wait_until(lambda: w.run_panel.phase == "RUNNING")
    w.run_panel.cancel()
    assert execution.terminated.is_set()
    assert w.run_panel.phase == "ABORTED"
    assert w.run_panel.result.status == "cancelled"


class FinishedFirst(FakeExecution):
    """An execution that SUCCEEDS on the cluster just as the user presses Cancel."""

    def __init__(self) -> None:
        super().__init__(5)
        self.cancel_pressed = threading.Event()

    def wait(self, timeout: float | None = None, on_update: Any = None) -> Any:
        self.phase = "RUNNING"
        on_update(self)
        self.cancel_pressed.wait(10)
        self.phase = "SUCCEEDED"
        on_update(self)
        return self._outputs

    def terminate(self) -> None:
        from flyte_nb.errors import RemoteError

        self.cancel_pressed.set()
        raise RemoteError(
            "Execution abc123 cannot be terminated: it already finished (SUCCEEDED).",
            code="FAILED_PRECONDITION",
        )


def test_a_cancel_that_arrives_after_the_remote_run_finished_keeps_its_result(
    namespace: dict[str, Any],
) -> None:
    execution = FinishedFirst()
    w = TaskWidget(tasks.add, remote=FakeRemote(execution), namespace=namespace)
    w.form.fields["a"].editor.value = "1"
    w.run_panel.run("remote")
    wait_until(lambda: w.run_panel.phase == "RUNNING")
    assert w.run_panel.cancel() is False  # nothing was cancelled
    assert w.run_panel.wait(10) == 5
    wait_until(lambda: not w.run_panel.running)
    assert w.run_panel.phase == "SUCCEEDED"
    assert w.run_panel.result.status == "outputs"
    assert namespace["add_result"] == 5


# -- results --------------------------------------------------------------------------------------------
def test_dataframes_render_as_tables() -> None:
    view = ResultView()
    view.show_outputs(["o0"], pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), result_name="df_result")
    (out,) = view.output.outputs
    assert "<table" in out["data"]["text/html"]
    assert "df_result" in view.header.value


def test_result_name_is_a_valid_identifier() -> None:
    assert executor.result_name_for(tasks.add) == "add_result"

    class Named:
        name = "pkg.mod.class"

    assert executor.result_name_for(Named()) == "t_class_result"  # type: ignore[arg-type]


def test_images_render_as_images() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

    class Picture:
        def _repr_png_(self) -> bytes:
            return png

    view = ResultView()
    view.show_outputs(["o0"], Picture())
    (out,) = view.output.outputs
    assert "image/png" in out["data"]


def test_the_remote_comes_from_flyte_remote(
    monkeypatch: pytest.MonkeyPatch, namespace: dict[str, Any]
) -> None:
    from flyte_nb.errors import ConfigError

    class Magics:
        def __init__(self, remote: Any) -> None:
            self._remote = remote

        @property
        def remote(self) -> Any:
            if isinstance(self._remote, Exception):
                raise self._remote
            return self._remote

        def watch_remote(self, callback: Any) -> None:
            pass

    configured = FakeRemote(FakeExecution(1))
    monkeypatch.setattr("flyte_nb.notebook.extension.current_magics", lambda: Magics(configured))
    panel = TaskWidget(tasks.add, namespace=namespace).run_panel
    assert panel.remote is configured
    assert not panel.buttons["remote"].disabled

    broken = ConfigError("endpoint 'nowhere:1' has no port scheme")
    monkeypatch.setattr("flyte_nb.notebook.extension.current_magics", lambda: Magics(broken))
    panel = TaskWidget(tasks.add, namespace=namespace).run_panel
    assert panel.buttons["remote"].disabled
    assert "cannot be used: ConfigError: endpoint 'nowhere:1' has no port scheme" in panel.remote_reason


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_progress_counts_retried_attempts(mode: str, namespace: dict[str, Any], tmp_path: Any) -> None:
    w = TaskWidget(tasks.flaky, namespace=namespace)
    w.form.fields["marker_dir"].editor.value = str(tmp_path)
    w.run_panel.run(mode)
    assert w.run_panel.wait(60) == 2
    wait_until(lambda: not w.run_panel.running)
    assert w.run_panel.attempt == 3
    assert "attempt 3" in w.run_panel.status.value


def test_submit_says_what_it_is_doing_and_never_shows_undefined(namespace: dict[str, Any]) -> None:
    remote = FakeRemote(FakeExecution(7.5, phases=("UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDED")))
    w = TaskWidget(tasks.add, remote=remote, namespace=namespace)
    phases: list[str] = []
    statuses: list[str] = []
    w.run_panel.observe(lambda change: phases.append(change["new"]), names="phase")
    w.run_panel.status.observe(lambda change: statuses.append(change["new"]), names="value")
    w.form.fields["a"].editor.value = "5"
    w.run_panel.run("remote")
    assert w.run_panel.wait(10) == 7.5
    wait_until(lambda: not w.run_panel.running)
    assert phases[0] == "SUBMITTING"  # nothing is QUEUED before the execution exists
    assert "UNDEFINED" not in phases
    assert not any("UNDEFINED" in text for text in statuses)
    shown = " ".join(statuses)
    assert "uploading the task&#x27;s code (9 bytes)" in shown
    assert "launching abc123" in shown
    assert "waiting for the cluster to start it" in shown  # the execution exists, the cluster has not begun
    assert phases[-1] == "SUCCEEDED"
    assert w.run_panel.activity == ""


def test_an_unreachable_cluster_shows_the_connection_retries(namespace: dict[str, Any]) -> None:
    import socket

    from flyte_nb.errors import RemoteUnavailableError
    from flyte_nb.remote import Remote, load_config
    from flyte_nb.remote.client import AdminClient, RetryPolicy

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = load_config(f"127.0.0.1:{port}", "flytesnacks", "development", True)
    client = AdminClient(config, retry=RetryPolicy(attempts=3, initial=0.05), timeout=5)
    remote = Remote(client=client)
    statuses: list[str] = []
    phases: list[str] = []
    w = TaskWidget(tasks.add, remote=remote, namespace=namespace)
    w.run_panel.status.observe(lambda change: statuses.append(change["new"]), names="value")
    w.run_panel.observe(lambda change: phases.append(change["new"]), names="phase")
    w.form.fields["a"].editor.value = "1"
    w.run_panel.run("remote")
    with pytest.raises(RemoteUnavailableError):
        w.run_panel.wait(30)
    wait_until(lambda: not w.run_panel.running)
    assert "retrying the connection (" in " ".join(statuses)
    assert "attempt 2 of 3" in " ".join(statuses)
    assert "QUEUED" not in phases  # nothing was ever queued
    assert phases[-1] == "FAILED"
    remote.close()
