"""The package surface: public names, import cost and layering."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import flyte_nb

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "flyte_nb"

API_NAMES = {
    "Checkpoint",
    "Deck",
    "DeckField",
    "ExecutionParameters",
    "FlyteAnnotation",
    "FlyteContext",
    "FlyteContextManager",
    "FlyteDirectory",
    "FlyteFile",
    "HashMethod",
    "ImageConfig",
    "ImageSpec",
    "NotebookTaskResolver",
    "PythonFunctionTask",
    "Remote",
    "RemoteExecution",
    "Resources",
    "SandboxExecutor",
    "Secret",
    "SerializationSettings",
    "StructuredDataset",
    "StructuredDatasetType",
    "Task",
    "TaskExecutionError",
    "TaskMetadata",
    "TaskResolverMixin",
    "TypeEngine",
    "TypeTransformer",
    "current_context",
    "dynamic",
    "kwtypes",
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


# The layers, innermost first (README "How it works"): each may import only the ones before it. The
# runtime (entrypoint, process sandbox) belongs to the core layer and sits on top of flyte_nb.core.
LAYERS = ("flyte_nb.core", "flyte_nb.runtime", "flyte_nb.remote", "flyte_nb.notebook")
# Libraries of the kernel and network layers that lower layers must not load, even lazily.
THIRD_PARTY_BANS = {
    "flyte_nb.core": {"IPython", "ipywidgets", "ipykernel", "grpc", "flytekit"},
    "flyte_nb.runtime": {"IPython", "ipywidgets", "ipykernel", "grpc", "flytekit"},
    "flyte_nb.remote": {"IPython", "ipywidgets", "ipykernel", "flytekit"},
    "flyte_nb.notebook": {"flytekit"},
}
# Known upward edges still to be removed (none).
ALLOWED: set[tuple[str, str]] = set()


def _layer(module: str) -> str | None:
    return next((p for p in LAYERS if module == p or module.startswith(p + ".")), None)


def _imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module a file imports: statements at any depth (inside functions too) and string imports
    through importlib.import_module, __import__ and sys.modules lookups."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            members = [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
            # `from flyte_nb import errors` loads flyte_nb.errors, not (only) the package's facade
            found += members if node.module == "flyte_nb" else [(node.lineno, node.module), *members]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if func.endswith("import_module") or func == "__import__" or func.startswith("sys.modules."):
                found.append((node.lineno, str(node.args[0].value)))
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "sys.modules"
            and isinstance(node.slice, ast.Constant)
        ):
            found.append((node.lineno, str(node.slice.value)))
    return found


def _related(name: str, module: str) -> bool:
    """``name`` is ``module``, a package above it, or something inside it."""
    return (module + ".").startswith(name + ".") or name.startswith(module + ".")


def _module_name(path: pathlib.Path) -> str:
    return ".".join(("flyte_nb", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")


def layer_violations() -> list[str]:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        here = _layer(source)
        if here is None:  # flyte_nb/__init__.py (the facade over every layer), errors.py, _version.py
            continue
        for line, name in _imported_names(ast.parse(path.read_text())):
            there = _layer(name)
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            upward = there is not None and LAYERS.index(there) > LAYERS.index(here)
            allowed = any(source == a and _related(name, b) for a, b in ALLOWED)
            if upward and not allowed:
                offenders.append(f"{where} (a higher layer)")
            if name == "flyte_nb":
                offenders.append(f"{where} (the package facade, above every layer)")
            if name.split(".")[0] in THIRD_PARTY_BANS[here]:
                offenders.append(f"{where} (not allowed in {here})")
    return offenders


def test_imports_point_inward_lazy_and_string_imports_included() -> None:
    assert layer_violations() == []


def test_the_layer_check_sees_lazy_and_string_imports() -> None:
    """The check itself: an import inside a function and an importlib string import are both seen."""
    tree = ast.parse(
        "def f():\n    from flyte_nb.notebook.views import task_text\n"
        "def g():\n    import importlib\n    return importlib.import_module('flyte_nb.remote')\n"
        "h = sys.modules.get('IPython')\n"
    )
    names = {name for _, name in _imported_names(tree)}
    assert {"flyte_nb.notebook.views", "flyte_nb.remote", "IPython"} <= names


def test_import_linter_contracts_hold() -> None:
    """The same rule as import-linter states it in pyproject.toml (run in .ci/run too)."""
    lint = pathlib.Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
