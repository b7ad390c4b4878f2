"""The task widget and its parts, one module per widget family (as ipywidgets lays out its own).

=====================  ======================================================================
:class:`TaskWidget`     everything below, as shown when a task is displayed (``task.py``)
:class:`InterfaceView`  inputs/outputs: Python type, Flyte type, default, description (``interface.py``)
:class:`TemplateView`   the compiled TaskTemplate, highlighted, with a copy button (``template.py``)
:class:`PayloadView`    what the resolver ships: size, digest, manifest (``payload.py``)
:class:`InputForm`      typed input fields with validation messages (``form.py``)
:class:`PathEditor`     a file / directory input: path field and Upload button (``data_input.py``)
:class:`FrameEditor`    a DataFrame input: expression and the notebook's DataFrames (``data_input.py``)
:class:`RunPanel`       *Run in kernel* / *Run in process* / *Submit to Flyte*, progress, cancel (``run.py``)
:class:`ResultView`     outputs (rich reprs) or the error with its traceback (``result.py``)
:class:`DataPreview`    a file, directory or dataset: name, size, preview (``data_preview.py``)
:class:`ExecutionView`  a ``RemoteExecution``, live: phase, duration, link, outputs (``execution.py``)
:class:`DeckView`       the deck page a task with ``enable_deck`` wrote in its last run (``deck.py``)
:class:`LogView`        what a run printed: its end, what was left out, the whole on demand (``log.py``)
:class:`WorkflowView`   a dynamic task's compiled ``DynamicJobSpec`` for the form's inputs (``workflow.py``)
=====================  ======================================================================

Names load on first access, so importing this package (and :mod:`._render`, which the static views
use) does not import ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte_nb.notebook.widgets.data_input import FrameEditor, PathEditor
    from flyte_nb.notebook.widgets.data_preview import DataPreview
    from flyte_nb.notebook.widgets.deck import DeckView
    from flyte_nb.notebook.widgets.execution import ExecutionView
    from flyte_nb.notebook.widgets.form import InputForm
    from flyte_nb.notebook.widgets.interface import InterfaceView
    from flyte_nb.notebook.widgets.log import LogView
    from flyte_nb.notebook.widgets.payload import PayloadView
    from flyte_nb.notebook.widgets.result import ResultView
    from flyte_nb.notebook.widgets.run import RunPanel
    from flyte_nb.notebook.widgets.task import TaskWidget
    from flyte_nb.notebook.widgets.template import TemplateView
    from flyte_nb.notebook.widgets.workflow import WorkflowView

_EXPORTS = {
    "DataPreview": "data_preview",
    "DeckView": "deck",
    "ExecutionView": "execution",
    "FrameEditor": "data_input",
    "InputForm": "form",
    "InterfaceView": "interface",
    "LogView": "log",
    "PathEditor": "data_input",
    "PayloadView": "payload",
    "ResultView": "result",
    "RunPanel": "run",
    "TaskWidget": "task",
    "TemplateView": "template",
    "WorkflowView": "workflow",
}

__all__ = [
    "DataPreview",
    "DeckView",
    "ExecutionView",
    "FrameEditor",
    "InputForm",
    "InterfaceView",
    "LogView",
    "PathEditor",
    "PayloadView",
    "ResultView",
    "RunPanel",
    "TaskWidget",
    "TemplateView",
    "WorkflowView",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
