"""A notebook task, pickled in a shell, loads and runs in a fresh interpreter that never saw the notebook."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap
from typing import Any

from flyte_nb.core.notebook_resolver import notebook_task_resolver
from flyte_nb.core.serialize import serialize_task
from flyte_nb.core.settings import SerializationSettings
from tests.notebook.ipshell import cell

LOADER = textwrap.dedent(
    """
    import json, sys
    from flyte_nb.core.notebook_resolver import notebook_task_resolver
    task = notebook_task_resolver.load_task(json.loads(sys.argv[1]))
    print(json.dumps({"result": task(**json.loads(sys.argv[2])), "name": task.name,
                      "modules": sorted(m for m in sys.modules if m.startswith("nb_local"))}))
    """
)


def _run_fresh(cwd: pathlib.Path, loader_args: list[str], inputs: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(loader_args), json.dumps(inputs)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_task_with_helpers_classes_closures_lambda_and_local_module_runs_elsewhere(
    ip: Any, tmp_path: pathlib.Path, monkeypatch: Any
) -> None:
    notebook_dir = tmp_path / "notebook"
    notebook_dir.mkdir()
    (notebook_dir / "nb_local_helpers.py").write_text("def triple(x):\n    return 3 * x\n")
    monkeypatch.chdir(notebook_dir)
    monkeypatch.syspath_prepend(str(notebook_dir))
    cell(ip, "import math\nimport nb_local_helpers\nfrom flyte_nb import task\nOFFSET = 10")
    cell(
        ip,
        "class Scaler:\n    def __init__(self, k):\n        self.k = k\n    def apply(self, v):\n        return v * self.k",
    )
    cell(
        ip,
        "def make_adder(n):\n    def add(v):\n        return v + n\n    return add\nadd_two = make_adder(2)\nsquare = lambda v: v * v",
    )
    cell(ip, "def helper(v):\n    return int(math.sqrt(v)) + OFFSET")
    cell(
        ip,
        "@task\n"
        "def pipeline(x: int) -> int:\n"
        "    return helper(square(add_two(Scaler(2).apply(nb_local_helpers.triple(x)))))\n",
    )
    task = ip.user_ns["pipeline"]
    expected = task(x=1)
    assert expected == (3 * 1 * 2 + 2) + 10  # sqrt of a square, plus the offset

    payload = notebook_task_resolver.payload(task)
    elsewhere = tmp_path / "container"
    elsewhere.mkdir()
    (elsewhere / payload.filename).write_bytes(payload.data)
    template = serialize_task(task)
    loader_args = list(template.container.args)[list(template.container.args).index("--") + 1 :]

    out = _run_fresh(elsewhere, loader_args, {"x": 1})

    assert out == {"result": expected, "name": "pipeline", "modules": []}


def test_payload_uri_in_settings_is_where_the_container_reads(ip: Any, tmp_path: pathlib.Path) -> None:
    cell(ip, "from flyte_nb import task\n@task\ndef double(x: int) -> int:\n    return 2 * x")
    task = ip.user_ns["double"]
    payload = notebook_task_resolver.payload(task)
    stored = tmp_path / "store" / "double.pkl.gz"
    stored.parent.mkdir()
    stored.write_bytes(payload.data)
    settings = SerializationSettings(payload_uri=stored.as_uri())

    args = notebook_task_resolver.loader_args(settings, task)

    assert args == ["payload", stored.as_uri(), "sha256", payload.sha256, "task-name", "double"]
    assert _run_fresh(tmp_path, args, {"x": 21})["result"] == 42


def test_notebook_enum_and_dataclass_types_work_in_a_fresh_interpreter(
    ip: Any, tmp_path: pathlib.Path
) -> None:
    cell(
        ip,
        "import dataclasses, enum\nfrom flyte_nb import task\n"
        "class Color(enum.Enum):\n    RED = 'red'\n    BLUE = 'blue'\n"
        "@dataclasses.dataclass\nclass Point:\n    x: float\n    y: float = 0.5",
    )
    cell(ip, "@task\ndef paint(c: Color, p: Point) -> str:\n    return f'{c.value}@{p.x},{p.y}'")
    task = ip.user_ns["paint"]
    payload = notebook_task_resolver.payload(task)
    (tmp_path / payload.filename).write_bytes(payload.data)
    script = textwrap.dedent(
        """
        import sys
        from flyte_nb.core.notebook_resolver import notebook_task_resolver
        task = notebook_task_resolver.load_task(sys.argv[1:])
        types = task.python_interface.inputs
        print(task(c=types["c"].BLUE, p=types["p"](3.0)))
        """
    )
    args = ["payload", payload.filename, "sha256", payload.sha256]
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "blue@3.0,0.5"
