"""The kernel's interrupt button (jupyter_client's ``interrupt_kernel``) stops a widget's local run."""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

SETUP = """%load_ext flyte_nb
import time
import flyte_nb as fnb
from flyte_nb.notebook.widgets import TaskWidget

@fnb.task
def nap(seconds: float) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
    return 1

w = TaskWidget(nap)
w.form.fields["seconds"].editor.value = "120"
"""


class Kernel:
    """A real ipykernel (as JupyterLab starts it) and a way to run code in it and read what it printed."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km, self.kc = km, kc

    def run(self, code: str, timeout: float = 30) -> str:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append(f"ERROR {msg['content']['ename']}")

        self.kc.execute_interactive(code, output_hook=hook, timeout=timeout)
        return "".join(out)

    def wait_for(self, code: str, expected: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.run(code).strip()
            if text == expected or time.monotonic() > deadline:
                return text
            time.sleep(0.1)


@pytest.fixture
def kernel(tmp_path: pathlib.Path) -> Iterator[Kernel]:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        yield Kernel(km, kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_kernel_interrupt_stops_a_run_in_kernel_started_from_the_widget(kernel: Kernel) -> None:
    kernel.run(SETUP)
    kernel.run('w.run_panel.buttons["kernel"].click()')  # a click is a message the kernel handles, like this
    assert kernel.wait_for("print(w.run_panel.phase)", "RUNNING") == "RUNNING"
    kernel.km.interrupt_kernel()
    assert kernel.wait_for("print(w.run_panel.phase)", "ABORTED") == "ABORTED"
    # The run's thread ends too (it may first file the run in the ledger), well before the task's 120 s.
    assert kernel.wait_for("print(w.run_panel.handle._thread.is_alive())", "False", timeout=10) == "False"
    assert "Cancelled by the kernel&#x27;s interrupt" in kernel.run("print(w.run_panel.result.header.value)")
    assert kernel.run("print('nap_result' in globals())").strip() == "False"


def test_interrupts_without_widget_runs_behave_as_before(kernel: Kernel) -> None:
    kernel.run(SETUP)
    kernel.run('w.run_panel.buttons["kernel"].click()')
    assert kernel.wait_for("print(w.run_panel.phase)", "RUNNING") == "RUNNING"
    kernel.km.interrupt_kernel()
    assert kernel.wait_for("print(w.run_panel.phase)", "ABORTED") == "ABORTED"

    kernel.km.interrupt_kernel()  # nothing runs: ignored, as ipykernel ignores it when idle
    time.sleep(0.5)
    assert kernel.run("print(6 * 7)").strip() == "42"

    # a running cell is still interrupted by the same button
    timer = threading.Timer(1.0, kernel.km.interrupt_kernel)
    timer.start()
    try:
        assert kernel.run("import time; time.sleep(60)", timeout=30).strip() == "ERROR KeyboardInterrupt"
    finally:
        timer.cancel()
