"""Task versions are content hashes: stable across re-runs of an unchanged cell, new when code changes."""

from __future__ import annotations

from typing import Any

from flyte_nb.core.notebook_resolver import notebook_task_resolver
from flyte_nb.core.serialize import serialize_task
from flyte_nb.core.settings import SerializationSettings
from tests.notebook.ipshell import cell

CONSTANT = "SCALE = {scale}\nWORDS = {{'alpha', 'beta', 'gamma'}}"
HELPER = "def helper(v):\n    return v * SCALE + len(WORDS)"
TASK = "from flyte_nb import task\n@task\ndef scaled(x: int) -> int:\n    return helper(x){extra}"


def _version(ip: Any) -> str:
    return serialize_task(ip.user_ns["scaled"]).id.version


def _define(ip: Any, scale: int = 2, helper: str = HELPER, extra: str = "") -> str:
    cell(ip, CONSTANT.format(scale=scale))
    cell(ip, helper)
    cell(ip, TASK.format(extra=extra))
    return _version(ip)


def test_rerunning_unchanged_cells_keeps_version_and_payload_bytes(ip: Any) -> None:
    first = _define(ip)
    payload = notebook_task_resolver.payload(ip.user_ns["scaled"]).data
    cell(ip, "unrelated = 1")  # execution counters and cell file names move on
    assert _define(ip) == first
    assert notebook_task_resolver.payload(ip.user_ns["scaled"]).data == payload


def test_editing_a_captured_constant_changes_the_version(ip: Any) -> None:
    first = _define(ip, scale=2)
    assert _define(ip, scale=3) != first
    assert _define(ip, scale=2) == first


def test_editing_a_helper_or_the_function_changes_the_version(ip: Any) -> None:
    first = _define(ip)
    assert _define(ip, helper=HELPER.replace("v * SCALE", "v * SCALE + 1")) != first
    assert _define(ip, extra=" + 0") != first


def test_moving_a_function_down_its_cell_keeps_the_version(ip: Any) -> None:
    first = _define(ip)
    cell(ip, "\n\n# a comment above the task\n" + TASK.format(extra=""))
    assert _version(ip) == first


def test_image_and_interface_changes_reach_the_version(ip: Any) -> None:
    first = _define(ip)
    task = ip.user_ns["scaled"]
    assert serialize_task(task, SerializationSettings(image="other:1")).id.version != first
    cell(ip, TASK.format(extra="").replace("x: int) -> int", "x: int) -> float"))
    assert _version(ip) != first


def test_content_hash_is_the_payload_digest(ip: Any) -> None:
    _define(ip)
    task = ip.user_ns["scaled"]
    assert notebook_task_resolver.content_hash(task) == notebook_task_resolver.payload(task).sha256
