"""``notebooks/flytekit_users.ipynb`` with a real secret: its value appears in none of the notebook's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "flytekit_users.ipynb"
CANARY = "nb-secret-canary-31f2e4"


@pytest.mark.slow
def test_the_secret_never_appears_in_the_notebooks_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_FSEC_DB_PASSWORD", CANARY)  # as if set before Jupyter started
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert any("connected to db.internal (with a password)" in json.dumps(o) for o in outputs)  # it was used
    assert [json.dumps(o)[:200] for o in outputs if CANARY in json.dumps(o)] == []
