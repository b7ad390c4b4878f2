"""5. Remote submission against the FlyteAdmin stand-in (``tests/standin``): submit → execution created.

The stand-in (gRPC admin + data proxy + signed-URL bucket) runs in its own process with its propeller
switched off, so executions stay queued and no task containers compete for the CPU while clients are
timed. Each client runs in a fresh interpreter with an IPython shell, defines the task in a notebook cell
and submits it: flyte_nb's ``Remote.submit`` and flytekit's ``FlyteRemote.execute`` in interactive mode
(both pickle the task, upload it, register it and create the execution). The clock covers that call
only (client construction and imports excluded). "Re-submit" is the same task again in the same kernel.
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
    """Run a stand-in until stdin closes; print its endpoint first."""
    from tests.standin import StandIn

    standin = StandIn(Path(root))
    standin.propeller.launch = lambda eid: None  # type: ignore[method-assign]  # executions stay QUEUED
    standin.start()
    print(json.dumps({"endpoint": standin.endpoint}), flush=True)
    sys.stdin.read()
    created = sorted(ex.id.name for ex in standin.executions())
    standin.stop()
    print(json.dumps({"executions": created}), flush=True)


@contextmanager
def standin() -> Iterator[tuple[str, dict[str, Any]]]:
    """A stand-in in its own process: yields its endpoint and a dict that gets ``executions`` at exit."""
    with tempfile.TemporaryDirectory(prefix="flyte-nb-bench-admin-") as tmp:
        proc = subprocess.Popen(
            [PYTHON, "-c", f"from benchmarks.bench_remote import serve; serve({tmp!r})"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env(),
        )
        try:
            assert proc.stdout is not None
            endpoint = json.loads(proc.stdout.readline())["endpoint"]
            final: dict[str, Any] = {}
            yield endpoint, final
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            out = proc.stdout.read() if proc.stdout is not None else ""
            proc.wait(timeout=30)
        final.update(json.loads(out.strip().splitlines()[-1]))


def _timed(call: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def client(args: dict[str, Any]) -> dict[str, Any]:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    endpoint, n = args["endpoint"], args["resubmits"]
    # a unique task name per process, so every first submit uploads and registers a new task
    cell = CELL.replace("def add", f"def add_{args['tag']}")
    name = f"add_{args['tag']}"
    if args["side"] == "fnb":
        from flyte_nb import Remote

        shell.run_line_magic("load_ext", "flyte_nb")
        shell.run_cell_magic("flyte_task", "", cell)
        task = shell.user_ns[name]
        remote = Remote(endpoint=endpoint, insecure=True, project="flytesnacks", domain="development")

        def submit() -> str:
            return str(remote.submit(task, a=1, b=2).id.name)
    else:
        from flytekit.configuration import Config as FkConfig
        from flytekit.remote import FlyteRemote

        result = shell.run_cell("from flytekit import task\n@task\n" + cell)
        assert result.success, result.error_in_exec
        task = shell.user_ns[name]
        fk = FlyteRemote(
            FkConfig.for_endpoint(endpoint, insecure=True),
            default_project="flytesnacks",
            default_domain="development",
            interactive_mode_enabled=True,
        )

        def submit() -> str:
            return str(fk.execute(task, inputs={"a": 1, "b": 2}, wait=False).id.name)

    names: list[str] = []
    first = _timed(lambda: names.append(submit()), 1)
    again = _timed(lambda: names.append(submit()), n)
    return {"first": first, "again": again, "names": names}


def rows(cfg: Config) -> list[Row]:
    processes, resubmits = (1, 2) if cfg.quick else (3, 5)
    res: dict[str, dict[str, list[float]]] = {
        "fnb": {"first": [], "again": []},
        "fk": {"first": [], "again": []},
    }
    names: list[str] = []
    with standin() as (endpoint, final):
        for i in range(processes):
            for side in ("fnb", "fk"):
                got = run_worker(
                    "bench_remote",
                    "client",
                    {"side": side, "endpoint": endpoint, "resubmits": resubmits, "tag": f"{side}{i}"},
                )
                res[side]["first"] += got["first"]
                res[side]["again"] += got["again"]
                names += got["names"]
    # every timed call created its own execution on the server
    assert sorted(names) == final["executions"], (names, final)
    group = "5 remote submit"
    return [
        Row(
            group,
            "first submit of a notebook task: upload + register + create execution (stand-in admin)",
            "ms",
            median(res["fnb"]["first"]),
            median(res["fk"]["first"]),
            note="flytekit: FlyteRemote interactive mode",
        ),
        Row(
            group,
            "re-submit of the same task (already registered)",
            "ms",
            median(res["fnb"]["again"]),
            median(res["fk"]["again"]),
        ),
    ]
