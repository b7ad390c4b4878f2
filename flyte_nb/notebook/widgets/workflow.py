# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The workflow view: what a dynamic task compiles to (its ``DynamicJobSpec``) for the form's inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Int, Unicode

from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets._render import is_dynamic

if TYPE_CHECKING:
    from flyteidl.core import dynamic_job_pb2

    from flyte_nb.core.function_task import PythonFunctionTask
    from flyte_nb.notebook.widgets.form import InputForm

__all__ = ["WorkflowView", "is_dynamic"]

_INTRO = (
    "A dynamic task's body builds a workflow when it runs, and its shape depends on the inputs. "
    "<b>Compile</b> runs the body with the inputs above, as the cluster's container does, and shows the "
    "workflow it answers with (its <code>DynamicJobSpec</code>: one node per task call). Nothing runs."
)


class WorkflowView(widgets.VBox):
    """*Compile* and the compiled ``DynamicJobSpec`` of a dynamic task: its nodes, then the whole spec."""

    nodes = Int(0, help="Number of nodes in the last compiled workflow (0 before any).").tag(sync=True)
    error = Unicode(help="Why the last compilation failed ('' when it did not).").tag(sync=True)

    def __init__(self, task: PythonFunctionTask[Any], form: InputForm, **kwargs: Any) -> None:
        self.task, self.form = task, form
        self.spec: dynamic_job_pb2.DynamicJobSpec | None = None
        self.button = widgets.Button(
            description="Compile", tooltip="Compile the dynamic body with the form's inputs (nothing runs)."
        )
        self.button.on_click(lambda _b: self.compile())
        self.body = widgets.HTML(f'<div style="color:{r.MUTED}">{_INTRO}</div>')
        super().__init__(children=[self.button, self.body], **kwargs)
        self.add_class("flyte-nb-workflow")

    def compile(self) -> dynamic_job_pb2.DynamicJobSpec | None:
        """Compile with the form's inputs and show the result (or the error, or the inputs to fix)."""
        from flyte_nb.core.context import FlyteContext

        inputs = self.form.collect()
        if inputs is None:
            self.body.value = f'<div style="color:{r.ERROR_FG}">Not compiled: fix the inputs marked ⚠.</div>'
            return None
        ctx = FlyteContext()  # a fresh in-memory store, default serialization settings
        spec, exc = r.safe(lambda: self.task.compile_into_workflow(ctx, self.task.task_function, **inputs))
        if exc is not None:  # the body's own error (a misused promise, a bug): shown like a failed run
            self.error = f"{type(exc).__name__}: {exc}"
            self.body.value = r.error_html(exc)
            return None
        self.spec = spec
        self.error, self.nodes = "", len(spec.nodes)
        self.body.value = workflow_html(spec)
        return self.spec


def workflow_html(spec: dynamic_job_pb2.DynamicJobSpec) -> str:
    """The nodes of a ``DynamicJobSpec`` as a table, then the whole spec as highlighted YAML."""
    names = {t.id.SerializeToString(deterministic=True): t.id.name for t in spec.tasks}
    rows = "".join(
        f'<tr><td style="{r.CELL}"><code>{r.escape(n.id)}</code></td>'
        f'<td style="{r.CELL}"><code>{r.escape(names.get(n.task_node.reference_id.SerializeToString(deterministic=True), n.task_node.reference_id.name))}</code></td>'
        f'<td style="{r.CELL}">{r.escape(", ".join(n.upstream_node_ids) or "—")}</td></tr>'
        for n in spec.nodes
    )
    head = "".join(f'<th style="{r.CELL}">{h}</th>' for h in ("node", "task", "after"))
    count = len(spec.nodes)
    source = r.to_yaml(r.template_document(spec))
    return (
        f"<div><b>{count} node{'s' if count != 1 else ''}</b>, {len(spec.tasks)} task template"
        f"{'s' if len(spec.tasks) != 1 else ''}</div>"
        f'<table class="flyte-nb-workflow-nodes" style="border-collapse:collapse;margin:4px 0">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f"<details><summary>DynamicJobSpec</summary>"
        f'<div class="flyte-nb-dynamic-spec" style="max-height:420px;overflow:auto">{r.highlight(source)}</div>'
        "</details>"
    )
