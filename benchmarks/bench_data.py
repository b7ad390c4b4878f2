"""3. Large values returned from a task in the kernel: a 100 MB float64 array and a 1 M-row DataFrame.

The task returns a value built before the clock starts, so what is timed is the literal round trip
(encode → store → decode) each library does on the way out; two alternating rounds of one process per
library, three calls each. The floor is a bare
``pickle.loads(pickle.dumps(value))`` (protocol 5); the *format floor* in the note is the same round trip
through the Flyte wire format alone (``np.save``/``np.load``; ``to_parquet``/``pd.read_parquet``, in memory),
which a task output cannot avoid and stay readable by a cluster and by flytekit.
"""

# No `from __future__ import annotations`: the tasks below are defined inside a function, so their
# annotations must be evaluated there, where numpy and pandas are imported (only in the worker).

import io
import pickle
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Config, Row, median, run_worker


def _values(mb: int, rows: int) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    array = rng.random(mb * 1024 * 1024 // 8)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "x": rng.random(rows),
            "y": rng.integers(0, 1000, rows).astype(np.int32),
            "name": pd.Series([f"row{i % 1000}" for i in range(rows)], dtype=str),
        }
    )
    return array, frame


def _times(func: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _check(array: Any, frame: Any, got_array: Any, got_frame: Any) -> None:
    import numpy as np

    assert got_array is not array
    assert np.array_equal(got_array, array)
    assert got_frame is not frame
    assert got_frame.equals(frame), (got_frame.dtypes, frame.dtypes)


def worker(args: dict[str, Any]) -> dict[str, list[float]]:
    import numpy as np
    import pandas as pd

    array, frame = _values(args["mb"], args["rows"])
    repeat, side = args["repeat"], args["side"]
    if side == "floor":

        def npy() -> Any:
            buf = io.BytesIO()
            np.save(buf, array)
            return np.load(io.BytesIO(buf.getvalue()))

        def parquet() -> Any:
            buf = io.BytesIO()
            frame.to_parquet(buf)
            return pd.read_parquet(io.BytesIO(buf.getvalue()))

        return {
            "array": _times(lambda: pickle.loads(pickle.dumps(array, protocol=5)), repeat),
            "frame": _times(lambda: pickle.loads(pickle.dumps(frame, protocol=5)), repeat),
            "array_format": _times(npy, repeat),
            "frame_format": _times(parquet, repeat),
        }
    # The tasks are defined by a notebook cell in an IPython shell, as a user defines them.
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(array=array, frame=frame, np=np, pd=pd)
    lib = "flyte_nb" if side == "fnb" else "flytekit"
    cell = (
        f"import {lib} as lib\n"
        "@lib.task\ndef make_array() -> np.ndarray:\n    return array\n"
        "@lib.task\ndef make_frame() -> pd.DataFrame:\n    return frame\n"
    )
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec
    make_array, make_frame = shell.user_ns["make_array"], shell.user_ns["make_frame"]
    _check(array, frame, make_array(), make_frame())
    return {"array": _times(make_array, repeat), "frame": _times(make_frame, repeat)}


def rows(cfg: Config) -> list[Row]:
    mb, nrows, repeat, rounds = (8, 100_000, 2, 1) if cfg.quick else (100, 1_000_000, 3, 2)
    res: dict[str, dict[str, list[float]]] = {"fnb": {}, "fk": {}, "floor": {}}
    for _ in range(rounds):  # alternating processes, so a burst of load on a shared machine hits all alike
        for side, acc in res.items():
            got = run_worker(
                "bench_data", "worker", {"side": side, "mb": mb, "rows": nrows, "repeat": repeat}
            )
            for key, values in got.items():
                acc.setdefault(key, []).extend(values)
    out = []
    for key, label in (
        ("array", f"{mb} MB float64 ndarray returned by a task"),
        ("frame", f"{nrows:,}-row DataFrame (int64, float64, int32, str) returned by a task"),
    ):
        fnb, fk, floor = (median(res[s][key]) for s in ("fnb", "fk", "floor"))
        fmt = median(res["floor"][f"{key}_format"])
        kind = "np.save/np.load" if key == "array" else "parquet write/read"
        out.append(
            Row(
                "3 large outputs",
                label + " (floor: pickle round trip)",
                "ms",
                fnb,
                fk,
                floor=floor,
                target="≤ 1.5x the floor",
                met=fnb <= 1.5 * floor,
                note=f"format floor ({kind} in memory): {fmt:.0f} ms; flyte_nb ÷ format floor {fnb / fmt:.2f}",
            )
        )
    return out
