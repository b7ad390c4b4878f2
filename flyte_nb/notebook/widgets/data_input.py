# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""Editors for data inputs: a path field with an upload button, and a DataFrame picker.

* :class:`PathEditor` — ``FlyteFile`` / ``FlyteDirectory`` / ``os.PathLike`` inputs: a text field for a
  local path or a remote URI, and ipywidgets' ``FileUpload`` beside it (several files for a directory).
  Uploaded bytes are staged by :mod:`flyte_nb.notebook.uploads` and the field shows where.
* :class:`FrameEditor` — ``pandas.DataFrame`` / ``StructuredDataset`` inputs: the expression field, and a
  dropdown of the notebook variables that hold a DataFrame (or a dataset) to pick one by name.

Both expose ``value`` (the text the form parses) and ``disabled`` like the plain editors, so the form
treats every editor alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
from traitlets import Bool, Unicode

from flyte_nb.errors import StorageError
from flyte_nb.notebook.uploads import STAGING
from flyte_nb.notebook.widgets._coerce import (
    check_value,
    loaded_class,
    strip_annotated,
)
from flyte_nb.notebook.widgets._preview import count

__all__ = ["FrameEditor", "PathEditor", "check_frame", "frame_variables"]

_WIDTH = "320px"


def _is_subclass(t: Any, cls: Any) -> bool:
    return cls is not None and isinstance(t, type) and issubclass(t, cls)


