"""8. A ``@dynamic`` task fanning out to 16 sub-tasks (16 squares, then their total): 17 sub-nodes.

flyte_nb runs it in the process sandbox, as propeller would: the dynamic task's container writes
``futures.pb``, then every sub-node is its own ``flyte-nb-execute`` process. Measured twice in the same
warm interpreter, alternating: with the default ``max_parallelism`` (the cores) and with
``max_parallelism=1`` — one process after another, which is what the sandbox did before sub-nodes ran
concurrently (the *serial sum*). flytekit's local execution of the same ``@dynamic`` task runs every
sub-task inside the calling interpreter, one after another, without the container contract (no
processes, no ``inputs.pb``): reported for reference, it is not the same work. The clock covers
``run`` / the call, result checked.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.harness import Config, Row, median, run_worker

N = 16
EXPECTED = sum(i * i for i in range(N))


def worker(args: dict[str, Any]) -> dict[str, Any]:
    reps = args["reps"]
    if args["side"] == "fk":
        from benchmarks.tasks_fanout_fk import fan_out as fk_fan_out

        assert fk_fan_out(n=N) == EXPECTED  # warm-up: imports, transformer caches
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            assert fk_fan_out(n=N) == EXPECTED
            times.append((time.perf_counter() - t0) * 1e3)
        return {"fk": times}

    import flyte_nb as fnb
    from benchmarks.tasks_fanout_fnb import fan_out

    concurrent = fnb.SandboxExecutor("process", stdout=lambda _: None)
    serial = concurrent.with_overrides(max_parallelism=1)
    assert concurrent.run(fan_out, n=2) == 1  # warm-up: .pyc files and the page cache
    out: dict[str, list[float]] = {"concurrent": [], "serial": []}
    for _ in range(reps):  # alternating, so load on a shared machine hits both alike
        for key, executor in (("concurrent", concurrent), ("serial", serial)):
            t0 = time.perf_counter()
            assert executor.run(fan_out, n=N) == EXPECTED
            out[key].append((time.perf_counter() - t0) * 1e3)
    return out


def rows(cfg: Config) -> list[Row]:
    reps = 1 if cfg.quick else 3
    fnb = run_worker("bench_fanout", "worker", {"side": "fnb", "reps": reps})
    fk = run_worker("bench_fanout", "worker", {"side": "fk", "reps": reps})
    concurrent, serial, fk_ms = median(fnb["concurrent"]), median(fnb["serial"]), median(fk["fk"])
    group = "8 fan-out"
    return [
        Row(
            group,
            f"16-way `@dynamic` fan-out in the process sandbox (17 sub-node processes, max_parallelism = "
            f"cores) — flytekit: its local dynamic execution, in-process; floor: the same run with "
            f"max_parallelism=1 (serial sum); flyte_nb ÷ serial = {concurrent / serial:.2f}",
            "ms",
            concurrent,
            fk_ms,
            floor=serial,
            target="≤ 0.6x the serial sum (2 cores)",
            met=concurrent <= 0.6 * serial,
        ),
    ]
