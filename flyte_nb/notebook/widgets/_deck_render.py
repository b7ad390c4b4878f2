"""HTML for decks and image specs, without ipywidgets (the static views use it too)."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["deck_frame_html", "image_note_html"]


def deck_frame_html(page: str, height: int = 420) -> str:
    """``page`` (a whole HTML document) in a sandboxed iframe: its scripts run, but not in the notebook."""
    return (
        f'<iframe class="flyte-nb-deck" sandbox="allow-scripts" srcdoc="{html.escape(page, quote=True)}" '
        f'style="width:100%;height:{height}px;border:1px solid var(--jp-border-color2, #ddd)"></iframe>'
    )


def image_note_html(task: Any) -> str:
    """For a task whose image is an ``ImageSpec``: its image and what flyte_nb added ('' otherwise)."""
    from flyte_nb.core.image_spec import ImageSpec
    from flyte_nb.errors import ImageSpecError

    spec = getattr(task, "container_image", None)
    if not isinstance(spec, ImageSpec):
        return ""
    try:
        image = spec.completed().image_name()
    except (ImageSpecError, OSError) as exc:  # an unreadable requirements file: say so, keep the view
        return f"<div>ImageSpec <code>{html.escape(spec.name)}</code>: {html.escape(str(exc))}</div>"
    added = spec.additions
    what = ", ".join(
        f"{html.escape(k)} {html.escape(', '.join(v) if isinstance(v, list) else str(v))}"
        for k, v in added.items()
    )
    note = f"; flyte_nb added {what} (a task's image needs them)" if added else ""
    return (
        f'<div class="flyte-nb-image-spec">ImageSpec <code>{html.escape(spec.name)}</code> → '
        f"<code>{html.escape(image)}</code>{note}</div>"
    )