class PathEditor(widgets.HBox):
    """A path or URI field with an *Upload* button; an upload is staged and its path shown in the field.

    The button counts the files of the upload the field uses (``Upload (1)``); typing another path lets
    go of the upload and the count returns to 0.

    Parameters
    ----------
    directory:
        True for a directory input: the button takes several files, staged together as one directory.
    fmt:
        The declared format (``"csv"``): the browser's file chooser offers those files first.
    placeholder:
        What the empty field says.
    on_message:
        Called with a message to show next to the field (``""`` clears it) when an upload fails.
    """

    value = Unicode(help="The path or URI in the field: typed, or where the last upload was staged.").tag(
        sync=True
    )
    disabled = Bool(False, help="True when the field and the upload button are disabled.").tag(sync=True)
    directory = Bool(False, help="True for a directory input (the upload takes several files).").tag(
        sync=True
    )
    staged = Unicode(help="Where this field's last upload was staged ('' when none is).").tag(sync=True)

    def __init__(
        self,
        *,
        directory: bool = False,
        fmt: str = "",
        placeholder: str = "",
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        self.text = widgets.Text(
            placeholder=placeholder,
            continuous_update=False,  # checked when typing stops (blur / Enter), not at every key
            layout=widgets.Layout(width=_WIDTH, flex="0 0 auto"),
        )
        what = "files" if directory else "a file"
        self.upload = widgets.FileUpload(
            accept=f".{fmt}" if fmt else "",
            multiple=directory,
            description="Upload",
            icon="upload",
            tooltip=f"Upload {what} from this computer: staged on the kernel's disk for this widget"
            + (" (one directory of the chosen files)" if directory else ""),
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        )
        self._on_message = on_message or (lambda _text: None)
        # Not shrinkable: a field message beside it must not squeeze the Upload button out of sight.
        super().__init__(
            children=[self.text, self.upload], directory=directory, layout=widgets.Layout(flex="0 0 auto")
        )
        self.add_class("flyte-nb-path-editor")
        widgets.link((self, "value"), (self.text, "value"))
        widgets.link((self, "disabled"), (self.text, "disabled"))
        widgets.link((self, "disabled"), (self.upload, "disabled"))
        self.upload.observe(self._on_upload, names="value")
        self.observe(self._on_path, names="value")

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return  # cleared (below): nothing to stage
        try:
            if self.directory:
                path = STAGING.stage_directory([(f["name"], f["content"]) for f in files])
            else:
                path = STAGING.stage_file(files[0]["name"], files[0]["content"])
        except StorageError as exc:
            self.upload.value = ()  # the button's count says no upload is in use
            self._on_message(f"the upload could not be used: {exc}")
            return
        self.discard()
        self.staged = path
        self.value = path

    def _on_path(self, change: dict[str, Any]) -> None:
        """Another path typed over an upload: the upload is let go of, and the button's count says so."""
        if self.staged and change["new"] != self.staged:
            self.discard()
            self.upload.value = ()

    def discard(self) -> None:
        """Let go of this field's staged upload (removed now, or when the last run using it ends)."""
        if self.staged:
            STAGING.discard(self.staged)
            self.staged = ""

    def close(self) -> None:
        self.discard()
        super().close()


# -- DataFrames and datasets from the notebook ---------------------------------------------------------
_MAX_CHOICES = 200


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2:
        return f"{type(value).__name__}: {count(shape[0], 'row')}, {count(shape[1], 'column')}"
    return type(value).__name__


def frame_variables(namespace: Mapping[str, Any] | None, python_type: Any) -> list[tuple[str, str]]:
    """``(label, name)`` of the notebook variables a DataFrame / dataset input can take, by name.

    A ``StructuredDataset`` input takes ``StructuredDataset`` values; a DataFrame input takes DataFrames
    and datasets alike (as the type engine does). Names starting with ``_`` (IPython's output history)
    are left out.
    """
    if not namespace:
        return []
    dataset = loaded_class("flyte_nb.core.types.structured_dataset", "StructuredDataset")
    frame = loaded_class("pandas", "DataFrame")
    wants_dataset = _is_subclass(strip_annotated(python_type), dataset)
    kinds = tuple(c for c in ((dataset,) if wants_dataset else (frame, dataset)) if c is not None)
    found = [
        (f"{name} ({_describe(value)})", name)
        for name, value in list(namespace.items())
        if not name.startswith("_") and isinstance(value, kinds)
    ]
    return sorted(found, key=lambda item: item[1])[:_MAX_CHOICES]


def check_frame(value: Any, python_type: Any) -> None:
    """The type engine's checks of a DataFrame that cost nothing, made before anything runs: a DataFrame
    given for a ``StructuredDataset`` input, or one without the declared columns, is refused.

    Raises
    ------
    FlyteTypeError
        With the engine's own message (what was expected, what was received, the fix).
    """
    frame = loaded_class("pandas", "DataFrame")
    if frame is None or not isinstance(value, frame):
        return  # a dataset is checked when it is written, by the run
    from flyte_nb.core.types._dataframe_io import check_columns
    from flyte_nb.core.types.structured_dataset import StructuredDataset, dataset_type, declared

    if _is_subclass(declared(python_type).base, StructuredDataset):
        check_value(value, python_type)  # refused before anything is written
        return
    wanted = [c.name for c in dataset_type(python_type).columns]
    check_columns([str(c) for c in value.columns], wanted, "a DataFrame")


_PICK = "a notebook variable…"


class FrameEditor(widgets.HBox):
    """The expression field of a DataFrame / dataset input, with a dropdown of the notebook's variables
    holding one: picking a variable writes its name in the field (any expression still works)."""

    value = Unicode(help="The expression in the field (a variable name, or any Python expression).").tag(
        sync=True
    )
    disabled = Bool(False, help="True when the field and the dropdown are disabled.").tag(sync=True)

    def __init__(
        self, python_type: Any, namespace: Mapping[str, Any] | None, *, placeholder: str = ""
    ) -> None:
        self.python_type, self.namespace = python_type, namespace
        self.text = widgets.Textarea(
            placeholder=placeholder, layout=widgets.Layout(width=_WIDTH, height="32px", flex="0 0 auto")
        )
        self.variables = widgets.Dropdown(
            options=[(_PICK, "")],
            value="",
            tooltip="DataFrames in the notebook: pick one to pass it",
            layout=widgets.Layout(width="280px", flex="0 0 auto"),  # "frame (DataFrame: 4 rows, 3 columns)"
        )
        # Not shrinkable, as the path editor: a field message must not hide the dropdown.
        super().__init__(children=[self.text, self.variables], layout=widgets.Layout(flex="0 0 auto"))
        self.add_class("flyte-nb-frame-editor")
        widgets.link((self, "value"), (self.text, "value"))
        widgets.link((self, "disabled"), (self.text, "disabled"))
        widgets.link((self, "disabled"), (self.variables, "disabled"))
        self.variables.observe(self._on_pick, names="value")
        self.observe(self._follow_text, names="value")
        self.refresh()
        _watch(self)

    def refresh(self) -> None:
        """List the notebook's DataFrame variables again (done after every cell the kernel runs)."""
        found = frame_variables(self.namespace, self.python_type)
        options = [(_PICK if found else "no DataFrame variables in the notebook", ""), *found]
        if list(self.variables.options) != options:
            current = self.value.strip()
            self.variables.options = options
            self.variables.value = current if current in {n for _, n in found} else ""

    def close(self) -> None:
        if _EDITORS is not None:
            _EDITORS.discard(self)
        super().close()

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.value = change["new"]

    def _follow_text(self, change: dict[str, Any]) -> None:
        names = {n for _, n in self.variables.options}
        text = str(change["new"]).strip()
        self.variables.value = text if text and text in names else ""


# After each cell, the dropdowns list the variables the cell made; the hook holds editors weakly and
# removes itself once none is left.
_EDITORS: Any = None  # weakref.WeakSet[FrameEditor], made on first use
_HOOKED: list[Any] = []  # the shell the hook is registered with


def _refresh_all(*_args: Any) -> None:
    editors = list(_EDITORS or ())
    for editor in editors:
        editor.refresh()
    if not editors and _HOOKED:
        shell = _HOOKED.pop()
        shell.events.unregister("post_run_cell", _refresh_all)


def _watch(editor: FrameEditor) -> None:
    import weakref

    global _EDITORS
    if _EDITORS is None:
        _EDITORS = weakref.WeakSet()
    _EDITORS.add(editor)
    if _HOOKED:
        return
    from IPython import get_ipython

    shell = get_ipython()
    events = getattr(shell, "events", None)
    if events is not None:
        events.register("post_run_cell", _refresh_all)
        _HOOKED.append(shell)
