"""Runs and logins outliving a real kernel (jupyter_client, as JupyterLab drives one).

A kernel started in a notebook's directory runs a task in all three modes (a widget button, the process
sandbox, the cluster: the stand-in with sign-in required), is restarted, and finds those runs again with
``%flyte_runs``, re-attaches to the remote one and reads its outputs — without being asked to sign in
again. Two kernels write the same ledger at once. The ledger file never holds a token.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.standin import StandIn

REPO = Path(__file__).resolve().parents[2]


class Kernel:
    """A running ipykernel and a client to it; ``run`` executes a cell and returns what it showed."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env, startup_timeout=60)
        self.html: list[str] = []  # the text/html of everything displayed so far

    def run(self, source: str, timeout: float = 180) -> str:
        shown: list[str] = []
        errors: list[str] = []

        def collect(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                shown.append(content["text"])
            elif msg["msg_type"] in ("display_data", "execute_result"):
                shown.append(content["data"].get("text/plain", ""))
                self.html.append(content["data"].get("text/html", ""))
            elif msg["msg_type"] == "error":
                errors.append(f"{content['ename']}: {content['evalue']}\n" + "\n".join(content["traceback"]))

        reply = self.kc.execute_interactive(source, output_hook=collect, timeout=timeout)
        if reply["content"]["status"] != "ok" or errors:
            raise AssertionError(f"cell failed:\n{source}\n---\n" + "\n".join(errors))
        return "\n".join(shown)

    def send(self, source: str) -> str:
        """Start a cell without waiting for it (its reply is read with ``reply``)."""
        return str(self.kc.execute(source))

    def reply(self, msg_id: str, timeout: float = 180) -> dict[str, Any]:
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return dict(reply["content"])

    def restart(self) -> None:
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=60)

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def notebook_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def _kernel_env(notebook_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k != "FLYTE_NB_RUN_LEDGER"
    }  # the default: beside the notebook
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
            "JPY_SESSION_NAME": str(notebook_dir / "analysis.ipynb"),  # what Jupyter tells its kernels
            **extra,
        }
    )
    return env


SETUP = """
%load_ext flyte_nb
import flyte_nb as fnb
from flyte_nb.notebook.widgets import TaskWidget
"""

DEFINE = """
%%flyte_task --no-widget
def scale(x: float, factor: float = 2.0, api_token: str = "not-for-the-ledger") -> float:
    return x * factor
"""


def test_runs_and_the_login_survive_a_kernel_restart(notebook_dir: Path, tmp_path: Path) -> None:
    with StandIn(tmp_path / "standin", auth=True) as standin:
        assert standin.oauth is not None
        kernel = Kernel(notebook_dir, _kernel_env(notebook_dir))
        try:
            kernel.run(SETUP)
            kernel.run(f"%flyte_remote {standin.endpoint} --insecure")
            kernel.run(DEFINE)
            # in the kernel, from the task widget's button
            clicked = kernel.run(
                "w = TaskWidget(scale)\nw.form.fields['x'].editor.value = '1.5'\n"
                "w.run_panel.buttons['kernel'].click()\nprint(w.run_panel.wait(60))"
            )
            assert clicked.strip() == "3.0"
            assert kernel.run("print(fnb.SandboxExecutor('process').run(scale, x=3.5))").strip() == "7.0"
            shown = kernel.run("ex = fnb.SandboxExecutor('remote').run(scale, x=21.0, factor=2.0)\nprint(ex)")
            assert shown.splitlines()[-1] == "42.0"
            assert "To sign in to Flyte" in kernel.html[-1]  # the device flow asked once, in this cell
            assert standin.oauth.device_logins == 1
            listed_before = kernel.run("%flyte_runs")

            kernel.restart()

            kernel.run(SETUP)
            listed = kernel.run("%flyte_runs")
            assert listed == listed_before  # the same runs, after the restart
            rows = listed.splitlines()[1:4]
            assert [row.split()[4:6] for row in rows] == [
                ["remote", "SUCCEEDED"],
                ["process", "SUCCEEDED"],
                ["kernel", "SUCCEEDED"],
            ]
            assert "x=21.0, factor=2.0, api_token=***" in listed
            (execution,) = [e.id.name for e in standin.executions()]
            assert execution in rows[0]
            kernel.run(f"%flyte_remote {standin.endpoint} --insecure")
            seen = len(kernel.html)
            attached = kernel.run(
                f"ex = %flyte_runs --attach {execution}\nprint(ex.phase, ex.outputs, ex.inputs['x'], type(ex.task).__name__)"
            )
            assert attached.splitlines()[-1] == "SUCCEEDED 42.0 21.0 RegisteredTask"
            assert standin.oauth.device_logins == 1  # the restarted kernel was not asked to sign in again
            assert not any("To sign in" in page for page in kernel.html[seen:])
            # the task defined again: the widget shows its recent runs from before the restart
            kernel.run(DEFINE)
            assert (
                kernel.run(
                    "from flyte_nb.notebook.widgets.recent_runs import RecentRuns\nprint(RecentRuns(scale).count)"
                )
                == "3\n"
            )
        finally:
            kernel.stop()
        tokens = set(standin.oauth.tokens) | set(standin.oauth.refresh_tokens)
    ledger = notebook_dir / ".flyte_nb_runs.sqlite"
    assert ledger.exists()
    assert tokens
    for path in notebook_dir.glob(".flyte_nb_runs.sqlite*"):  # the database and its WAL sidecars
        data = path.read_bytes()
        assert not [t for t in tokens if t.encode() in data], f"a token is in {path.name}"
        assert b"not-for-the-ledger" not in data
    with sqlite3.connect(ledger) as con:
        notebooks = {row[0] for row in con.execute("SELECT notebook FROM runs")}
    assert notebooks == {"analysis.ipynb"}


def test_two_kernels_write_one_ledger_at_once(notebook_dir: Path) -> None:
    kernels = [Kernel(notebook_dir, _kernel_env(notebook_dir)) for _ in range(2)]
    try:
        for kernel in kernels:
            kernel.run(SETUP)
            kernel.run(DEFINE)
        loop = "for i in range(40):\n    fnb.SandboxExecutor('kernel').run(scale, x=float(i))\nprint('done')"
        started = [kernel.send(loop) for kernel in kernels]  # both at once
        for kernel, msg_id in zip(kernels, started, strict=True):
            assert kernel.reply(msg_id)["status"] == "ok"
        listed = kernels[0].run("%flyte_runs --limit 100")
    finally:
        for kernel in kernels:
            kernel.stop()
    assert len(listed.splitlines()) == 1 + 80
    with sqlite3.connect(notebook_dir / ".flyte_nb_runs.sqlite") as con:
        rows = con.execute("SELECT phase, pid FROM runs").fetchall()
    assert len(rows) == 80
    assert {phase for phase, _ in rows} == {"SUCCEEDED"}
    assert len({pid for _, pid in rows}) == 2


def test_a_kernel_without_the_extension_records_nothing(notebook_dir: Path) -> None:
    kernel = Kernel(notebook_dir, _kernel_env(notebook_dir))
    try:
        kernel.run("import flyte_nb as fnb\n" + DEFINE.replace("%%flyte_task --no-widget\n", "@fnb.task\n"))
        assert kernel.run("print(fnb.SandboxExecutor('kernel').run(scale, x=1.0))").strip() == "2.0"
    finally:
        kernel.stop()
    assert not (notebook_dir / ".flyte_nb_runs.sqlite").exists()
