"""The live view of a remote execution, and its static fallback."""

from __future__ import annotations

from flyte_nb.errors import TaskExecutionError
from flyte_nb.notebook import views
from flyte_nb.notebook.widgets import ExecutionView
from tests.widgets.test_run import FakeExecution


def test_execution_view_follows_phases_to_the_outputs() -> None:
    execution = FakeExecution({"o0": 3}, phases=("QUEUED", "RUNNING", "SUCCEEDED"))
    phases: list[str] = []
    view = ExecutionView(execution)
    view.observe(lambda change: phases.append(change["new"]), names="phase")
    view.join(5)
    assert not view.watching
    assert view.phase == "SUCCEEDED"
    assert phases[-1] == "SUCCEEDED"
    assert "RUNNING" in execution.seen
    assert view.url == execution.url
    assert execution.url in view.header.value
    assert view.result.status == "outputs"
    assert "{'o0': 3}" in view.result.output.outputs[0]["data"]["text/plain"]
    assert view.terminate_button.disabled  # nothing left to terminate
    assert view.terminate_button.button_style == ""  # and it does not look pressable


def test_execution_view_shows_a_failure_with_its_code() -> None:
    class Failing(FakeExecution):
        def wait(self, timeout: float | None = None, on_update: object = None) -> object:
            self.phase = "FAILED"
            raise TaskExecutionError(
                "Task 'f' failed on the cluster",
                code="USER:ZeroDivisionError",
                traceback_text="ZeroDivisionError: division by zero",
            )

    view = ExecutionView(Failing(None))
    view.join(5)
    assert view.phase == "FAILED"
    assert view.result.status == "error"
    assert "USER:ZeroDivisionError" in view.result.header.value


def test_terminate_button_aborts_on_the_cluster() -> None:
    execution = FakeExecution(None, phases=("RUNNING",) * 200)
    view = ExecutionView(execution)
    assert view.terminate_button.button_style == "warning"
    view.terminate_button.click()
    view.join(5)
    assert execution.terminated.is_set()
    assert view.phase == "ABORTED"
    assert view.result.status == "cancelled"


def test_static_execution_views() -> None:
    execution = FakeExecution(5, phases=())
    execution.phase = "SUCCEEDED"
    page = views.execution_html(execution)
    assert "SUCCEEDED" in page
    assert execution.url in page
    assert "<pre>5</pre>" in page
    assert views.execution_text(execution).splitlines() == [
        "Execution flytesnacks/development/abc123: SUCCEEDED",
        f"  {execution.url}",
        "  outputs: 5",
    ]
