# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The input form: one typed field per task input, defaults pre-filled, messages next to the field.

=================================  ===========================================================
annotation                          editor
=================================  ===========================================================
``int`` / ``float`` / ``str``       number / text box
``bool``                            checkbox
``datetime`` / ``date``             date-time / date picker
``timedelta``                       seconds (number box)
``Enum`` (str-valued), ``Literal``  dropdown
``Optional[X]``                     X's editor plus a *None* checkbox
anything else                       text box: JSON, or a Python expression evaluated in the
                                    notebook namespace (collections, dataclasses, pickled values)
=================================  ===========================================================
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, TraitError, Unicode

from flyte_nb.errors import FlyteTypeError, TaskInputError
from flyte_nb.notebook.widgets import _render as r

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = ["InputField", "InputForm", "editor_kind"]

_SIMPLE = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    datetime.datetime: "datetime",
    datetime.date: "date",
    datetime.timedelta: "duration",
}
_NONE = object()  # "no default"


def _strip_annotated(t: Any) -> Any:
    while typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    return t


def _optional_inner(t: Any) -> Any | None:
    """``X`` for ``Optional[X]`` / ``X | None`` (exactly one non-None member), else ``None``."""
    import types

    if typing.get_origin(t) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(t) if a is not type(None)]
        if len(members) == 1 and len(typing.get_args(t)) == 2:
            return members[0]
    return None


def editor_kind(t: Any) -> str:
    """The editor a (non-Optional) annotation gets: int, float, str, bool, datetime, date, duration,
    choice or expression."""
    t = _strip_annotated(t)
    if t in _SIMPLE:
        return _SIMPLE[t]
    if typing.get_origin(t) is typing.Literal:
        return "choice"
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return "choice"
    return "expression"


def _choices(t: Any) -> list[tuple[str, Any]]:
    if typing.get_origin(t) is typing.Literal:
        return [(repr(v), v) for v in typing.get_args(t)]
    return [(str(m.value), m) for m in t]


