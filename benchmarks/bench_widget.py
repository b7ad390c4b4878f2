"""10. A print-heavy task run from the widget against the same call in a cell, in a real ipykernel.

A task printing 3,000 lines is run in a real kernel (``jupyter_client``, ipykernel's own ``sys.stdout``
and comms): once called in a cell, and once through the task widget's *Run in kernel* (the run panel's
``RunHandle``: a background thread whose prints are routed to the panel, which re-renders its log as it
goes). The clock runs inside the kernel, from the call (or the click) until the result is shown (the
panel no longer running). Samples alternate. flytekit has no widget; the floor is the cell.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.harness import MARK, REPO, Config, Row, median, run_worker

LINES = 3000

SETUP = """
%load_ext flyte_nb
import json, time
from flyte_nb.notebook.widgets import TaskWidget
"""

TASK = """%%flyte_task --no-widget
def chatter(n: int) -> int:
    for i in range(n):
        print(f"line {i} of the print-heavy task")
    return n
"""

IN_A_CELL = f"""
_t0 = time.perf_counter()
assert chatter(n={LINES}) == {LINES}
_ms = (time.perf_counter() - _t0) * 1e3
"""

FROM_THE_WIDGET = f"""
_w = TaskWidget(chatter, namespace=get_ipython().user_ns)
_w.form.fields["n"].editor.value = "{LINES}"
_t0 = time.perf_counter()
_w.run_panel.run("kernel")
assert _w.run_panel.wait(300) == {LINES}
while _w.run_panel.running:
    time.sleep(0.0005)
_ms = (time.perf_counter() - _t0) * 1e3
assert "line {LINES - 1} of" in _w.run_panel.logs.value
"""

REPORT = f"print({MARK!r} + json.dumps(_ms))"


def worker(args: dict[str, Any]) -> dict[str, Any]:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        marks: list[str] = []
        errors: list[str] = []

        def collect(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                marks.extend(
                    line[len(MARK) :] for line in msg["content"]["text"].splitlines() if line.startswith(MARK)
                )
            elif msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        def run(source: str) -> None:
            kc.execute_interactive(source, output_hook=collect, timeout=300)
            if errors:
                raise RuntimeError(f"kernel cell failed: {errors}\n{source}")

        run(SETUP)
        run(TASK)
        out: dict[str, list[float]] = {"cell": [], "widget": []}
        for _ in range(args["reps"] + 1):  # the first round warms both paths up and is dropped
            for key, source in (("cell", IN_A_CELL), ("widget", FROM_THE_WIDGET)):
                run(source)
                run(REPORT)
                out[key].append(json.loads(marks.pop()))
        return {key: values[1:] for key, values in out.items()}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def rows(cfg: Config) -> list[Row]:
    got = run_worker("bench_widget", "worker", {"reps": 1 if cfg.quick else 5})
    widget, cell = median(got["widget"]), median(got["cell"])
    return [
        Row(
            "10 widget output",
            f"task printing {LINES:,} lines: *Run in kernel* from the widget, output routed to its panel, "
            "until the result shows (real ipykernel) — floor: the same call in a cell",
            "ms",
            widget,
            floor=cell,
            target="about a cell (≤ 1.5x)",
            met=widget <= 1.5 * cell,
        )
    ]
