"""``ImageSpec.runtime_packages``: packages pip installs when the task's container starts (as flytekit).

The template carries them in ``_F_RUNTIME_PACKAGES`` (space separated); :func:`install` runs
``python -m pip install`` with them before the task is loaded, as ``pyflyte-execute`` does. The process
sandbox runs in the kernel's own environment, where installing would change the user's packages: it
checks instead that they are installed there (:func:`sandbox_environment`).
"""

from __future__ import annotations

import importlib
import os
import re
import site
import subprocess
import sys
from collections.abc import Iterable

from flyteidl.core import tasks_pb2

from flyte_nb.errors import ImageSpecError, StorageError

__all__ = ["ENV", "install", "sandbox_environment"]

ENV = "_F_RUNTIME_PACKAGES"
INSTALL_TIMEOUT = 1800.0


def install() -> None:
    """pip install ``$_F_RUNTIME_PACKAGES`` into this interpreter (a no-op without it).

    Raises
    ------
    StorageError
        pip failed or timed out (the packages could not be fetched), with pip's output tail.
    """
    packages = os.environ.get(ENV, "").split()
    if not packages:
        return
    argv = [sys.executable, "-m", "pip", "install", *packages]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise StorageError(
            f"Installing the runtime packages {packages} took over {INSTALL_TIMEOUT:g}s."
        ) from None
    if done.returncode != 0:
        raise StorageError(
            f"Installing the runtime packages {packages} failed (pip exit code {done.returncode}): "
            f"{(done.stderr or done.stdout)[-2000:]}"
        )
    importlib.reload(site)  # new site-packages entries (.pth files) become importable


def _name(requirement: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return m.group(1) if m else requirement


def sandbox_environment(templates: Iterable[tasks_pb2.TaskTemplate]) -> dict[str, str | None]:
    """The process sandbox's handling of runtime packages: withheld from the task process, after checking
    that the kernel's environment (which the task process shares) has them.

    Raises
    ------
    ImageSpecError
        A runtime package is not installed in this kernel; the message says what to install.
    """
    from importlib import metadata

    wanted: list[str] = []
    for template in templates:
        for kv in template.container.env:
            if kv.key == ENV:
                wanted += kv.value.split()
    missing = []
    for requirement in wanted:
        try:
            metadata.distribution(_name(requirement))
        except metadata.PackageNotFoundError:  # noqa: PERF203 - a handful of packages
            missing.append(requirement)
    if missing:
        raise ImageSpecError(
            f"The task's ImageSpec installs {missing} when its container starts, but the process sandbox runs in "
            f"this kernel's environment, which lacks them: pip install {' '.join(missing)} in the kernel."
        )
    return {ENV: None} if wanted else {}
