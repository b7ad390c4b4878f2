"""What ``%load_ext flyte_nb`` adds to IPython's display machinery, and ``%unload_ext`` removes.

Tasks and remote executions show through :mod:`flyte_nb.notebook.views` (the widget, with static HTML and
text beside it); files, directories and datasets displayed on their own show a preview. Registration is
by module and class name, so that it imports neither the core nor grpc (IPython matches subclasses such as
``PythonFunctionTask`` and ``CellBodyTask`` through their MRO), and the functions registered import the
views on their first use: loading the extension stays cheap, and a kernel that never displays a task never
imports the widget code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.lib.pretty import RepresentationPrinter

__all__ = ["register", "unregister"]


def _show_task(obj: Any) -> None:
    from flyte_nb.notebook import views

    views.display_task(obj)


def _task_printer(obj: Any, p: RepresentationPrinter, cycle: bool) -> None:
    from flyte_nb.notebook import views

    p.text(views.task_text(obj))  # type: ignore[no-untyped-call]  # IPython.lib.pretty is not annotated


def _show_execution(obj: Any) -> None:
    from flyte_nb.notebook import views

    views.display_execution(obj)


def _execution_printer(obj: Any, p: RepresentationPrinter, cycle: bool) -> None:
    from flyte_nb.notebook import views

    p.text(views.execution_text(obj))  # type: ignore[no-untyped-call]


def _show_data_value(obj: Any) -> None:
    from flyte_nb.notebook import views

    views.display_data_value(obj)


# (module, class, ipython_display, text/plain printer)
_VIEWS = (
    ("flyte_nb.core.task", "Task", _show_task, _task_printer),
    ("flyte_nb.remote.executions", "RemoteExecution", _show_execution, _execution_printer),
)
# Files, directories and datasets keep their repr as text (a list of them prints as before); displayed
# on their own (a cell's last line, display()) they show their preview.
_DATA_VIEWS = (
    ("flyte_nb.core.types.file", "FlyteFile"),
    ("flyte_nb.core.types.directory", "FlyteDirectory"),
    ("flyte_nb.core.types.structured_dataset", "StructuredDataset"),
)


def register(shell: InteractiveShell) -> None:
    """Show tasks, executions and data values in ``shell`` with the views.

    ``display(task)`` (and a task as a cell's last line) goes to ``views.display_task``; a task inside a
    list or in a terminal prints ``views.task_text``. The same for ``RemoteExecution``.
    """
    formatter = shell.display_formatter
    assert formatter is not None  # an InteractiveShell always has one once initialised
    for module, name, show, printer in _VIEWS:
        formatter.ipython_display_formatter.for_type_by_name(module, name, show)
        formatter.formatters["text/plain"].for_type_by_name(module, name, printer)
    for module, name in _DATA_VIEWS:
        formatter.ipython_display_formatter.for_type_by_name(module, name, _show_data_value)


def unregister(shell: InteractiveShell) -> None:
    """Undo :func:`register`: tasks and executions show their plain ``repr`` again."""
    formatter = shell.display_formatter
    assert formatter is not None  # as in register()
    for module, name, _show, _printer in _VIEWS:
        for target in (formatter.ipython_display_formatter, formatter.formatters["text/plain"]):
            target.pop(f"{module}.{name}", None)
    for module, name in _DATA_VIEWS:
        formatter.ipython_display_formatter.pop(f"{module}.{name}", None)
