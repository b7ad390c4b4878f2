"""The ``flyte-nb-execute`` command line: ``pyflyte-execute``'s shape, parsed and normalised.

::

    flyte-nb-execute --inputs <uri> --output-prefix <uri>
                     [--raw-output-data-prefix <uri>] [--checkpoint-path <uri>] [--prev-checkpoint <uri>]
                     --resolver <dotted.path.to.resolver> -- <loader args...>

Everything after ``--`` goes unparsed to the resolver's ``load_task``. Optional locations that arrive
un-rendered (an older propeller, or a command run by hand) or empty become ``None``; so does the
two-character value ``""`` that propeller substitutes for a missing previous checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

from flyte_nb.errors import CommandLineError

__all__ = ["ExecuteArgs", "UsageError", "help_text", "parse_args", "wants_help"]

_UNRENDERED = re.compile(r"^\s*\{\{.*\}\}\s*$", re.DOTALL)


# flyte-nb-execute's own name for it; one class of the package's error tree.
UsageError = CommandLineError


@dataclass(frozen=True)
class ExecuteArgs:
    """The parsed command line of one task run."""

    inputs: str
    output_prefix: str
    raw_output_data_prefix: str | None
    checkpoint_path: str | None
    prev_checkpoint: str | None
    resolver: str
    loader_args: list[str]
    dynamic_addl_distro: str | None = None
    dynamic_dest_dir: str | None = None
    test: bool = False


def _optional(value: str | None) -> str | None:
    """``None`` for absent, empty, ``""`` (two quote characters) or un-rendered ``{{…}}`` values."""
    if value is None:
        return None
    stripped = value.strip()
    if stripped in ("", '""', "''") or _UNRENDERED.match(stripped):
        return None
    return value


def _parser() -> argparse.ArgumentParser:
    import argparse  # only for --help and malformed command lines: _fast_parse handles the rest

    parser = argparse.ArgumentParser(
        prog="flyte-nb-execute",
        description="Run one flyte_nb task the way a Flyte cluster runs a container task.",
        epilog="Everything after '--' is passed to the resolver's load_task().",
        allow_abbrev=False,
    )
    parser.add_argument("--inputs", required=True, help="URI of inputs.pb (a LiteralMap)")
    parser.add_argument("--output-prefix", required=True, help="where outputs.pb / error.pb go")
    parser.add_argument("--raw-output-data-prefix", help="where large values (pickles, arrays) go")
    parser.add_argument("--checkpoint-path", help="this attempt's checkpoint prefix")
    parser.add_argument("--prev-checkpoint", help="the previous attempt's checkpoint prefix")
    parser.add_argument("--resolver", required=True, help="dotted path of the task resolver instance")
    parser.add_argument("--dynamic-addl-distro", help="accepted for pyflyte-execute compatibility")
    parser.add_argument("--dynamic-dest-dir", help="accepted for pyflyte-execute compatibility")
    parser.add_argument("--test", action="store_true", help="load the task and inputs, but do not run it")
    return parser


_VALUED = (
    "inputs",
    "output_prefix",
    "raw_output_data_prefix",
    "checkpoint_path",
    "prev_checkpoint",
    "resolver",
    "dynamic_addl_distro",
    "dynamic_dest_dir",
)


class _Namespace:
    """What ``argparse`` would return for a well-formed command line."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _fast_parse(options: Sequence[str]) -> _Namespace | None:
    """Parse the command line propeller renders (``--name value`` pairs) without importing argparse.

    ``None`` for anything else (``--name=value``, an unknown or repeated option, a missing value or a
    missing required option), which argparse then parses or reports.
    """
    values: dict[str, Any] = dict.fromkeys(_VALUED)
    values["test"] = False
    seen: set[str] = set()
    i = 0
    while i < len(options):
        name = options[i][2:].replace("-", "_") if options[i].startswith("--") else ""
        if name in seen:
            return None
        seen.add(name)
        if name == "test":
            values["test"] = True
            i += 1
        elif name in _VALUED and i + 1 < len(options) and not options[i + 1].startswith("-"):
            values[name] = options[i + 1]
            i += 2
        else:
            return None
    if not {"inputs", "output_prefix", "resolver"} <= seen:
        return None
    return _Namespace(values)


def wants_help(argv: Sequence[str]) -> bool:
    """Whether ``-h``/``--help`` is among the options (before ``--``; after it, they are loader args)."""
    options = list(argv)
    if "--" in options:
        options = options[: options.index("--")]
    return any(arg in ("-h", "--help") for arg in options)


def help_text() -> str:
    """The ``--help`` text."""
    return _parser().format_help()


def parse_args(argv: Sequence[str]) -> ExecuteArgs:
    """Parse and normalise ``argv`` (without the program name).

    Raises
    ------
    UsageError
        When a required option or the loader args are missing, or the inputs/outputs locations were
        never rendered.
    """
    argv = list(argv)
    if "--" not in argv:
        raise UsageError(
            "flyte-nb-execute: expected '-- <loader args>' at the end of the command "
            f"(e.g. '-- task-module my.module task-name my_task'), got {argv!r}."
        )
    split = argv.index("--")
    options, loader_args = argv[:split], argv[split + 1 :]
    if not loader_args:
        raise UsageError("flyte-nb-execute: expected at least one loader arg after '--', got none.")
    ns: Any = _fast_parse(options)
    if ns is None:
        try:
            ns = _parser().parse_args(options)
        except SystemExit as exc:  # argparse already printed why
            raise UsageError(f"flyte-nb-execute: invalid arguments {options!r}.") from exc
    for name in ("inputs", "output_prefix"):
        value = getattr(ns, name)
        if _optional(value) is None:
            raise UsageError(
                f"flyte-nb-execute: --{name.replace('_', '-')} must be a path or URI, got {value!r}. "
                "Placeholders like {{.input}} are filled in by Flyte (or the process sandbox) before the "
                "command runs."
            )
    return ExecuteArgs(
        inputs=ns.inputs,
        output_prefix=ns.output_prefix,
        raw_output_data_prefix=_optional(ns.raw_output_data_prefix),
        checkpoint_path=_optional(ns.checkpoint_path),
        prev_checkpoint=_optional(ns.prev_checkpoint),
        resolver=ns.resolver,
        loader_args=loader_args,
        dynamic_addl_distro=_optional(ns.dynamic_addl_distro),
        dynamic_dest_dir=_optional(ns.dynamic_dest_dir),
        test=ns.test,
    )
