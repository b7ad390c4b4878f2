"""A plain flytekit task (imported only by the test that runs it through flytekit's FlyteRemote)."""

from __future__ import annotations

from flytekit import task


@task
def fk_add(a: int, b: int = 3) -> int:
    return a + b
