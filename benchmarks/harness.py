"""Running measurement workers in fresh interpreters, and the result rows they produce."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(sys.executable).parent
MARK = "@@BENCH@@"  # prefixes the worker's JSON line, so library chatter on stdout cannot be mistaken for it


@dataclass
class Config:
    """How much work each measurement does: ``quick`` is a smoke run, not a result."""

    quick: bool = False
    reps: int = 7  # fresh-process repetitions (import, process sandbox)

    @classmethod
    def make(cls, quick: bool) -> Config:
        return cls(quick=True, reps=1) if quick else cls()


@dataclass
class Row:
    """One line of the table. ``fnb``/``fk``/``floor`` are medians (numbers) or short words."""

    group: str
    what: str
    unit: str
    fnb: float | str | None
    fk: float | str | None = None
    floor: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    lower_is_better: bool = True
    samples: dict[str, list[float]] = field(default_factory=dict)


def env() -> dict[str, str]:
    """The environment workers run with: the repository importable, no user site or startup noise."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), out.get("PYTHONPATH", "")) if p)
    out["PYTHONNOUSERSITE"] = "1"
    out.pop("PYTHONSTARTUP", None)
    out.setdefault("FLYTE_SDK_LOGGING_LEVEL", "40")  # flytekit: errors only
    out.pop("FLYTE_PLATFORM_URL", None)
    return out


def run_code(
    code: str, *, timeout: float = 300, cwd: Path | None = None, extra_env: dict[str, str] | None = None
) -> Any:
    """Run ``code`` with ``python -c`` in a fresh interpreter; return the JSON it printed after MARK."""
    environ = env()
    environ.update(extra_env or {})
    proc = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO, env=environ
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(
        f"benchmark worker failed (exit {proc.returncode}):\n--- code\n{code}\n--- stdout\n{proc.stdout[-3000:]}"
        f"\n--- stderr\n{proc.stderr[-5000:]}"
    )


def run_worker(module: str, func: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Call ``benchmarks.<module>.<func>(args)`` in a fresh interpreter and return its JSON result."""
    code = (
        f"import json, sys\nfrom benchmarks.{module} import {func} as f\n"
        f"r = f(json.loads({json.dumps(json.dumps(args or {}))}))\n"
        f"sys.stdout.flush()\nprint({MARK!r} + json.dumps(r), flush=True)\n"
    )
    return run_code(code, **kwargs)


def wall(argv: Sequence[str], *, cwd: Path | None = None, check: bool = True) -> float:
    """Seconds ``argv`` takes as a fresh process (spawn to exit)."""
    t0 = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd or REPO, env=env())
    elapsed = time.perf_counter() - t0
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return elapsed


def load_average() -> str:
    """The 1-minute load average (other work on the machine shows up as noise in the numbers)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def machine() -> dict[str, str]:
    """nproc, memory, CPU model and the versions the run used."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = run_code(
        "import json, importlib.metadata as m\n"
        "names = ['flyte-nb', 'flytekit', 'flyteidl', 'protobuf', 'cloudpickle', 'ipython', 'numpy', 'pandas', 'pyarrow']\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = '-'\n"
        f"print({MARK!r} + json.dumps(out))\n"
    )
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }
