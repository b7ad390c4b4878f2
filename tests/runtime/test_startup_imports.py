"""``flyte-nb-execute`` starts with what the task needs: no numpy, pandas, grpc or IPython for a trivial task.

Each test runs the real container command in a fresh interpreter (through the process sandbox) with
``PYTHONPROFILEIMPORTTIME=1`` and reads the modules it imported from the import profile on stderr.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import flyte_nb as fnb
from tests.runtime import tasks_mod

#: What a trivial task never needs at start-up: heavy data libraries, the network and kernel layers,
#: and what only building a payload or describing a task needs.
NOT_FOR_A_TRIVIAL_TASK = (
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "grpc",
    "IPython",
    "ipywidgets",
    "ipykernel",
    "traitlets",
    "zmq",
    "yaml",
    "fsspec",
    "flyte_nb.remote",
    "flyte_nb.notebook",
    "flyte_nb.core.manifest",
    "docstring_parser",
    "importlib.metadata",
    "argparse",
)


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(pathlib.Path(__file__).resolve().parents[2])


def _imported(task: fnb.PythonFunctionTask, **inputs: object) -> set[str]:
    profile: list[str] = []
    sandbox = fnb.SandboxExecutor(
        "process", env={"PYTHONPROFILEIMPORTTIME": "1"}, stderr=profile.append, stdout=lambda _: None
    )
    sandbox.run(task, **inputs)
    modules = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", "".join(profile), re.M))
    assert "flyte_nb.runtime.entrypoint" in modules, "no import profile was read"
    return modules


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in NOT_FOR_A_TRIVIAL_TASK))


def _notebook_task(fn: object) -> fnb.PythonFunctionTask:
    return fnb.task(task_resolver=fnb.notebook_task_resolver)(fn)


def test_a_module_task_starts_without_heavy_imports() -> None:
    modules = _imported(tasks_mod.add, a=1, b=2)
    assert _heavy(modules) == []


def test_a_notebook_task_starts_without_heavy_imports() -> None:
    def scaled(x: int) -> int:
        """Scale ``x``.

        A docstring, so that loading the task could be tempted to parse it.
        """
        return x * 3

    modules = _imported(_notebook_task(scaled), x=2)
    assert "cloudpickle" in modules  # the payload is unpickled...
    assert _heavy(modules) == []  # ...and nothing else is loaded for it


def test_what_the_tasks_types_need_is_imported() -> None:
    # the same check sees numpy when the task's own types need it
    def total(xs: np.ndarray) -> float:
        return float(xs.sum())

    modules = _imported(_notebook_task(total), xs=np.arange(4.0))
    assert "numpy" in modules
    assert not any(m.startswith(("pandas", "IPython", "grpc")) for m in modules)
