# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The task widget: what displaying a task shows in a notebook."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Unicode

from flyte_nb.notebook import executor as ex
from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets.form import InputForm
from flyte_nb.notebook.widgets.interface import InterfaceView
from flyte_nb.notebook.widgets.payload import PayloadView
from flyte_nb.notebook.widgets.recent_runs import RecentRuns
from flyte_nb.notebook.widgets.run import RunPanel
from flyte_nb.notebook.widgets.template import TemplateView
from flyte_nb.notebook.widgets.workflow import WorkflowView

if TYPE_CHECKING:
    from flyte_nb.core.task import Task
    from flyte_nb.notebook.protocols import RemoteRunner

__all__ = ["TaskWidget"]


def _user_namespace() -> MutableMapping[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell.user_ns if shell is not None else None


def _notebook_inputs(task: Task, namespace: MutableMapping[str, Any] | None) -> dict[str, Any]:
    """A cell-body task's inputs as calling it reads them: the notebook variables of the same names."""
    from flyte_nb.core.cell_body import CellBodyTask

    if namespace is None or not isinstance(task, CellBodyTask):
        return {}
    return {name: namespace[name] for name in task.require_python_interface().inputs if name in namespace}


class TaskWidget(widgets.VBox):
    """Interface table, template and payload (collapsed), the input form and the run panel.

    Parameters
    ----------
    task:
        The task to show.
    remote:
        The ``flyte_nb.Remote`` for *Submit to Flyte*. By default the one configured on the loaded
        extension (``%load_ext flyte_nb``), followed as ``%flyte_remote`` changes it. Without one the
        button is disabled and says why.
    namespace:
        Where run outputs are bound (``<task>_result``; a cell-body task's outputs go to the variables
        its cell assigns, and its inputs are filled from the variables it reads); by default the
        notebook's user namespace.
    sandbox_factory:
        ``(mode, remote) -> executor`` used by the run buttons (default ``SandboxExecutor``).
    """

    task_name = Unicode(help="Name of the task shown.").tag(sync=True)

    def __init__(
        self,
        task: Task,
        *,
        remote: RemoteRunner | None = None,
        namespace: MutableMapping[str, Any] | None = None,
        sandbox_factory: ex.SandboxFactory | None = None,
        **kwargs: Any,
    ) -> None:
        self.task = task
        ns = namespace if namespace is not None else _user_namespace()
        self.interface = InterfaceView(task)
        self.template = TemplateView(task)
        self.payload = PayloadView(task)
        self.form = InputForm(task, namespace=ns, prefill=_notebook_inputs(task, ns))
        self.workflow = WorkflowView(task, self.form) if r.is_dynamic(task) else None
        sections: list[tuple[str, widgets.Widget]] = [("Template", self.template), ("Payload", self.payload)]
        if self.workflow is not None:
            sections.append(("Workflow (dynamic: compile it for the inputs below)", self.workflow))
        self.sections = widgets.Accordion(
            children=[w for _, w in sections], titles=tuple(t for t, _ in sections)
        )
        follow = remote is None  # no remote given: follow the kernel's, as %flyte_remote changes it
        remote, why = (remote, "") if remote is not None else ex.current_remote()
        self.run_panel = RunPanel(
            task,
            self.form,
            remote=remote,
            remote_reason=why,
            namespace=ns,
            sandbox_factory=sandbox_factory,
            follow_kernel_remote=follow,
        )
        version = (
            f" · version <code>{r.escape(self.template.version)}</code>" if self.template.version else ""
        )
        dynamic = (
            f' <span class="flyte-nb-dynamic" title="its body compiles a workflow when it runs" '
            f'style="border:1px solid {r.BORDER};border-radius:3px;padding:0 5px">dynamic</span>'
            if self.workflow is not None
            else ""
        )
        title = widgets.HTML(
            f"<b>{r.escape(type(task).__name__)} <code>{r.escape(getattr(task, 'name', '?'))}</code>"
            f"</b>{dynamic}{version}"
        )
        super().__init__(
            children=[title, self.interface, self.sections, RecentRuns(task), self.form, self.run_panel],
            task_name=str(getattr(task, "name", "")),
            **kwargs,
        )
        self.add_class("flyte-nb-task-widget")

    def close(self) -> None:
        """Close the widget; files uploaded through its form are removed (once no run uses them)."""
        self.form.close()
        super().close()
