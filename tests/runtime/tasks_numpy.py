"""A module-level task returning a large numpy array (kept apart: numpy is slow to import)."""

from __future__ import annotations

import numpy

import flyte_nb as fnb


@fnb.task
def big_array(n: int) -> numpy.ndarray:
    return numpy.arange(n, dtype=numpy.float64)
