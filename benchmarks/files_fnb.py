"""A file task as a flyte_nb module task (the process sandbox's container loads it by module and name)."""

from __future__ import annotations

import os

import flyte_nb as fnb


@fnb.task
def same_file(f: fnb.FlyteFile) -> fnb.FlyteFile:
    """Make the file local (``os.fspath``) and hand it back unchanged."""
    assert os.path.getsize(f) > 0
    return f
