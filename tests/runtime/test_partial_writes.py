"""kill -9 during an output write leaves a temporary .part file as large as the output; the next run of
that attempt directory removes it (and any in the attempt's raw-data prefix)."""

from __future__ import annotations

import pathlib

from flyte_nb.core.serialize import serialize_task
from tests import propeller
from tests.runtime import tasks_mod as m
from tests.runtime.conftest import inputs_for, outputs_of
from tests.runtime.test_crash_safety import SITECUSTOMIZE


def test_the_next_run_of_a_killed_attempt_removes_its_partial_files(
    tmp_path: pathlib.Path, image_env: dict[str, str]
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    template = serialize_task(m.add)
    inputs = inputs_for(m.add, tmp_path / "client", a=1, b=2)
    execution = ("flytesnacks", "development", "fkilled")

    def attempt(env: dict[str, str]) -> propeller.AttemptResult:
        return propeller.run_attempt(template, inputs, tmp_path / "bucket", env=env, execution=execution)

    killed = attempt(
        {**image_env, "PYTHONPATH": f"{hooks}:{image_env['PYTHONPATH']}", "KILL_OUTPUTS_AT": "mid-write"}
    )
    assert killed.exit_code == 137
    (part,) = killed.paths.output_prefix.iterdir()
    assert part.name.startswith(".outputs.pb.")
    assert part.name.endswith(".part")
    # A raw-data write killed the same way, in the attempt's raw prefix.
    raw_part = killed.paths.raw_output_prefix / "0f3c9a" / ".blob.deadbeef.part"
    raw_part.parent.mkdir(parents=True)
    raw_part.write_bytes(b"x" * 1024)
    keep = killed.paths.raw_output_prefix / "0f3c9a" / "blob"  # finished data is never touched
    keep.write_bytes(b"done")

    again = attempt(image_env)  # the same attempt directory, run again
    assert again.phase == "SUCCEEDED", again.stderr
    assert again.paths.output_prefix == killed.paths.output_prefix
    assert sorted(p.name for p in again.paths.output_prefix.iterdir()) == ["outputs.pb"]
    assert not raw_part.exists()
    assert keep.read_bytes() == b"done"
    assert outputs_of(m.add, again.outputs) == {"o0": 3}
