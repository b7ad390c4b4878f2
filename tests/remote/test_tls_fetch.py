"""insecureSkipVerify fetches the server's certificate within the client's timeout, and an endpoint that
cannot give one is a RemoteUnavailableError worded like every other unreachable server."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2

from flyte_nb.errors import RemoteUnavailableError
from flyte_nb.remote.client import AdminClient, RetryPolicy, server_certificate
from flyte_nb.remote.config import RemoteConfig


def _in_thread(fn: Callable[[], Any], limit: float = 30.0) -> BaseException | None:
    """Run ``fn`` on a daemon thread and return what it raised; fail (instead of hanging the suite) when it
    is still running after ``limit`` seconds."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # handed back to the test, whatever it is
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit} s: the call ignores its timeout"
    return outcome[0]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a proxy, a wrong port)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def refused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])  # closed on exit: connecting is refused


def _get_execution(client: AdminClient) -> None:
    eid = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="x")
    client.get_execution(execution_pb2.WorkflowExecutionGetRequest(id=eid))


def _skip_verify_client(port: int, timeout: float) -> AdminClient:
    config = RemoteConfig(endpoint=f"127.0.0.1:{port}", insecure_skip_verify=True)
    return AdminClient(config, retry=RetryPolicy(attempts=1), timeout=timeout)


def test_an_endpoint_that_never_speaks_tls_fails_within_the_client_timeout(silent_port: int) -> None:
    error = _in_thread(lambda: _get_execution(_skip_verify_client(silent_port, timeout=0.5)))
    assert isinstance(error, RemoteUnavailableError)
    assert error.code == "UNAVAILABLE"
    message = str(error)
    assert f"127.0.0.1:{silent_port} failed with UNAVAILABLE: no TLS handshake within 0.5 s" in message
    assert "check the port and any proxy" in message


def test_a_refused_port_is_remote_unavailable_not_a_raw_connection_error(refused_port: int) -> None:
    error = _in_thread(lambda: _get_execution(_skip_verify_client(refused_port, timeout=5)))
    assert isinstance(error, RemoteUnavailableError)
    assert isinstance(error, ConnectionError)  # the one RemoteError a retry loop may retry
    assert "failed with UNAVAILABLE: Connection refused" in str(error)
    assert error.__context__ is None  # no socket traceback under it
    assert error.__cause__ is None


def test_a_plaintext_server_is_told_to_use_insecure(silent_port: int) -> None:
    # A plaintext gRPC server answers a TLS ClientHello with bytes that are not TLS.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer_in_plaintext() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00" + b"\x00" * 18)

        thread = threading.Thread(target=answer_in_plaintext, daemon=True)
        thread.start()
        error = _in_thread(lambda: server_certificate(f"127.0.0.1:{port}", timeout=5))
        thread.join(5)
    assert isinstance(error, RemoteUnavailableError)
    assert "no TLS handshake" in str(error)
    assert "use insecure=True" in str(error)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_the_certificate_of_a_tls_server_is_fetched(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"),
            *("-days", "1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve_once() -> None:
            conn, _ = server.accept()
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass  # the client hangs up once it has the certificate

        thread = threading.Thread(target=serve_once, daemon=True)
        thread.start()
        pem = server_certificate(f"127.0.0.1:{port}", timeout=5)
        thread.join(5)
    assert ssl.PEM_cert_to_DER_cert(pem) == ssl.PEM_cert_to_DER_cert(cert.read_text())
