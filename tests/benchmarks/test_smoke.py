"""The benchmark command runs end to end (``--quick``) and prints every row of the table.

Nothing is timed or asserted about speed here: the numbers are reported by ``python -m benchmarks``.
What a user would notice is a broken command or a table missing a measurement.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

EXPECTED = [  # (group, a phrase of the measurement) - one per row of the quick table
    ("1 cold start", "`import flyte_nb` + `%load_ext flyte_nb`"),
    ("1 cold start", "modules loaded"),
    ("1 cold start", "peak RSS"),
    ("1 cold start", "first task cell"),
    ("1 cold start", "wall time"),
    ("2 task call", "in-kernel call"),
    ("3 large outputs", "ndarray"),
    ("3 large outputs", "DataFrame"),
    ("4 process sandbox", "`flyte-nb-execute` vs `pyflyte-execute`"),
    ("4 process sandbox", "SandboxExecutor(mode='process')"),
    ("5 remote submit", "first submit"),
    ("5 remote submit", "re-submit"),
    ("6 payload & version", "payload size"),
    ("6 payload & version", "time to build"),
    ("6 payload & version", "re-running the unchanged cell"),
    ("7 files & datasets", "`FlyteFile` in and back out"),
    ("7 files & datasets", "DataFrame with declared columns"),
    ("8 fan-out", "16-way `@dynamic` fan-out"),
    ("9 remote feedback", "trivial module task"),
    ("9 remote feedback", "notebook-cell task"),
    ("10 widget output", "printing 3,000 lines"),
    ("11 start-up", "modules the container entrypoint imports"),
    ("11 start-up", "time in those imports"),
]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


@pytest.mark.slow
def test_quick_run_prints_every_row() -> None:
    pytest.importorskip("flytekit")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # ~1 min on 2 shared cores; a kernel, a stand-in and 40-odd processes
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    header, _, *body = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert _cells(header)[:6] == ["#", "measurement", "unit", "flyte_nb", "flytekit", "floor"]
    rows = [_cells(line) for line in body]
    assert len(rows) == len(EXPECTED), proc.stdout
    for (group, phrase), row in zip(EXPECTED, rows, strict=True):
        assert row[0] == group, row
        assert phrase in row[1], row
        assert row[3] not in ("", "-"), f"no flyte_nb value in {row}"  # every row measured flyte_nb
    # the version row is a fact, not a timing: an unchanged cell keeps its flyte_nb version
    version = next(row for row in rows if "re-running the unchanged cell" in row[1])
    assert version[3] == "unchanged", version
    # a trivial task's entrypoint loads none of the heavy packages (a fact, checked by the benchmark too)
    assert rows[-1][-1] == "yes", rows[-1]
