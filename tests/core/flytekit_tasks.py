"""Tasks written the way flytekit users write them, for the context / secrets / checkpoint / deck tests.

Module level, so that the process sandbox imports them by name, like any task defined in a module.
"""

from __future__ import annotations

import os

import flyte_nb as fnb
from flyte_nb import Deck, Secret, current_context
from flyte_nb.errors import RecoverableError

DB = Secret(group="db", key="password")
TOKEN = Secret(group="api", key="token", mount_requirement=Secret.MountType.ENV_VAR, env_var="API_TOKEN")


@fnb.task
def context_info() -> dict[str, str]:
    ctx = current_context()
    return {
        "execution": f"{ctx.execution_id.project}/{ctx.execution_id.domain}/{ctx.execution_id.name}",
        "task": f"{ctx.task_id.project}/{ctx.task_id.domain}/{ctx.task_id.name}/{ctx.task_id.version}",
        "workdir": str(os.path.isdir(ctx.working_directory)),
        "logger": ctx.logging.name,
        "attempt": str(ctx.attempt_number),
    }


@fnb.task(secret_requests=[DB])
def password_length() -> int:
    """Reads its secret; returns only its length (a task never returns a secret in these tests)."""
    return len(current_context().secrets.get("db", "password"))


@fnb.task(secret_requests=[DB, TOKEN])
def two_secrets() -> str:
    secrets = current_context().secrets
    token_env = os.environ.get("API_TOKEN", "")
    return f"{len(secrets.get('db', 'password'))}/{len(secrets.api.token)}/{len(token_env)}"


@fnb.task
def unrequested_secret() -> int:
    """Reads a secret it did not request: fine in the kernel (as in flytekit), refused where Flyte runs it."""
    return len(current_context().secrets.get("db", "password"))


@fnb.task(retries=2)
def resumes(n: int) -> str:
    """Attempt 0 checkpoints its progress and fails recoverably; attempt 1 resumes from the checkpoint."""
    cp = current_context().checkpoint
    previous = cp.read()
    if previous is None:
        cp.write(f"done {n // 2} of {n}".encode())
        raise RecoverableError("interrupted half way")
    return f"resumed from '{previous.decode()}' on attempt {current_context().attempt_number}"


@fnb.task(retries=1)
def saves_files(root: str) -> list[str]:
    cp = current_context().checkpoint
    restored = cp.restore()
    if restored is None:
        os.makedirs(os.path.join(root, "state", "sub"), exist_ok=True)
        with open(os.path.join(root, "state", "a.txt"), "w") as fh:
            fh.write("a")
        with open(os.path.join(root, "state", "sub", "b.txt"), "w") as fh:
            fh.write("b")
        cp.save(os.path.join(root, "state"))
        raise RecoverableError("retry me")
    return sorted(str(p.relative_to(restored)) for p in restored.rglob("*") if p.is_file())


@fnb.task(enable_deck=True)
def with_decks(a: int, b: str = "x") -> int:
    Deck("mine", "<b>hello deck</b>")
    current_context().default_deck.append("<i>to default</i>")
    return a * 2


@fnb.task(enable_deck=True, deck_fields=["Input", "Output"])
def io_decks(a: int) -> str:
    return f"<script>{a}</script>"


@fnb.task(enable_deck=True, retries=0)
def deck_then_fail(a: int) -> int:
    Deck("before", "<p>made before the failure</p>")
    raise ValueError("boom")
