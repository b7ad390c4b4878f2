"""Secrets, checkpoints and decks where Flyte runs a task: the container entrypoint (through the propeller
harness, with its secrets webhook) and the process sandbox, which runs the same command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import tasks_pb2

import flyte_nb as fnb
from flyte_nb.errors import SecretNotFoundError, TaskExecutionError
from tests import propeller
from tests.core import flytekit_tasks as t
from tests.runtime.conftest import inputs_for, outputs_of

CANARY = "canary-secret-7b1c2d"


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("_FSEC_") or name in ("DB_PASSWORD", "API_TOKEN"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FLYTE_SECRETS_DEFAULT_DIR", str(tmp_path / "kernel-secrets"))


def _scan(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` that contains ``secret``."""
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


# ------------------------------------------------------------------------------- the container (cluster)


def _run(task: Any, tmp_path: Path, image_env: dict[str, str], **kw: Any) -> propeller.PropellerResult:
    secrets = kw.pop("secrets", None)
    template = fnb.serialize_task(task)
    return propeller.run_task_template(
        template,
        inputs_for(task, tmp_path / "client", **kw),
        tmp_path / "bucket",
        None,
        image_env,
        secrets=secrets,
    )


def test_the_container_reads_secrets_the_webhook_injects(tmp_path: Path, image_env: dict[str, str]) -> None:
    res = _run(
        t.two_secrets, tmp_path, image_env, secrets={("db", "password"): CANARY, ("api", "token"): "tok"}
    )
    assert res.phase == "SUCCEEDED", res.stderr
    assert outputs_of(t.two_secrets, res.outputs)["o0"] == f"{len(CANARY)}/3/3"
    assert _scan(tmp_path / "bucket", CANARY) == []
    assert CANARY not in res.stdout + res.stderr


