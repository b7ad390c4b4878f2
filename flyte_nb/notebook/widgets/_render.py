"""What the task views show, as plain data, HTML and text — without ipywidgets.

The static views (:mod:`flyte_nb.notebook.views`, used where widgets cannot render) and the widgets
share these functions, so a notebook exported to HTML shows the same interface table and template as
the live widget. Every section is computed defensively: a task whose template cannot be compiled (or
whose payload cannot be pickled) still shows its interface, with the error in the failing section.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import json
import re
import sys
import traceback
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from flyte_nb.errors import FlyteNbError, FlyteTypeError, TaskExecutionError
from flyte_nb.notebook.widgets._highlight import highlight

if TYPE_CHECKING:
    from flyteidl.core import tasks_pb2
    from google.protobuf.message import Message

    from flyte_nb.core.function_task import PythonFunctionTask
    from flyte_nb.core.task import Task
    from flyte_nb.notebook.protocols import Execution

__all__ = [
    "PayloadInfo",
    "VarRow",
    "describe_flyte_type",
    "error_html",
    "error_text",
    "escape",
    "execution_label",
    "execution_output_names",
    "facts_html",
    "highlight",
    "interface_html",
    "interface_rows",
    "interface_text",
    "is_dynamic",
    "payload_html",
    "payload_info",
    "payload_text",
    "phase_badge",
    "python_type_name",
    "safe",
    "split_outputs",
    "task_template",
    "template_document",
    "template_facts",
    "template_source",
    "to_yaml",
]

# Colours come from JupyterLab's theme variables (light and dark themes alike), with fallbacks for
# nbconvert / GitHub, where no theme defines them. Text keeps the theme's own colour wherever a
# background is set, so that it stays readable on both.
BORDER = "var(--jp-border-color2, #ddd)"
MUTED = "var(--jp-ui-font-color2, #666)"
ERROR_FG = "var(--jp-error-color1, #b00020)"
# A tint of the theme's warning colour over whatever the page is: pale orange under dark text in a light
# theme, dark amber under light text in a dark one (a fixed pale background made white text unreadable).
WARN_BG = "#fff3cd;background:color-mix(in srgb, var(--jp-warn-color1, #f57c00) 22%, transparent)"
CELL = f"border:1px solid {BORDER};padding:2px 8px;text-align:left;vertical-align:top"


def escape(text: object) -> str:
    """HTML-escape ``str(text)``."""
    return html.escape(str(text), quote=True)


def safe(compute: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run ``compute``; return ``(value, None)`` or ``(None, exc)`` — views never fail."""
    try:
        return compute(), None
    except Exception as exc:  # noqa: BLE001 - every section is optional; its failure is shown in its place
        return None, exc


# -- interface -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VarRow:
    """One row of the interface table."""

    role: str  # "input" or "output"
    name: str
    python_type: str
    flyte_type: str
    default: str  # "" for outputs; "required" for inputs without a default
    description: str
    pickled: str  # why the variable travels as a pickle, or ""


def is_dynamic(task: Any) -> TypeGuard[PythonFunctionTask[Any]]:
    """Whether ``task`` is a ``@dynamic`` / ``%%flyte_task --dynamic`` task."""
    from flyte_nb.core.function_task import PythonFunctionTask

    return (
        isinstance(task, PythonFunctionTask)
        and task.execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC
    )


def python_type_name(t: Any) -> str:
    """A readable Python annotation: ``int``, ``list[int]``, ``Optional[int]``, ``pandas.DataFrame``."""
    if isinstance(t, type) and not typing.get_args(t):
        module = t.__module__
        if module in ("builtins", "__main__", "typing"):
            return t.__qualname__
        # The short public name when the package exports the class (pandas.DataFrame, not
        # pandas.core.frame.DataFrame); otherwise the full path, which is the only one that exists.
        name: str = t.__qualname__
        top = sys.modules.get(module.split(".")[0])
        if top is not None and getattr(top, name, None) is t:
            return f"{top.__name__}.{name}"
        return f"{module}.{name}"
    text = repr(t)
    text = re.sub(r"\btyping\.", "", text)
    text = re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("__main__.", "").replace("NoneType", "None")


