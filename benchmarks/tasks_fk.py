"""The same trivial task as a flytekit module task (imported only in flytekit's own processes)."""

from __future__ import annotations

from flytekit import task


@task
def add(a: int, b: int) -> int:
    return a + b
