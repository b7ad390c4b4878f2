"""Real-browser fixtures: JupyterLab 4 on a loopback port, Debian's Chromium driven by Playwright.

Chromium comes from the operating system (``apt-get install chromium``), never from Playwright's own
download. A missing browser is a failure with the fix in the message, not a silent skip, unless
``FLYTE_NB_SKIP_BROWSER=1`` says the browser suite is deliberately off.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

#: Flags that keep a headless Chromium from phoning home or updating itself during a test.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
]

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _chromium_or_fail() -> str:
    """Path of Debian's Chromium; skip only when the browser suite is explicitly switched off."""
    if os.environ.get("FLYTE_NB_SKIP_BROWSER") == "1":
        pytest.skip("FLYTE_NB_SKIP_BROWSER=1: real-browser tests switched off")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "The real-browser tests need Chromium, which was not found on PATH. Install it with "
            "`apt-get update && apt-get install -y chromium` (or set FLYTE_NB_SKIP_BROWSER=1 to skip them).",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "The real-browser tests need Playwright for Python: `pip install playwright` (do not run "
            "`playwright install`; the system Chromium is used).",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterLab:
    """A running JupyterLab (or Notebook 7, ``app="notebook"``) server rooted at ``root``."""

    def __init__(
        self, root: pathlib.Path, port: int, token: str, proc: subprocess.Popen[bytes], app: str = "lab"
    ) -> None:
        self.root = root
        self.port = port
        self.token = token
        self.proc = proc
        self.app = app

    def url(self, notebook: str) -> str:
        if self.app == "notebook":  # Notebook 7 opens one notebook per page
            return f"http://127.0.0.1:{self.port}/notebooks/{notebook}?token={self.token}"
        # ``reset``: start from an empty workspace, so notebooks opened by earlier tests stay closed
        return f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?token={self.token}&reset"

    def add_notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells (with a kernelspec, so no kernel dialog appears)."""
        nb = {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"c{i}",
                    "metadata": {},
                    "outputs": [],
                    "source": src,
                }
                for i, src in enumerate(cells)
            ],
            "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.root / name).write_text(json.dumps(nb, indent=1))
        return name


def _wait_ready(lab: JupyterLab, log: pathlib.Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    status = f"http://127.0.0.1:{lab.port}/api/status?token={lab.token}"
    while time.monotonic() < deadline:
        if lab.proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {lab.proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(status, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(
        f"JupyterLab did not answer on port {lab.port} in {timeout}s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _chromium_or_fail()


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[JupyterLab]:
    yield from _server(tmp_path_factory, "lab")


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[JupyterLab]:
    """Notebook 7 (the ``notebook`` package: one notebook per page, on JupyterLab's components)."""
    yield from _server(tmp_path_factory, "notebook")


def _server(tmp_path_factory: pytest.TempPathFactory, app: str) -> Iterator[JupyterLab]:
    root = tmp_path_factory.mktemp(f"{app}-root")
    runtime = tmp_path_factory.mktemp(f"{app}-runtime")
    port, token = _free_port(), secrets.token_hex(16)
    log = runtime / "jupyterlab.log"
    config = tmp_path_factory.mktemp(f"{app}-config")
    # no "Jupyter news?" toast over the page (and its screenshots)
    (config / "labconfig").mkdir()
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    # every cell rendered (JupyterLab 4 skips rendering cells scrolled out of view by default), and
    # nothing from the user's own settings
    settings = tmp_path_factory.mktemp(f"{app}-settings")
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    # Kernels must not find the machine's Flyte cluster either (FLYTE_* variables, ~/.flyte/config.yaml):
    # this server starts before the per-test isolation in tests/conftest.py applies, so it gets its own
    # empty home and no Flyte variables.
    home = tmp_path_factory.mktemp(f"{app}-home")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("FLYTE_PLATFORM_", "FLYTE_CREDENTIALS_", "FLYTE_AWS_", "FLYTE_LOCAL_", "FLYTECTL_", "_FLYTECTL_")
        )
    }
    env.update(
        {
            "HOME": str(home),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "PYTHONUNBUFFERED": "1",
        }
    )
    app_class = "JupyterNotebookApp" if app == "notebook" else "LabApp"
    cmd = [
        sys.executable,
        "-m",
        "notebook" if app == "notebook" else "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--allow-root",
        "--ServerApp.port_retries=0",
        # lets the tests drive the app's own commands (run all cells) instead of menu clicking
        f"--{app_class}.expose_app_in_browser=True",
    ]
    if app == "lab":
        cmd.append("--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root, env=env)
    lab = JupyterLab(root, port, token, proc, app)
    try:
        _wait_ready(lab, log)
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        context.close()


def open_notebook(page: Any, lab: JupyterLab, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.url(name))
    page.wait_for_selector(".jp-Notebook")
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'); }",
        timeout=60_000,
    )
    accept = page.locator(".jp-Dialog button.jp-mod-accept")
    if accept.count():
        accept.first.click()


def run_all_cells(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def set_theme(page: Any, theme: str) -> None:
    """Switch the app to JupyterLab's light or dark theme and wait until its colours apply."""
    page.evaluate(
        "(name) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})", THEMES[theme]
    )
    page.wait_for_function(
        "(light) => document.body.dataset.jpThemeLight === light", arg="true" if theme == "light" else "false"
    )


# The contrast ratio (WCAG 2) of an element's text with what is behind it: semi-transparent colours are
# blended over the first opaque background found up the tree.
CONTRAST = r"""(el) => {
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const layers = [];
  for (let n = el; n; n = n.parentElement) {
    const bg = parse(getComputedStyle(n).backgroundColor);
    if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
  }
  let back = [255, 255, 255, 1];
  for (const layer of layers.reverse()) back = over(layer, back);
  const fore = over(parse(getComputedStyle(el).color), back);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def save_screenshot(target: Any, name: str) -> pathlib.Path:
    """Screenshot a page or an element into ``test-artifacts/`` (kept by CI, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=str(path))
    return path
