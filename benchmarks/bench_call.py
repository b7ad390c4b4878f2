"""2. Per-call overhead of an in-kernel task call (two int inputs, one int output).

Each library runs in its own fresh interpreter with an IPython shell; the task is defined by running a
notebook cell (``%%flyte_task`` / ``@flytekit.task``) and called from the shell's namespace, as a user
calls it. The floor is calling the plain Python function. Reported: the median, over three alternating
rounds of one process per library with five repeats each, of the mean time per call.
"""

from __future__ import annotations

import timeit
from typing import Any

from benchmarks.harness import Config, Row, median, run_worker

CELL = "def add(a: int, b: int) -> int:\n    return a + b\n"


def _shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def _per_call_us(func: Any, number: int, repeat: int) -> list[float]:
    func()  # first call builds caches (transformer lookups, literal types): not per-call overhead
    return [t / number * 1e6 for t in timeit.repeat(func, number=number, repeat=repeat)]


def worker(args: dict[str, Any]) -> dict[str, Any]:
    shell = _shell()
    side, number, repeat = args["side"], args["number"], args["repeat"]
    if side == "fnb":
        shell.run_line_magic("load_ext", "flyte_nb")
        shell.run_cell_magic("flyte_task", "", CELL)
    elif side == "fk":
        result = shell.run_cell("import flytekit\n@flytekit.task\n" + CELL)
        assert result.success, result.error_in_exec
    else:
        shell.run_cell(CELL)
    add = shell.user_ns["add"]
    assert add(a=1, b=2) == 3
    return {"us": _per_call_us(lambda: add(a=1, b=2), number, repeat)}


def rows(cfg: Config) -> list[Row]:
    plan = {
        "fnb": (300, 3) if cfg.quick else (2000, 5),
        "fk": (30, 3) if cfg.quick else (200, 5),
        "floor": (10000, 3) if cfg.quick else (200000, 5),
    }
    # Rounds alternate the libraries' processes, so a burst of load on a shared machine hits both alike.
    samples: dict[str, list[float]] = {side: [] for side in plan}
    for _ in range(1 if cfg.quick else 3):
        for side, (n, r) in plan.items():
            samples[side] += run_worker("bench_call", "worker", {"side": side, "number": n, "repeat": r})[
                "us"
            ]
    res = {side: median(values) for side, values in samples.items()}
    speedup = res["fk"] / res["fnb"]
    return [
        Row(
            "2 task call",
            "in-kernel call `add(a=1, b=2)` (floor: the plain function)",
            "µs",
            res["fnb"],
            res["fk"],
            floor=res["floor"],
            target="≥ 100x faster than flytekit",
            met=speedup >= 100,
        )
    ]
