"""Syntax highlighting for the template views, in the theme's own code colours.

Inline styles (no stylesheet is needed where the HTML is shown), each colour one of JupyterLab's
``--jp-mirror-editor-*`` variables, so the YAML reads well in the light and the dark theme alike, with the
light theme's colours as fallbacks for nbconvert and GitHub.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["highlight"]


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


# Token kinds → the theme's own code colours (what JupyterLab's editor uses), light-theme fallbacks.
_TOKEN_COLOURS = (
    ("Comment", "var(--jp-mirror-editor-comment-color, #408080)"),
    ("Name.Tag", "var(--jp-mirror-editor-property-color, #05a)"),
    ("Keyword", "var(--jp-mirror-editor-keyword-color, #008000)"),
    ("Literal.String", "var(--jp-mirror-editor-string-color, #ba2121)"),
    ("Literal.Number", "var(--jp-mirror-editor-number-color, #080)"),
    ("Literal.Scalar", "var(--jp-mirror-editor-variable-color, #212121)"),
    ("Punctuation", "var(--jp-mirror-editor-punctuation-color, #05a)"),
    ("Operator", "var(--jp-mirror-editor-operator-color, #7800c2)"),
)


def _token_colour(token: Any) -> str | None:
    name = str(token).removeprefix("Token.")
    for kind, colour in _TOKEN_COLOURS:
        if name == kind or name.startswith(kind + "."):
            return colour
    return None


def highlight(source: str, fmt: str = "yaml") -> str:
    """``source`` syntax-highlighted as HTML with inline styles in the theme's code colours (renders
    anywhere, no stylesheet needed; nbconvert and GitHub get the light theme's colours)."""
    try:
        # pygments ships no type information
        from pygments.lexers import JsonLexer, YamlLexer  # type: ignore[import-untyped]
    except ImportError:  # pygments comes with IPython; without it, plain text is still readable
        return f'<pre class="flyte-nb-code">{escape(source)}</pre>'
    lexer = JsonLexer() if fmt == "json" else YamlLexer()
    spans = []
    for token, text in lexer.get_tokens(source):
        colour = _token_colour(token)
        spans.append(f'<span style="color:{colour}">{escape(text)}</span>' if colour else escape(text))
    return f'<pre class="flyte-nb-code" style="margin:0;line-height:1.35">{"".join(spans)}</pre>'.replace(
        "\n</pre>", "</pre>"
    )
