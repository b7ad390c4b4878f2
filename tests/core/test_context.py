"""``fnb.current_context()`` in the kernel: ids, working directory, logging, checkpoint, secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flyteidl.core import security_pb2

import flyte_nb as fnb
from flyte_nb.core.secrets import SecretsManager
from flyte_nb.errors import SecretNotFoundError, TaskDefinitionError, TaskExecutionError
from tests.core import flytekit_tasks as t

CANARY = "canary-value-0f9e8d"


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start from an environment without secret variables and an empty local secrets directory."""
    for name in list(os.environ):
        if name.startswith("_FSEC_") or name in ("DB_PASSWORD", "API_TOKEN", "API_TOKEN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FLYTE_SECRETS_DEFAULT_DIR", str(tmp_path / "secrets"))
    monkeypatch.delenv("FLYTE_SECRETS_ENV_PREFIX", raising=False)


def test_current_context_outside_a_cluster_is_flytekits_local_one() -> None:
    info = t.context_info()
    assert info["execution"] == "local/local/local"
    assert info["task"] == "local/local/local/local"
    assert info["workdir"] == "True"
    assert info["logger"] == "flyte_nb.user_space"
    assert info["attempt"] == "0"


def test_each_run_has_its_own_working_directory_which_outlives_the_run() -> None:
    """A kernel run's scratch files stay readable after it (a returned FlyteFile may live there); the
    directory goes when the kernel exits (tests/core/test_global_state.py)."""
    seen: list[str] = []

    @fnb.task
    def write() -> str:
        path = os.path.join(fnb.current_context().working_directory, "scratch.txt")
        with open(path, "w") as fh:
            fh.write("x")
        seen.append(path)
        return open(path).read()

    assert write() == "x"
    assert write() == "x"
    assert os.path.dirname(seen[0]) != os.path.dirname(seen[1])
    assert all(os.path.isfile(p) for p in seen)


# ------------------------------------------------------------------------------------------ checkpoints


def test_a_first_attempt_has_no_previous_checkpoint() -> None:
    @fnb.task
    def first() -> str:
        cp = fnb.current_context().checkpoint
        cp.write(b"state")
        return f"{cp.prev_exists()} {cp.read()}"

    assert first() == "False None"


def test_kernel_retries_see_the_previous_attempts_checkpoint() -> None:
    out = fnb.SandboxExecutor(mode="kernel").run(t.resumes, n=10)
    assert out == "resumed from 'done 5 of 10' on attempt 1"


def test_kernel_retries_restore_saved_directories(tmp_path: Path) -> None:
    out = fnb.SandboxExecutor(mode="kernel").run(t.saves_files, root=str(tmp_path))
    assert out == ["a.txt", "sub/b.txt"]


# ---------------------------------------------------------------------------------------------- secrets


def test_secret_requests_are_written_as_flytekit_writes_them() -> None:
    template = fnb.serialize_task(t.two_secrets)
    assert list(template.security_context.secrets) == [
        security_pb2.Secret(group="db", key="password"),
        security_pb2.Secret(
            group="api", key="token", mount_requirement=security_pb2.Secret.ENV_VAR, env_var="API_TOKEN"
        ),
    ]
    assert not template.security_context.HasField("run_as")
    assert fnb.serialize_task(t.context_info).HasField("security_context") is False


@pytest.mark.parametrize("variable", ["_FSEC_DB_PASSWORD", "DB_PASSWORD"])
def test_the_kernel_reads_secrets_from_the_webhooks_variable_or_the_plain_one(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, f"  {CANARY}\n")
    assert t.password_length() == len(CANARY)  # stripped, as flytekit does


def test_the_kernel_reads_secrets_from_the_local_secrets_directory(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "db" / "password"
    path.parent.mkdir(parents=True)
    path.write_text(CANARY)
    assert t.password_length() == len(CANARY)
    assert SecretsManager().get("db", "password", encode_mode="rb") == CANARY.encode()


def test_a_missing_secret_names_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(SecretNotFoundError) as info:
        t.password_length()
    message = str(info.value)
    assert "_FSEC_DB_PASSWORD or DB_PASSWORD" in message
    assert str(tmp_path / "secrets" / "db" / "password") in message
    assert "secret_requests=[Secret(group='db', key='password')]" in message


def test_attribute_access_and_prefix_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPFX_API_TOKEN", CANARY)
    monkeypatch.setenv("FLYTE_SECRETS_ENV_PREFIX", "MYPFX_")
    secrets = fnb.current_context().secrets
    assert secrets.api.token == CANARY
    assert secrets.get_secrets_env_var("api", "token") == "MYPFX_API_TOKEN"
    assert CANARY not in repr(secrets)
    assert CANARY not in repr(secrets.api)


def test_secret_values_stay_out_of_reprs_and_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_FSEC_DB_PASSWORD", CANARY)
    assert t.password_length() == len(CANARY)
    assert CANARY not in repr(t.password_length)
    assert CANARY.encode() not in fnb.serialize_task(t.password_length).SerializeToString()
    payload = t.password_length.task_resolver.payload(t.password_length)
    if payload is not None:
        assert CANARY.encode() not in payload.data
    assert CANARY not in repr(t.DB)
    assert CANARY not in repr(fnb.current_context())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "k"}, "expected a group"),
        ({"group": "g", "env_var": "lower"}, "environment variable name"),
        ({"group": "g", "mount_requirement": 1}, "Secret.MountType"),
        ({"group": 3}, "expected a str"),
    ],
)
def test_bad_secrets_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        fnb.Secret(**kwargs)  # type: ignore[arg-type]


def test_secret_requests_must_be_secrets() -> None:
    with pytest.raises(TaskDefinitionError, match=r"expected flyte_nb\.Secret items, got 'db/password'"):

        @fnb.task(secret_requests=["db/password"])  # type: ignore[list-item]
        def f() -> int:
            return 1


def test_the_secret_round_trips_through_flyteidl() -> None:
    for secret in (t.DB, t.TOKEN):
        assert fnb.Secret.from_flyte_idl(secret.to_flyte_idl()) == secret


def test_a_failing_task_does_not_leak_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_FSEC_DB_PASSWORD", CANARY)

    @fnb.task(secret_requests=[t.DB])
    def leaky_on_purpose_not() -> int:
        value = fnb.current_context().secrets.get("db", "password")
        raise ValueError(f"could not connect ({len(value)} characters)")

    with pytest.raises(TaskExecutionError) as info:
        fnb.SandboxExecutor(mode="kernel").run(leaky_on_purpose_not)
    assert CANARY not in str(info.value)
