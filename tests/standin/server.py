"""``StandIn``: a FlyteAdmin double on 127.0.0.1 — gRPC services, HTTP bucket, OAuth, propeller, faults.

It is a *test double*: it lives under ``tests/`` and is never shipped. Start it with
``StandIn(tmp_path).start()``; ``.endpoint`` is the ``host:port`` to give a client (plaintext).
"""

from __future__ import annotations

import difflib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2, tasks_pb2
from flyteidl.service import admin_pb2_grpc, auth_pb2_grpc, dataproxy_pb2_grpc
from google.protobuf import text_format

from tests.standin.admin import AdminServicer, AuthServicer, DataProxyServicer
from tests.standin.bucket import Bucket, HttpSide, OAuthState
from tests.standin.propeller_runner import Propeller
from tests.standin.store import Store

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Rule:
    """One injected gRPC fault: matches ``method`` (or every method when None) ``count`` times."""

    method: str | None
    count: int
    code: grpc.StatusCode | None = None
    after: bool = False  # handle the call, then fail: the client never sees the answer
    delay: float = 0.0


@dataclass
class Faults:
    """Faults to inject, consumed in order (tests add them just before the call they target)."""

    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    injected: list[str] = field(default_factory=list)

    def unavailable(self, method: str | None = None, count: int = 1, *, after: bool = False) -> None:
        self.rules.append(Rule(method, count, grpc.StatusCode.UNAVAILABLE, after=after))

    def slow(self, method: str | None, seconds: float, count: int = 1) -> None:
        self.rules.append(Rule(method, count, delay=seconds))

    def take(self, method: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.count > 0 and rule.method in (None, method):
                    rule.count -= 1
                    self.injected.append(method)
                    return rule
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _aborting(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(handler)


class _Interceptor(grpc.ServerInterceptor):
    def __init__(self, standin: StandIn) -> None:
        self.s = standin

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        service, _, method = details.method.rpartition("/")
        metadata = dict(details.invocation_metadata or ())
        self.s.metadata_seen.append((method, metadata))
        if self.s.oauth is not None and not service.endswith("AuthMetadataService"):
            value = metadata.get(self.s.auth_header_key, "")
            token = value[len("Bearer ") :] if value.startswith("Bearer ") else ""
            if token not in self.s.oauth.tokens:
                return _aborting(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "token verification failed: missing or expired bearer token",
                )
        handler = continuation(details)
        rule = self.s.faults.take(method)
        if rule is None or handler is None:
            return handler
        if rule.code is not None and not rule.after:
            return _aborting(rule.code, f"injected {rule.code.name}: connection refused")
        inner = handler.unary_unary

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            if rule.delay:
                time.sleep(rule.delay)
            response = inner(request, context)
            if rule.after and rule.code is not None:
                context.abort(
                    rule.code, f"injected {rule.code.name}: connection reset after the call was handled"
                )
            return response

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class StandIn:
    """A FlyteAdmin stand-in. Parameters mirror the admin settings tests need to vary.

    Parameters
    ----------
    root:
        Directory for the state database, the bucket and the containers' working dirs.
    auth:
        Require bearer tokens (from the built-in OAuth server) on every non-discovery RPC.
    clients:
        OAuth client ids and secrets accepted for client credentials.
    projects:
        Registered, active projects.
    max_inline_bytes:
        admin's ``remoteData.maxSizeInBytes``: larger outputs are only offered by URL.
    literal_offloading_min_mb:
        Enables propeller's literal offloading with this threshold (``None``: disabled, the default).
    """

    def __init__(
        self,
        root: Path,
        *,
        auth: bool = False,
        clients: dict[str, str] | None = None,
        projects: Iterable[str] = ("flytesnacks",),
        auth_header_key: str = "flyte-authorization",
        max_inline_bytes: int = 2 * 1024 * 1024,
        signed_urls: bool = True,
        queue_delay: float = 0.05,
        extra_pythonpath: Iterable[str] = (),
        literal_offloading_min_mb: float | None = None,
    ) -> None:
        self.root = Path(root)
        self.store = Store(self.root / "db")
        self.bucket = Bucket(self.root / "bucket")
        self.oauth = OAuthState(clients=dict(clients or {"notebook": "n0tebook-s3cret"})) if auth else None
        # The public client's loopback redirect (flytectl's is localhost:53593): a free port per stand-in,
        # so tests signing in through a browser at the same time do not collide.
        self.redirect_uri = f"http://localhost:{_free_port()}/callback"
        if self.oauth is not None:
            self.oauth.redirect_uri = self.redirect_uri
        self.http = HttpSide(self.bucket, self.oauth)
        self.projects = set(projects)
        self.auth_header_key = auth_header_key
        self.max_inline_bytes = max_inline_bytes
        self.signed_urls = signed_urls
        self.queue_delay = queue_delay
        self.extra_pythonpath = list(extra_pythonpath)
        # propeller's literal-offloading-config: when enabled it tells containers the thresholds.
        self.literal_offloading_min_mb = literal_offloading_min_mb
        self.faults = Faults()
        #: The cluster's secret store, (group, key) -> value: what the secrets webhook injects.
        self.secrets: dict[tuple[str, str], str] = {}
        self.propeller = Propeller(self)
        self.calls: list[str] = []
        self.metadata_seen: list[tuple[str, dict[str, str]]] = []
        self.last_results: dict[str, Any] = {}
        self.port = 0
        self._server: grpc.Server | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8),
            interceptors=[_Interceptor(self)],
            options=[("grpc.so_reuseport", 0)],
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(self), server)
        dataproxy_pb2_grpc.add_DataProxyServiceServicer_to_server(DataProxyServicer(self), server)
        auth_pb2_grpc.add_AuthMetadataServiceServicer_to_server(AuthServicer(self), server)
        if self.port == 0:
            with socket.socket() as sock:  # reserve a free port we can bind again after a restart
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
        for _ in range(50):
            try:
                if server.add_insecure_port(self.endpoint) == self.port:
                    break
            except RuntimeError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"stand-in could not bind {self.endpoint}")
        server.start()
        self._server = server
        return self

    def stop_admin(self) -> None:
        """Stop the gRPC server only (propeller and the bucket keep running, as in a real cluster)."""
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def restart(self, downtime: float = 0.0, *, background: bool = False) -> None:
        """Stop the gRPC server and start a fresh one on the same port, with state read from disk."""
        self.stop_admin()

        def later() -> None:
            time.sleep(downtime)
            self.start()

        if background:
            threading.Thread(target=later, daemon=True).start()
        else:
            later()

    def stop(self) -> None:
        for key in list(self.propeller.threads):
            project, domain, name = key.split("/")
            self.propeller.abort(
                identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)
            )
        self.propeller.join(timeout=10)
        self.stop_admin()
        self.http.stop()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- helpers used by the services --------------------------------------------------------------

    def container_env(self) -> dict[str, str]:
        env = dict(os.environ)
        paths = [str(REPO), *self.extra_pythonpath, env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        env.pop("FLYTE_PLATFORM_URL", None)  # the container never talks back to admin
        if self.literal_offloading_min_mb is not None:
            env["_F_L_MIN_SIZE_MB"] = str(self.literal_offloading_min_mb)
            env["_F_L_MAX_SIZE_MB"] = "1000"
        return env

    def principal(self, context: grpc.ServicerContext) -> str:
        return "client" if self.oauth is not None else "anonymous"

    @staticmethod
    def diff(old: tasks_pb2.TaskTemplate, new: tasks_pb2.TaskTemplate) -> str:
        a = text_format.MessageToString(old).splitlines()
        b = text_format.MessageToString(new).splitlines()
        return "\n".join(list(difflib.unified_diff(a, b, "existing", "new", lineterm=""))[:40])

    def executions(self) -> list[execution_pb2.Execution]:
        return list(self.store.executions())

    def wait_idle(self, timeout: float = 30.0) -> None:
        self.propeller.join(timeout)
