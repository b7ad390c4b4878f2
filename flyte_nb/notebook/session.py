"""The kernel's side of :mod:`flyte_nb.core.session`: what the core may ask of this notebook.

``%load_ext flyte_nb`` installs a :class:`KernelSession` for its shell; the core then reads the notebook
namespace (cell-body tasks), the cell a piece of code came from (the payload manifest) and the
configured remote (``SandboxExecutor(mode="remote")``) through it, without importing IPython.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte_nb.core.session import Submitter
    from flyte_nb.notebook.magic import FlyteMagics

__all__ = ["KernelSession"]


class KernelSession:
    """A :class:`~flyte_nb.core.session.NotebookSession` backed by an IPython shell and its magics."""

    def __init__(self, magics: FlyteMagics) -> None:
        self._magics = magics

    @property
    def _shell(self) -> Any:
        return self._magics.shell

    def user_namespace(self) -> MutableMapping[str, Any]:
        ns: MutableMapping[str, Any] = self._shell.user_ns
        return ns

    def cell_of_file(self, filename: str) -> int | None:
        # IPython's compiler maps the file name it gave each cell's code to that cell's execution count.
        mapping = getattr(self._shell.compile, "_filename_map", None)
        number = mapping.get(filename) if isinstance(mapping, dict) else None
        return number if isinstance(number, int) else None

    def cell_sources(self) -> Sequence[str]:
        history = getattr(self._shell.history_manager, "input_hist_parsed", None)
        return history if isinstance(history, list) else []

    def default_submitter(self) -> Submitter | None:
        remote: Submitter | None = self._magics.remote
        return remote
