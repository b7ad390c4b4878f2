"""The gRPC boundary to FlyteAdmin: channel, credentials, retries and the one status → error mapping.

Every RPC flyte_nb makes goes through :meth:`AdminClient.call`. It is the only place that sees
``grpc.RpcError``: each failure becomes a :class:`flyte_nb.errors.RemoteError` subclass that keeps the
gRPC code name and the server's own message. Retries (with exponential backoff and jitter) happen only
for transient failures: ``UNAVAILABLE`` always, ``DEADLINE_EXCEEDED`` for reads and for creates made
idempotent by a client-chosen name. ``INVALID_ARGUMENT``,
``NOT_FOUND``, ``ALREADY_EXISTS``… are answers, not accidents, and are never retried. ``UNAUTHENTICATED``
makes the authenticator fetch new credentials, and the call is retried once.

Stubs are injected through the constructor in tests, so no network is needed to test this module.
"""

from __future__ import annotations

import contextlib
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    task_execution_pb2,
    task_pb2,
)
from flyteidl.service import admin_pb2_grpc, auth_pb2, auth_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc

from flyte_nb.errors import (
    ConfigError,
    NotPicklableError,
    RemoteAlreadyExistsError,
    RemoteError,
    RemoteInvalidArgumentError,
    RemoteNotFoundError,
    RemoteUnauthenticatedError,
    RemoteUnavailableError,
)
from flyte_nb.remote.config import RemoteConfig

if TYPE_CHECKING:
    from flyte_nb.remote.auth import Authenticator

__all__ = ["AdminClient", "RetryNotice", "RetryPolicy", "make_channel", "map_rpc_error", "server_certificate"]

_log = logging.getLogger(__name__)

# flytekit's channel options (clients/raw.py): large task templates and literal maps must fit.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_metadata_size", 32 * 1024),
    ("grpc.max_receive_message_length", 20 * 1024 * 1024),
)

_ERRORS: dict[str, type[RemoteError]] = {
    "NOT_FOUND": RemoteNotFoundError,
    "ALREADY_EXISTS": RemoteAlreadyExistsError,
    "INVALID_ARGUMENT": RemoteInvalidArgumentError,
    "UNAUTHENTICATED": RemoteUnauthenticatedError,
    "UNAVAILABLE": RemoteUnavailableError,
    "DEADLINE_EXCEEDED": RemoteUnavailableError,
}

_HINTS: dict[str, str] = {
    "UNAVAILABLE": "Check that the endpoint is right and the server is up, and that insecure= matches it "
    "(plaintext for a local sandbox, TLS otherwise).",
    "DEADLINE_EXCEEDED": "The server did not answer in time; try again, or raise the client timeout.",
    "UNAUTHENTICATED": "Configure credentials (admin.authType ClientSecret, DeviceFlow or ExternalCommand, "
    "or Remote(auth=StaticToken(...))).",
    "PERMISSION_DENIED": "The credentials are valid but not allowed to do this; ask the cluster admins.",
}


