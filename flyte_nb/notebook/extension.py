"""The IPython extension: ``%load_ext flyte_nb``, ``%unload_ext flyte_nb``, ``%reload_ext flyte_nb``.

Loading does three things, and unloading undoes them:

* registers the magics of :class:`~flyte_nb.notebook.magic.FlyteMagics` (whose instance holds the kernel's
  flyte_nb state; :func:`current_magics` finds it) and ``%flyte_runs``
  (:class:`~flyte_nb.notebook.runs_magic.FlyteRunsMagics`);
* registers how tasks and remote executions are displayed with IPython's display formatters
  (:func:`flyte_nb.notebook.display_hooks.register`): the task widget and the live execution view, with
  static HTML / text beside them; and the previews of files, directories and datasets shown in a cell.
  The core and network objects only have a plain ``__repr__``; in a kernel without the extension, that
  text is what a task or an execution shows;
* installs the :class:`~flyte_nb.notebook.session.KernelSession` through which the core reads the notebook
  namespace, cell locations and the configured remote (:mod:`flyte_nb.core.session`).

No hooks, signal handlers or imports of the task machinery beyond that: the formatters are registered by
type name, so neither the core, grpc nor the widget code is imported until a task or an execution is
shown.

To load the extension in every new kernel without editing configuration, pick the "Python 3 (Flyte)"
kernel that ``pip install flyte-nb`` installs (``share/jupyter/kernels/flyte-python3``): it starts
ipykernel with ``--ext flyte_nb``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from flyte_nb.notebook.magic import FlyteMagics

__all__ = ["current_magics", "load_ipython_extension", "unload_ipython_extension"]

_REGISTRY_KEY = "FlyteMagics"


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the flyte_nb magics, views and notebook session on ``ipython`` (an ``InteractiveShell``)."""
    from flyte_nb.core import session
    from flyte_nb.notebook import display_hooks
    from flyte_nb.notebook.magic import FlyteMagics

    if _REGISTRY_KEY in ipython.magics_manager.registry:  # loaded twice by hand: keep the state
        return
    magics = FlyteMagics(ipython)
    ipython.register_magics(magics)
    from flyte_nb.notebook.runs_magic import FlyteRunsMagics

    ipython.register_magics(FlyteRunsMagics(ipython, magics))
    display_hooks.register(ipython)
    session.install(magics.session)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove what loading added (the tasks already defined stay in the namespace, as plain objects)."""
    from flyte_nb.core import session
    from flyte_nb.notebook import display_hooks

    manager = ipython.magics_manager
    magics = manager.registry.pop(_REGISTRY_KEY, None)
    if magics is None:
        return
    runs = manager.registry.pop("FlyteRunsMagics", None)
    for registered in [m for m in (magics, runs) if m is not None]:
        for kind, names in registered.magics.items():
            table = manager.magics[kind]
            for name in names:
                table.pop(name, None)
    display_hooks.unregister(ipython)
    session.uninstall(magics.session)


def current_magics(ipython: InteractiveShell | None = None) -> FlyteMagics | None:
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
