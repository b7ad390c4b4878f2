"""Fixtures for comparing flyte_nb's wire formats with flytekit 1.16 (a test-only dependency)."""

from __future__ import annotations

import types
from typing import Any

import pytest


@pytest.fixture(scope="session")
def flytekit() -> Any:
    """flytekit's type engine and a context to call it with (flytekit is imported once per session)."""
    fk = pytest.importorskip("flytekit")
    from flytekit.core.annotation import FlyteAnnotation
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal
    from flytekit.models.types import LiteralType

    return types.SimpleNamespace(
        TypeEngine=TypeEngine,
        ctx=FlyteContextManager.current_context(),
        Literal=Literal,
        LiteralType=LiteralType,
        FlyteAnnotation=FlyteAnnotation,
        kwtypes=fk.kwtypes,
    )
