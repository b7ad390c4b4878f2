"""Tracebacks from process and remote runs show the user's own source lines, as kernel runs do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import flyte_nb as fnb
from flyte_nb.errors import TaskExecutionError
from tests.notebook.ipshell import cell
from tests.remote.conftest import make_remote
from tests.standin import StandIn

FUNCTION_CELL = """%%flyte_task --no-widget
def price(n: int) -> float:
    base = 10.0
    # a comment, then the failing line
    return base / n
"""

BODY_CELL = """%%flyte_task per_item --inputs total:float count:int --outputs each:float --no-widget
each = total / count
"""


def _failure(run: Any) -> TaskExecutionError:
    with pytest.raises(TaskExecutionError) as info:
        run()
    return info.value


def test_a_process_run_traceback_shows_the_cell_lines(ip: Any) -> None:
    cell(ip, FUNCTION_CELL)
    cell(ip, BODY_CELL)
    sandbox = fnb.SandboxExecutor(mode="process")
    trace = _failure(lambda: sandbox.run(ip.user_ns["price"], n=0)).traceback_text
    assert 'File "<notebook: price>", line 4, in price\n    return base / n\n' in trace
    assert trace.rstrip().endswith("ZeroDivisionError: float division by zero")
    body = _failure(lambda: sandbox.run(ip.user_ns["per_item"], total=1.0, count=0)).traceback_text
    assert 'File "<notebook: per_item>", line 1, in per_item\n    each = total / count\n' in body


def test_the_source_does_not_change_a_re_run_cell_s_version(ip: Any) -> None:
    cell(ip, FUNCTION_CELL)
    first = fnb.serialize_task(ip.user_ns["price"]).id.version
    cell(ip, "x = 1")  # the cell moves to another execution count; its text is the same
    cell(ip, FUNCTION_CELL)
    assert fnb.serialize_task(ip.user_ns["price"]).id.version == first


def test_a_remote_run_traceback_shows_the_cell_lines(ip: Any, tmp_path: Path) -> None:
    cell(ip, FUNCTION_CELL)
    root = Path(__file__).resolve().parents[2]
    with StandIn(tmp_path / "standin", extra_pythonpath=[str(root)]) as server:
        remote = make_remote(server)
        try:
            execution = remote.submit(ip.user_ns["price"], n=0)
            error = _failure(lambda: execution.wait(timeout=60))
        finally:
            remote.close()
    assert 'File "<notebook: price>", line 4, in price\n    return base / n\n' in error.traceback_text
