"""The gRPC boundary with injected stubs: error mapping, retry policy, auth header and refresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from flyteidl.service import auth_pb2

from flyte_nb.errors import (
    RemoteAlreadyExistsError,
    RemoteError,
    RemoteInvalidArgumentError,
    RemoteNotFoundError,
    RemoteUnauthenticatedError,
    RemoteUnavailableError,
)
from flyte_nb.remote.auth import Authenticator, NoAuth, StaticToken
from flyte_nb.remote.client import CHANNEL_OPTIONS, AdminClient, RetryPolicy
from flyte_nb.remote.config import RemoteConfig


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class FakeStub:
    """Answers each call from a script: an exception instance is raised, anything else returned."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, Any, list[tuple[str, str]]]] = []

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def rpc(request: Any, *, metadata: list[tuple[str, str]], timeout: float) -> Any:
            self.calls.append((method, request, metadata))
            answer = self.script.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return rpc


def _client(
    stub: FakeStub,
    *,
    auth: Authenticator | None = None,
    auth_stub: Any = None,
    sleeps: list[float] | None = None,
) -> AdminClient:
    sink = sleeps if sleeps is not None else []
    return AdminClient(
        RemoteConfig(endpoint="admin.example:443"),
        authenticator=auth or NoAuth(),
        admin_stub=stub,
        dataproxy_stub=stub,
        auth_stub=auth_stub,
        retry=RetryPolicy(attempts=4, initial=1.0, maximum=3.0),
        sleep=sink.append,
    )


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.NOT_FOUND, RemoteNotFoundError),
        (grpc.StatusCode.ALREADY_EXISTS, RemoteAlreadyExistsError),
        (grpc.StatusCode.INVALID_ARGUMENT, RemoteInvalidArgumentError),
        (grpc.StatusCode.FAILED_PRECONDITION, RemoteError),
        (grpc.StatusCode.INTERNAL, RemoteError),
    ],
)
def test_answers_are_mapped_once_keeping_code_and_server_message_and_never_retried(
    code: grpc.StatusCode, cls: type[RemoteError]
) -> None:
    stub = FakeStub([FakeRpcError(code, "missing entity of type TASK")])
    sleeps: list[float] = []
    with pytest.raises(cls) as info:
        _client(stub, sleeps=sleeps).call("admin", "GetTask", "req", idempotent=True)
    assert type(info.value) is cls
    assert info.value.code == code.name
    assert info.value.details == "missing entity of type TASK"
    assert "GetTask" in str(info.value)
    assert "admin.example:443" in str(info.value)
    assert "missing entity of type TASK" in str(info.value)
    assert isinstance(info.value.__cause__, grpc.RpcError)
    assert len(stub.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("code", "builtin"),
    [
        (grpc.StatusCode.NOT_FOUND, LookupError),
        (grpc.StatusCode.INVALID_ARGUMENT, ValueError),
        (grpc.StatusCode.UNAUTHENTICATED, PermissionError),
        (grpc.StatusCode.UNAVAILABLE, ConnectionError),
    ],
)
def test_only_an_unreachable_server_is_a_connection_error(code: grpc.StatusCode, builtin: type) -> None:
    """A user's retry-on-ConnectionError loop retries an outage, never a NOT_FOUND or INVALID_ARGUMENT."""
    stub = FakeStub([FakeRpcError(code, "answer")] * 4)
    with pytest.raises(RemoteError) as info:
        _client(stub, sleeps=[]).call("admin", "GetTask", "req", idempotent=False)
    assert isinstance(info.value, builtin)
    assert isinstance(info.value, ConnectionError) == (code is grpc.StatusCode.UNAVAILABLE)


