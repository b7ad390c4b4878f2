"""The kernel's side of :mod:`flyte_nb.core.session`: what the core may ask of this notebook.

``%load_ext flyte_nb`` installs a :class:`KernelSession` for its shell; the core then reads the notebook
namespace (cell-body tasks), the cell a piece of code came from (the payload manifest), the
configured remote (``SandboxExecutor(mode="remote")``) and the run ledger through it, without importing
IPython.

The run ledger is the file beside the notebook: the kernel's working directory when the extension was
loaded (Jupyter starts a kernel in its notebook's directory), or ``$FLYTE_NB_RUN_LEDGER``. The notebook's
own name comes from ``$JPY_SESSION_NAME``, which Jupyter servers set for the kernels they start (or from
VS Code's ``__vsc_ipynb_file__``).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte_nb.core.ledger import RunLedger
    from flyte_nb.core.session import Submitter
    from flyte_nb.notebook.magic import FlyteMagics

__all__ = ["KernelSession"]


class KernelSession:
    """A :class:`~flyte_nb.core.session.NotebookSession` backed by an IPython shell and its magics."""

    def __init__(self, magics: FlyteMagics, directory: str | None = None) -> None:
        self._magics = magics
        # Fixed at load: a later os.chdir in a cell must not scatter the runs over several ledgers.
        self.directory = directory if directory is not None else os.getcwd()
        self._ledger: RunLedger | None = None
        self._ledger_path: object = None

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

    @property
    def notebook(self) -> str:
        """The file name of the notebook this kernel runs, or ``""`` when the kernel was not told
        (Jupyter servers set ``$JPY_SESSION_NAME``; VS Code sets ``__vsc_ipynb_file__``)."""
        path = os.environ.get("JPY_SESSION_NAME") or self.user_namespace().get("__vsc_ipynb_file__", "")
        return os.path.basename(path) if isinstance(path, str) else ""

    @property
    def ledger(self) -> RunLedger | None:
        """The run ledger of this notebook's directory (``None`` when ``$FLYTE_NB_RUN_LEDGER`` is ``off``)."""
        from flyte_nb.core.ledger import RunLedger, ledger_path

        path = ledger_path(self.directory)  # read each time: a cell may set $FLYTE_NB_RUN_LEDGER
        if path is None:
            return None
        if self._ledger is None or self._ledger_path != path:
            self._ledger, self._ledger_path = RunLedger(path, notebook=self.notebook), path
        return self._ledger

    def run_recorder(self) -> RunLedger | None:
        return self.ledger
