"""4. A trivial task run in a fresh interpreter by each library's container entrypoint.

Both entrypoints get the *same* ``inputs.pb`` and the command line their own serializer puts into the
task's ``TaskTemplate`` (rendered as propeller renders it), and the clock runs from spawn to exit, as a
container's would. Each output is checked (``outputs.pb`` holds ``o0 = 3``). The floor is
``python -c pass``. The last row is flyte_nb's process sandbox as a notebook user calls it on a task
defined in a notebook cell (pickled payload, template, spawn, outputs).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import BIN, PYTHON, Config, Row, median, run_worker, wall


def command(args: dict[str, Any]) -> list[str]:
    """The container args of the trivial task, from each library's own serializer."""
    if args["side"] == "fnb":
        from benchmarks.tasks_fnb import add
        from flyte_nb.core.serialize import serialize_task

        return list(serialize_task(add).container.args)
    from collections import OrderedDict

    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    from benchmarks.tasks_fk import add as fk_add

    settings = SerializationSettings(image_config=ImageConfig.auto_default_image())
    return list(get_serializable(OrderedDict(), settings, fk_add).template.container.args)


def write_inputs(args: dict[str, Any]) -> str:
    from flyteidl.core import literals_pb2

    lm = literals_pb2.LiteralMap()
    for name, value in (("a", 1), ("b", 2)):
        lm.literals[name].scalar.primitive.integer = value
    Path(args["path"]).write_bytes(lm.SerializeToString(deterministic=True))
    return args["path"]


def read_output(args: dict[str, Any]) -> int:
    from flyteidl.core import literals_pb2

    lm = literals_pb2.LiteralMap()
    lm.ParseFromString(Path(args["path"]).read_bytes())
    return int(lm.literals["o0"].scalar.primitive.integer)


def _render(template: list[str], root: Path, run: str) -> list[str]:
    values = {
        "{{.input}}": str(root / "inputs.pb"),
        "{{.outputPrefix}}": str(root / run / "out"),
        "{{.rawOutputDataPrefix}}": str(root / run / "raw"),
        "{{.checkpointOutputPrefix}}": str(root / run / "ckpt"),
        "{{.prevCheckpointPrefix}}": '""',  # propeller's rendering of "no previous checkpoint"
    }
    argv = [values.get(a, a) for a in template]
    return [str(BIN / argv[0]), *argv[1:]]


def sandbox_worker(args: dict[str, Any]) -> dict[str, Any]:
    """flyte_nb's process sandbox on a notebook-cell task, timed per ``.run`` in a warm kernel."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "flyte_nb")
    shell.run_cell_magic("flyte_task", "", "def add(a: int, b: int) -> int:\n    return a + b\n")
    from flyte_nb import SandboxExecutor

    executor, add = SandboxExecutor(mode="process"), shell.user_ns["add"]
    times = []
    for _ in range(args["reps"]):
        t0 = time.perf_counter()
        assert executor.run(add, a=1, b=2) == 3
        times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": times}


def rows(cfg: Config) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="flyte-nb-bench-") as tmp:
        root = Path(tmp)
        run_worker("bench_process", "write_inputs", {"path": str(root / "inputs.pb")})
        templates = {side: run_worker("bench_process", "command", {"side": side}) for side in ("fnb", "fk")}
        for side, template in templates.items():
            wall(_render(template, root, f"{side}-warm"))  # compiles .pyc, warms the page cache
        times: dict[str, list[float]] = {"fnb": [], "fk": []}
        for i in range(cfg.reps):  # alternating, so a burst of load on a shared machine hits both alike
            for side, template in templates.items():
                times[side].append(wall(_render(template, root, f"{side}-{i}")) * 1e3)
                got = run_worker(
                    "bench_process", "read_output", {"path": str(root / f"{side}-{i}" / "out" / "outputs.pb")}
                )
                assert got == 3, f"{side} wrote o0={got}"
        res = {side: median(values) for side, values in times.items()}
        floor = median([wall([PYTHON, "-c", "pass"]) * 1e3 for _ in range(cfg.reps)])
    sandbox = median(run_worker("bench_process", "sandbox_worker", {"reps": max(cfg.reps, 2)})["ms"][1:])
    group = "4 process sandbox"
    return [
        Row(
            group,
            "`flyte-nb-execute` vs `pyflyte-execute`, same inputs.pb, module task (floor: `python -c pass`)",
            "ms",
            res["fnb"],
            res["fk"],
            floor=floor,
            target="faster than flytekit",
            met=res["fnb"] < res["fk"],
        ),
        Row(
            group,
            "`SandboxExecutor(mode='process').run(add, a=1, b=2)` on a notebook-cell task",
            "ms",
            sandbox,
            floor=floor,
            note="payload, template, spawn, outputs; no flytekit counterpart",
        ),
    ]
