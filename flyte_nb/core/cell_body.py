"""Cell-body tasks: a notebook cell's body as a task (``%%flyte_task NAME --inputs a b --outputs c``).

The kernel layer builds the function (:mod:`flyte_nb.notebook.magic_cell`); this class is what it becomes.
It lives in the core because a container unpickles it to run the task, without the kernel layer.
"""

from __future__ import annotations

from typing import Any

from flyte_nb.core import session
from flyte_nb.core.context import FlyteContextManager
from flyte_nb.core.function_task import PythonFunctionTask
from flyte_nb.errors import TaskInputError

__all__ = ["CellBodyTask"]


class CellBodyTask(PythonFunctionTask[Any]):
    """A task made from a cell body.

    Called without arguments in a notebook with the flyte_nb extension loaded, it reads its inputs from
    the notebook namespace and assigns its outputs back into it, as the cell itself would. Called with
    arguments, outside a notebook, or in a container, it is a plain task with inputs and outputs.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # IPython shows the cell body's frames of a failing run, not ours
        notebook = session.current()
        if args or notebook is None or FlyteContextManager.current_context().compilation_state is not None:
            return super().__call__(*args, **kwargs)
        ns = notebook.user_namespace()
        iface = self.python_interface
        for name in iface.inputs:
            if name in kwargs:
                continue
            if name not in ns:
                raise TaskInputError(
                    f"Task '{self.name}' reads input '{name}' from the notebook, but '{name}' is not defined. "
                    f"Define {name} in a cell, or call {self.name}({name}=...)."
                )
            kwargs[name] = ns[name]
        result = super().__call__(**kwargs)
        names = list(iface.outputs)
        if len(names) == 1 and not (isinstance(result, tuple) and hasattr(result, "_fields")):
            ns[names[0]] = result
        elif names:
            ns.update(zip(names, result, strict=True))
        return result
