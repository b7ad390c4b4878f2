"""Descriptions from a task function's docstring (reST, Google and numpydoc styles).

Parsing is done by ``docstring_parser`` exactly as flytekit does it, so the ``Variable.description`` of
every input and output, and the task's short/long description, match what flytekit registers. The
parser is imported on first use: most tasks are never serialized, and ``import flyte_nb`` must stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

__all__ = ["Docstring", "output_descriptions_for"]


class _Empty:
    """What ``docstring_parser.parse("")`` returns, without importing it."""

    params: list[Any] = []
    many_returns: list[Any] = []
    short_description: str | None = None
    long_description: str | None = None


_EMPTY = _Empty()


class Docstring:
    """The parsed docstring of a callable (or of an explicit text).

    Parameters
    ----------
    docstring:
        The text to parse; when ``None`` the ``__doc__`` of ``callable_`` is used.
    callable_:
        The function whose docstring describes the task.
    """

    def __init__(self, docstring: str | None = None, callable_: Callable[..., Any] | None = None) -> None:
        if docstring is None and callable_ is not None:
            docstring = callable_.__doc__
        self.text: str | None = docstring

    @cached_property
    def _parsed(self) -> Any:
        if not (self.text or "").strip():
            return _EMPTY  # nothing to parse: no need to import the parser (a container's start-up)
        from docstring_parser import parse  # lazy: only needed when descriptions are asked for

        return parse(self.text or "")

    def __getstate__(self) -> dict[str, Any]:
        # The parse is re-done on demand: pickled with a task it would make loading the task (in a
        # container) import docstring_parser, and it adds nothing the text does not hold.
        return {"text": self.text}

    @property
    def input_descriptions(self) -> dict[str, str]:
        """Parameter name → description text (documented parameters only)."""
        return {p.arg_name: p.description or "" for p in self._parsed.params}

    @property
    def output_descriptions(self) -> dict[str, str]:
        """Return name → description (numpydoc names its returns; other styles give ``None`` keys)."""
        return {str(p.return_name): p.description or "" for p in self._parsed.many_returns}

    @property
    def short_description(self) -> str | None:
        """The first paragraph of the docstring."""
        value: str | None = self._parsed.short_description
        return value

    @property
    def long_description(self) -> str | None:
        """Everything after the first paragraph, before the parameter sections."""
        value: str | None = self._parsed.long_description
        return value

    def __repr__(self) -> str:
        return f"Docstring({self.text!r})"


def output_descriptions_for(docstring: Docstring | None, outputs: Mapping[str, Any]) -> dict[str, str]:
    """Output variable → description, flytekit's way.

    A single return entry describes every output (``:return:`` on a ``Tuple`` return describes all of
    its elements); several entries are matched by name.
    """
    if docstring is None:
        return {}
    described = docstring.output_descriptions
    if len(described) != 1:
        return described
    (shared,) = described.values()
    return dict.fromkeys(outputs, shared)
