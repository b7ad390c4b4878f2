"""The trivial task, as a flyte_nb module task (loaded by the container entrypoint by module and name)."""

from __future__ import annotations

import flyte_nb as fnb


@fnb.task
def add(a: int, b: int) -> int:
    return a + b
