"""How a task (and a remote execution) shows up in a notebook.

:mod:`flyte_nb.notebook.display_hooks` (called by ``%load_ext flyte_nb``) hands these views to IPython's
display formatters for ``Task``, ``RemoteExecution`` and the data types, and takes them back on unload.

* :func:`display_task` — in a kernel whose frontend renders widgets, the interactive
  :class:`~flyte_nb.notebook.widgets.TaskWidget`; the same display also carries the static HTML and
  text, so a notebook saved and exported (nbconvert, GitHub) still shows the interface and template.
* :func:`task_html` / :func:`task_text` — the static views behind ``PythonFunctionTask._repr_html_`` and
  ``__repr__``: interface table, compiled template (highlighted YAML), payload. They never raise.
* :func:`execution_html` / :func:`execution_text` / :func:`display_execution` — the same for a
  ``RemoteExecution``: phase, duration, console link, outputs or error.
* :func:`display_data_value` — a ``FlyteFile``, ``FlyteDirectory`` or ``StructuredDataset`` shown in a
  cell: its name, size and a preview (a widget with *Download preview* for remote data; static HTML
  beside it, which reads nothing remote).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flyte_nb.notebook.widgets import _render as r

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from flyte_nb.core.task import Task
    from flyte_nb.notebook.protocols import Execution, RemoteRunner

__all__ = [
    "display_data_value",
    "display_execution",
    "display_task",
    "execution_html",
    "execution_text",
    "task_html",
    "task_text",
    "widgets_available",
]

_BOX = f"border:1px solid {r.BORDER};border-radius:4px;padding:6px 10px;margin:2px 0"
# Shown only where the widget did not render (nbconvert, GitHub, a frontend without widgets): a reader
# of the static page learns what the live notebook offers.
STATIC_NOTE = (
    "This is the static view. In a running notebook (JupyterLab, Notebook 7, VS Code) with "
    "<code>%load_ext flyte_nb</code>, the task shows an input form with <b>Run in kernel</b>, "
    "<b>Run in process</b> and <b>Submit to Flyte</b> buttons."
)


def _task_title(task: Task) -> str:
    return f"{type(task).__name__} {task.name}{' (dynamic)' if r.is_dynamic(task) else ''}"


def task_html(task: Task) -> str:
    """The static HTML view of ``task``: interface, compiled template, payload. Never raises."""
    parts = [
        f'<div class="flyte-nb-task" style="{_BOX}">',
        f"<div><b>{r.escape(_task_title(task))}</b></div>",
    ]
    rows, exc = r.safe(lambda: r.interface_rows(task))
    parts.append(r.interface_html(rows) if exc is None else r.error_html(exc))
    template, exc = r.safe(lambda: r.task_template(task))
    parts.append("<details><summary>Template</summary>")
    if exc is None:
        parts.append(r.facts_html(r.template_facts(template)))
        parts.append(_image_note(task))
        parts.append(r.highlight(r.template_source(template)))
    else:
        parts.append(r.error_html(exc))
    parts.append("</details>")
    info, exc = r.safe(lambda: r.payload_info(task))
    parts.append("<details><summary>Payload</summary>")
    parts.append(r.payload_html(info) if exc is None else r.error_html(exc))
    parts.append("</details>")
    parts.append(
        f'<div class="flyte-nb-static-note" style="color:{r.MUTED};margin-top:4px">{STATIC_NOTE}'
        f"{_data_note(task)}</div>"
    )
    parts.append("</div>")
    return "".join(parts)


def _data_note(task: Task) -> str:
    """What the live form adds for this task's files, directories and DataFrames ('' when it has none)."""
    from flyte_nb.notebook.widgets._coerce import data_kind, optional_inner, strip_annotated

    iface = task.python_interface
    if iface is None:
        return ""

    def kind(t: Any) -> str | None:
        return data_kind(optional_inner(strip_annotated(t)) or t)

    inputs = {kind(t) for t in iface.inputs.values()}
    outputs = {kind(t) for t in iface.outputs.values()} - {None}
    offers = []
    if inputs & {"file", "directory"}:
        offers.append("file and directory inputs have an <b>Upload</b> button")
    if "dataframe" in inputs:
        offers.append("DataFrame inputs list the notebook's DataFrames")
    if outputs:
        offers.append("file, directory and dataset results show a preview")
    if not offers:
        return ""
    listed = offers[0] if len(offers) == 1 else ", ".join(offers[:-1]) + " and " + offers[-1]
    return f" There, {listed}."


def _image_note(task: Task) -> str:
    from flyte_nb.notebook.widgets._deck_render import image_note_html

    return image_note_html(task)


def task_text(task: Task) -> str:
    """The plain-text view of ``task`` (a terminal's ``repr``). Never raises."""
    lines = [_task_title(task)]
    rows, exc = r.safe(lambda: r.interface_rows(task))
    lines.append(r.interface_text(rows) if exc is None else f"  interface unavailable: {exc}")
    template, exc = r.safe(lambda: r.task_template(task))
    if exc is None:
        facts = dict(r.template_facts(template))
        lines.append(f"  version {facts['version']}, image {facts['image']}")
    else:
        lines.append(f"  template unavailable: {type(exc).__name__}: {exc}")
    return "\n".join(lines)


