"""1. Cold start: ``import flyte_nb`` + ``%load_ext flyte_nb`` against ``import flytekit``.

Each sample is a fresh interpreter. In the shell variants an IPython ``InteractiveShell`` is created
first and its own startup is *not* counted: the clock runs around the import (and the extension load)
only. Peak RSS is the process's high-water mark after the import; the floor is the same process without
the import (interpreter + IPython shell).
"""

from __future__ import annotations

from benchmarks.harness import MARK, PYTHON, Config, Row, median, run_code, wall

_SHELL = """
import json, resource, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
{body}
t1 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print({mark!r} + json.dumps({{"ms": (t1 - t0) * 1e3, "modules": len(set(sys.modules) - before),
      "rss0": rss0 / 1024, "rss": rss1 / 1024}}))
"""

BODIES = {
    # what a notebook user runs first
    "fnb_load": "import flyte_nb\nshell.run_line_magic('load_ext', 'flyte_nb')",
    "fk_load": "import flytekit",
    # time to a first task defined in a cell (the extension defers the task machinery to first use)
    "fnb_cell": (
        "import flyte_nb\nshell.run_line_magic('load_ext', 'flyte_nb')\n"
        "shell.run_cell_magic('flyte_task', '', 'def add(a: int, b: int) -> int:\\n    return a + b\\n')\n"
        "assert type(shell.user_ns['add']).__name__ == 'PythonFunctionTask'"
    ),
    "fk_cell": (
        "r = shell.run_cell('import flytekit\\n@flytekit.task\\ndef add(a: int, b: int) -> int:\\n    return a + b\\n')\n"
        "assert r.success and type(shell.user_ns['add']).__name__ == 'PythonFunctionTask'"
    ),
    "floor": "pass",
}


def _shell_samples(body: str, reps: int) -> list[dict[str, float]]:
    code = _SHELL.format(body=body, mark=MARK)
    return [run_code(code) for _ in range(reps)]


def rows(cfg: Config) -> list[Row]:
    if not cfg.quick:  # one discarded run each: .pyc files exist and the page cache is warm for both alike
        for key in ("fnb_cell", "fk_cell"):
            _shell_samples(BODIES[key], 1)
    samples: dict[str, list[dict[str, float]]] = {key: [] for key in BODIES}
    for _ in range(cfg.reps):  # alternating, so a burst of load on a shared machine hits both alike
        for key, body in BODIES.items():
            samples[key] += _shell_samples(body, 1)

    def med(key: str, field: str) -> float:
        return median([s[field] for s in samples[key]])

    fnb_ms, fk_ms = med("fnb_load", "ms"), med("fk_load", "ms")
    group = "1 cold start"
    out = [
        Row(
            group,
            "`import flyte_nb` + `%load_ext flyte_nb` vs `import flytekit` (IPython shell, startup excluded)",
            "ms",
            fnb_ms,
            fk_ms,
            target="≤ 1/8 of flytekit and ≤ 100 ms",
            met=fnb_ms <= fk_ms / 8 and fnb_ms <= 100,
        ),
        Row(
            group,
            "modules loaded by that import",
            "modules",
            med("fnb_load", "modules"),
            med("fk_load", "modules"),
        ),
        Row(
            group,
            "peak RSS after that import (floor: the shell alone)",
            "MB",
            med("fnb_load", "rss"),
            med("fk_load", "rss"),
            floor=med("floor", "rss"),
        ),
        Row(
            group,
            "first task cell: import + load + `%%flyte_task` cell vs import + `@flytekit.task` cell",
            "ms",
            med("fnb_cell", "ms"),
            med("fk_cell", "ms"),
        ),
    ]
    walls: dict[str, list[float]] = {"fnb": [], "fk": [], "floor": []}
    for _ in range(cfg.reps):
        for name, code in (("fnb", "import flyte_nb"), ("fk", "import flytekit"), ("floor", "pass")):
            walls[name].append(wall([PYTHON, "-c", code]) * 1e3)
    bare = {name: median(values) for name, values in walls.items()}
    out.append(
        Row(
            group,
            "`python -c 'import …'` wall time (floor: `python -c pass`)",
            "ms",
            bare["fnb"],
            bare["fk"],
            floor=bare["floor"],
        )
    )
    return out
