# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The input form: one typed field per task input, defaults pre-filled, messages next to the field.

=================================  ===========================================================
annotation                          editor
=================================  ===========================================================
``int`` / ``float`` / ``str``       text box, parsed as typed (``2.7`` is no int)
``bool``                            checkbox (a *True*/*False* choice when required)
``datetime`` / ``date``             date-time / date picker
``timedelta``                       text box, in seconds (the unit is shown beside it)
``Enum`` (str-valued), ``Literal``  dropdown
``FlyteFile`` / ``os.PathLike``      path or URI field with an *Upload* button (the upload is staged
                                    in a temporary file and its path shown)
``FlyteDirectory``                  the same; the upload takes several files (one directory)
``DataFrame`` / ``StructuredDataset``  expression field with a dropdown of the notebook's DataFrame
                                    variables
``Optional[X]``                     X's editor plus a *None* checkbox
anything else                       text box: JSON, or a Python expression evaluated in the
                                    notebook namespace (collections, dataclasses, pickled values);
                                    a dict for a dataclass is checked field by field
=================================  ===========================================================

A path is checked by the type engine as soon as it is typed or uploaded (it exists, it is a file or a
directory as declared, it has the declared format), without copying it; a remote URI passes unchecked.
Required inputs (no default) start empty and must be filled. A cell-body task's inputs are filled from
the notebook variables of the same names, as calling the task reads them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import json
import os
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Bool, TraitError, Unicode

from flyte_nb.errors import FlyteTypeError, TaskInputError
from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets import data_input
from flyte_nb.notebook.widgets._coerce import (
    check_value,
    coerce,
    data_kind,
    declared_format,
    is_plain,
    optional_inner,
    parse_float,
    parse_int,
    strip_annotated,
)

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
_LABEL_WIDTH = "220px"
_EDITOR_WIDTH = "320px"
_PLACEHOLDERS = {
    "int": "a whole number, e.g. 3",
    "float": "a number, e.g. 0.5",
    "duration": "seconds, e.g. 90 or 0.5",
    "str": "text",
    "expression": "JSON, or a Python expression (e.g. [1, 2, 3])",
    "file": "a path or a URI (s3://…), or upload a file",
    "directory": "a path or a URI prefix, or upload files",
    "dataframe": "a notebook variable, or a Python expression",
}


def editor_kind(t: Any) -> str:
    """The editor a (non-Optional) annotation gets: int, float, str, bool, datetime, date, duration,
    choice, file, directory, dataframe or expression."""
    data = data_kind(t)
    if data is not None:
        return data
    t = strip_annotated(t)
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


def _number_text(value: Any) -> str:
    """A number as typed back: ``3``, ``0.5``, ``600`` (a whole float without its ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


class InputField(widgets.HBox):
    """One input: label (name and type), editor, and a validation message next to it.

    What is typed is used as typed or refused with a message: number fields are text boxes parsed
    here (``2.7`` in an int field is an error, not ``27``); required fields (no default) start empty
    and must be filled. ``value()`` returns the native value or raises
    :class:`~flyte_nb.errors.TaskInputError` with a message that names the input, what was expected,
    what was typed, and the fix.
    """

    name = Unicode(help="The task input this field edits.").tag(sync=True)
    kind = Unicode(
        help="Editor kind: int, float, str, bool, datetime, date, duration, choice, file, directory, "
        "dataframe or expression."
    ).tag(sync=True)
    optional = Bool(
        False, help="True for Optional[...] inputs: a None checkbox sits next to the editor."
    ).tag(sync=True)
    required = Bool(False, help="True when the task has no default for this input.").tag(sync=True)
    filled_from = Unicode(
        help="Where the initial value came from: 'default', 'notebook' (a cell-body task's variable) or ''."
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
        prefill: Any = _NONE,
    ) -> None:
        self.task_name = task_name
        self.python_type = python_type
        self.namespace = namespace
        self._default = default
        initial, source = (prefill, "notebook") if prefill is not _NONE else (default, "default")
        self._initial = initial
        self._shown: str | None = None  # the text an expression box was filled with
        inner = optional_inner(strip_annotated(python_type))
        self.value_type = inner if inner is not None else strip_annotated(python_type)
        # the annotation of a present value, Annotated metadata kept (a DataFrame's declared columns)
        self.value_annotation = inner if inner is not None else python_type
        kind = editor_kind(self.value_annotation)
        aware = isinstance(initial, datetime.datetime) and initial.tzinfo is not None
        self.editor = self._make_editor(kind, filled=initial is not _NONE, tz_aware=aware)
        self.none_toggle = widgets.Checkbox(
            value=False, description="None", indent=False, layout=widgets.Layout(width="70px")
        )
        self.none_toggle.observe(self._on_none, names="value")
        self.label = widgets.HTML(
            self._label_html(name, default is _NONE, source if initial is not _NONE else ""),
            layout=widgets.Layout(width=_LABEL_WIDTH, min_width=_LABEL_WIDTH, flex=f"0 0 {_LABEL_WIDTH}"),
            tooltip=description or None,
        )
        self.label.add_class("flyte-nb-field-label")
        self.message_html = widgets.HTML(layout=widgets.Layout(flex="1 1 auto", min_width="120px"))
        self.message_html.add_class("flyte-nb-field-message")
        unit = (
            [
                widgets.HTML(
                    f'<span style="color:{r.MUTED}">seconds</span>', layout=widgets.Layout(margin="0 4px")
                )
            ]
            if kind == "duration"
            else []
        )
        children = [
            self.label,
            self.editor,
            *unit,
            *([self.none_toggle] if inner is not None else []),
            self.message_html,
        ]
        super().__init__(
            children=children,
            name=name,
            kind=kind,
            optional=inner is not None,
            required=default is _NONE,
            filled_from=source if initial is not _NONE else "",
            layout=widgets.Layout(align_items="flex-start"),
        )
        self.add_class("flyte-nb-field")
        if initial is not _NONE:
            self._fill(initial)

    # -- construction ------------------------------------------------------------------------------
    def _label_html(self, name: str, required: bool, source: str) -> str:
        mark = (
            f'<span title="required: the task has no default for it" style="color:{r.ERROR_FG}">*</span>'
            if required
            else ""
        )
        origin = (
            f' <span style="color:{r.MUTED}" title="filled from the notebook variable {r.escape(name)}, '
            'as calling the task reads it">(from the notebook)</span>'
            if source == "notebook"
            else ""
        )
        return (
            '<div style="white-space:normal;overflow-wrap:anywhere;line-height:1.4;padding:4px 8px 4px 0">'
            f'<code>{r.escape(name)}</code>{mark} <span style="color:{r.MUTED}">'
            f"{r.escape(r.describe_flyte_type(self.python_type))}</span>{origin}</div>"
        )

    def _make_editor(self, kind: str, *, filled: bool, tz_aware: bool = False) -> widgets.Widget:
        layout = widgets.Layout(width=_EDITOR_WIDTH, flex="0 0 auto")
        required = "" if filled else "required: "
        if kind in ("int", "float", "duration", "str"):
            return widgets.Text(layout=layout, placeholder=required + _PLACEHOLDERS[kind])
        if kind == "bool":
            if filled:
                return widgets.Checkbox(indent=False, layout=widgets.Layout(width="auto"))
            # a checkbox has no "not chosen yet": a required bool is picked explicitly
            return widgets.Dropdown(options=[("True", True), ("False", False)], index=None, layout=layout)
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
            return widgets.Dropdown(options=_choices(self.value_type), index=None, layout=layout)
        if kind in ("file", "directory"):
            editor = data_input.PathEditor(
                directory=kind == "directory",
                fmt=declared_format(self.value_type),
                placeholder=required + _PLACEHOLDERS[kind],
                on_message=lambda text: self.show_message(str(self._error(text))),
            )
            editor.observe(self._on_path, names="value")
            return editor
        if kind == "dataframe":
            return data_input.FrameEditor(
                self.value_annotation, self.namespace, placeholder=required + _PLACEHOLDERS[kind]
            )
        return widgets.Textarea(
            layout=widgets.Layout(width=_EDITOR_WIDTH, height="32px", flex="0 0 auto"),
            placeholder=required + _PLACEHOLDERS["expression"],
        )

    def _fill(self, value: Any) -> None:
        if value is None and self.optional:
            self.none_toggle.value = True
            return
        if self.kind in ("expression", "dataframe"):
            self._shown = _default_text(value)
            self.editor.value = self._shown
        elif self.kind in ("file", "directory"):
            self._shown = str(getattr(value, "remote_source", None) or value)
            self.editor.value = self._shown
        elif self.kind in ("int", "float"):
            self.editor.value = _number_text(value)
        elif self.kind == "duration" and isinstance(value, datetime.timedelta):
            self.editor.value = _number_text(value.total_seconds())
        elif self.kind == "datetime" and isinstance(self.editor, widgets.Text):
            self.editor.value = value.isoformat()
        else:
            try:
                self.editor.value = value
            except TraitError as exc:  # a default the editor cannot hold: say so, keep the field usable
                self.show_message(f"default {value!r} cannot be shown here ({exc}); enter a value")

    def _on_none(self, change: dict[str, Any]) -> None:
        self.editor.disabled = bool(change["new"])

    def _on_path(self, change: dict[str, Any]) -> None:
        """A path typed or uploaded is checked at once (a cleared field waits for the run)."""
        if str(change["new"]).strip():
            with contextlib.suppress(TaskInputError):  # value() shows the message next to the field
                self.value()
        else:
            self.show_message("")

    def close(self) -> None:
        """Close the field and its editor (a path field lets go of its staged upload)."""
        self.editor.close()
        super().close()

    # -- values ------------------------------------------------------------------------------------
    def _error(self, text: str) -> TaskInputError:
        return TaskInputError(f"Task '{self.task_name}' input '{self.name}': {text}")

    def _fail(self, expected: str, got: Any, fix: str) -> TaskInputError:
        return self._error(f"expected {expected}, got {got!r} ({type(got).__name__}). {fix}")

    def _empty(self, what: str) -> TaskInputError:
        why = "required (the task has no default for it), but the field is empty" if self.required else ""
        none = " or tick None" if self.optional else ""
        return self._error(f"{why or 'the field is empty'}. {what}{none}.")

    def _parse(self) -> Any:
        if self.optional and self.none_toggle.value:
            return None
        raw = self.editor.value
        try:
            return self._parse_raw(raw)
        except FlyteTypeError as exc:
            raise self._error(str(exc)) from None

    def _parse_raw(self, raw: Any) -> Any:
        if self.kind in ("expression", "dataframe"):
            return self._parse_expression(str(raw))
        if self.kind in ("file", "directory"):
            return self._parse_path(str(raw))
        if self.kind in ("int", "float", "duration"):
            if not str(raw).strip():
                raise self._empty("Type a number" if self.kind != "int" else "Type a whole number")
            if self.kind == "int":
                return parse_int(raw)
            number = parse_float(raw)
            return datetime.timedelta(seconds=number) if self.kind == "duration" else number
        if self.kind == "str":
            if raw == "" and self.required and self._initial is _NONE:
                raise self._empty(
                    "Type a value (to pass an empty string, call the task in a cell or give it a default)"
                )
            return raw
        if self.kind == "datetime" and isinstance(raw, str):
            try:
                return datetime.datetime.fromisoformat(raw)
            except ValueError:
                raise self._fail("an ISO 8601 date-time", raw, "Write e.g. 2024-01-31T12:00:00.") from None
        if raw is None:
            raise self._empty("Pick one")
        return raw

    def _parse_expression(self, text: str) -> Any:
        if self._shown == text and self._initial is not _NONE:
            return self._initial  # unchanged: the object itself, even if its repr is not code
        expected = r.describe_flyte_type(self.python_type)
        if not text.strip():
            raise self._empty(f"Type {expected} as JSON or a Python expression")
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
        return coerce(self.python_type, value)

    def _parse_path(self, text: str) -> Any:
        if self._shown == text and self._initial is not _NONE:
            return self._initial  # unchanged: the default's own FlyteFile / FlyteDirectory
        text = text.strip()
        if not text:
            raise self._empty(f"Type {_PLACEHOLDERS[self.kind]}")
        if len(text) > 1 and text[0] == text[-1] == '"':  # a path typed as a JSON string, as before
            with contextlib.suppress(ValueError):
                text = str(json.loads(text))
        return os.path.expanduser(text)

    def _check_type(self, value: Any) -> None:
        """Ask the type engine now, so a mistyped value is reported here rather than by the run."""
        try:
            if self.kind == "dataframe":
                data_input.check_frame(value, self.value_annotation)
            elif self.kind in ("expression", "file", "directory") and is_plain(value):
                check_value(value, self.python_type)
        except FlyteTypeError as exc:
            raise self._error(str(exc)) from None

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
            f'<div style="color:{r.ERROR_FG};white-space:normal;overflow-wrap:anywhere;line-height:1.4;'
            f'padding:4px 0 4px 8px">⚠ {r.escape(text)}</div>'
            if text
            else ""
        )


def _value_or_error(field: InputField) -> Any:
    try:
        return field.value()
    except TaskInputError as exc:  # every field is checked, so that all messages show at once
        return exc


class InputForm(widgets.VBox):
    """A typed form for a task's inputs; :meth:`collect` returns the values or marks the bad fields."""

    valid = Bool(True, help="False when the last collect() found an invalid field.").tag(sync=True)

    def __init__(
        self,
        task: Task,
        *,
        namespace: Mapping[str, Any] | None = None,
        prefill: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        iface = task.require_python_interface()
        prefill = prefill or {}
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
                prefill=prefill.get(name, _NONE),
            )
            for name, t in iface.inputs.items()
        }
        children: list[widgets.Widget] = list(self.fields.values())
        if not children:
            children = [widgets.HTML(f'<i style="color:{r.MUTED}">This task takes no inputs.</i>')]
        super().__init__(children=children, **kwargs)
        self.add_class("flyte-nb-form")

    def close(self) -> None:
        """Close the form and its fields (staged uploads are let go of)."""
        for field in self.fields.values():
            field.close()
        super().close()

    def collect(self) -> dict[str, Any] | None:
        """Every field's value by input name, or ``None`` when a field is invalid (its message says why)."""
        values = {name: _value_or_error(field) for name, field in self.fields.items()}
        self.valid = not any(isinstance(v, TaskInputError) for v in values.values())
        return values if self.valid else None

    @property
    def errors(self) -> dict[str, str]:
        """Input name → its current validation message, for fields that have one."""
        return {name: f.message for name, f in self.fields.items() if f.message}
