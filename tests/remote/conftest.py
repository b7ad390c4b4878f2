"""Fixtures for the remote tests: a FlyteAdmin stand-in per test and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flyte_nb.remote import Remote
from flyte_nb.remote.client import AdminClient, RetryPolicy
from flyte_nb.remote.config import RemoteConfig
from tests.standin import StandIn

FAST_RETRY = RetryPolicy(attempts=6, initial=0.05, maximum=0.5)


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandIn]:
    server = StandIn(tmp_path / "standin", extra_pythonpath=[str(Path(__file__).parent)]).start()
    yield server
    server.stop()


def make_remote(
    standin: StandIn, *, timeout: float = 10.0, retry: RetryPolicy = FAST_RETRY, **kwargs: object
) -> Remote:
    """A Remote on ``standin`` with quick retries (the policy under test is the same, only faster)."""
    config = RemoteConfig(endpoint=standin.endpoint, insecure=True)
    auth = kwargs.pop("auth", None)
    client = AdminClient(config, authenticator=auth, retry=retry, timeout=timeout)  # type: ignore[arg-type]
    remote = Remote(client=client, **kwargs)  # type: ignore[arg-type]
    remote.uploader.retry = RetryPolicy(attempts=4, initial=0.05, maximum=0.2)
    return remote


@pytest.fixture
def remote(standin: StandIn) -> Iterator[Remote]:
    r = make_remote(standin)
    yield r
    r.close()
