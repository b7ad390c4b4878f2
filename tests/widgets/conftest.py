"""Helpers for the widget tests (no browser: widgets are built, inspected and clicked in Python)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true (widgets update from background threads)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def namespace() -> dict[str, Any]:
    """Stands in for the notebook's user namespace."""
    return {}