def map_rpc_error(method: str, endpoint: str, exc: grpc.RpcError, attempts: int = 1) -> RemoteError:
    """The :class:`RemoteError` for a failed RPC, keeping the code name and the server's details."""
    code_obj = exc.code() if callable(getattr(exc, "code", None)) else None
    code = code_obj.name if code_obj is not None else "UNKNOWN"
    details = (exc.details() if callable(getattr(exc, "details", None)) else "") or ""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    hint = _HINTS.get(code, "")
    message = f"FlyteAdmin {method} at {endpoint} failed with {code}{tries}: {details or '(no details)'}"
    if hint:
        message = f"{message}. {hint}"
    return _ERRORS.get(code, RemoteError)(message, code=code, details=details)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures.

    ``attempts`` counts the first try; delays grow ``initial * multiplier**n`` up to ``maximum`` seconds.
    """

    attempts: int = 6
    initial: float = 0.25
    maximum: float = 8.0
    multiplier: float = 2.0

    def delay(self, retry: int) -> float:
        base = min(self.maximum, self.initial * self.multiplier**retry)
        return base * (0.5 + random.random() / 2)  # jitter: many kernels must not retry in lockstep


@dataclass(frozen=True)
class RetryNotice:
    """A transient failure about to be retried: which RPC, the gRPC code, the attempt that failed (1-based),
    how many attempts the policy allows, and the pause before the next one (seconds)."""

    method: str
    code: str
    attempt: int
    attempts: int
    pause: float


def server_certificate(endpoint: str, timeout: float) -> str:
    """The PEM certificate the TLS server at ``endpoint`` presents (port 443 when none is given).

    Used for ``insecureSkipVerify``, as flytekit does, but within ``timeout`` seconds: an endpoint that
    accepts TCP and never speaks TLS (a proxy, a wrong port) must not hang the kernel.

    Raises
    ------
    RemoteUnavailableError
        The server could not be reached, did not answer in time, or did not speak TLS (code
        ``UNAVAILABLE``, with the reason, as :func:`map_rpc_error` words an RPC failure).
    """
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        host, port = endpoint, "443"
    try:
        return ssl.get_server_certificate((host.strip("[]"), int(port)), timeout=timeout)
    except ssl.SSLError as exc:
        reason = f"no TLS handshake ({exc.reason or exc})"
        hint = "The endpoint does not speak TLS: use insecure=True (admin.insecure) for a plaintext endpoint."
    except TimeoutError:
        reason = f"no TLS handshake within {timeout:g} s"
        hint = "Something accepted the connection but did not answer as a TLS server: check the port and any proxy."
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = _HINTS["UNAVAILABLE"]
    # Raised outside the except blocks: the socket error adds nothing to the message but a traceback.
    raise RemoteUnavailableError(
        f"FlyteAdmin certificate fetch (insecureSkipVerify) at {endpoint} failed with UNAVAILABLE: {reason}. {hint}",
        code="UNAVAILABLE",
        details=reason,
    )


def make_channel(config: RemoteConfig, *, timeout: float = 30.0) -> grpc.Channel:
    """A gRPC channel to ``config.endpoint``: TLS (system roots, a CA file, or the server's own
    certificate when ``insecure_skip_verify``, fetched within ``timeout`` seconds), plaintext only when
    ``config.insecure``."""
    options = list(CHANNEL_OPTIONS)
    if config.insecure:
        return grpc.insecure_channel(config.endpoint, options=options)
    if config.insecure_skip_verify:
        cert = server_certificate(config.endpoint, timeout)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.encode())
    elif config.ca_cert_file_path:
        try:
            with open(config.ca_cert_file_path, "rb") as fh:
                roots = fh.read()
        except OSError as exc:
            raise ConfigError(
                f"caCertFilePath: expected a readable PEM file, got {config.ca_cert_file_path!r} ({exc.strerror}). "
                "Fix admin.caCertFilePath / FLYTE_PLATFORM_CA_CERT_FILE_PATH."
            ) from None
        credentials = grpc.ssl_channel_credentials(root_certificates=roots)
    else:
        credentials = grpc.ssl_channel_credentials()
    return grpc.secure_channel(config.endpoint, credentials, options=options)


class AdminClient:
    """FlyteAdmin, DataProxy and AuthMetadata services behind one error and retry policy.

    Parameters
    ----------
    config:
        Where the server is.
    authenticator:
        Supplies the auth header and refreshes credentials on ``UNAUTHENTICATED``; ``None`` builds one
        from ``config.auth`` (which does nothing until the server asks for credentials).
    channel:
        A ready gRPC channel (default: :func:`make_channel`, created on first use).
    admin_stub, dataproxy_stub, auth_stub:
        Replace the generated stubs (tests pass fakes with the same method names).
    retry:
        Backoff for transient failures.
    timeout:
        Per-attempt deadline in seconds.
    sleep:
        How to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        config: RemoteConfig,
        *,
        authenticator: Authenticator | None = None,
        channel: grpc.Channel | None = None,
        admin_stub: Any = None,
        dataproxy_stub: Any = None,
        auth_stub: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if authenticator is None:
            from flyte_nb.remote.auth import authenticator_for

            authenticator = authenticator_for(config)
        self.config = config
        self.authenticator = authenticator
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._channel = channel
        self._stubs: dict[str, Any] = {"admin": admin_stub, "dataproxy": dataproxy_stub, "auth": auth_stub}
        self._retry_watchers = threading.local()  # per thread: a widget's run and a cell may share a client

    def __repr__(self) -> str:
        return f"AdminClient(endpoint={self.config.endpoint!r}, auth={self.authenticator!r})"

    def __reduce__(self) -> Any:
        raise NotPicklableError(
            "An AdminClient holds a network channel and credentials and cannot be pickled. Create the "
            "Remote from its configuration in the other process instead."
        )

    def _stub(self, service: str) -> Any:
        stub = self._stubs[service]
        if stub is None:
            if self._channel is None:
                self._channel = make_channel(self.config, timeout=self.timeout)
            factory: Callable[[grpc.Channel], Any] = {
                "admin": admin_pb2_grpc.AdminServiceStub,
                "dataproxy": dataproxy_pb2_grpc.DataProxyServiceStub,
                "auth": auth_pb2_grpc.AuthMetadataServiceStub,
            }[service]
            stub = self._stubs[service] = factory(self._channel)
        return stub

    @contextlib.contextmanager
    def retries_reported_here(self, report: Callable[[RetryNotice], None]) -> Iterator[None]:
        """Inside the block, every retry of a call made on this thread is reported to ``report`` before
        the pause (progress views show "retrying the connection" instead of a silent wait)."""
        previous = getattr(self._retry_watchers, "report", None)
        self._retry_watchers.report = report
        try:
            yield
        finally:
            self._retry_watchers.report = previous

    def close(self) -> None:
        """Close the channel (if this client created one); stubs made from it stop working."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._stubs = dict.fromkeys(self._stubs)

    def call(
        self, service: str, method: str, request: Any, *, idempotent: bool = False, anonymous: bool = False
    ) -> Any:
        """Invoke ``service.method(request)`` with auth, retries and error mapping.

        Parameters
        ----------
        service:
            ``"admin"``, ``"dataproxy"`` or ``"auth"``.
        method:
            The RPC name, e.g. ``"CreateTask"``.
        idempotent:
            Repeating the call cannot do anything twice (a read, or a create whose name the client
            chose, which answers ALREADY_EXISTS the second time), so ``DEADLINE_EXCEEDED`` — after which
            the server may still be working on the first call — is retried too.
        anonymous:
            Send no credentials and do not refresh them (auth discovery RPCs).

        Raises
        ------
        RemoteError
            The mapped failure (a subclass per gRPC code) once retries are exhausted.
        """
        rpc = getattr(self._stub(service), method)
        refreshed = False
        attempt = 1
        while True:
            metadata: list[tuple[str, str]] = [("accept", "application/grpc")]
            if not anonymous:
                header = self.authenticator.header(self)
                if header is not None:
                    metadata.append(header)
            try:
                return rpc(request, metadata=metadata, timeout=self.timeout)
            except grpc.RpcError as exc:
                code = exc.code() if callable(getattr(exc, "code", None)) else None
                if code == grpc.StatusCode.UNAUTHENTICATED and not anonymous and not refreshed:
                    refreshed = True
                    self.authenticator.refresh(self)
                    continue
                transient = code == grpc.StatusCode.UNAVAILABLE or (
                    idempotent and code == grpc.StatusCode.DEADLINE_EXCEEDED
                )
                if transient and attempt < self.retry.attempts:
                    pause = self.retry.delay(attempt - 1)
                    _log.info(
                        "FlyteAdmin %s: %s (attempt %d), retrying in %.2f s", method, code, attempt, pause
                    )
                    report = getattr(self._retry_watchers, "report", None)
                    if report is not None:
                        name = code.name if code is not None else "UNKNOWN"
                        report(RetryNotice(method, name, attempt, self.retry.attempts, pause))
                    self._sleep(pause)
                    attempt += 1
                    continue
                raise map_rpc_error(f"{method}", self.config.endpoint, exc, attempt) from exc

    # ---- the RPCs flyte_nb uses, typed -----------------------------------------------------------------
    # Which calls are idempotent is decided here, once: reads, and creates whose name the client chose
    # (a repeat answers ALREADY_EXISTS). TerminateExecution is not: a repeat after a lost answer would
    # report FAILED_PRECONDITION for a run this client did abort.

    def create_task(self, request: task_pb2.TaskCreateRequest) -> task_pb2.TaskCreateResponse:
        """``AdminService.CreateTask`` (idempotent: the version is the template's content hash)."""
        response: task_pb2.TaskCreateResponse = self.call("admin", "CreateTask", request, idempotent=True)
        return response

    def get_task(self, request: common_pb2.ObjectGetRequest) -> task_pb2.Task:
        """``AdminService.GetTask`` (a registered task: its compiled template and interface)."""
        response: task_pb2.Task = self.call("admin", "GetTask", request, idempotent=True)
        return response

    def get_launch_plan(self, request: common_pb2.ObjectGetRequest) -> launch_plan_pb2.LaunchPlan:
        """``AdminService.GetLaunchPlan`` (its expected inputs and outputs)."""
        response: launch_plan_pb2.LaunchPlan = self.call("admin", "GetLaunchPlan", request, idempotent=True)
        return response

    def list_executions(self, request: common_pb2.ResourceListRequest) -> execution_pb2.ExecutionList:
        """``AdminService.ListExecutions`` (filtered, sorted, one page)."""
        response: execution_pb2.ExecutionList = self.call("admin", "ListExecutions", request, idempotent=True)
        return response

    def create_execution(
        self, request: execution_pb2.ExecutionCreateRequest
    ) -> execution_pb2.ExecutionCreateResponse:
        """``AdminService.CreateExecution`` (idempotent: the client names the execution)."""
        response: execution_pb2.ExecutionCreateResponse = self.call(
            "admin", "CreateExecution", request, idempotent=True
        )
        return response

    def get_execution(self, request: execution_pb2.WorkflowExecutionGetRequest) -> execution_pb2.Execution:
        """``AdminService.GetExecution``."""
        response: execution_pb2.Execution = self.call("admin", "GetExecution", request, idempotent=True)
        return response

    def get_execution_data(
        self, request: execution_pb2.WorkflowExecutionGetDataRequest
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        """``AdminService.GetExecutionData`` (inputs and outputs, inline or as signed URLs)."""
        response: execution_pb2.WorkflowExecutionGetDataResponse = self.call(
            "admin", "GetExecutionData", request, idempotent=True
        )
        return response

    def terminate_execution(
        self, request: execution_pb2.ExecutionTerminateRequest
    ) -> execution_pb2.ExecutionTerminateResponse:
        """``AdminService.TerminateExecution``."""
        response: execution_pb2.ExecutionTerminateResponse = self.call("admin", "TerminateExecution", request)
        return response

    def list_node_executions(
        self, request: node_execution_pb2.NodeExecutionListRequest
    ) -> node_execution_pb2.NodeExecutionList:
        """``AdminService.ListNodeExecutions``."""
        response: node_execution_pb2.NodeExecutionList = self.call(
            "admin", "ListNodeExecutions", request, idempotent=True
        )
        return response

    def list_task_executions(
        self, request: task_execution_pb2.TaskExecutionListRequest
    ) -> task_execution_pb2.TaskExecutionList:
        """``AdminService.ListTaskExecutions``."""
        response: task_execution_pb2.TaskExecutionList = self.call(
            "admin", "ListTaskExecutions", request, idempotent=True
        )
        return response

    def create_upload_location(
        self, request: dataproxy_pb2.CreateUploadLocationRequest
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        """``DataProxyService.CreateUploadLocation`` (idempotent: content-addressed and MD5-pinned)."""
        response: dataproxy_pb2.CreateUploadLocationResponse = self.call(
            "dataproxy", "CreateUploadLocation", request, idempotent=True
        )
        return response

    def create_download_location(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        """``DataProxyService.CreateDownloadLocation`` (a signed URL to read a ``native_url``)."""
        response: dataproxy_pb2.CreateDownloadLocationResponse = self.call(
            "dataproxy", "CreateDownloadLocation", request, idempotent=True
        )
        return response

    # ---- auth discovery (anonymous, as FlyteAdmin serves it) -----------------------------------------

    def public_client_config(self) -> auth_pb2.PublicClientAuthConfigResponse:
        """``AuthMetadataService.GetPublicClientConfig`` (client id, header key, scopes…)."""
        response: auth_pb2.PublicClientAuthConfigResponse = self.call(
            "auth",
            "GetPublicClientConfig",
            auth_pb2.PublicClientAuthConfigRequest(),
            idempotent=True,
            anonymous=True,
        )
        return response

    def oauth2_metadata(self) -> auth_pb2.OAuth2MetadataResponse:
        """``AuthMetadataService.GetOAuth2Metadata`` (token and device endpoints…)."""
        response: auth_pb2.OAuth2MetadataResponse = self.call(
            "auth", "GetOAuth2Metadata", auth_pb2.OAuth2MetadataRequest(), idempotent=True, anonymous=True
        )
        return response
