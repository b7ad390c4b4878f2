"""7. Files and datasets: a 1 GB file through a container run, and a 1 M-row DataFrame with declared columns.

**1 GB file.** A task takes a ``FlyteFile`` (a local 1 GB file), makes it local (``os.fspath``) and returns
it unchanged, run as a container would run it. flyte_nb: ``SandboxExecutor("process").run`` (the input
is copied once under the run's raw prefix; the container reads it in place; the output keeps its URI).
flytekit: its own path for the same job, ``TypeEngine.to_literal`` outside a run (which copies the file
under its local raw prefix) then ``pyflyte-execute`` with the task's container args (which uploads the
returned file again under ``--raw-output-data-prefix``), then the output decoded. The clock covers input
conversion, the run and output decoding. The floor is one ``shutil.copyfile`` of the file; the note
counts the 1 GB copies each library left on disk (the target: at most one).

**1 M-row DataFrame.** A task declared ``Annotated[pd.DataFrame, kwtypes(id, x, y)] ->
Annotated[pd.DataFrame, kwtypes(id, x)]``, called in the kernel on a frame with a fourth column, so the
declared columns select on the way in and out. The floor is the parquet round trip (in memory) of what
goes in and what comes out, the format a dataset cannot avoid.
"""

# No `from __future__ import annotations`: the notebook tasks below are defined inside functions, so their
# annotations must be evaluated there, where pandas is imported (only in the workers).

import io
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import BIN, REPO, Config, Row, env, median, run_worker

_CHUNK = 1 << 20


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(_CHUNK)
    with open(path, "wb") as fh:
        for _ in range(size // _CHUNK):
            fh.write(block)


def _copies(roots: list[Path], size: int, original: Path) -> int:
    """Regular files of exactly ``size`` bytes under ``roots`` that are not ``original`` itself."""
    seen, ino = set(), original.stat().st_ino
    for root in roots:
        for p in root.rglob("*") if root.exists() else []:
            if p.is_file() and not p.is_symlink():
                st = p.stat()
                if st.st_size == size and st.st_ino != ino:
                    seen.add(st.st_ino)
    return len(seen)


def _fnb_file(path: Path, size: int) -> tuple[float, int]:
    import flyte_nb as fnb
    from benchmarks.files_fnb import same_file

    ex = fnb.SandboxExecutor("process", keep_files=True, stdout=lambda s: None, stderr=lambda s: None)
    t0 = time.perf_counter()
    out = ex.run(same_file, f=str(path))
    assert os.path.getsize(out) == size
    elapsed = time.perf_counter() - t0
    assert ex.last_run_dir is not None
    copies = _copies([ex.last_run_dir], size, path)
    shutil.rmtree(ex.last_run_dir)
    return elapsed, copies


def _fk_args() -> list[str]:
    from collections import OrderedDict

    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    from benchmarks.files_fk import same_file

    settings = SerializationSettings(image_config=ImageConfig.auto_default_image())
    return list(get_serializable(OrderedDict(), settings, same_file).template.container.args)


def _fk_file(path: Path, size: int, args: list[str], run: Path) -> tuple[float, int]:
    from flyteidl.core import literals_pb2
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal
    from flytekit.types.file import FlyteFile

    ctx = FlyteContextManager.current_context()
    raw = Path(ctx.file_access.raw_output_prefix)
    values = {
        "{{.input}}": str(run / "inputs.pb"),
        "{{.outputPrefix}}": str(run / "out"),
        "{{.rawOutputDataPrefix}}": str(run / "raw"),
        "{{.checkpointOutputPrefix}}": str(run / "ckpt"),
        "{{.prevCheckpointPrefix}}": '""',
    }
    argv = [values.get(a, a) for a in args]
    t0 = time.perf_counter()
    lit = TypeEngine.to_literal(ctx, str(path), FlyteFile, TypeEngine.to_literal_type(FlyteFile))
    lm = literals_pb2.LiteralMap()
    lm.literals["f"].CopyFrom(lit.to_flyte_idl())
    run.mkdir(parents=True)
    (run / "inputs.pb").write_bytes(lm.SerializeToString())
    proc = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, cwd=REPO, env=env()
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = literals_pb2.LiteralMap.FromString((run / "out" / "outputs.pb").read_bytes())
    out = TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(outputs.literals["o0"]), FlyteFile)
    assert os.path.getsize(out) == size
    elapsed = time.perf_counter() - t0
    copies = _copies([raw, run], size, path)
    shutil.rmtree(run, ignore_errors=True)
    for p in raw.rglob("*"):
        if p.is_file() and p.stat().st_size == size:
            p.unlink()  # this repetition's upload; the next one uploads its own
    return elapsed, copies


