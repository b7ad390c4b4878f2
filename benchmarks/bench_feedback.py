"""9. Submit to result on the FlyteAdmin stand-in (``tests/standin``), its propeller running the task.

The stand-in runs in its own process; its propeller renders and runs each execution's container
command as FlytePropeller would (``flyte-nb-execute`` / ``pyflyte-execute`` in a fresh interpreter) and
moves the execution through UNDEFINED → QUEUED → RUNNING → SUCCEEDED. Each client runs in a fresh
interpreter, registers the trivial task once, then times submit → outputs in hand:
``Remote.submit(add, a=1, b=i).wait()`` and flytekit's ``FlyteRemote.execute(add, inputs, wait=True)``
followed by ``.outputs["o0"]``, both on a module task (flytekit's interactive mode ships its pickled
code in a bundle the stand-in's containers cannot fetch). The floor is the container's run time as
admin records it (RUNNING → SUCCEEDED, ``closure.duration``): what remains is polling and client work.
A second row is flyte_nb's notebook-cell task (payload uploaded through the data proxy).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import PYTHON, REPO, Config, Row, env, median, run_worker

CELL = "def add(a: int, b: int) -> int:\n    return a + b\n"


def serve(root: str) -> None:
    """Run a stand-in with its propeller until stdin closes; print its endpoint first."""
    from tests.standin import StandIn

    standin = StandIn(Path(root), extra_pythonpath=[str(REPO)])
    standin.start()
    print(json.dumps({"endpoint": standin.endpoint}), flush=True)
    sys.stdin.read()
    standin.stop()


@contextmanager
def standin() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="flyte-nb-bench-feedback-") as tmp:
        proc = subprocess.Popen(
            [PYTHON, "-c", f"from benchmarks.bench_feedback import serve; serve({tmp!r})"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env(),
        )
        try:
            assert proc.stdout is not None
            yield json.loads(proc.stdout.readline())["endpoint"]
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=60)


def _durations(execution: Any) -> tuple[float, float]:
    """(RUNNING → SUCCEEDED, created → SUCCEEDED) in ms, from a flyteidl admin ``Execution``."""
    closure = execution.closure
    ran = closure.duration.ToTimedelta().total_seconds() * 1e3
    admin = (closure.updated_at.ToDatetime() - closure.created_at.ToDatetime()).total_seconds() * 1e3
    return ran, admin


def fnb_client(args: dict[str, Any]) -> dict[str, Any]:
    from flyte_nb import Remote

    remote = Remote(endpoint=args["endpoint"], insecure=True, project="flytesnacks", domain="development")
    if args["notebook"]:
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "flyte_nb")
        shell.run_cell_magic("flyte_task", "", CELL)
        task = shell.user_ns["add"]
    else:
        from benchmarks.tasks_fnb import add as task
    assert remote.submit(task, a=1, b=0).wait(timeout=120) == 1  # registers; not timed
    out: dict[str, list[float]] = {"ms": [], "ran": [], "admin": []}
    for i in range(args["reps"]):
        t0 = time.perf_counter()
        execution = remote.submit(task, a=1, b=i)
        assert execution.wait(timeout=120) == 1 + i
        out["ms"].append((time.perf_counter() - t0) * 1e3)
        ran, admin = _durations(execution.execution)
        out["ran"].append(ran)
        out["admin"].append(admin)
    return out


def fk_client(args: dict[str, Any]) -> dict[str, Any]:
    from flytekit.configuration import Config as FkConfig
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    from benchmarks.tasks_fk import add

    fk = FlyteRemote(
        FkConfig.for_endpoint(args["endpoint"], insecure=True),
        default_project="flytesnacks",
        default_domain="development",
    )
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project="flytesnacks", domain="development"
    )
    registered = fk.register_task(add, settings, version="bench")  # not timed
    out: dict[str, list[float]] = {"ms": [], "ran": []}
    for i in range(args["reps"]):
        t0 = time.perf_counter()
        execution = fk.execute(registered, inputs={"a": 1, "b": i}, wait=True)
        assert execution.outputs["o0"] == 1 + i
        out["ms"].append((time.perf_counter() - t0) * 1e3)
        out["ran"].append(execution.closure.duration.total_seconds() * 1e3)  # flytekit's model: a timedelta
    return out


def rows(cfg: Config) -> list[Row]:
    reps = 1 if cfg.quick else 3
    with standin() as endpoint:
        module = run_worker(
            "bench_feedback", "fnb_client", {"endpoint": endpoint, "reps": reps, "notebook": False}
        )
        cell = run_worker(
            "bench_feedback", "fnb_client", {"endpoint": endpoint, "reps": reps, "notebook": True}
        )
        # flytekit's wait() polls every 30 s by default: a sample takes 30 s, so fewer of them
        fk = (
            None
            if cfg.quick
            else run_worker("bench_feedback", "fk_client", {"endpoint": endpoint, "reps": 2})
        )
    ran = median(module["ran"])
    total = median(module["ms"])
    group = "9 remote feedback"
    return [
        Row(
            group,
            "submit → result of a trivial module task on the stand-in (propeller running it) — flytekit: "
            "`FlyteRemote.execute(..., wait=True)`; floor: the container's run time as admin records it "
            f"(stand-in's own create → done: {median(module['admin']):.0f} ms)",
            "ms",
            total,
            median(fk["ms"]) if fk else None,
            floor=ran,
            target="≤ container run + 500 ms, faster than flytekit",
            met=total <= ran + 500 and (fk is None or total < median(fk["ms"])),
        ),
        Row(
            group,
            "submit → result of a notebook-cell task (payload through the data proxy); no flytekit counterpart",
            "ms",
            median(cell["ms"]),
            floor=median(cell["ran"]),
            target="≤ container run + 500 ms",
            met=median(cell["ms"]) <= median(cell["ran"]) + 500,
        ),
    ]
