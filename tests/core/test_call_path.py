"""The in-kernel call's plumbing: the contexts it builds and pushes are what the seed API's would be."""

from __future__ import annotations

import dataclasses

import pytest

from flyte_nb.core.context import (
    ExecutionMode,
    ExecutionParameters,
    FlyteContext,
    FlyteContextManager,
    default_context,
)
from flyte_nb.core.storage import MemoryStore


def _fields(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def test_the_default_context_is_what_the_constructors_make() -> None:
    built, made = default_context(), FlyteContext()
    assert type(built) is FlyteContext
    assert type(built.execution_params) is ExecutionParameters
    mine, theirs = _fields(built), _fields(made)
    assert type(mine.pop("store")) is type(theirs.pop("store")) is MemoryStore
    params, their_params = _fields(mine.pop("execution_params")), _fields(theirs.pop("execution_params"))
    assert mine == theirs
    assert abs(params.pop("execution_date") - their_params.pop("execution_date")).total_seconds() < 60  # type: ignore[operator]
    assert params == their_params
    # default factories run per context: a deck added to one run is not in the next one's list
    other = default_context()
    assert other.execution_params.decks is not built.execution_params.decks
    assert other.execution_params.extra is not built.execution_params.extra


def test_the_default_context_takes_the_calls_store() -> None:
    store = MemoryStore()
    assert default_context(store).store is store
    assert default_context().store is not default_context().store


def test_with_changes_only_what_it_is_given() -> None:
    ctx = default_context()
    assert ctx.with_(mode=ExecutionMode.LOCAL, compilation_state=None) is ctx  # nothing changes: shared
    changed = ctx.with_(mode=ExecutionMode.TASK_EXECUTION)
    assert changed is not ctx
    assert changed.mode is ExecutionMode.TASK_EXECUTION
    assert ctx.mode is ExecutionMode.LOCAL  # the original is untouched (contexts are immutable)
    assert _fields(changed) == {**_fields(ctx), "mode": ExecutionMode.TASK_EXECUTION}
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.mode = ExecutionMode.LOCAL  # type: ignore[misc]
    with pytest.raises(TypeError, match="no_such_field"):
        ctx.with_(no_such_field=1)


def test_with_context_nests_and_restores() -> None:
    outer, inner = default_context(), default_context()
    with FlyteContextManager.with_context(outer) as got:
        assert got is outer
        assert FlyteContextManager.current_context() is outer
        with FlyteContextManager.with_context(inner):
            assert FlyteContextManager.current_context() is inner
        assert FlyteContextManager.current_context() is outer
    assert FlyteContextManager.current_context() not in (outer, inner)  # a fresh default again
