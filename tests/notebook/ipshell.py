"""A real IPython shell for tests, with the extension loaded and the namespace cleaned after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from flyte_nb.notebook.extension import current_magics


def shell_fixture() -> Iterator[Any]:
    # The process-wide shell (other test areas share it; a second shell class cannot coexist).
    shell = InteractiveShell.instance()
    if current_magics(shell) is None:
        shell.run_line_magic("load_ext", "flyte_nb")
    before = set(shell.user_ns)
    try:
        yield shell
    finally:
        for name in set(shell.user_ns) - before:
            del shell.user_ns[name]
        magics = current_magics(shell)
        if magics is not None:
            magics.tasks.clear()
            magics.remote_config = {}
            magics.remote = None


def cell(shell: Any, source: str) -> Any:
    """Run ``source`` as a notebook cell (stored in history, like a real cell); raise its error."""
    result = shell.run_cell(source, store_history=True)
    result.raise_error()
    return result
