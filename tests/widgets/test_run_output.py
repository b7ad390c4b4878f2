"""Task output in the run panel: complete, and cheap for print-heavy tasks."""

from __future__ import annotations

import threading
from typing import Any

import flyte_nb as fnb
from flyte_nb.notebook import executor
from flyte_nb.notebook.widgets import TaskWidget
from tests.widgets import tasks
from tests.widgets.conftest import wait_until

_RELEASE = threading.Event()


@fnb.task
def talk_then_wait() -> int:
    print("started", flush=True)  # shown at once
    print("quiet now", flush=True)  # within the interval: shown by the deferred call
    _RELEASE.wait(30)  # quiet until the test lets it finish (a kernel run calls this very function)
    return 1


def test_a_print_heavy_run_re_renders_a_bounded_number_of_times(namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.chatty, namespace=namespace)
    renders: list[str] = []
    w.run_panel.logs.observe(lambda change: renders.append(change["new"]), "value")
    w.form.fields["n"].editor.value = 3000
    w.run_panel.run("kernel")
    assert w.run_panel.wait(60) == 3000
    wait_until(lambda: not w.run_panel.running)
    # one re-render per print was what made the widget ~8x slower than a cell; now it is per interval
    assert len(renders) < 300, len(renders)
    assert "step 2999 of 3000" in w.run_panel.logs.value  # the last line is on screen at the end
    assert namespace["chatty_result"] == 3000


def test_output_followed_by_silence_is_shown_while_the_task_runs(namespace: dict[str, Any]) -> None:
    _RELEASE.clear()
    seen: list[str] = []
    handle = executor.start_run(talk_then_wait, "kernel", {}, on_progress=lambda h: seen.append(h.log_text))
    try:
        wait_until(lambda: any("quiet now" in text for text in seen), what="the deferred progress call")
        assert not handle.done
    finally:
        _RELEASE.set()
    assert handle.wait(30) == 1


def test_log_tail_is_the_end_of_the_output() -> None:
    handle = executor.RunHandle(tasks.chatty, "kernel", {"n": 1})
    for i in range(5000):
        handle._write(f"{i}\n")
    handle._write("")
    assert handle.log_text.endswith("4999\n")
    assert handle.log_tail(10) == handle.log_text[-10:]
    assert handle.log_tail(100_000) == handle.log_text