def test_in_a_container_a_secret_that_was_not_requested_is_not_there(
    tmp_path: Path, image_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The variable exists in the image's environment, but only the webhook sets secrets in a pod, and
    # only the requested ones; the plain DB_PASSWORD fallback is for local runs only.
    image_env = {**image_env, "DB_PASSWORD": CANARY}
    res = _run(t.unrequested_secret, tmp_path, image_env, secrets={("db", "password"): CANARY})
    assert res.phase == "FAILED"
    assert res.error is not None
    assert "SecretNotFoundError" in res.error.code
    assert (
        "Request it on the task with secret_requests=[Secret(group='db', key='password')]"
        in res.error.message
    )
    assert CANARY not in res.error.message


def test_a_retried_container_attempt_sees_the_previous_checkpoint(
    tmp_path: Path, image_env: dict[str, str]
) -> None:
    res = _run(t.resumes, tmp_path, image_env, n=8)
    assert [a.phase for a in res.attempts] == ["RETRYABLE_FAILURE", "SUCCEEDED"]
    assert outputs_of(t.resumes, res.outputs)["o0"] == "resumed from 'done 4 of 8' on attempt 1"
    first = res.attempts[0].paths
    # flytekit's layout: the bytes of write() are the file _dst_cp under --checkpoint-path
    assert (first.checkpoint_prefix / "_dst_cp").read_bytes() == b"done 4 of 8"
    assert res.attempts[1].paths.prev_checkpoint_prefix == first.checkpoint_prefix


def test_a_retried_container_attempt_restores_saved_directories(
    tmp_path: Path, image_env: dict[str, str]
) -> None:
    res = _run(t.saves_files, tmp_path, image_env, root=str(tmp_path / "work"))
    assert res.phase == "SUCCEEDED", res.stderr
    assert outputs_of(t.saves_files, res.outputs)["o0"] == ["a.txt", "sub/b.txt"]


def test_a_container_writes_deck_html_next_to_the_outputs(tmp_path: Path, image_env: dict[str, str]) -> None:
    template = fnb.serialize_task(t.with_decks)
    assert template.metadata.generates_deck.value is True
    assert fnb.serialize_task(t.context_info).metadata.generates_deck.value is False
    res = _run(t.with_decks, tmp_path, image_env, a=2)
    assert res.phase == "SUCCEEDED", res.stderr
    deck = (res.paths.output_prefix / "deck.html").read_text()
    tabs = deck.split('<ul id="flyte-frame-tabs">', 1)[1].split("</ul>", 1)[0]
    assert tabs == (
        "<li>Timeline</li><li>mine</li><li>default</li><li>Source Code</li><li>Dependencies</li>"
        "<li>Input</li><li>Output</li>"
    )
    assert "<b>hello deck</b>" in deck
    assert "with_decks" in deck.split("</nav>", 1)[1]  # the source code deck shows the function
    assert "flyte-nb" in deck  # the dependencies deck lists the installed distributions


def test_a_failed_task_still_writes_its_decks(tmp_path: Path, image_env: dict[str, str]) -> None:
    res = _run(t.deck_then_fail, tmp_path, image_env, a=1)
    assert res.phase == "FAILED"
    deck = (res.paths.output_prefix / "deck.html").read_text()
    assert "made before the failure" in deck
    assert "<li>Output</li>" not in deck


# --------------------------------------------------------------------------------------- process sandbox


def test_the_process_sandbox_injects_requested_secrets_from_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_PASSWORD", CANARY)  # the kernel's plain variable...
    monkeypatch.setenv("_FSEC_API_TOKEN", "tok")  # ...or the webhook's
    lines: list[str] = []
    sandbox = fnb.SandboxExecutor(mode="process", keep_files=True, stdout=lines.append, stderr=lines.append)
    try:
        assert sandbox.run(t.two_secrets) == f"{len(CANARY)}/3/3"
        assert sandbox.last_run_dir is not None
        assert _scan(sandbox.last_run_dir, CANARY) == []
    finally:
        if sandbox.last_run_dir is not None:
            import shutil

            shutil.rmtree(sandbox.last_run_dir, ignore_errors=True)
    assert CANARY not in "".join(lines)


def test_the_process_sandbox_withholds_secrets_a_task_did_not_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_FSEC_DB_PASSWORD", CANARY)
    assert t.unrequested_secret() == len(CANARY)  # the kernel, like flytekit locally, does not check
    with pytest.raises(TaskExecutionError) as info:
        fnb.SandboxExecutor(mode="process", stdout=lambda s: None, stderr=lambda s: None).run(
            t.unrequested_secret
        )
    assert "secret_requests=[Secret(group='db', key='password')]" in str(info.value)
    assert CANARY not in str(info.value)


def test_a_missing_secret_stops_the_process_sandbox_before_it_runs() -> None:
    with pytest.raises(SecretNotFoundError) as info:
        fnb.SandboxExecutor(mode="process").run(t.password_length)
    message = str(info.value)
    assert "db/password: set _FSEC_DB_PASSWORD or DB_PASSWORD in this kernel" in message


def test_process_retries_see_the_previous_checkpoint() -> None:
    out = fnb.SandboxExecutor(mode="process", stdout=lambda s: None, stderr=lambda s: None).run(
        t.resumes, n=6
    )
    assert out == "resumed from 'done 3 of 6' on attempt 1"


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_sandbox_runs_keep_the_deck_for_the_widget(mode: str) -> None:
    sandbox = fnb.SandboxExecutor(mode=mode)
    assert sandbox.run(t.io_decks, a=3) == "<script>3</script>"
    deck = sandbox.last_deck
    assert deck is not None
    assert "<li>Input</li><li>Output</li>" in deck
    assert "Timeline" not in deck
    assert "&lt;script&gt;3&lt;/script&gt;" in deck  # values are escaped, never injected as HTML
    assert "<script>3</script>" not in deck
    sandbox.run(t.context_info)
    assert sandbox.last_deck is None


def test_deck_fields_are_checked() -> None:
    from flyte_nb.errors import TaskDefinitionError

    with pytest.raises(TaskDefinitionError, match="expected DeckField members"):
        fnb.task(enable_deck=True, deck_fields=["graphs"])(t.io_decks.task_function)
    assert t.io_decks.deck_fields == [fnb.DeckField.INPUT, fnb.DeckField.OUTPUT]
    assert t.context_info.deck_fields == []


def test_template_metadata_generates_deck_follows_enable_deck() -> None:
    md: tasks_pb2.TaskMetadata = fnb.serialize_task(t.io_decks).metadata
    assert md.HasField("generates_deck")
    assert md.generates_deck.value


def test_the_entrypoint_installs_runtime_packages_and_reports_a_failure(
    tmp_path: Path, image_env: dict[str, str]
) -> None:
    from tests.core.test_image_spec import runtime_missing

    env = {**image_env, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    res = _run(runtime_missing, tmp_path, env, a=1)
    assert res.phase == "FAILED"
    assert res.container_error is not None
    assert res.container_error.code == "SYSTEM:StorageError"
    assert "Installing the runtime packages ['no-such-package-xyz'] failed" in res.container_error.message
