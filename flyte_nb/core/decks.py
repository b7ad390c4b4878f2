"""Decks: HTML pages a task writes about its run (flytekit's ``Deck``, ``enable_deck``, ``deck_fields``).

Task code adds pages with ``flyte_nb.Deck("name", html)`` (a deck appends itself to the running task's
``current_context().decks``). A task defined with ``enable_deck=True`` also gets the default decks its
``deck_fields`` name, in flytekit's order: ``Timeline`` first, then the task's own decks, ``Source Code``,
``Dependencies``, ``Input`` and ``Output``.

Where they go, as in flytekit: in a container the decks are rendered into one page, ``deck.html``, under
the task's output prefix (next to ``outputs.pb``; also when the task failed), and the template's
``metadata.generates_deck`` is true so propeller links it. In the kernel and the process sandbox the
same page is shown in the task's widget (``SandboxExecutor.last_deck``).
"""

from __future__ import annotations

import enum
import html
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flyte_nb.errors import TaskDefinitionError

if TYPE_CHECKING:
    from flyte_nb.core.context import ExecutionParameters
    from flyte_nb.core.storage import RawStore

__all__ = [
    "DECK_FILE_NAME",
    "DEFAULT_DECK_FIELDS",
    "Deck",
    "DeckField",
    "TimeLineDeck",
    "deck_fields_from",
    "render_decks",
]

DECK_FILE_NAME = "deck.html"


class DeckField(str, enum.Enum):
    """The default decks a task can write (flytekit's ``DeckField``)."""

    INPUT = "Input"
    OUTPUT = "Output"
    SOURCE_CODE = "Source Code"
    TIMELINE = "Timeline"
    DEPENDENCIES = "Dependencies"


#: flytekit's default ``deck_fields``.
DEFAULT_DECK_FIELDS = (
    DeckField.SOURCE_CODE,
    DeckField.DEPENDENCIES,
    DeckField.TIMELINE,
    DeckField.INPUT,
    DeckField.OUTPUT,
)


def deck_fields_from(values: Iterable[Any] | None) -> tuple[DeckField, ...]:
    """``deck_fields`` as :class:`DeckField` s; also accepts their values (``"Input"``) and names (``"input"``).

    Raises
    ------
    TaskDefinitionError
        An item names no deck field.
    """
    if values is None:
        return ()
    if isinstance(values, (str, DeckField)):
        values = [values]
    out: list[DeckField] = []
    by_name = {f.name.lower(): f for f in DeckField} | {f.value.lower(): f for f in DeckField}
    for value in values:
        found = (
            value
            if isinstance(value, DeckField)
            else by_name.get(str(value).strip().lower().replace("-", "_"))
        )
        if found is None:
            found = by_name.get(str(value).strip().lower())
        if found is None:
            raise TaskDefinitionError(
                f"deck_fields: expected DeckField members ({', '.join(f.name for f in DeckField)}), got "
                f"{value!r} ({type(value).__name__}). Pass e.g. deck_fields=(DeckField.INPUT, DeckField.OUTPUT)."
            )
        if found not in out:
            out.append(found)
    return tuple(out)


def _current_params() -> ExecutionParameters:
    from flyte_nb.core.context import FlyteContextManager

    return FlyteContextManager.current_context().execution_params


class Deck:
    """One page of a task's decks (flytekit's ``Deck``).

    Parameters
    ----------
    name:
        The tab title.
    html:
        The page's HTML (it is shown as is: escape text you did not write).
    auto_add_to_deck:
        Add the deck to the running task's decks (``current_context().decks``).
    """

    def __init__(self, name: str, html: str | None = "", auto_add_to_deck: bool = True) -> None:
        if not isinstance(name, str):
            raise TaskDefinitionError(f"Deck name: expected a str, got {name!r} ({type(name).__name__}).")
        self._name = name
        self._html = html or ""
        if auto_add_to_deck:
            _current_params().decks.append(self)

    def append(self, html: str) -> Deck:
        """Add ``html`` to the page (on a new line)."""
        if not isinstance(html, str):
            raise TaskDefinitionError(
                f"Deck {self._name!r}.append: expected an HTML str, got {type(html).__name__}. "
                "Render the value to HTML first (e.g. df.to_html())."
            )
        self._html = self._html + "\n" + html
        return self

    @property
    def name(self) -> str:
        """The tab title."""
        return self._name

    @property
    def html(self) -> str:
        """The page's HTML."""
        return self._html

    @staticmethod
    def publish() -> None:
        """Write the running task's decks now (in a container, ``deck.html`` under its output prefix)."""
        params = _current_params()
        if params.enable_deck and params.output_metadata_prefix:
            write_deck_file(params.output_metadata_prefix, params.decks)

    def __repr__(self) -> str:
        return f"Deck({self._name!r}, {len(self._html)} characters)"


