"""A module the stand-in's containers import by its top-level name (``tests/remote`` is on their path) and
the test process cannot (there it is ``tests.remote.container_only``): a pickle of its class is readable
where the task ran and not in the notebook."""

from __future__ import annotations


class Secretive:
    def __init__(self, weight: float) -> None:
        self.weight = weight
