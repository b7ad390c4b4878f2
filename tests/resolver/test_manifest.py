"""The pickle manifest names what a payload captures, and what cannot be pickled, before any upload."""

from __future__ import annotations

import re
from typing import Any

import pytest

from flyte_nb.core.notebook_resolver import NotebookTaskResolver, notebook_task_resolver
from flyte_nb.errors import PayloadTooLargeError, ResolverError
from tests.notebook.ipshell import cell


def _cell_number(ip: Any) -> str:
    return f"In[{ip.execution_count - 1}]"


def test_manifest_lists_globals_functions_classes_and_modules(ip: Any) -> None:
    cell(ip, "import json\nfrom flyte_nb import task\nLIMIT = 7")
    limit_cell = _cell_number(ip)
    cell(
        ip, "class Box:\n    def size(self):\n        return LIMIT\ndef helper(v):\n    return json.dumps(v)"
    )
    helper_cell = _cell_number(ip)
    cell(ip, "@task\ndef show(x: int) -> str:\n    return helper([x, Box().size()])")

    manifest = notebook_task_resolver.manifest(ip.user_ns["show"])

    rows = {(i.name, i.kind, i.how, i.cell) for i in manifest.items}
    assert ("helper", "function", "by value", helper_cell) in rows
    assert ("Box", "class", "by value", helper_cell) in rows
    assert ("LIMIT", "global", "by value", limit_cell) in rows  # read by Box.size, found through Box
    assert ("json", "module", "by reference", "") in rows
    assert all(i.size and i.size > 0 for i in manifest.by_value)
    assert manifest.unpicklable == []
    text = str(manifest)
    assert text.startswith("Payload of task 'show': ")
    assert re.search(r"by value\s+function\s+helper", text)
    assert "<table>" in manifest._repr_html_()


def test_unpicklable_global_is_named_with_its_path_cell_and_fix(ip: Any) -> None:
    cell(
        ip,
        "import threading\nfrom flyte_nb import task\nclass Config:\n    pass\ncfg = Config()\ncfg.lock = threading.Lock()",
    )
    cfg_cell = _cell_number(ip)
    cell(ip, "@task\ndef guarded(x: int) -> int:\n    with cfg.lock:\n        return x")
    task = ip.user_ns["guarded"]

    manifest = notebook_task_resolver.manifest(task)

    [bad] = manifest.unpicklable
    assert (bad.name, bad.cell) == ("cfg", cfg_cell)
    assert "cfg.lock (inside global cfg) is a _thread.lock" in bad.problem
    assert "Create it inside the task function" in bad.problem
    assert manifest.payload_size is None
    with pytest.raises(ResolverError) as info:
        notebook_task_resolver.payload(task)
    assert f"cfg ({cfg_cell}): cfg.lock (inside global cfg) is a _thread.lock" in str(info.value)


@pytest.mark.parametrize("mode", ["a", "r", "rb"])
def test_open_file_global_gets_the_file_advice(ip: Any, tmp_path: Any, mode: str) -> None:
    # Plain cloudpickle would ship a text file open for reading as a snapshot of its contents.
    (tmp_path / "data.txt").write_text("x")
    ip.user_ns["path"] = str(tmp_path / "data.txt")
    ip.user_ns["mode"] = mode
    cell(
        ip,
        "from flyte_nb import task\nfh = open(path, mode)\n@task\ndef first(n: int) -> int:\n    return len(fh.name) + n",
    )
    try:
        [bad] = notebook_task_resolver.manifest(ip.user_ns["first"]).unpicklable
        assert bad.name == "fh"
        assert "Open the file inside the task function" in bad.problem
        with pytest.raises(ResolverError, match=r"fh .*cannot be pickled"):
            notebook_task_resolver.payload(ip.user_ns["first"])
    finally:
        ip.user_ns["fh"].close()


def test_payload_over_the_limit_names_the_largest_items(ip: Any) -> None:
    cell(ip, "import os\nfrom flyte_nb import task\nBIG = os.urandom(50_000)\nSMALL = b'x'")
    cell(ip, "@task\ndef size(n: int) -> int:\n    return len(BIG) + len(SMALL) + n")
    resolver = NotebookTaskResolver(size_limit=20_000, large_global=10**9)

    with pytest.raises(PayloadTooLargeError) as info:
        resolver.payload(ip.user_ns["size"])

    message = str(info.value)
    assert "over the limit of 20.0 kB" in message
    assert "Largest captured items: BIG (50.0 kB" in message
    assert "NotebookTaskResolver(size_limit=...)" in message


def test_large_global_warns_to_pass_it_as_an_input(ip: Any) -> None:
    cell(ip, "from flyte_nb import task\nTABLE = list(range(5000))")
    cell(ip, "@task\ndef total(n: int) -> int:\n    return sum(TABLE) + n")
    resolver = NotebookTaskResolver(large_global=5_000)

    with pytest.warns(UserWarning, match=r"captures global 'TABLE' .* Pass it as a task input instead"):
        resolver.payload(ip.user_ns["total"])


def test_a_serialization_compresses_the_payload_once_and_warns_once(ip: Any, monkeypatch: Any) -> None:
    # serialize_task needs the payload for the version, the loader args and the digest; a process run
    # needs it once more. With 20 MB captured, each compression costs ~0.4 s, each warning a line.
    from flyte_nb.core import notebook_resolver as nr
    from flyte_nb.core.serialize import serialize_task

    calls: list[int] = []
    real = nr.encode_payload
    monkeypatch.setattr(
        nr, "encode_payload", lambda header, pickled: calls.append(1) or real(header, pickled)
    )
    cell(ip, "from flyte_nb import task\nTABLE = list(range(5000))")
    cell(ip, "@task\ndef total(n: int) -> int:\n    return sum(TABLE) + n")
    resolver = NotebookTaskResolver(large_global=5_000)
    task = ip.user_ns["total"]
    task.set_resolver(resolver)

    def serialize_then_payload() -> tuple[Any, Any]:  # what a process-sandbox run asks for
        return serialize_task(task), resolver.payload(task)

    with pytest.warns(UserWarning, match="captures global 'TABLE'") as caught:
        template, payload = serialize_then_payload()
    assert len(calls) == 1
    assert len([w for w in caught if "TABLE" in str(w.message)]) == 1
    assert template.container.args[-3] == payload.sha256

    cell(ip, "TABLE = list(range(5001))")  # new content: compressed and checked again
    with pytest.warns(UserWarning, match="captures global 'TABLE'"):
        assert resolver.payload(task).sha256 != payload.sha256
    assert len(calls) == 2


def test_tasks_called_from_a_dynamic_body_are_walked_into(ip: Any) -> None:
    cell(ip, "import threading\nfrom flyte_nb import task, dynamic\nguard = threading.Lock()")
    guard_cell = _cell_number(ip)
    cell(ip, "@task\ndef leaf(x: int) -> int:\n    with guard:\n        return x")
    cell(ip, "@dynamic\ndef fan(n: int) -> list[int]:\n    return [leaf(x=i) for i in range(n)]")

    manifest = notebook_task_resolver.manifest(ip.user_ns["fan"])

    assert [(i.name, i.kind) for i in manifest.items if i.how == "by value"] == [("leaf", "task")]
    [bad] = manifest.unpicklable
    assert (bad.name, bad.used_by, bad.cell) == ("guard", "leaf", guard_cell)