def test_unavailable_is_retried_with_growing_backoff_then_reported() -> None:
    stub = FakeStub([FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused")] * 4)
    sleeps: list[float] = []
    with pytest.raises(RemoteUnavailableError, match="UNAVAILABLE after 4 attempts: connection refused"):
        _client(stub, sleeps=sleeps).call("admin", "CreateTask", "req")
    assert len(stub.calls) == 4
    assert len(sleeps) == 3
    # Exponential with jitter in [50%, 100%] of 1, 2, 3 (capped) seconds.
    for got, base in zip(sleeps, [1.0, 2.0, 3.0], strict=True):
        assert base / 2 <= got <= base


def test_unavailable_then_success_returns_the_answer() -> None:
    stub = FakeStub([FakeRpcError(grpc.StatusCode.UNAVAILABLE, "reset"), "answer"])
    assert _client(stub).call("admin", "GetExecution", "req", idempotent=True) == "answer"


def test_deadline_exceeded_is_retried_only_for_idempotent_calls() -> None:
    deadline = FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    stub = FakeStub([deadline, "answer"])
    assert _client(stub).call("admin", "GetExecution", "req", idempotent=True) == "answer"
    stub = FakeStub([deadline, "answer"])
    with pytest.raises(RemoteUnavailableError, match="DEADLINE_EXCEEDED"):
        _client(stub).call("admin", "TerminateExecution", "req")
    assert len(stub.calls) == 1


def test_every_call_carries_accept_metadata_and_the_token_under_the_discovered_key() -> None:
    stub = FakeStub(["ok"])
    auth_stub = FakeStub(
        [auth_pb2.PublicClientAuthConfigResponse(authorization_metadata_key="flyte-authorization")]
    )
    client = _client(stub, auth=StaticToken("tok-123"), auth_stub=auth_stub)
    client.call("admin", "GetTask", "req")
    ((_, _, metadata),) = stub.calls
    assert ("accept", "application/grpc") in metadata
    assert ("flyte-authorization", "Bearer tok-123") in metadata
    # discovery itself is anonymous
    assert all(k != "flyte-authorization" for k, _ in auth_stub.calls[0][2])


def test_header_key_falls_back_to_authorization_without_an_auth_service() -> None:
    stub = FakeStub(["ok"])
    auth_stub = FakeStub([FakeRpcError(grpc.StatusCode.UNIMPLEMENTED, "unknown service")])
    _client(stub, auth=StaticToken("t"), auth_stub=auth_stub).call("admin", "GetTask", "req")
    assert ("authorization", "Bearer t") in stub.calls[0][2]


class CountingAuth(Authenticator):
    def __init__(self) -> None:
        super().__init__(header_key="authorization")
        self.fetches = 0

    def fetch_token(self, client: AdminClient) -> str:
        self.fetches += 1
        return f"token-{self.fetches}"


def test_unauthenticated_refreshes_once_and_retries_once() -> None:
    unauth = FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "token expired")
    auth = CountingAuth()
    stub = FakeStub([unauth, "ok"])
    assert _client(stub, auth=auth).call("admin", "GetTask", "req") == "ok"
    assert auth.fetches == 1
    assert ("authorization", "Bearer token-1") in stub.calls[1][2]
    stub = FakeStub([unauth, unauth])
    with pytest.raises(RemoteUnauthenticatedError, match="token expired"):
        _client(stub, auth=auth).call("admin", "GetTask", "req")
    assert len(stub.calls) == 2


def test_no_credentials_configured_says_what_to_configure() -> None:
    stub = FakeStub([FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "")])
    with pytest.raises(RemoteUnauthenticatedError, match="ClientSecret"):
        _client(stub).call("admin", "GetTask", "req")


def test_tokens_stay_out_of_reprs_and_pickles() -> None:
    import pickle

    auth = StaticToken("very-secret-token")
    client = _client(FakeStub([]), auth=auth)
    assert "very-secret-token" not in repr(auth) + repr(client)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(auth)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)


def test_channel_options_match_flytekits_limits() -> None:
    assert dict(CHANNEL_OPTIONS) == {
        "grpc.max_metadata_size": 32 * 1024,
        "grpc.max_receive_message_length": 20 * 1024 * 1024,
    }


def test_channels_are_tls_unless_insecure_and_a_bad_ca_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flyte_nb.errors import ConfigError
    from flyte_nb.remote.client import make_channel

    make_channel(RemoteConfig(endpoint="localhost:1", insecure=True)).close()
    make_channel(RemoteConfig(endpoint="localhost:1")).close()
    with pytest.raises(ConfigError, match="expected a readable PEM file"):
        make_channel(RemoteConfig(endpoint="localhost:1", ca_cert_file_path=str(tmp_path / "missing.pem")))
