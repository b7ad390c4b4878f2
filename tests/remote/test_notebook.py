"""``notebooks/remote.ipynb``, executed by nbval in a real kernel against a stand-in with auth on.

The kernel is a subprocess of the nbval run, which inherits the environment this test sets: the
notebook finds the cluster the way a user's notebook does, through ``FLYTE_*`` variables, and
authenticates with client credentials read from a secret file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.standin import StandIn

REPO = Path(__file__).resolve().parents[2]
SECRET = "notebook-client-s3cret"


def test_remote_notebook_runs_against_the_standin_with_client_credentials(tmp_path: Path) -> None:
    secret_file = tmp_path / "client_secret"
    secret_file.write_text(SECRET + "\n")
    with StandIn(tmp_path / "standin", auth=True, clients={"notebook": SECRET}) as standin:
        env = {
            **os.environ,
            "HOME": str(tmp_path),  # no ~/.flyte/config.yaml of the machine running the tests
            "FLYTE_PLATFORM_URL": standin.endpoint,
            "FLYTE_PLATFORM_INSECURE": "true",
            "FLYTE_CREDENTIALS_CLIENT_ID": "notebook",
            "FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION": str(secret_file),
            "FLYTE_NB_RUN_REMOTE_NOTEBOOK": "1",  # see notebooks/conftest.py
        }
        env.pop("FLYTECTL_CONFIG", None)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "--nbval-lax",
                "--nbval-current-env",
                "-p",
                "no:cacheprovider",
                str(REPO / "notebooks" / "remote.ipynb"),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        names = sorted(e.spec.launch_plan.name for e in standin.executions())
        assert names == ["mean", "rebalance", "slow", "word_count"]  # bare names: tasks from __main__
        assert standin.oauth is not None
        assert standin.oauth.token_requests >= 1
    assert SECRET not in done.stdout + done.stderr