def widgets_available() -> bool:
    """True in a Jupyter kernel (a frontend that can render widgets) with ipywidgets importable."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # terminal IPython, plain Python
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def display_task(task: Task, *, remote: RemoteRunner | None = None) -> None:
    """Display ``task``: its widget where widgets render, else the static HTML / text.

    Parameters
    ----------
    task:
        The task to show.
    remote:
        The ``flyte_nb.Remote`` for *Submit to Flyte*; by default the one configured on the extension.
    """
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:  # plain Python: display() would print the raw bundle
        print(task_text(task))
        return
    bundle = {"text/plain": task_text(task), "text/html": task_html(task)}
    if widgets_available():
        try:
            from flyte_nb.notebook.widgets import TaskWidget

            widget = TaskWidget(task, remote=remote)
            bundle = {**bundle, **widget._repr_mimebundle_()}
            # the widget's own text/plain is its class repr; the task's text says more
            bundle["text/plain"] = task_text(task)
        except Exception as exc:  # noqa: BLE001 - a widget that cannot be built must not hide the task
            _log.exception("the task widget of %r could not be built; showing the static view", task.name)
            bundle["text/html"] += r.error_html(exc)
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


# -- remote executions ---------------------------------------------------------------------------------
def _execution_fields(execution: Execution) -> dict[str, Any]:
    """Phase, duration, link, outputs, error of a ``RemoteExecution``."""
    from flyte_nb.core.phases import TERMINAL_PHASES, phase_name

    phase, exc = r.safe(lambda: phase_name(execution.phase))  # the server may be unreachable
    outputs, error = None, exc
    if phase == "SUCCEEDED":
        outputs, error = r.safe(lambda: execution.outputs)
    elif phase in TERMINAL_PHASES:
        error = execution.error
    return {
        "id": r.execution_label(execution),
        "phase": phase or "UNKNOWN",
        "duration": execution.duration,
        "url": execution.url,
        "outputs": outputs,
        "error": error,
    }


def execution_html(execution: Execution) -> str:
    """A ``RemoteExecution`` as static HTML: id, phase, duration, console link, outputs or error."""
    f = _execution_fields(execution)
    parts = [
        f'<div class="flyte-nb-execution" style="{_BOX}">',
        f"<div><b>Execution</b> <code>{r.escape(f['id'])}</code> {r.phase_badge(f['phase'])}",
    ]
    if isinstance(f["duration"], (int, float)):
        parts.append(f" {f['duration']:.1f}s")
    if f["url"]:
        parts.append(
            f' <a href="{r.escape(f["url"])}" target="_blank" rel="noopener">open in the Flyte console</a>'
        )
    parts.append("</div>")
    if f["outputs"] is not None:
        parts.append(_outputs_html(r.execution_output_names(execution), f["outputs"]))
    if isinstance(f["error"], BaseException):
        parts.append(r.error_html(f["error"]))
    elif f["error"]:
        parts.append(f'<pre style="color:{r.ERROR_FG}">{r.escape(f["error"])}</pre>')
    parts.append("</div>")
    return "".join(parts)


def _outputs_html(names: list[str], outputs: Any) -> str:
    """Outputs as static HTML: files, directories and datasets as previews (remote data is not read)."""
    from flyte_nb.notebook.widgets._preview import is_previewable, make_preview, preview_html

    parts = r.split_outputs(names, outputs)
    if not any(is_previewable(value) for _, value in parts):
        return f"<pre>{r.escape(repr(outputs))}</pre>"
    out = []
    for name, value in parts:
        if len(parts) > 1:
            out.append(f"<div><b><code>{r.escape(name)}</code></b></div>")
        shown = (
            preview_html(make_preview(value))
            if is_previewable(value)
            else f"<pre>{r.escape(repr(value))}</pre>"
        )
        out.append(shown)
    return "".join(out)


def execution_text(execution: Execution) -> str:
    """A ``RemoteExecution`` as plain text."""
    f = _execution_fields(execution)
    line = f"Execution {f['id']}: {f['phase']}"
    if isinstance(f["duration"], (int, float)):
        line += f" after {f['duration']:.1f}s"
    if f["url"]:
        line += f"\n  {f['url']}"
    if f["outputs"] is not None:
        line += f"\n  outputs: {f['outputs']!r}"
    if f["error"]:
        line += "\n  " + (
            r.error_text(f["error"]) if isinstance(f["error"], BaseException) else str(f["error"])
        )
    return line


def display_execution(execution: Execution) -> None:
    """Display a ``RemoteExecution``: a live view where widgets render, else the static HTML / text."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        print(execution_text(execution))
        return
    bundle = {"text/plain": execution_text(execution), "text/html": execution_html(execution)}
    if widgets_available():
        try:
            from flyte_nb.notebook.widgets import ExecutionView

            bundle = {**bundle, **ExecutionView(execution)._repr_mimebundle_()}
            bundle["text/plain"] = execution_text(execution)
        except Exception as exc:  # noqa: BLE001 - the static view is still right; the log has the traceback
            _log.exception("the live view of an execution could not be built; showing the static view")
            bundle["text/html"] += r.error_html(exc)
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


# -- files, directories, datasets ----------------------------------------------------------------------
def display_data_value(value: Any) -> None:
    """Display a ``FlyteFile``, ``FlyteDirectory`` or ``StructuredDataset``: its preview widget where
    widgets render (remote data behind a *Download preview* button), else the static preview; the
    ``text/plain`` stays the value's ``repr``."""
    from IPython.display import display

    from flyte_nb.notebook.widgets._preview import make_preview, preview_html

    preview = make_preview(value)  # reads local data only
    bundle = {"text/plain": repr(value), "text/html": preview_html(preview)}
    if widgets_available():
        try:
            from flyte_nb.notebook.widgets.data_preview import DataPreview

            bundle = {**DataPreview(value, preview=preview).mimebundle(), "text/plain": repr(value)}
        except Exception:  # noqa: BLE001 - the static preview is still right; the log has the traceback
            _log.exception("the preview widget of %r could not be built; showing the static preview", value)
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


# -- registration --------------------------------------------------------------------------------------
