"""The IPython extension: ``%load_ext flyte_nb``, ``%unload_ext flyte_nb``, ``%reload_ext flyte_nb``.

Loading registers the magics of :class:`~flyte_nb.notebook.magic.FlyteMagics` and does nothing else (no
hooks, no handlers, no imports of the task machinery until a magic is used). The magics instance holds the
kernel's flyte_nb state; :func:`current_magics` finds it.

To load the extension in every new kernel without editing configuration, pick the "Python 3 (Flyte)"
kernel that ``pip install flyte-nb`` installs (``share/jupyter/kernels/flyte-python3``): it starts
ipykernel with ``--ext flyte_nb``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte_nb.notebook.magic import FlyteMagics

__all__ = ["current_magics", "load_ipython_extension", "unload_ipython_extension"]

_REGISTRY_KEY = "FlyteMagics"


def load_ipython_extension(ipython: Any) -> None:
    """Register the flyte_nb magics on ``ipython`` (an ``InteractiveShell``)."""
    from flyte_nb.notebook.magic import FlyteMagics

    if _REGISTRY_KEY in ipython.magics_manager.registry:  # loaded twice by hand: keep the state
        return
    ipython.register_magics(FlyteMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the flyte_nb magics from ``ipython`` (the tasks already defined stay in the namespace)."""
    manager = ipython.magics_manager
    magics = manager.registry.pop(_REGISTRY_KEY, None)
    if magics is None:
        return
    for kind, names in magics.magics.items():
        table = manager.magics[kind]
        for name in names:
            table.pop(name, None)


def current_magics(ipython: Any = None) -> FlyteMagics | None:
    """The :class:`FlyteMagics` registered in ``ipython`` (default: the running shell), or ``None``."""
    if ipython is None:
        module = sys.modules.get("IPython")
        get = getattr(module, "get_ipython", None)
        ipython = get() if get is not None else None
    manager = getattr(ipython, "magics_manager", None)
    if manager is None:
        return None
    found: FlyteMagics | None = manager.registry.get(_REGISTRY_KEY)
    return found
