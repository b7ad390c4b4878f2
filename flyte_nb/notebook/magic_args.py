"""Typed option parsing for the magics: IPython's ``magic_arguments`` with shell quoting and one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from IPython.core import magic_arguments as _ma
from IPython.core.error import UsageError

__all__ = ["argument", "magic_arguments", "one_line", "parse_argstring"]


# IPython's magic_arguments module has no annotations; these typed wrappers keep mypy strict here.
def magic_arguments(name: str | None = None) -> Callable[[Callable[..., Any]], Any]:
    return cast(Callable[[Callable[..., Any]], Any], _ma.magic_arguments(name))  # type: ignore[no-untyped-call]


def argument(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    return cast(Callable[[Callable[..., Any]], Any], _ma.argument(*args, **kwargs))  # type: ignore[no-untyped-call]


def parse_argstring(magic_func: Any, argstring: str) -> Any:
    """Parse a magic's options as a shell would split them; each misuse is a one-line ``UsageError``.

    IPython's own ``parse_argstring`` splits non-POSIX, so ``--env B='x y'`` would become the two words
    ``B='x`` and ``y'``; here quotes group words and are removed, as in a shell.
    """
    from IPython.utils.process import arg_split  # type: ignore[attr-defined]

    parser = magic_func.parser
    magic = "%" + parser.prog  # the usage line's spelling: %flyte_remote, %%flyte_task
    try:
        argv = arg_split(argstring, posix=True, strict=True)
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(
            f"{magic}: cannot split {argstring.strip()!r} into options ({exc}). Close the quote."
        ) from None
    try:
        return parser.parse_args(argv)
    except UsageError as exc:  # argparse: unknown option, missing or invalid value
        raise UsageError(f"{magic}: {one_line(exc)}. Run {magic}? for the options.") from None


def one_line(exc: BaseException) -> str:
    """An error's message on one line (a ``UsageError`` shows one line)."""
    return " ".join(str(exc).split())
