"""Tasks that end in every way but returning or raising an Exception (run through the entrypoint)."""

from __future__ import annotations

import sys

import flyte_nb as fnb


class Halt(BaseException):
    """A BaseException of the user's own (as some frameworks define for cancellation)."""


@fnb.task
def exits(code: int) -> int:
    sys.exit(code)


@fnb.task
def exits_cleanly() -> None:
    sys.exit(0)  # no outputs declared: propeller would read a plain exit 0 as success


@fnb.task
def interrupted() -> int:
    raise KeyboardInterrupt


@fnb.task
def generator_exit() -> int:
    raise GeneratorExit("closed early")


@fnb.task
def halts() -> int:
    raise Halt("stop everything")


@fnb.task
def succeeds(a: int) -> int:
    return a + 1