def file_worker(args: dict[str, Any]) -> dict[str, list[float]]:
    size, side = args["mb"] * _CHUNK, args["side"]
    with tempfile.TemporaryDirectory(prefix="flyte-nb-bench-files-") as tmp:
        path = Path(tmp) / "big.bin"
        _make_file(path, size)
        times, copies = [], []
        fk_args = _fk_args() if side == "fk" else []
        for i in range(args["repeat"]):
            # A new name per repetition (a hard link: no data copied): flytekit memoizes to_literal by value.
            path = Path(tmp) / f"big{i}.bin"
            os.link(Path(tmp) / "big.bin", path)
            if side == "floor":
                t0 = time.perf_counter()
                shutil.copyfile(path, Path(tmp) / "copy.bin")
                times.append(time.perf_counter() - t0)
                os.remove(Path(tmp) / "copy.bin")
                copies.append(1)
                continue
            elapsed, n = (
                _fnb_file(path, size)
                if side == "fnb"
                else _fk_file(path, size, fk_args, Path(tmp) / f"run{i}")
            )
            times.append(elapsed)
            copies.append(n)
    return {"s": times, "copies": copies}


def _frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "x": rng.random(rows),
            "y": rng.integers(0, 1000, rows).astype(np.int64),
            "name": pd.Series([f"row{i % 1000}" for i in range(rows)], dtype=str),
        }
    )


def frame_worker(args: dict[str, Any]) -> dict[str, list[float]]:
    import pandas as pd

    frame, side, repeat = _frame(args["rows"]), args["side"], args["repeat"]
    times = []
    if side == "floor":
        for _ in range(repeat):
            t0 = time.perf_counter()
            for part in (frame[["id", "x", "y"]], frame[["id", "x"]]):
                buf = io.BytesIO()
                part.to_parquet(buf)
                pd.read_parquet(io.BytesIO(buf.getvalue()))
            times.append((time.perf_counter() - t0) * 1e3)
        return {"ms": times}
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(frame=frame, pd=pd)
    lib = "flyte_nb" if side == "fnb" else "flytekit"
    cell = (
        f"import {lib} as lib\nfrom typing import Annotated\n"
        "In = Annotated[pd.DataFrame, lib.kwtypes(id=int, x=float, y=int)]\n"
        "Out = Annotated[pd.DataFrame, lib.kwtypes(id=int, x=float)]\n"
        "@lib.task\ndef keep(df: In) -> Out:\n    assert list(df.columns) == ['id', 'x', 'y']\n    return df\n"
    )
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec
    keep = shell.user_ns["keep"]
    got = keep(df=frame)
    assert list(got.columns) == ["id", "x"]
    assert len(got) == len(frame)
    for _ in range(repeat):
        t0 = time.perf_counter()
        keep(df=frame)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": times}


def rows(cfg: Config) -> list[Row]:
    mb, nrows, repeat = (16, 100_000, 1) if cfg.quick else (1024, 1_000_000, 3)
    files: dict[str, dict[str, list[float]]] = {"fnb": {}, "fk": {}, "floor": {}}
    for side, acc in files.items():
        got = run_worker(
            "bench_files", "file_worker", {"side": side, "mb": mb, "repeat": repeat}, timeout=1800
        )
        for key, values in got.items():
            acc.setdefault(key, []).extend(values)
    frames: dict[str, list[float]] = {"fnb": [], "fk": [], "floor": []}
    for _ in range(1 if cfg.quick else 2):  # alternating processes, as in group 3
        for side, acc2 in frames.items():
            acc2 += run_worker(
                "bench_files", "frame_worker", {"side": side, "rows": nrows, "repeat": repeat}
            )["ms"]
    fnb_copies, fk_copies = max(files["fnb"]["copies"]), max(files["fk"]["copies"])
    size = f"{mb / 1024:g} GB" if mb >= 1024 else f"{mb} MB"
    group = "7 files & datasets"
    return [
        Row(
            group,
            f"{size} `FlyteFile` in and back out of a task run as a container: flyte_nb process sandbox vs "
            "flytekit `to_literal` + `pyflyte-execute` (floor: one copy of the file)",
            "s",
            median(files["fnb"]["s"]),
            median(files["fk"]["s"]),
            floor=median(files["floor"]["s"]),
            target="at most one copy",
            met=fnb_copies <= 1,
            note=f"copies of the file left on disk: flyte_nb {fnb_copies}, flytekit {fk_copies}",
        ),
        Row(
            group,
            f"{nrows:,}-row DataFrame with declared columns in and out of an in-kernel call "
            "(floor: parquet round trip of what goes in and out)",
            "ms",
            median(frames["fnb"]),
            median(frames["fk"]),
            floor=median(frames["floor"]),
        ),
    ]
