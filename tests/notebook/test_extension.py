"""``%load_ext`` / ``%unload_ext`` / ``%reload_ext``, and the "Python 3 (Flyte)" kernel that preloads them."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import pytest
from IPython.core.error import UsageError

from flyte_nb.core.serialize import serialize_task
from flyte_nb.notebook.extension import current_magics
from flyte_nb.notebook.magic import FlyteMagics
from tests.notebook.ipshell import cell

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNEL_JSON = ROOT / "jupyter-config" / "kernels" / "flyte-python3" / "kernel.json"


def _magic_names(ip: Any) -> set[str]:
    return set(ip.magics_manager.magics["cell"]) | set(ip.magics_manager.magics["line"])


def test_unload_removes_the_magics_and_load_or_reload_brings_them_back(ip: Any) -> None:
    ours = {"flyte_task", "flyte_tasks", "flyte_remote"}
    assert ours <= _magic_names(ip)
    assert isinstance(current_magics(ip), FlyteMagics)

    ip.run_line_magic("unload_ext", "flyte_nb")
    assert not ours & _magic_names(ip)
    assert current_magics(ip) is None
    with pytest.raises(UsageError, match="Cell magic `%%flyte_task` not found"):
        ip.run_cell_magic("flyte_task", "", "def f(x: int) -> int:\n    return x\n")

    ip.run_line_magic("load_ext", "flyte_nb")
    first = current_magics(ip)
    ip.run_line_magic("reload_ext", "flyte_nb")
    assert ours <= _magic_names(ip)
    assert current_magics(ip) is not first  # reload gives a fresh instance
    cell(ip, "%%flyte_task --no-widget\ndef f(x: int) -> int:\n    return x\n")
    assert ip.user_ns["f"](x=3) == 3


def test_loading_is_cheap_and_has_no_side_effects_beyond_the_magics() -> None:
    code = (
        "import sys, time, signal\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "hooks = {k: list(v) for k, v in ip.events.callbacks.items()}\n"
        "handler = signal.getsignal(signal.SIGINT)\n"
        "ns = set(ip.user_ns)\n"
        "start = time.perf_counter()\n"
        "ip.run_line_magic('load_ext', 'flyte_nb')\n"
        "elapsed = time.perf_counter() - start\n"
        "assert {k: list(v) for k, v in ip.events.callbacks.items()} == hooks, 'event hooks added'\n"
        "assert signal.getsignal(signal.SIGINT) is handler, 'SIGINT handler replaced'\n"
        "assert set(ip.user_ns) == ns, 'namespace changed'\n"
        "heavy = [m for m in ('flyte_nb.core.function_task', 'flyte_nb.core.serialize', 'flyteidl', 'grpc',"
        " 'ipywidgets') if m in sys.modules]\n"
        "print(elapsed, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    elapsed, heavy = out.split(" ", 1)
    assert heavy.strip() == "[]", "load_ext must not import the task machinery"
    assert float(elapsed) < 0.25


def test_kernelspec_preloads_the_extension_and_versions_match_this_process(
    ip: Any, tmp_path: pathlib.Path, monkeypatch: Any
) -> None:
    """The shipped kernel.json starts a real kernel with %%flyte_task available, and a task defined there
    (another process, another hash seed, ipykernel's cell file names) has the same version as here."""
    from jupyter_client.manager import start_new_kernel

    spec = json.loads(KERNEL_JSON.read_text())
    assert spec["display_name"] == "Python 3 (Flyte)"
    assert "flyte_nb" in spec["argv"]
    kernels = tmp_path / "jupyter" / "kernels" / "flyte-python3"
    kernels.mkdir(parents=True)
    shutil.copy(KERNEL_JSON, kernels / "kernel.json")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    setup = "WORDS = {'alpha', 'beta', 'gamma', 'delta'}\nfrom flyte_nb.core.serialize import serialize_task"
    body = "%%flyte_task --no-widget\ndef count(x: int) -> int:\n    return x + len(WORDS)\n"
    cell(ip, setup)
    cell(ip, body)
    here = serialize_task(ip.user_ns["count"]).id.version

    km, kc = start_new_kernel(kernel_name="flyte-python3", cwd=str(tmp_path))
    try:
        outputs: list[str] = []

        def collect(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                outputs.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                outputs.append("ERROR " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])

        for source in ("x = 1", setup, body, "print(serialize_task(count).id.version, count(x=1))"):
            kc.execute_interactive(source, output_hook=collect, timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    assert "".join(outputs).split() == [here, "5"]


def test_displays_are_registered_by_the_extension_and_removed_with_it(ip: Any) -> None:
    """A task shows its views through IPython's formatters while the extension is loaded; without it,
    the core's plain repr (nothing in the core reaches up to the views)."""
    from IPython.display import display
    from IPython.utils.capture import capture_output

    import flyte_nb as fnb

    cell(ip, "%%flyte_task --no-widget\ndef shown(x: int) -> int:\n    return x\n")
    task = ip.user_ns["shown"]
    remote_file = fnb.FlyteFile("s3://bucket/data.csv")
    with capture_output() as loaded:
        display(task)
        display(remote_file)
    data = loaded.outputs[0].data
    assert 'class="flyte-nb-task"' in data["text/html"]
    assert data["text/plain"].startswith("PythonFunctionTask shown")
    assert 'class="flyte-nb-preview flyte-nb-preview-file"' in loaded.outputs[1].data["text/html"]

    ip.run_line_magic("unload_ext", "flyte_nb")
    try:
        with capture_output() as unloaded:
            display(task)
            display(remote_file)
        assert unloaded.outputs[0].data == {"text/plain": "<task shown(x: int) -> (o0: int)>"}
        assert unloaded.outputs[1].data == {"text/plain": repr(remote_file)}
        with pytest.raises(KeyError):  # nothing of ours is left registered
            ip.display_formatter.ipython_display_formatter.lookup_by_type(type(task))
    finally:
        ip.run_line_magic("load_ext", "flyte_nb")
    with capture_output() as reloaded:
        display(task)
    assert "text/html" in reloaded.outputs[0].data


def test_the_core_reaches_the_notebook_only_through_the_installed_session(ip: Any) -> None:
    """Cell-body tasks read the namespace and the manifest names cells through the session the extension
    installs; after unloading, the core sees no notebook."""
    from flyte_nb.core import session

    magics = current_magics(ip)
    assert magics is not None
    assert session.current() is magics.session
    cell(ip, "base = 4")
    cell(ip, "%%flyte_task bump --inputs base:int --outputs bumped:int --no-widget\nbumped = base + 1\n")
    ip.user_ns["bump"]()
    assert ip.user_ns["bumped"] == 5
    ip.run_line_magic("unload_ext", "flyte_nb")
    try:
        assert session.current() is None
        with pytest.raises(TypeError, match="missing"):  # no notebook: a plain task needs its inputs
            ip.user_ns["bump"]()
    finally:
        ip.run_line_magic("load_ext", "flyte_nb")
    assert session.current() is current_magics(ip).session  # type: ignore[union-attr]
