"""Fixtures for the notebook tests: a real IPython shell with flyte_nb loaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.notebook.ipshell import shell_fixture


@pytest.fixture
def ip() -> Iterator[Any]:
    yield from shell_fixture()
