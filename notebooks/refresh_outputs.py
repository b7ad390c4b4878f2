"""Re-execute the notebooks here and store their outputs (``python notebooks/refresh_outputs.py [NAME…]``).

Outputs are what a reader sees on GitHub and what nbval compares for cells tagged ``nbval-check-output``.
Widget views are dropped (they need a live kernel); each task's static HTML/text view stays. ``remote.ipynb``
needs a cluster and is refreshed by hand against one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
WIDGET = "application/vnd.jupyter.widget-view+json"
LOCAL = ("quickstart.ipynb", "pickle_untyped.ipynb", "dynamic.ipynb", "data.ipynb", "flytekit_users.ipynb")


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    ).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps: noise in every diff
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET, None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    for name in sys.argv[1:] or LOCAL:
        refresh(HERE / name)
        print("refreshed", name)
