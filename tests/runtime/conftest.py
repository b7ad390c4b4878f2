"""Fixtures for the runtime tests: a container-image environment and a propeller-style runner."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from flyteidl.core import literals_pb2

from flyte_nb.core.serialize import serialize_task
from flyte_nb.core.settings import SerializationSettings
from flyte_nb.core.storage import LocalStore
from flyte_nb.core.types import TypeEngine
from tests import propeller

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def image_env() -> dict[str, str]:
    """The "container image" environment: this interpreter, with the test task modules importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    for key in ("FLYTE_FAIL_ON_ERROR", "_F_L_MIN_SIZE_MB", "_F_L_MAX_SIZE_MB"):
        env.pop(key, None)
    return env


def inputs_for(task: Any, store_dir: pathlib.Path, **values: Any) -> literals_pb2.LiteralMap:
    """The inputs.pb a client would send for ``values`` (raw data written under ``store_dir``)."""
    types = task.python_interface.inputs
    return TypeEngine.to_literal_map(values, {k: types[k] for k in values}, store=LocalStore(str(store_dir)))


def outputs_of(task: Any, outputs: literals_pb2.LiteralMap) -> dict[str, Any]:
    """The native values of an outputs.pb (raw data read from wherever the URIs point)."""
    return TypeEngine.literal_map_to_python(outputs, task.python_interface.outputs, store=LocalStore())


RunTask = Callable[..., propeller.PropellerResult]


@pytest.fixture
def run_task(tmp_path: pathlib.Path, image_env: dict[str, str]) -> RunTask:
    """Serialize ``task`` and run its template through the propeller harness."""

    def run(
        task: Any,
        *,
        env: dict[str, str] | None = None,
        settings: SerializationSettings | None = None,
        payload_dir: pathlib.Path | None = None,
        **values: Any,
    ) -> propeller.PropellerResult:
        template = serialize_task(task, settings)
        lm = inputs_for(task, tmp_path / "client", **values)
        return propeller.run_task_template(
            template, lm, tmp_path / "bucket", payload_dir, {**image_env, **(env or {})}
        )

    return run