def describe_flyte_type(t: Any) -> str:
    """The Flyte type of ``t`` in words (``TypeEngine.describe``), or why it has none."""
    from flyte_nb.core.types import TypeEngine

    try:
        return str(TypeEngine.describe(t))
    except FlyteTypeError as exc:  # the interface table must render even for a type the engine rejects
        return f"unsupported ({type(exc).__name__})"


def _descriptions(task: Task) -> tuple[dict[str, str], dict[str, str]]:
    """Input and output descriptions from the parsed docstring (a single ``:return:`` describes every
    output, as in flytekit)."""
    from flyte_nb.core.docstring import output_descriptions_for

    iface = task.python_interface
    doc = getattr(iface, "docstring", None)
    if iface is None or doc is None:
        return {}, {}
    inputs = {str(k): str(v) for k, v in doc.input_descriptions.items()}
    outputs = {str(k): str(v) for k, v in output_descriptions_for(doc, iface.outputs).items()}
    return inputs, outputs


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def interface_rows(task: Task) -> list[VarRow]:
    """The rows of ``task``'s interface table: inputs first, in signature order, then outputs."""
    iface = task.python_interface
    if iface is None:
        return []
    pickled: Mapping[str, str] = getattr(iface, "pickled", None) or {}
    in_docs, out_docs = _descriptions(task)
    rows = []
    for name, t in iface.inputs.items():
        default = _short_repr(iface.defaults[name]) if name in iface.defaults else "required"
        rows.append(
            VarRow(
                "input",
                name,
                python_type_name(t),
                describe_flyte_type(t),
                default,
                in_docs.get(name, ""),
                pickled.get(name, ""),
            )
        )
    for name, t in iface.outputs.items():
        why = pickled.get(f"return:{name}") or (pickled.get(name, "") if name not in iface.inputs else "")
        rows.append(
            VarRow(
                "output", name, python_type_name(t), describe_flyte_type(t), "", out_docs.get(name, ""), why
            )
        )
    return rows


def interface_html(rows: Iterable[VarRow]) -> str:
    """The interface as an HTML table; pickled variables are highlighted with the reason."""
    head = "".join(
        f'<th style="{CELL}">{h}</th>'
        for h in ("", "name", "Python type", "Flyte type", "default", "description")
    )
    body = []
    for row in rows:
        flyte = escape(row.flyte_type)
        style = CELL
        if row.pickled:
            flyte += (
                f'<br><span class="flyte-nb-pickled" title="{escape(row.pickled)}">'
                f"<b>⚠ pickled:</b> {escape(row.pickled)}</span>"
            )
            style += f";min-width:16em;background:{WARN_BG}"  # the reason reads as a sentence, not a column
        default = (
            f'<i style="color:{MUTED}">required</i>'
            if row.default == "required"
            # _short_repr bounds it; its cell is wide enough that it never wraps word by word
            else f"<code>{escape(row.default)}</code>"
            if row.default
            else ""
        )
        body.append(
            f'<tr class="flyte-nb-{row.role}"><td style="{CELL};color:{MUTED}">{row.role}</td>'
            f'<td style="{CELL};min-width:6em;overflow-wrap:anywhere"><code>{escape(row.name)}</code></td>'
            f'<td style="{CELL}"><code>{escape(row.python_type)}</code></td>'
            f'<td style="{style}">{flyte}</td>'
            f'<td class="flyte-nb-default" style="{CELL};min-width:20em;overflow-wrap:anywhere">{default}</td>'
            f'<td style="{CELL};min-width:12em">{escape(row.description)}</td></tr>'
        )
    if not body:
        body.append(f'<tr><td style="{CELL}" colspan="6"><i>no inputs, no outputs</i></td></tr>')
    return (  # a table wider than the notebook scrolls sideways instead of being cut off
        f'<div style="overflow-x:auto"><table class="flyte-nb-interface" style="border-collapse:collapse;'
        f'margin:4px 0"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


def interface_text(rows: Iterable[VarRow]) -> str:
    """The interface as aligned plain text."""
    lines = []
    for row in rows:
        line = f"  {row.role:<6} {row.name}: {row.python_type}  [{row.flyte_type}]"
        if row.default and row.default != "required":
            line += f" = {row.default}"
        if row.description:
            line += f"  # {row.description}"
        if row.pickled:
            line += f"  (pickled: {row.pickled})"
        lines.append(line)
    return "\n".join(lines) if lines else "  (no inputs, no outputs)"


# -- template ------------------------------------------------------------------------------------------
def task_template(task: Task) -> tasks_pb2.TaskTemplate:
    """The compiled template, with the default serialization settings."""
    from flyte_nb.core.serialize import serialize_task

    return serialize_task(task)


# Protobuf map fields of a TaskTemplate: unordered on the wire, and in a random order per process when
# read back, so the views sort them (a template reads the same every time it is shown).
_MAP_FIELDS = frozenset({"variables", "config", "tags", "labels", "annotations", "dataclassType"})
# google.protobuf.Struct fields (a literal type's ``metadata``, e.g. a dataclass's JSON schema, and
# the template's ``custom``) are maps too, all the way down: every object inside them is sorted.
_STRUCT_FIELDS = frozenset({"metadata", "custom"})


def _sorted_maps(value: Any, key: str = "", *, depth: int = 0, struct: bool = False) -> Any:
    if isinstance(value, dict):
        # The template's own ``metadata`` (depth 1) is a TaskMetadata message, not a Struct.
        struct = struct or (key in _STRUCT_FIELDS and not (key == "metadata" and depth == 1))
        items = sorted(value.items()) if struct or key in _MAP_FIELDS else value.items()
        return {k: _sorted_maps(v, k, depth=depth + 1, struct=struct) for k, v in items}
    if isinstance(value, list):
        return [_sorted_maps(v, depth=depth + 1, struct=struct) for v in value]
    return value


def template_document(template: Message) -> dict[str, Any]:
    """The template (or any flyteidl message, e.g. a ``DynamicJobSpec``) as the JSON document FlyteAdmin
    would show (camelCase names, maps sorted by key)."""
    from google.protobuf.json_format import MessageToDict

    doc: dict[str, Any] = _sorted_maps(MessageToDict(template))
    return doc


def to_yaml(value: Any) -> str:
    """``value`` (a JSON-like document) as block-style YAML, keys in the document's order."""
    import yaml

    text: str = yaml.safe_dump(
        value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6
    )
    return text.rstrip("\n")


def template_source(template: tasks_pb2.TaskTemplate, fmt: str = "yaml") -> str:
    """The template as YAML (``fmt="yaml"``) or indented JSON (``fmt="json"``)."""
    doc = template_document(template)
    return json.dumps(doc, indent=2) if fmt == "json" else to_yaml(doc)


def _duration_text(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))


