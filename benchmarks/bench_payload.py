"""6. The pickled payload of a trivial notebook task, and whether its version survives a re-run cell.

Each library runs in real Jupyter kernels (ipykernel, started with jupyter_client) in fresh processes.
The task cell is run, measured, run again *unchanged* and measured again; a second kernel (a restart)
runs it once more. Payload = what each library uploads for the task: flyte_nb's
``resolver.payload(task)``; flytekit's interactive-mode pickle (``cloudpickle`` of its pickled-entity
dict, gzipped, as ``FlyteRemote`` uploads it). Version = flyte_nb's content-hash ``task_version`` and
flytekit's interactive-mode ``_version_from_hash`` of the same pickle (what ``FlyteRemote.execute``
registers with).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from benchmarks.harness import MARK, REPO, Config, Row, env, median

DEF = "def add(a: int, b: int) -> int:\n    return a + b\n"

SETUP = {
    "fnb": "%load_ext flyte_nb",
    "fk": "from flytekit import task",
}
CELL = {
    "fnb": "%%flyte_task\n" + DEF,
    "fk": "@task\n" + DEF,
}
MEASURE = {
    "fnb": """
import gzip as _gz, json as _j, time as _t, cloudpickle as _cp
from flyte_nb.core.serialize import task_version as _tv
_ms, _fl = [], []
for _ in range(_N):
    _t0 = _t.perf_counter(); _p = add.task_resolver.payload(add); _ms.append((_t.perf_counter() - _t0) * 1e3)
    # floor: the bare function, cloudpickled by value and gzipped (no task, no header)
    _t0 = _t.perf_counter(); _f = _gz.compress(_cp.dumps(add.task_function), mtime=0); _fl.append((_t.perf_counter() - _t0) * 1e3)
print(_MARK + _j.dumps({"version": _tv(add), "size": len(_p.data), "ms": _ms, "floor_size": len(_f), "floor_ms": _fl}))
""",
    "fk": """
import gzip as _gz, io as _io, json as _j, time as _t, cloudpickle as _cp
from flytekit.configuration import ImageConfig as _IC, SerializationSettings as _SS
from flytekit.remote.remote import FlyteRemote as _FR, _get_pickled_target_dict as _pick

def _payload():
    md5, target = _pick(add)  # flytekit pickles once for the version ...
    buf = _io.BytesIO()
    with _gz.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:  # ... and once more for the upload
        _cp.dump(target, gz)
    return md5, buf.getvalue()

_ms = []
for _ in range(_N):
    _t0 = _t.perf_counter(); _md5, _data = _payload(); _ms.append((_t.perf_counter() - _t0) * 1e3)
_ss = _SS(image_config=_IC.auto_default_image(), project="flytesnacks", domain="development")
_v = _FR._version_from_hash(_md5, _ss, add.python_interface.default_inputs_as_kwargs,
                            *_FR._get_image_names(add), *_FR._get_pod_template_hash(add))
print(_MARK + _j.dumps({"version": _v, "size": len(_data), "ms": _ms}))
""",
}


def _run(kc: Any, code: str) -> str:
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, timeout=120, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel cell failed:\n{code}\n{''.join(out)}")
    return "".join(out)


def _kernel_session(side: str, reruns: int, n: int) -> list[dict[str, Any]]:
    """One kernel: define the task, measure, re-run the unchanged cell ``reruns`` times, measuring each."""
    from jupyter_client.manager import start_new_kernel

    # the kernel's stderr (ipykernel's TCP warning) is not part of the report
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(REPO), env=env(), stderr=subprocess.DEVNULL)
    try:
        _run(kc, f"_MARK = {MARK!r}\n_N = {n}")
        _run(kc, SETUP[side])
        results = []
        for _ in range(1 + reruns):
            _run(kc, CELL[side])
            text = _run(kc, MEASURE[side])
            line = next(x for x in text.splitlines() if x.startswith(MARK))
            results.append(json.loads(line[len(MARK) :]))
        return results
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def rows(cfg: Config) -> list[Row]:
    n = 5 if cfg.quick else 30
    res = {}
    for side in ("fnb", "fk"):
        first = _kernel_session(side, reruns=1, n=n)
        restarted = [] if cfg.quick else _kernel_session(side, reruns=0, n=n)
        res[side] = (first, restarted)

    def words(side: str) -> tuple[str, str]:
        first, restarted = res[side]
        rerun = "unchanged" if first[0]["version"] == first[1]["version"] else "changed"
        restart = (
            "-"
            if not restarted
            else ("unchanged" if restarted[0]["version"] == first[0]["version"] else "changed")
        )
        return rerun, restart

    def ms(side: str, key: str = "ms") -> float:
        return median([m for r in res[side][0] for m in r[key]])

    fnb_rerun, fnb_restart = words("fnb")
    fk_rerun, fk_restart = words("fk")
    group = "6 payload & version"
    out = [
        Row(
            group,
            "payload size of a trivial notebook task (gzipped pickle)",
            "bytes",
            float(res["fnb"][0][0]["size"]),
            float(res["fk"][0][0]["size"]),
            floor=float(res["fnb"][0][0]["floor_size"]),
            note="floor: the bare function, cloudpickled and gzipped",
        ),
        Row(
            group,
            "time to build that payload (pickle + gzip)",
            "ms",
            ms("fnb"),
            ms("fk"),
            floor=ms("fnb", "floor_ms"),
            note="flytekit pickles twice per submit (version, upload); flyte_nb builds it per use",
        ),
        Row(
            group,
            "task version after re-running the unchanged cell (real ipykernel)",
            "",
            fnb_rerun,
            fk_rerun,
            target="unchanged",
            met=fnb_rerun == "unchanged",
        ),
    ]
    if not cfg.quick:
        out.append(
            Row(
                group,
                "task version after a kernel restart and the same cell",
                "",
                fnb_restart,
                fk_restart,
                target="unchanged",
                met=fnb_restart == "unchanged",
            )
        )
    return out
