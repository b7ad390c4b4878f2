"""Remote settings are never dropped silently: a ready client keeps project/domain and refuses what it
already fixes; a known auth mode missing its setting is an error; a failing token command's stderr is
quoted with credentials redacted."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyte_nb.errors import ConfigError, RemoteUnauthenticatedError
from flyte_nb.remote import ExternalCommand, Remote
from flyte_nb.remote.auth import authenticator_for
from flyte_nb.remote.client import AdminClient
from flyte_nb.remote.config import RemoteConfig, Secret, load_config
from flyte_nb.remote.redact import REDACTED, redact
from tests.remote import tasks
from tests.remote.conftest import FAST_RETRY, make_remote
from tests.standin import StandIn

# ---- Remote(client=...) ------------------------------------------------------------------------------


def test_project_and_domain_given_with_a_client_are_where_the_run_lands(standin: StandIn) -> None:
    standin.projects.add("ml")
    remote = make_remote(standin, project="ml", domain="production")
    assert (remote.project, remote.domain) == ("ml", "production")
    execution = remote.submit(tasks.add, a=1, b=2)
    assert execution.wait(timeout=60) == 3
    (only,) = standin.executions()
    assert (only.id.project, only.id.domain) == ("ml", "production")
    assert (only.spec.launch_plan.project, only.spec.launch_plan.domain) == ("ml", "production")
    remote.close()


def test_without_project_and_domain_a_client_keeps_its_own(standin: StandIn) -> None:
    config = RemoteConfig(endpoint=standin.endpoint, insecure=True, project="p0", domain="staging")
    remote = Remote(client=AdminClient(config, retry=FAST_RETRY))
    assert (remote.project, remote.domain) == ("p0", "staging")
    with pytest.raises(ConfigError, match=r"^project: expected text, got \{'p': 1\} \(dict\)"):
        Remote(client=AdminClient(config), project={"p": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"endpoint": "other:443"}, "endpoint="),
        ({"insecure": False}, "insecure="),
        ({"config_file": "x.yaml"}, "config_file="),
        ({"auth": ExternalCommand(["true"])}, "auth="),
        ({"device_prompt": print}, "device_prompt="),
        ({"endpoint": "other:443", "insecure": True}, "endpoint=, insecure="),
    ],
)
def test_settings_a_ready_client_already_fixes_are_refused_not_ignored(
    extra: dict[str, object], named: str
) -> None:
    client = AdminClient(RemoteConfig(endpoint="localhost:1", insecure=True))
    with pytest.raises(ConfigError) as info:
        Remote(client=client, **extra)  # type: ignore[arg-type]
    assert f"got {named} too, which the client already fixes" in str(info.value)


# ---- auth modes missing a setting --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ExternalCommand", "external_process", "EXTERNALCOMMAND"])
def test_external_command_without_a_command_is_a_config_error_not_no_auth(tmp_path: Path, mode: str) -> None:
    config = load_config(
        env={"FLYTE_PLATFORM_URL": "h:1", "FLYTE_CREDENTIALS_AUTH_MODE": mode}, home=tmp_path
    )
    with pytest.raises(ConfigError) as info:
        authenticator_for(config)
    message = str(info.value)
    assert message.startswith(f"auth mode {mode}: expected the command that prints a token, got none.")
    assert "admin.command" in message
    assert "FLYTE_CREDENTIALS_COMMAND" in message


def test_remote_from_a_file_with_an_incomplete_auth_mode_fails_when_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FLYTE_CREDENTIALS_AUTH_MODE", "FLYTE_CREDENTIALS_COMMAND", "FLYTE_PLATFORM_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.yaml"
    path.write_text("admin:\n  endpoint: dns:///h:1\n  authType: ExternalCommand\n")
    with pytest.raises(ConfigError, match="auth mode ExternalCommand: expected the command"):
        Remote(config_file=path)


# ---- redaction of a failing token command's stderr ---------------------------------------------------

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub3RlYm9vayJ9.c2lnbmF0dXJlLXZhbHVl"
HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OPAQUE = "AbCdEf0123456789GhIjKl0123456789mnOp"


def test_a_token_command_that_prints_credentials_on_stderr_does_not_leak_them(
    secured: StandIn, tmp_path: Path
) -> None:
    script = tmp_path / "helper.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            print("refreshing the session for user alice", file=sys.stderr)
            print("got id token {JWT}", file=sys.stderr)
            print("Authorization: Bearer shorttok1", file=sys.stderr)
            print('response: {{"access_token": "tok-42", "expires_in": 3600}}', file=sys.stderr)
            print("api key {HEX} / {OPAQUE}", file=sys.stderr)
            print("client secret is hunter2-secret", file=sys.stderr)
            print("leaked-on-stdout-token")
            print("ERROR: refresh failed (HTTP 400)", file=sys.stderr)
            sys.exit(3)
            """
        )
    )
    auth = ExternalCommand([sys.executable, str(script)], secrets=[Secret("hunter2-secret")])
    remote = make_remote(secured, auth=auth)
    with pytest.raises(RemoteUnauthenticatedError) as info:
        remote.register(tasks.add)
    message = str(info.value)
    for leaked in (JWT, "shorttok1", "tok-42", HEX, OPAQUE, "hunter2-secret", "leaked-on-stdout-token"):
        assert leaked not in message
    # What is not a credential is still there to debug with.
    assert "exited with 3" in message
    assert "refreshing the session for user alice" in message
    assert "ERROR: refresh failed (HTTP 400)" in message
    assert message.count(REDACTED) == 6  # JWT, bearer, access_token, hex, opaque key, secret


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[StandIn]:
    server = StandIn(tmp_path / "standin", auth=True, clients={"notebook": "s"}).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=pa55 and more", f"password={REDACTED} and more"),
        ("'client_secret': 'abc'", f"'client_secret': '{REDACTED}'"),
        ("Basic dXNlcjpwYXNz", f"Basic {REDACTED}"),
        ("/usr/local/lib/python3.11/site-packages/helper", "/usr/local/lib/python3.11/site-packages/helper"),
        ("no digits here in a very long identifier_name_that_goes_on", None),
    ],
)
def test_redact_hides_credentials_and_keeps_ordinary_text(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)
