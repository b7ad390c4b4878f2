"""A killed task process never leaves a readable partial outputs.pb, and large values go to raw data."""

from __future__ import annotations

import pathlib
import textwrap

import pytest
from flyteidl.core import execution_pb2

from tests.runtime import tasks_mod as m
from tests.runtime.conftest import RunTask, outputs_of

# Loaded by the task process through PYTHONPATH: kills the process at a chosen point of writing
# outputs.pb, on attempt 0 only, so the timing is exact instead of racing a timer.
SITECUSTOMIZE = textwrap.dedent(
    """
    import builtins, os, signal

    _where = os.environ.get("KILL_OUTPUTS_AT")
    if _where and os.environ.get("FLYTE_ATTEMPT_NUMBER") == "0":
        def _die():
            os.kill(os.getpid(), signal.SIGKILL)

        if _where == "before-rename":
            _replace = os.replace

            def _patched_replace(src, dst, *a, **k):
                if str(dst).endswith("outputs.pb"):
                    _die()
                return _replace(src, dst, *a, **k)

            os.replace = _patched_replace
        elif _where == "mid-write":
            _open = builtins.open

            class _HalfWriter:
                def __init__(self, fh):
                    self._fh = fh

                def write(self, data):
                    self._fh.write(bytes(data)[: max(1, len(data) // 2)])
                    self._fh.flush()
                    _die()

                def __getattr__(self, name):
                    return getattr(self._fh, name)

                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    self._fh.close()

            def _patched_open(file, mode="r", *a, **k):
                fh = _open(file, mode, *a, **k)
                if "outputs.pb" in str(file) and "w" in mode:
                    return _HalfWriter(fh)
                return fh

            builtins.open = _patched_open
    """
)


@pytest.fixture
def killer_env(tmp_path: pathlib.Path, image_env: dict[str, str]) -> dict[str, str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {"PYTHONPATH": f"{hooks}:{image_env['PYTHONPATH']}"}


@pytest.mark.parametrize("where", ["mid-write", "before-rename"])
def test_killed_while_writing_outputs_leaves_no_outputs_file(
    run_task: RunTask, killer_env: dict[str, str], where: str
) -> None:
    res = run_task(m.add, a=1, b=2, env={**killer_env, "KILL_OUTPUTS_AT": where})
    first = res.attempts[0]
    assert first.exit_code == 137  # SIGKILL, as Kubernetes reports it
    assert not first.paths.outputs.exists()
    assert not first.paths.error.exists()
    leftovers = [p.name for p in first.paths.output_prefix.iterdir()]
    assert leftovers
    assert all(name.endswith(".part") and name.startswith(".outputs.pb.") for name in leftovers)
    if where == "mid-write":  # the half-written bytes exist only under the temporary name
        data = (first.paths.output_prefix / leftovers[0]).read_bytes()
        assert 0 < len(data) < len(res.outputs.SerializeToString())
    # propeller: a pod failure is a SYSTEM retryable failure; the next attempt succeeds normally
    assert first.phase == "RETRYABLE_FAILURE"
    assert (first.error.code, first.error.kind) == ("Interrupted", execution_pb2.ExecutionError.SYSTEM)
    assert res.phase == "SUCCEEDED"
    assert outputs_of(m.add, res.outputs) == {"o0": 3}


@pytest.mark.slow
def test_hundred_megabyte_array_goes_to_the_raw_prefix(run_task: RunTask) -> None:
    from tests.runtime import tasks_numpy

    n = 100 * 1024 * 1024 // 8
    res = run_task(tasks_numpy.big_array, n=n)
    assert res.phase == "SUCCEEDED", res.error
    assert res.paths.outputs.stat().st_size < 4096
    blob = res.outputs.literals["o0"].scalar.blob
    raw = pathlib.Path(blob.uri)
    assert raw.is_relative_to(res.paths.raw_output_prefix)
    assert raw.stat().st_size >= 100 * 1024 * 1024
    array = outputs_of(tasks_numpy.big_array, res.outputs)["o0"]
    assert array.shape == (n,)
    assert (array[0], array[-1]) == (0.0, float(n - 1))
