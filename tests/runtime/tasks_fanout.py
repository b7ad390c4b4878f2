"""Module tasks for the concurrent sub-node tests: sub-tasks that meet, sleep, fail and print.

They coordinate through marker files in a directory the test passes in, never through timing: a
sub-task that must run alongside others waits until their markers exist (with a deadline, so a
sandbox that runs them one after another fails the test instead of hanging it).
"""

from __future__ import annotations

import os
import time

import flyte_nb as fnb
from flyte_nb.errors import RecoverableError

DEADLINE = 30.0  # seconds a sub-task waits for the others before giving up


def _count(marker_dir: str, prefix: str) -> int:
    return sum(1 for name in os.listdir(marker_dir) if name.startswith(prefix))


def pids(marker_dir: str) -> dict[str, int]:
    """The process ids the sleepers wrote, by file name."""
    out = {}
    for name in os.listdir(marker_dir):
        if name.startswith("pid-") and not name.endswith(".tmp"):
            with open(os.path.join(marker_dir, name)) as fh:
                out[name] = int(fh.read())
    return out


@fnb.task
def meet(marker_dir: str, i: int, n: int) -> int:
    """Mark this sub-task started, wait until ``n`` have started; return how many had (``n`` if they met)."""
    open(os.path.join(marker_dir, f"started-{i}"), "w").close()
    deadline = time.monotonic() + DEADLINE
    while _count(marker_dir, "started-") < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return _count(marker_dir, "started-")


@fnb.task
def crowd(marker_dir: str, i: int) -> int:
    """How many sub-tasks were running at once while this one ran (itself included)."""
    mine = os.path.join(marker_dir, f"running-{i}")
    open(mine, "w").close()
    most = 0
    for _ in range(15):
        most = max(most, _count(marker_dir, "running-"))
        time.sleep(0.02)
    os.remove(mine)
    return most


@fnb.task
def sleeper(marker_dir: str, i: int) -> int:
    with open(os.path.join(marker_dir, f"pid-{i}.tmp"), "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(os.path.join(marker_dir, f"pid-{i}.tmp"), os.path.join(marker_dir, f"pid-{i}"))
    time.sleep(120)
    return i


@fnb.task
def fail_when_started(marker_dir: str, others: int) -> int:
    """Fail once ``others`` sleepers are running (so the failure has something to stop)."""
    deadline = time.monotonic() + DEADLINE
    while len(pids(marker_dir)) < others:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise ValueError(f"node failed on purpose with {others} others running")


@fnb.task
def square(x: int) -> int:
    return x * x


@fnb.task
def total(xs: list[int]) -> int:
    return sum(xs)


@fnb.task
def talk(i: int, lines: int) -> int:
    for k in range(lines):
        print(f"node {i} line {k} " + "x" * 40, flush=True)
    print(f"node {i} no newline", end="", flush=True)
    return i


@fnb.task(retries=2)
def flaky_square(marker_dir: str, x: int) -> int:
    attempt = fnb.FlyteContextManager.current_context().execution_params.attempt_number
    if attempt == 0:
        raise RecoverableError(f"transient failure of {x}")
    return x * x


@fnb.dynamic
def gather(marker_dir: str, n: int, meet_at: int) -> list[int]:
    return [meet(marker_dir=marker_dir, i=i, n=meet_at) for i in range(n)]


@fnb.dynamic
def crowded(marker_dir: str, n: int) -> list[int]:
    return [crowd(marker_dir=marker_dir, i=i) for i in range(n)]


@fnb.dynamic
def one_fails(marker_dir: str, sleepers: int) -> list[int]:
    slow = [sleeper(marker_dir=marker_dir, i=i) for i in range(sleepers)]
    bad = fail_when_started(marker_dir=marker_dir, others=sleepers)
    late = sleeper(marker_dir=marker_dir, i=99)  # waits for a free slot, which the failure never gives
    return [*slow, bad, late]


@fnb.dynamic
def sleepers(marker_dir: str, n: int) -> list[int]:
    return [sleeper(marker_dir=marker_dir, i=i) for i in range(n)]


@fnb.dynamic
def chain(n: int) -> int:
    squares = [square(x=i) for i in range(n)]
    return square(x=total(xs=squares))


@fnb.dynamic
def inner(k: int) -> int:
    return total(xs=[square(x=i) for i in range(k)])


@fnb.dynamic
def outer(ks: list[int]) -> list[int]:
    return [inner(k=k) for k in ks]


@fnb.dynamic
def chorus(n: int, lines: int) -> list[int]:
    return [talk(i=i, lines=lines) for i in range(n)]


@fnb.dynamic
def flaky_fan(marker_dir: str, n: int) -> int:
    return total(xs=[flaky_square(marker_dir=marker_dir, x=i) for i in range(n)])
