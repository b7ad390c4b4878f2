# mypy: allow-subclassing-any
# (ipywidgets ships no type information, so its classes are Any to mypy)
"""The template view: the compiled ``TaskTemplate`` as highlighted YAML or JSON, with a copy button."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Unicode, observe

from flyte_nb.notebook.widgets import _render as r

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = ["TemplateView", "copy_button_html"]

# Runs in the browser: copy the hidden textarea next to the button. navigator.clipboard needs a secure
# context (https or localhost); elsewhere fall back to selecting the text and execCommand('copy').
_COPY_JS = (
    "(function(b){var a=b.parentNode.querySelector('textarea.flyte-nb-copy-source');"
    "var done=function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy'},1500)};"
    "var fallback=function(){a.style.display='block';a.select();document.execCommand('copy');"
    "a.style.display='none';done()};"
    "if(navigator.clipboard){navigator.clipboard.writeText(a.value).then(done,fallback)}else{fallback()}"
    "})(this)"
)


# Styled like the widgets' own buttons, in the theme's colours (a bare <button> looked like a browser's
# default control, out of place in both themes).
_COPY_STYLE = (
    "font:inherit;font-size:var(--jp-widgets-font-size, 13px);cursor:pointer;"
    "padding:2px 12px;margin:2px 0 4px;border-radius:2px;"
    "color:var(--jp-ui-font-color1, rgba(0,0,0,.87));background:var(--jp-layout-color2, #eee);"
    "border:1px solid var(--jp-border-color1, #bdbdbd)"
)


def copy_button_html(text: str, label: str = "Copy") -> str:
    """A *Copy* button (plain HTML + inline script) that puts ``text`` on the clipboard."""
    return (
        f'<span class="flyte-nb-copy"><button class="flyte-nb-copy-button" title="Copy to the clipboard" '
        f'style="{_COPY_STYLE}" onclick="{html.escape(_COPY_JS, quote=True)}">{html.escape(label)}</button>'
        f'<textarea class="flyte-nb-copy-source" style="display:none" readonly>{html.escape(text)}</textarea>'
        "</span>"
    )


class TemplateView(widgets.VBox):
    """The task's compiled template: key facts, then the full document, highlighted; *Copy* copies it."""

    fmt = Unicode("yaml", help="Format the template is shown and copied in: 'yaml' or 'json'.").tag(sync=True)
    version = Unicode(help="The template's version (the task's content hash unless one was set).").tag(
        sync=True
    )
    source = Unicode(help="The template text in the current format (what the copy button copies).").tag(
        sync=True
    )

    def __init__(self, task: Task, **kwargs: Any) -> None:
        self.template, self.error = r.safe(lambda: r.task_template(task))
        self.facts = widgets.HTML()
        self.code = widgets.HTML()
        self.format_toggle = widgets.ToggleButtons(
            options=[("YAML", "yaml"), ("JSON", "json")], value="yaml", style={"button_width": "60px"}
        )
        super().__init__(children=[self.facts, self.format_toggle, self.code], **kwargs)
        widgets.link((self.format_toggle, "value"), (self, "fmt"))
        if self.error is not None:
            self.facts.value = r.error_html(self.error)
            self.format_toggle.layout.display = "none"
            return
        self.version = self.template.id.version
        from flyte_nb.notebook.widgets._deck_render import image_note_html

        self.facts.value = r.facts_html(r.template_facts(self.template)) + image_note_html(task)
        self._render()

    @property
    def document(self) -> dict[str, Any]:
        """The template as a JSON-like dict (empty when it could not be compiled)."""
        return r.template_document(self.template) if self.template is not None else {}

    @observe("fmt")
    def _on_fmt(self, change: dict[str, Any]) -> None:
        if self.template is not None:
            self._render()

    def _render(self) -> None:
        fmt = "json" if self.fmt == "json" else "yaml"
        self.source = r.template_source(self.template, fmt)
        self.code.value = (
            copy_button_html(self.source)
            + f'<div class="flyte-nb-template" style="max-height:420px;overflow:auto">{r.highlight(self.source, fmt)}</div>'
        )

    def as_json(self) -> str:
        """The template as indented JSON (independent of the format shown)."""
        return json.dumps(self.document, indent=2)