class TimeLineDeck(Deck):
    """How long the parts of the task took (wall and process time)."""

    def __init__(
        self, name: str = DeckField.TIMELINE.value, html: str | None = "", auto_add_to_deck: bool = True
    ):
        super().__init__(name, html, auto_add_to_deck)
        self.time_info: list[dict[str, Any]] = []

    def append_time_info(self, info: dict[str, Any]) -> None:
        """Record ``{"Name": …, "WallTime": seconds, "ProcessTime": seconds}``."""
        self.time_info.append(dict(info))

    @property
    def html(self) -> str:
        if not self.time_info:
            return ""
        rows = "".join(
            f"<tr><td>{html.escape(str(r.get('Name', '')))}</td><td>{float(r.get('WallTime', 0)):.6f}</td>"
            f"<td>{float(r.get('ProcessTime', 0)):.6f}</td></tr>"
            for r in self.time_info
        )
        return (
            '<table border="1" cellpadding="5" cellspacing="0" style="border-collapse:collapse;width:100%">'
            "<thead><tr><th>Name</th><th>Wall Time(s)</th><th>Process Time(s)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def timeline_deck(params: ExecutionParameters) -> TimeLineDeck:
    """The timeline deck of ``params`` (made, not added, when there is none yet)."""
    for deck in params.decks:
        if isinstance(deck, TimeLineDeck):
            return deck
    found = params.extra.get("_timeline_deck")
    if not isinstance(found, TimeLineDeck):
        found = TimeLineDeck(auto_add_to_deck=False)
        params.extra["_timeline_deck"] = found
    return found


class Timer:
    """Measures one part of a run for the timeline deck."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def info(self) -> dict[str, Any]:
        """The measurement as a timeline row."""
        return {
            "Name": self.name,
            "WallTime": time.perf_counter() - self._wall,
            "ProcessTime": time.process_time() - self._cpu,
        }


# -------------------------------------------------------------------------------------- default decks


def value_html(value: Any, python_type: Any, store: RawStore) -> str:
    """HTML for one input or output value: a renderer in ``Annotated[T, renderer]``, a custom
    transformer's ``to_html``, a DataFrame's table, else the escaped ``str()``."""
    from flyte_nb.core.types import TypeEngine
    from flyte_nb.core.types._common import strip_annotated

    _inner, metadata = strip_annotated(python_type)
    for meta in metadata:
        to_html = getattr(meta, "to_html", None)
        if callable(to_html) and not isinstance(meta, type):
            return str(to_html(value))
    try:
        transformer = TypeEngine.get_transformer(python_type)
    except TypeError:  # an annotation without a transformer cannot reach a deck; show the value anyway
        transformer = None
    custom = getattr(transformer, "to_html", None)
    if callable(custom):
        return str(custom(value, python_type, store))
    to_html = getattr(value, "to_html", None)
    if callable(to_html) and type(value).__module__.startswith("pandas"):
        return str(to_html())
    return f"<pre>{html.escape(str(value))}</pre>"


def _source_html(fn: Any) -> str | None:
    import inspect

    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):  # no source (e.g. a function made with exec): no deck, as flytekit
        return None
    try:
        # pygments ships no type information
        from pygments import highlight  # type: ignore[import-untyped]
        from pygments.formatters.html import HtmlFormatter  # type: ignore[import-untyped]
        from pygments.lexers.python import PythonLexer  # type: ignore[import-untyped]
    except ImportError:  # pygments comes with IPython; a container may lack it
        return f"<pre>{html.escape(source)}</pre>"
    formatter = HtmlFormatter(style="colorful")
    css = formatter.get_style_defs(".highlight").replace("#fff0f0", "#ffffff")
    return f"<style>{css}</style>{highlight(source, PythonLexer(), formatter)}"


def _dependencies_html() -> str:
    from importlib import metadata

    rows = sorted(
        {(d.metadata["Name"] or "", d.version) for d in metadata.distributions() if d.metadata["Name"]},
        key=lambda r: r[0].lower(),
    )
    table = "".join(f"<tr><td>{html.escape(n)}</td><td>{html.escape(v)}</td></tr>" for n, v in rows)
    return (
        "<h3>Python Dependencies</h3><table><tr><th style='text-align:left;'>Name</th>"
        f"<th style='text-align:left;'>Version</th></tr>{table}</table>"
    )


def add_default_decks(
    params: ExecutionParameters,
    fields: Iterable[DeckField],
    *,
    task_function: Any,
    inputs: Mapping[str, tuple[Any, Any]],
    outputs: Mapping[str, tuple[Any, Any]],
    store: RawStore,
) -> None:
    """Append the default decks ``fields`` name, after the task's own, in flytekit's order.

    ``inputs`` / ``outputs`` map each variable to ``(value, python type)``.
    """
    wanted = set(fields)
    decks = params.decks
    if DeckField.SOURCE_CODE in wanted:
        source = _source_html(task_function)
        if source is not None:
            decks.append(Deck(DeckField.SOURCE_CODE.value, source, auto_add_to_deck=False))
    if DeckField.DEPENDENCIES in wanted:
        decks.append(Deck(DeckField.DEPENDENCIES.value, _dependencies_html(), auto_add_to_deck=False))
    for field_, values in ((DeckField.INPUT, inputs), (DeckField.OUTPUT, outputs)):
        if field_ in wanted:
            deck = Deck(field_.value, auto_add_to_deck=False)
            for name, (value, t) in values.items():
                deck.append(f"<h4>{html.escape(name)}</h4>{value_html(value, t, store)}")
            decks.append(deck)


# ----------------------------------------------------------------------------------------- rendering

_PAGE = """<!doctype html>
<html lang="">
<head>
<meta charset="utf-8">
<title>User Content</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
ol, ul {{ list-style: none; }}
table {{ border-collapse: collapse; border-spacing: 0; }}
#flyte-frame-nav {{ display: flex; width: 100%; }}
#flyte-frame-tabs {{ display: flex; width: 100%; justify-content: center; margin-block: 0; padding-inline-start: 0; }}
#flyte-frame-tabs li {{ cursor: pointer; padding: 8px; margin: 0 12px 0 0; font: 700 14px/20px sans-serif;
  color: #666666; width: 126px; text-align: center; }}
#flyte-frame-tabs li.active {{ border-bottom: 4px solid rgb(163, 26, 255); color: #333333; }}
#flyte-frame-container > div {{ display: none; }}
#flyte-frame-container > div.active {{ display: block; padding: 2rem 2rem; }}
</style>
</head>
<body>
<nav id="flyte-frame-nav"><ul id="flyte-frame-tabs">{nav}</ul></nav>
<div id="flyte-frame-container">{body}</div>
</body>
<script>
const tabs = document.getElementById('flyte-frame-tabs');
const pages = document.getElementById('flyte-frame-container');
const show = i => {{
  for (let k = 0; k < tabs.children.length; k++) {{
    tabs.children[k].classList.toggle('active', k === i);
    pages.children[k].classList.toggle('active', k === i);
  }}
}};
for (let k = 0; k < tabs.children.length; k++) {{ tabs.children[k].onclick = () => show(k); }}
if (tabs.children.length) {{ show(0); }}
</script>
</html>
"""


def render_decks(decks: Iterable[Deck]) -> str:
    """The decks as one HTML page with a tab per deck (a later deck of the same name replaces the
    earlier one's content in its place, as flytekit's map of name to HTML does)."""
    pages: dict[str, str] = {}
    for deck in decks:
        pages[deck.name] = deck.html
    nav = "".join(f"<li>{html.escape(name)}</li>" for name in pages)
    body = "".join(f"<div>{content}</div>" for content in pages.values())
    return _PAGE.format(nav=nav, body=body)


def write_deck_file(output_prefix: str, decks: Iterable[Deck]) -> str:
    """Write ``deck.html`` under ``output_prefix``; return its URI."""
    from flyte_nb.core import uris

    uri = uris.join(output_prefix, DECK_FILE_NAME)
    uris.write_bytes_atomic(uri, render_decks(decks).encode("utf-8"))
    return uri


def dispatch_with_decks(task: Any, ctx: Any, input_literal_map: Any, dispatch: Any) -> Any:
    """Run ``dispatch(ctx)`` (the task's ``dispatch_execute``) with decks enabled, then add the default decks.

    The timeline deck is added first and times the run; the ``Source Code``, ``Dependencies``, ``Input``
    and ``Output`` decks follow the task's own decks, as in flytekit. The decks land on the caller's
    execution parameters (the list is shared), where the entrypoint or the sandbox renders them.
    """
    from flyteidl.core import literals_pb2

    from flyte_nb.core import execution
    from flyte_nb.core.types import TypeEngine

    fields = tuple(task.deck_fields)
    params = ctx.execution_params.with_(enable_deck=True)
    timeline = None
    if DeckField.TIMELINE in fields:
        timeline = timeline_deck(params)
        if timeline not in params.decks:
            params.decks.append(timeline)
    timer = Timer("Execute user level code")
    result = dispatch(ctx.with_(execution_params=params))
    if timeline is not None:
        timeline.append_time_info(timer.info())
    if isinstance(result, literals_pb2.LiteralMap):
        iface = task.python_interface
        native_in = {
            **{k: v for k, v in iface.defaults.items() if k in iface.inputs},
            **execution.literal_map_to_inputs(
                task.name, iface.inputs, iface.defaults, input_literal_map, ctx.store
            ),
        }
        native_out = TypeEngine.literal_map_to_python(result, iface.outputs, store=ctx.store)
        add_default_decks(
            params,
            fields,
            task_function=task.task_function,
            inputs={k: (v, iface.inputs[k]) for k, v in native_in.items()},
            outputs={k: (v, iface.outputs[k]) for k, v in native_out.items()},
            store=ctx.store,
        )
    return result
