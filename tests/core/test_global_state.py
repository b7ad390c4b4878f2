"""Process-wide state flyte_nb keeps is bounded and goes away with what it belongs to."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import weakref

import pytest

import flyte_nb as fnb
from flyte_nb.core.types import engine


def test_rerunning_a_dataclass_cell_does_not_keep_every_old_class_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notebook re-runs the cell defining a @dataclass: each run makes a new class. The engine's memo
    (and the mashumaro codecs) keep at most a bounded number of them (made small here, to run fast)."""
    from flyte_nb.core.types import _common

    memos = [engine._ENTRIES, engine._BY_ID, _common.msgpack_encoder.memo, _common.msgpack_decoder.memo]  # type: ignore[attr-defined]
    for memo in memos:
        monkeypatch.setattr(memo, "maxsize", 16)
    refs = []
    for i in range(40):
        cls = dataclasses.make_dataclass(f"Point{i}", [("x", int)])
        lit = fnb.TypeEngine.to_literal(cls(x=i), cls)
        assert fnb.TypeEngine.to_python_value(lit, cls) == cls(x=i)
        refs.append(weakref.ref(cls))
        del cls, lit
    gc.collect()
    assert refs[0]() is None, "the oldest class is released"
    assert all(len(memo) <= 16 for memo in memos)


def test_a_working_directory_made_for_a_run_lives_until_the_process_exits() -> None:
    """A kernel run's working directory outlives the run (a returned file written there stays valid)
    and is removed when the interpreter exits."""
    code = (
        "import gc, os, sys\n"
        "from flyte_nb.core.context import ExecutionParameters\n"
        "params = ExecutionParameters()\n"
        "path = params.get_working_directory()\n"
        "open(os.path.join(path, 'out.txt'), 'w').write('x')\n"
        "del params; gc.collect()\n"
        "assert os.path.isfile(os.path.join(path, 'out.txt')), 'removed with the run'\n"
        "print(path)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert not os.path.exists(out.strip()), "left behind after exit"