def _is_plain(value: Any) -> bool:
    """True for JSON-like data (safe and cheap to check against the type engine before running)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(_is_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def _build_dataclass(t: Any, value: Any) -> Any:
    """A dict typed in the form becomes the dataclass the input expects (nested fields included).

    A whole number where a float is expected becomes that float: JSON has one number type, so ``2`` in
    ``{"lr": 2}`` means ``2.0`` to whoever types it (the type engine itself does not widen int).
    """
    t = _strip_annotated(t)
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if dataclasses.is_dataclass(t) and isinstance(t, type) and isinstance(value, Mapping):
        hints = typing.get_type_hints(t)
        return t(**{k: _build_dataclass(hints.get(k, Any), v) for k, v in value.items()})
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list and args and isinstance(value, list):
        return [_build_dataclass(args[0], v) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, Mapping):
        return {k: _build_dataclass(args[1], v) for k, v in value.items()}
    inner = _optional_inner(t)
    if inner is not None and value is not None:
        return _build_dataclass(inner, value)
    return value


def _default_text(value: Any) -> str:
    """How a default appears in an expression box: JSON when it round-trips, else its repr."""
    plain = (
        dataclasses.asdict(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type)
        else value
    )
    try:
        text = json.dumps(plain)
        if json.loads(text) == plain:
            return text
    except (TypeError, ValueError):
        pass
    return repr(value)


class InputField(widgets.HBox):
    """One input: label (name and type), editor, and a validation message next to it.

    ``value()`` returns the native value or raises :class:`~flyte_nb.errors.TaskInputError` with a
    message that names the input, what was expected, what was typed, and the fix.
    """

    name = Unicode(help="The task input this field edits.").tag(sync=True)
    kind = Unicode(
        help="Editor kind: int, float, str, bool, datetime, date, duration, choice or expression."
    ).tag(sync=True)
    optional = Bool(
        False, help="True for Optional[...] inputs: a None checkbox sits next to the editor."
    ).tag(sync=True)
    message = Unicode(
        help="The validation message shown next to the field ('' when the value is valid)."
    ).tag(sync=True)

    def __init__(
        self,
        task_name: str,
        name: str,
        python_type: Any,
        *,
        default: Any = _NONE,
        description: str = "",
        namespace: Mapping[str, Any] | None = None,
    ) -> None:
        self.task_name = task_name
        self.python_type = python_type
        self.namespace = namespace
        self._default = default
        inner = _optional_inner(_strip_annotated(python_type))
        self.value_type = inner if inner is not None else _strip_annotated(python_type)
        kind = editor_kind(self.value_type)
        aware = isinstance(default, datetime.datetime) and default.tzinfo is not None
        self.editor = self._make_editor(kind, tz_aware=aware)
        self.none_toggle = widgets.Checkbox(
            value=False, description="None", indent=False, layout=widgets.Layout(width="70px")
        )
        self.none_toggle.observe(self._on_none, names="value")
        required = (
            f'<span title="required: the task has no default for it" style="color:{r.ERROR_FG}">*</span>'
            if default is _NONE
            else ""
        )
        label = (
            f'<code>{r.escape(name)}</code>{required} <span style="color:{r.MUTED}">'
            f"{r.escape(r.describe_flyte_type(python_type))}</span>"
        )
        self.label = widgets.HTML(label, layout=widgets.Layout(width="220px"), tooltip=description or None)
        self.message_html = widgets.HTML(layout=widgets.Layout(flex="1 1 auto"))
        self.message_html.add_class("flyte-nb-field-message")
        children = [
            self.label,
            self.editor,
            *([self.none_toggle] if inner is not None else []),
            self.message_html,
        ]
        super().__init__(children=children, name=name, kind=kind, optional=inner is not None)
        self.add_class("flyte-nb-field")
        if default is not _NONE:
            self._set_default(default)

    # -- construction ------------------------------------------------------------------------------
    def _make_editor(self, kind: str, *, tz_aware: bool = False) -> widgets.Widget:
        layout = widgets.Layout(width="320px")
        if kind == "int":
            return widgets.IntText(layout=layout)
        if kind in ("float", "duration"):
            return widgets.FloatText(layout=layout, tooltip="seconds" if kind == "duration" else None)
        if kind == "str":
            return widgets.Text(layout=layout)
        if kind == "bool":
            return widgets.Checkbox(indent=False)
        if kind == "datetime":
            # a time-zone-aware default keeps its zone; otherwise a naive picker, as Python users write
            picker = getattr(widgets, "DatetimePicker" if tz_aware else "NaiveDatetimePicker", None)
            return (
                picker(layout=layout)
                if picker is not None
                else widgets.Text(layout=layout, placeholder="ISO 8601")
            )
        if kind == "date":
            return widgets.DatePicker(layout=layout)
        if kind == "choice":
            return widgets.Dropdown(options=_choices(self.value_type), layout=layout)
        return widgets.Textarea(
            layout=widgets.Layout(width="320px", height="32px"),
            placeholder="JSON, or a Python expression (e.g. [1, 2, 3])",
        )

    def _set_default(self, default: Any) -> None:
        if default is None and self.optional:
            self.none_toggle.value = True
            return
        if self.kind == "expression":
            self._default_shown = _default_text(default)
            self.editor.value = self._default_shown
        elif self.kind == "duration" and isinstance(default, datetime.timedelta):
            self.editor.value = default.total_seconds()
        elif self.kind == "datetime" and isinstance(self.editor, widgets.Text):
            self.editor.value = default.isoformat()
        else:
            try:
                self.editor.value = default
            except TraitError as exc:  # a default the editor cannot hold: say so, keep the field usable
                self.show_message(f"default {default!r} cannot be shown here ({exc}); enter a value")

    def _on_none(self, change: dict[str, Any]) -> None:
        self.editor.disabled = bool(change["new"])

    # -- values ------------------------------------------------------------------------------------
    def _fail(self, expected: str, got: Any, fix: str) -> TaskInputError:
        return TaskInputError(
            f"Task '{self.task_name}' input '{self.name}': expected {expected}, got {got!r} "
            f"({type(got).__name__}). {fix}"
        )

    def _parse(self) -> Any:
        if self.optional and self.none_toggle.value:
            return None
        raw = self.editor.value
        if self.kind == "expression":
            return self._parse_expression(str(raw))
        if self.kind == "duration":
            return datetime.timedelta(seconds=float(raw))
        if self.kind == "datetime" and isinstance(raw, str):
            try:
                return datetime.datetime.fromisoformat(raw)
            except ValueError:
                raise self._fail("an ISO 8601 date-time", raw, "Write e.g. 2024-01-31T12:00:00.") from None
        if self.kind in ("datetime", "date") and raw is None:
            raise self._fail(f"a {self.kind}", raw, "Pick one in the field.")
        return raw

    def _parse_expression(self, text: str) -> Any:
        if getattr(self, "_default_shown", None) == text and self._default is not _NONE:
            return self._default  # unchanged default: the object itself, even if its repr is not code
        expected = r.describe_flyte_type(self.python_type)
        if not text.strip():
            raise self._fail(f"{expected} as JSON or a Python expression", text, "Type a value, e.g. [1, 2].")
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = eval(text, dict(self.namespace or {}))  # the user's own expression, in their kernel
            except Exception as exc:  # noqa: BLE001 - the user's expression may raise anything; shown at the field
                raise self._fail(
                    f"{expected} as JSON or a Python expression",
                    text,
                    f"It is neither ({type(exc).__name__}: {exc}). Write JSON, or an expression using names "
                    "defined in the notebook.",
                ) from None
        return _build_dataclass(self.python_type, value)

    def _check_type(self, value: Any) -> None:
        """Ask the type engine now, so a mistyped value is reported here rather than by the run."""
        if self.kind != "expression" or not _is_plain(value):
            return
        from flyte_nb.core.types import TypeEngine

        try:
            TypeEngine.to_literal(value, self.python_type)
        except FlyteTypeError as exc:
            raise TaskInputError(f"Task '{self.task_name}' input '{self.name}': {exc}") from None

    def value(self) -> Any:
        """The native value of this field; sets :attr:`message` and raises ``TaskInputError`` when invalid."""
        try:
            value = self._parse()
            self._check_type(value)
        except TaskInputError as exc:
            self.show_message(str(exc))
            raise
        self.show_message("")
        return value

    def show_message(self, text: str) -> None:
        """Show ``text`` next to the field (empty clears it)."""
        self.message = text
        self.message_html.value = (
            f'<span style="color:{r.ERROR_FG};white-space:normal">⚠ {r.escape(text)}</span>' if text else ""
        )


def _value_or_error(field: InputField) -> Any:
    try:
        return field.value()
    except TaskInputError as exc:  # every field is checked, so that all messages show at once
        return exc


class InputForm(widgets.VBox):
    """A typed form for a task's inputs; :meth:`collect` returns the values or marks the bad fields."""

    valid = Bool(True, help="False when the last collect() found an invalid field.").tag(sync=True)

    def __init__(self, task: Task, *, namespace: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        iface = task.require_python_interface()
        in_docs: dict[str, str] = {}
        with_docs, _ = r.safe(lambda: r.interface_rows(task))
        for row in with_docs or []:
            if row.role == "input":
                in_docs[row.name] = row.description
        self.fields: dict[str, InputField] = {
            name: InputField(
                task.name,
                name,
                t,
                default=iface.defaults.get(name, _NONE),
                description=in_docs.get(name, ""),
                namespace=namespace,
            )
            for name, t in iface.inputs.items()
        }
        children: list[widgets.Widget] = list(self.fields.values())
        if not children:
            children = [widgets.HTML(f'<i style="color:{r.MUTED}">This task takes no inputs.</i>')]
        super().__init__(children=children, **kwargs)
        self.add_class("flyte-nb-form")

    def collect(self) -> dict[str, Any] | None:
        """Every field's value by input name, or ``None`` when a field is invalid (its message says why)."""
        values = {name: _value_or_error(field) for name, field in self.fields.items()}
        self.valid = not any(isinstance(v, TaskInputError) for v in values.values())
        return values if self.valid else None

    @property
    def errors(self) -> dict[str, str]:
        """Input name → its current validation message, for fields that have one."""
        return {name: f.message for name, f in self.fields.items() if f.message}