def template_facts(template: tasks_pb2.TaskTemplate) -> list[tuple[str, str]]:
    """The facts a user checks first: version, image, command, resources, cache, retries, timeout."""
    import shlex

    from flyteidl.core import tasks_pb2 as tp

    meta, container = template.metadata, template.container
    # the names users write in fnb.Resources(...) / --requests, not the enum's
    names = {v: k.lower() for k, v in tp.Resources.ResourceName.items()}
    names[tp.Resources.MEMORY] = "mem"

    def resources(entries: Iterable[Any]) -> str:
        return ", ".join(f"{names.get(e.name, e.name)}={e.value}" for e in entries) or "—"

    cache = "off"
    if meta.discoverable:
        cache = f"on (cache_version {meta.discovery_version or '—'}"
        cache += ", serialized)" if meta.cache_serializable else ")"
    timeout = (
        _duration_text(meta.timeout.ToTimedelta().total_seconds()) if meta.HasField("timeout") else "none"
    )
    interruptible = meta.interruptible if meta.WhichOneof("interruptible_value") else "default"
    return [
        ("task", f"{template.id.name}"),
        ("version", template.id.version or "—"),
        ("type", template.type or "—"),
        ("image", container.image or "—"),
        ("command", shlex.join([*container.command, *container.args]) or "—"),
        ("requests", resources(container.resources.requests)),
        ("limits", resources(container.resources.limits)),
        ("cache", cache),
        ("retries", str(meta.retries.retries)),
        ("timeout", timeout),
        ("interruptible", str(interruptible).lower()),
    ]


def facts_html(facts: Iterable[tuple[str, str]]) -> str:
    """Facts as a two-column table."""
    rows = "".join(
        f'<tr><th style="{CELL};color:{MUTED}">{escape(k)}</th>'
        f'<td style="{CELL}"><code style="white-space:pre-wrap;word-break:break-all">{escape(v)}</code></td></tr>'
        for k, v in facts
    )
    return f'<table class="flyte-nb-facts" style="border-collapse:collapse;margin:4px 0">{rows}</table>'


