"""Shared pytest configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Variables that would point tests at the developer's own Flyte cluster or config.
_FLYTE_CONFIG_PREFIXES = ("FLYTE_PLATFORM_", "FLYTE_CREDENTIALS_", "FLYTE_AWS_", "FLYTE_LOCAL_")
_FLYTE_CONFIG_NAMES = ("FLYTECTL_CONFIG", "_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE")


@pytest.fixture(autouse=True)
def _no_ambient_flyte_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never pick up the machine's ``FLYTE_*`` variables or ``~/.flyte/config.yaml``.

    A test that needs configuration sets it explicitly (env vars, ``config_file=`` or ``home=``).
    """
    for name in list(os.environ):
        if name.startswith(_FLYTE_CONFIG_PREFIXES) or name in _FLYTE_CONFIG_NAMES:
            monkeypatch.delenv(name)
    from flyte_nb.remote import config

    empty_home = tmp_path_factory.mktemp("home")
    original = config.find_config_file

    def find_config_file(
        config_file: object = None, *, env: object = None, home: object = None, cwd: object = None
    ) -> Path | None:
        return original(config_file, env=env, home=empty_home if home is None else home, cwd=cwd)  # type: ignore[arg-type]

    monkeypatch.setattr(config, "find_config_file", find_config_file)


@pytest.fixture(autouse=True)
def _no_ambient_user_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests (and the kernels they start, which inherit the environment) write no run ledger into the
    checkout and no login tokens into the machine's config dir, and never open a browser to sign in.

    A test about those sets the variables itself.
    """
    state = tmp_path_factory.mktemp("user-state")
    monkeypatch.setenv("FLYTE_NB_RUN_LEDGER", str(state / "runs.sqlite"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(state / "config"))
    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "file")
    monkeypatch.setenv("FLYTE_NB_LOGIN", "device")


# Data for the file and directory tests of several layers (tests/remote, tests/runtime); a module may
# define its own under the same name.
@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "scores.csv"
    path.write_text("id,score\n1,0.5\n2,0.9\n3,0.1\n")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "three"
    (root / "sub").mkdir(parents=True)
    for name, text in (("a.txt", "alpha"), ("b.txt", "beta"), ("sub/c.txt", "gamma")):
        (root / name).write_text(text)
    return root
