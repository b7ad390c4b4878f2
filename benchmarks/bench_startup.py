"""11. What the container entrypoint imports before it runs a trivial task (``-X importtime``).

Each library's entrypoint runs the trivial module task of group 4 on the same ``inputs.pb`` with
``PYTHONPROFILEIMPORTTIME=1``; the rows count the modules it imported and sum the import time of its
top-level imports (the profiler's own overhead included, alike for both). The floor is ``python -c
pass`` under the same profiler (site, encodings). The profile section of ``RESULTS.md`` breaks
flyte_nb's entrypoint down by package, for a task defined in a notebook cell (its pickled payload
loaded by the notebook resolver), the common case.
"""

from __future__ import annotations

import collections
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bench_process import _render
from benchmarks.harness import PYTHON, REPO, Config, Row, env, median, run_worker

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$", re.M)
#: Set by rows(): the Markdown section with flyte_nb's profile (written into RESULTS.md).
SECTION = ""


Imports = list[tuple[str, int, int, int]]


def profile(stderr: str) -> Imports:
    """(module, self µs, cumulative µs, depth) for every import in a ``-X importtime`` log."""
    return [(m[4], int(m[1]), int(m[2]), (len(m[3]) - 1) // 2) for m in _LINE.finditer(stderr)]


def _profiled(argv: list[str], cwd: Path) -> Imports:
    environ = {**env(), "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=environ, check=True)
    return profile(proc.stderr)


def _summary(imports: Imports) -> tuple[int, float]:
    """(modules imported, ms spent in top-level imports)."""
    return len(imports), sum(cum for _, _, cum, depth in imports if depth == 0) / 1e3


def notebook_profile(args: dict[str, Any]) -> dict[str, Any]:
    """The import profile of flyte-nb-execute running a notebook-cell task (through the process sandbox)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "flyte_nb")
    shell.run_cell_magic("flyte_task", "--no-widget", "def add(a: int, b: int) -> int:\n    return a + b\n")
    from flyte_nb import SandboxExecutor

    runs: list[Imports] = []
    for _ in range(args["reps"]):
        logs: list[str] = []
        sandbox = SandboxExecutor(
            "process", env={"PYTHONPROFILEIMPORTTIME": "1"}, stderr=logs.append, stdout=lambda _: None
        )
        assert sandbox.run(shell.user_ns["add"], a=1, b=2) == 3
        runs.append(profile("".join(logs)))
    # Each module's fastest import over the runs: a burst of load on a shared machine hits single
    # modules of single runs (one run showed 22 ms for `enum`), not the same module every time.
    fastest: dict[str, tuple[int, int]] = {}
    for run in runs:
        for name, self_us, cum, _ in run:
            best = fastest.get(name)
            fastest[name] = (min(best[0], self_us), min(best[1], cum)) if best else (self_us, cum)
    return {"imports": [(name, *fastest[name], depth) for name, _, _, depth in runs[0]]}


_GROUPS = (
    ("flyte_nb", "flyte_nb"),
    ("flyteidl", "flyteidl (generated messages)"),
    ("google", "protobuf (upb runtime)"),
    ("cloudpickle", "cloudpickle"),
    ("msgpack", "msgpack"),
)


def _label(name: str) -> str:
    root = name.split(".")[0]
    return next((label for prefix, label in _GROUPS if root == prefix), "standard library (and site)")


def _section(imports: Imports) -> str:
    own: dict[str, float] = collections.defaultdict(float)
    counts: collections.Counter[str] = collections.Counter()
    heaviest: dict[str, tuple[float, str]] = {}
    for name, self_us, _, _ in imports:  # each module's own time, under the package it belongs to
        label = _label(name)
        own[label] += self_us / 1e3
        counts[label] += 1
        heaviest[label] = max(heaviest.get(label, (0.0, "")), (self_us / 1e3, name))
    lines = [
        "## Start-up profile of `flyte-nb-execute`",
        "",
        "`flyte-nb-execute` running a task defined in a notebook cell (the pickled payload the notebook",
        "resolver loads), profiled with `-X importtime` (its overhead inflates every figure alike); each",
        "module's fastest import over the runs, counted under its package. "
        f"{sum(own.values()):.0f} ms in imports,",
        f"{len(imports)} modules. Not imported: numpy, pandas, pyarrow, grpc, IPython, ipywidgets, yaml,",
        "fsspec, docstring_parser, importlib.metadata, argparse (a test checks the list).",
        "",
        "| package | ms (own import time) | modules | slowest module |",
        "|---|---|---|---|",
    ]
    for label, ms in sorted(own.items(), key=lambda kv: -kv[1]):
        slow_ms, slow = heaviest[label]
        lines.append(f"| {label} | {ms:.1f} | {counts[label]} | `{slow}` ({slow_ms:.1f} ms) |")
    return "\n".join(lines) + "\n"


def rows(cfg: Config) -> list[Row]:
    global SECTION
    reps = 1 if cfg.quick else 5
    with tempfile.TemporaryDirectory(prefix="flyte-nb-bench-startup-") as tmp:
        root = Path(tmp)
        run_worker("bench_process", "write_inputs", {"path": str(root / "inputs.pb")})
        templates = {side: run_worker("bench_process", "command", {"side": side}) for side in ("fnb", "fk")}
        samples: dict[str, list[tuple[int, float]]] = {"fnb": [], "fk": [], "floor": []}
        for i in range(reps):  # alternating, so load on a shared machine hits both alike
            for side, template in templates.items():
                samples[side].append(_summary(_profiled(_render(template, root, f"{side}-{i}"), REPO)))
            samples["floor"].append(_summary(_profiled([PYTHON, "-c", "pass"], REPO)))
    nb = run_worker("bench_startup", "notebook_profile", {"reps": reps})
    imports: Imports = [(m, s, c, d) for m, s, c, d in nb["imports"]]
    SECTION = _section(imports)
    group = "11 start-up"
    count = {side: samples[side][0][0] for side in samples}
    ms = {side: median([s[1] for s in samples[side]]) for side in samples}
    heavy = [m for m, *_ in imports if m.split(".")[0] in ("numpy", "pandas", "pyarrow", "grpc", "IPython")]
    return [
        Row(
            group,
            "modules the container entrypoint imports for a trivial module task (floor: `python -c pass`)",
            "modules",
            count["fnb"],
            count["fk"],
            floor=count["floor"],
        ),
        Row(
            group,
            "time in those imports (`-X importtime`, top-level imports summed)",
            "ms",
            ms["fnb"],
            ms["fk"],
            floor=ms["floor"],
            target="no numpy/pandas/grpc/IPython for a trivial task",
            met=not heavy,
        ),
    ]