# -- payload -------------------------------------------------------------------------------------------
@dataclass
class PayloadInfo:
    """The resolver's payload for a task: size, digest and (if the resolver has one) its manifest."""

    resolver: str
    filename: str = ""
    size: int = 0
    sha256: str = ""
    manifest: Any = None
    error: str = ""


def payload_info(task: Task) -> PayloadInfo:
    """What the container receives besides the template (``resolver.payload`` / ``manifest``)."""
    resolver = getattr(task, "task_resolver", None)
    if resolver is None:
        return PayloadInfo(resolver="none: the task has no resolver, so nothing is shipped")
    info = PayloadInfo(resolver=str(getattr(resolver, "location", type(resolver).__name__)))
    try:
        payload = resolver.payload(task)
        if payload is not None:
            info.filename, info.size, info.sha256 = payload.filename, len(payload.data), payload.sha256
        manifest = getattr(resolver, "manifest", None)
        if callable(manifest):
            info.manifest = manifest(task)
    except Exception as exc:  # noqa: BLE001 - pickling runs user code; an unpicklable capture is what this view shows
        info.error = f"{type(exc).__name__}: {exc}"
    return info


def _manifest_rows(manifest: Any) -> tuple[list[str], list[list[str]]] | None:
    """A generic table for a manifest: a list of records (dataclasses/dicts/objects), or a mapping."""
    entries = getattr(manifest, "entries", manifest)
    if dataclasses.is_dataclass(entries) and not isinstance(entries, type):
        entries = dataclasses.asdict(entries)
    if isinstance(entries, Mapping):
        return ["name", "value"], [[str(k), _short_repr(v, 200)] for k, v in entries.items()]
    if isinstance(entries, (list, tuple)):
        records = []
        for entry in entries:
            if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
                records.append(dataclasses.asdict(entry))
            elif isinstance(entry, Mapping):
                records.append(dict(entry))
            elif hasattr(entry, "__dict__"):
                records.append({k: v for k, v in vars(entry).items() if not k.startswith("_")})
            else:
                records.append({"item": entry})
        columns: list[str] = []
        for record in records:
            columns += [str(k) for k in record if str(k) not in columns]
        return columns, [[_cell(r.get(c, "")) for c in columns] for r in records]
    return None


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def payload_html(info: PayloadInfo) -> str:
    """The payload section: size and digest, the manifest table, or the error that stops pickling."""
    parts = [f"<div>resolver <code>{escape(info.resolver)}</code></div>"]
    if info.filename:
        parts.append(
            f"<div>payload <code>{escape(info.filename)}</code>, {info.size:,} bytes, "
            f"sha256 <code>{escape(info.sha256[:16])}…</code></div>"
        )
    elif not info.error:
        parts.append("<div>no payload: the task is imported from its module in the container image</div>")
    if info.error:
        parts.append(f'<pre style="color:{ERROR_FG};white-space:pre-wrap">{escape(info.error)}</pre>')
    if info.manifest is not None:
        html_repr = getattr(info.manifest, "_repr_html_", None)
        table = _manifest_rows(info.manifest)
        if callable(html_repr):
            parts.append(str(html_repr()))
        elif table is not None:
            columns, rows = table
            head = "".join(f'<th style="{CELL}">{escape(c)}</th>' for c in columns)
            body = "".join(
                "<tr>" + "".join(f'<td style="{CELL}">{escape(v)}</td>' for v in row) + "</tr>"
                for row in rows
            )
            parts.append(
                f'<table class="flyte-nb-manifest" style="border-collapse:collapse">'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
        else:
            parts.append(f"<pre>{escape(info.manifest)}</pre>")
    return '<div class="flyte-nb-payload">' + "".join(parts) + "</div>"


def payload_text(info: PayloadInfo) -> str:
    """The payload section as plain text."""
    lines = [f"  resolver: {info.resolver}"]
    if info.filename:
        lines.append(f"  payload: {info.filename}, {info.size:,} bytes, sha256 {info.sha256[:16]}…")
    if info.error:
        lines.append(f"  cannot build payload: {info.error}")
    to_text = getattr(info.manifest, "to_text", None)
    table = _manifest_rows(info.manifest) if info.manifest is not None and not callable(to_text) else None
    if callable(to_text):
        lines += ["  " + line for line in str(to_text()).splitlines()]
    elif table is not None:
        columns, rows = table
        lines += [
            "  " + " | ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True) if v) for row in rows
        ]
    elif info.manifest is not None:
        lines.append(f"  {info.manifest}")
    return "\n".join(lines)


# -- runs ----------------------------------------------------------------------------------------------
PHASE_COLOURS = {
    "SUCCEEDED": "#2e7d32",
    "FAILED": "#c62828",
    "ABORTED": "#6d4c41",
    "TIMED_OUT": "#c62828",
    "RUNNING": "#1565c0",
    "QUEUED": "#6a1b9a",
    "SUBMITTING": "#455a64",
}


def phase_badge(phase: str) -> str:
    """A coloured phase label."""
    colour = PHASE_COLOURS.get(phase, "#555")
    return (
        f'<span class="flyte-nb-phase" style="background:{colour};color:white;border-radius:3px;'
        f'padding:0 6px">{escape(phase)}</span>'
    )


def execution_label(execution: Execution) -> str:
    """``project/domain/name`` of a remote execution."""
    ident = execution.id
    return f"{ident.project}/{ident.domain}/{ident.name}"


def split_outputs(output_names: list[str], outputs: Any) -> list[tuple[str, Any]]:
    """``(name, value)`` per declared output: a multi-output task returns a tuple (or NamedTuple)."""
    if not output_names:
        return []
    if len(output_names) == 1:
        return [(output_names[0], outputs)]
    if isinstance(outputs, tuple) and len(outputs) == len(output_names):
        return list(zip(output_names, outputs, strict=True))
    return [("outputs", outputs)]


def execution_output_names(execution: Execution) -> list[str]:
    """The declared outputs of the submitted task (``["outputs"]`` when the task is unknown)."""
    iface = execution.task.python_interface if execution.task is not None else None
    return list(iface.outputs) if iface is not None else ["outputs"]


# -- errors --------------------------------------------------------------------------------------------
def _error_parts(exc: BaseException) -> tuple[str, list[tuple[str, str]], str]:
    """(headline, fields, traceback text) for any exception.

    A ``TaskExecutionError`` shows its own fields and the task's traceback. Any other flyte_nb error is a
    deliberate message that already says what is wrong and what to do: our own frames would only bury
    it. Anything else is unexpected, and its traceback is what a bug report needs.
    """

    fields: list[tuple[str, str]] = []
    if isinstance(exc, TaskExecutionError):
        fields = [
            (k, v)
            for k, v in (
                ("task", exc.task_name),
                ("code", exc.code),
                ("kind", exc.kind),
                ("origin", exc.origin),
            )
            if v
        ]
        head = Exception.__str__(exc) or type(exc).__name__
        trace = exc.traceback_text or ""
    else:
        head = f"{type(exc).__name__}: {exc}"
        trace = (
            ""
            if isinstance(exc, FlyteNbError)
            else "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        )
        for name in ("code", "kind", "details"):
            value = getattr(exc, name, "")
            if isinstance(value, str) and value:
                fields.append((name, value))
    return head, fields, trace


def error_html(exc: BaseException) -> str:
    """An error as HTML: headline, code/kind/origin, and the task's traceback."""
    head, fields, trace = _error_parts(exc)
    badges = " ".join(
        f'<span style="border:1px solid {BORDER};padding:0 4px;margin-right:4px">'
        f"{escape(k)}: <code>{escape(v)}</code></span>"
        for k, v in fields
    )
    body = (
        f'<pre class="flyte-nb-traceback" style="white-space:pre-wrap;font-size:90%">{escape(trace)}</pre>'
        if trace
        else ""
    )
    return (
        f'<div class="flyte-nb-error"><div style="color:{ERROR_FG};font-weight:bold;white-space:pre-wrap">'
        f"{escape(head)}</div><div>{badges}</div>{body}</div>"
    )


def error_text(exc: BaseException) -> str:
    """An error as plain text."""
    head, fields, trace = _error_parts(exc)
    lines = [head]
    if fields:
        lines.append("  " + ", ".join(f"{k}: {v}" for k, v in fields))
    if trace:
        lines.append(trace.rstrip())
    return "\n".join(lines)
