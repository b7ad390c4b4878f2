"""Fixtures for the type engine tests."""

from __future__ import annotations

from typing import Any

import pytest
from flyteidl.core import literals_pb2

from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine


@pytest.fixture
def store() -> MemoryStore:
    """A fresh in-memory raw store."""
    return MemoryStore()


def wire(literal: literals_pb2.Literal) -> literals_pb2.Literal:
    """The literal after a protobuf bytes round trip (what another process would read)."""
    return literals_pb2.Literal.FromString(literal.SerializeToString())


def roundtrip(value: Any, python_type: Any, store: MemoryStore) -> Any:
    """python → literal → bytes → literal → python."""
    return TypeEngine.to_python_value(
        wire(TypeEngine.to_literal(value, python_type, store=store)), python_type, store=store
    )
