"""Auth flows end to end against the stand-in with auth on (AuthMetadataService + OAuth endpoints)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyte_nb.errors import RemoteUnauthenticatedError
from flyte_nb.remote import ClientCredentials, DeviceCode, DeviceFlow, ExternalCommand, StaticToken
from flyte_nb.remote.auth import NoAuth
from tests.remote import tasks
from tests.remote.conftest import make_remote
from tests.standin import StandIn

SECRET = "n0tebook-s3cret"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[StandIn]:
    server = StandIn(tmp_path / "standin", auth=True, clients={"notebook": SECRET}).start()
    yield server
    server.stop()


def test_client_credentials_submit_run_and_read_outputs(
    secured: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    remote = make_remote(secured, auth=ClientCredentials("notebook", SECRET))
    execution = remote.submit(tasks.add, a=2, b=40)
    assert execution.wait(timeout=60) == 42
    assert secured.oauth is not None
    assert secured.oauth.token_requests == 1  # one token, reused for every later call
    # The token travelled under the server's header key, never the default one.
    authed = [md for method, md in secured.metadata_seen if method == "CreateExecution"]
    assert authed[-1]["flyte-authorization"].startswith("Bearer ")
    assert "authorization" not in authed[-1]
    assert SECRET not in caplog.text
    assert SECRET not in repr(remote.client)


def test_an_expired_token_is_refreshed_and_the_call_retried_once(secured: StandIn) -> None:
    remote = make_remote(secured, auth=ClientCredentials("notebook", SECRET))
    execution = remote.submit(tasks.add, a=1, b=1)
    assert secured.oauth is not None
    secured.oauth.expire_all()
    assert execution.wait(timeout=60) == 2
    assert secured.oauth.token_requests == 2


def test_wrong_client_secret_fails_clearly_without_echoing_it(secured: StandIn) -> None:
    remote = make_remote(secured, auth=ClientCredentials("notebook", "wrong-secret-value"))
    with pytest.raises(RemoteUnauthenticatedError) as info:
        remote.submit(tasks.add, a=1)
    message = str(info.value)
    assert "invalid_client" in message
    assert "'notebook'" in message
    assert "wrong-secret-value" not in message
    assert secured.executions() == []


def test_no_credentials_against_a_secured_server_says_what_to_configure(secured: StandIn) -> None:
    remote = make_remote(secured, auth=NoAuth())
    with pytest.raises(RemoteUnauthenticatedError, match="requires credentials, but none are configured"):
        remote.submit(tasks.add, a=1)


def test_device_flow_shows_the_link_and_code_then_polls(secured: StandIn) -> None:
    shown: list[DeviceCode] = []
    assert secured.oauth is not None
    secured.oauth.auto_approve_after = 3  # the user approves while we poll
    remote = make_remote(secured, auth=DeviceFlow(prompt=shown.append))
    assert remote.submit(tasks.add, a=3, b=4).wait(timeout=60) == 7
    (code,) = shown
    assert code.link == f"{secured.http.base_url}/device?user_code={code.user_code}"
    assert len(code.user_code) == 8
    # An expired access token is renewed with the refresh token: the user is not asked again.
    secured.oauth.expire_all()
    assert remote.submit(tasks.add, a=1, b=1).wait(timeout=60) == 2
    assert len(shown) == 1


def test_external_command_token(secured: StandIn, tmp_path: Path) -> None:
    assert secured.oauth is not None
    secured.oauth.tokens.add("from-the-command")
    command = [sys.executable, "-c", "print('from-the-command')"]
    remote = make_remote(secured, auth=ExternalCommand(command))
    assert remote.submit(tasks.add, a=5, b=5).wait(timeout=60) == 10


def test_static_token_is_sent_from_the_first_call_and_rejection_is_clear(secured: StandIn) -> None:
    assert secured.oauth is not None
    secured.oauth.tokens.add("static-tok")
    remote = make_remote(secured, auth=StaticToken("static-tok"))
    remote.register(tasks.add)
    assert secured.oauth.token_requests == 0
    secured.oauth.expire_all()
    with pytest.raises(RemoteUnauthenticatedError, match="rejected the static token") as info:
        remote.register(tasks.add)
    assert "static-tok" not in str(info.value)
