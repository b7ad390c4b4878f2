"""The package surface: public names, import cost and layering."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import pytest

import flyte_nb

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "flyte_nb"

API_NAMES = {
    "ExecutionParameters",
    "FlyteAnnotation",
    "FlyteContext",
    "FlyteContextManager",
    "ImageConfig",
    "NotebookTaskResolver",
    "PythonFunctionTask",
    "Remote",
    "RemoteExecution",
    "Resources",
    "SandboxExecutor",
    "SerializationSettings",
    "Task",
    "TaskExecutionError",
    "TaskMetadata",
    "TaskResolverMixin",
    "TypeEngine",
    "dynamic",
    "notebook_task_resolver",
    "serialize_task",
    "task",
}


def test_all_is_sorted_and_covers_the_public_contract() -> None:
    assert flyte_nb.__all__ == sorted(flyte_nb.__all__)
    assert set(flyte_nb.__all__) >= API_NAMES


def test_import_leaves_kernel_and_network_layers_unloaded() -> None:
    code = (
        "import sys, json, flyte_nb\n"
        "print(json.dumps(sorted(m for m in ('IPython', 'ipywidgets', 'ipykernel', 'grpc', 'numpy', 'pandas')"
        " if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [], "import flyte_nb must not load these"


def test_import_has_no_side_effects() -> None:
    code = (
        "import signal, sys, tempfile, os\n"
        "before = set(os.listdir(tempfile.gettempdir()))\n"
        "h = signal.getsignal(signal.SIGINT); hook = sys.excepthook\n"
        "import flyte_nb\n"
        "assert signal.getsignal(signal.SIGINT) is h, 'SIGINT handler replaced'\n"
        "assert sys.excepthook is hook, 'excepthook replaced'\n"
        "assert set(os.listdir(tempfile.gettempdir())) == before, 'temp files created'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


LAYER_BANS = {
    "core": {"IPython", "ipywidgets", "ipykernel", "grpc", "flyte_nb.notebook", "flyte_nb.remote"},
    "runtime": {"IPython", "ipywidgets", "ipykernel", "grpc", "flyte_nb.notebook"},
    "remote": {"IPython", "ipywidgets", "ipykernel", "flyte_nb.notebook"},
}


def _top_level_imports(path: pathlib.Path) -> set[str]:
    """Module names imported at module level (imports inside functions are lazy and allowed)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(LAYER_BANS))
def test_imports_point_inward(layer: str) -> None:
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _top_level_imports(path):
            if any(name == b or name.startswith(b + ".") for b in LAYER_BANS[layer]):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []
