"""What a notebook user sees when the cluster cannot be reached: the cell's own line and one message with
the gRPC code and the server's words, not a hundred lines of flyte_nb frames and chained gRPC traceback.
The gRPC error is still there for debugging (``__cause__``)."""

from __future__ import annotations

import re
import socket
import traceback
from typing import Any

import grpc
from IPython.utils.capture import capture_output

from flyte_nb.errors import RemoteUnavailableError

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def test_an_unreachable_cluster_shows_the_cell_line_and_one_message(ip: Any) -> None:
    port = _closed_port()
    ip.run_cell(
        "import flyte_nb as fnb\n"
        "from flyte_nb.remote.client import AdminClient, RetryPolicy\n"
        "from flyte_nb.remote.config import RemoteConfig\n"
        "@fnb.task\ndef add(a: int) -> int:\n    return a\n"
        f"config = RemoteConfig(endpoint='127.0.0.1:{port}', insecure=True)\n"
        "remote = fnb.Remote(client=AdminClient(config, retry=RetryPolicy(attempts=2, initial=0.01)))\n"
    ).raise_error()
    with capture_output() as shown:
        result = ip.run_cell("remote.register(add)")
    text = ANSI.sub("", shown.stdout + shown.stderr)
    lines = text.strip().splitlines()
    assert len(lines) <= 5, text
    assert "remote.register(add)" in text  # the user's own line
    last = lines[-1]
    assert last.startswith("flyte_nb.errors.RemoteUnavailableError: FlyteAdmin ")
    assert f"at 127.0.0.1:{port} failed with UNAVAILABLE after 2 attempts: " in last
    assert "Connection refused" in last  # the server's (here: the channel's) own words
    for noise in ("_InactiveRpcError", "grpc/_channel.py", "flyte_nb/remote/client.py", "direct cause"):
        assert noise not in text

    error = result.error_in_exec
    assert isinstance(error, RemoteUnavailableError)
    assert error.code == "UNAVAILABLE"
    assert isinstance(error.__cause__, grpc.RpcError)  # still there for debugging
    assert error.__cause__.code() == grpc.StatusCode.UNAVAILABLE
    # Outside IPython, Python's own traceback is unchanged: the whole chain, for a developer.
    assert "_InactiveRpcError" in "".join(traceback.format_exception(error))
