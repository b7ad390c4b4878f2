"""The command line propeller renders is parsed without argparse, with argparse's exact result."""

from __future__ import annotations

import pytest

from flyte_nb.runtime import cli

RENDERED = [
    "--inputs", "s3://b/m/n0/data/inputs.pb",
    "--output-prefix", "s3://b/m/n0/data/0",
    "--raw-output-data-prefix", "s3://b/raw/ab",
    "--checkpoint-path", "s3://b/raw/ab/_flytecheckpoints",
    "--prev-checkpoint", '""',
    "--resolver", "flyte_nb.core.resolver.default_task_resolver",
]  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        RENDERED,
        RENDERED[:4] + RENDERED[-2:],
        ["--resolver", "r.x", "--output-prefix", "o", "--inputs", "i"],  # any order
        [*RENDERED, "--test"],
        [*RENDERED, "--dynamic-addl-distro", "s3://x.tar.gz", "--dynamic-dest-dir", "."],
        ["--inputs", "i", "--output-prefix", "o", "--resolver", "r.x", "--raw-output-data-prefix", ""],
    ],
)
def test_well_formed_command_lines_parse_as_argparse_parses_them(options: list[str]) -> None:
    fast = cli._fast_parse(options)
    assert fast is not None
    assert vars(fast) == vars(cli._parser().parse_args(options))


@pytest.mark.parametrize(
    "options",
    [
        ["--inputs=i", "--output-prefix", "o", "--resolver", "r.x"],  # = form
        ["--inputs", "i", "--inputs", "j", "--output-prefix", "o", "--resolver", "r.x"],  # repeated
        ["--inputs", "i", "--output-prefix", "o"],  # a required option missing
        ["--inputs", "i", "--output-prefix", "o", "--resolver"],  # a value missing
        ["--inputs", "i", "--output-prefix", "o", "--resolver", "r.x", "--bogus", "1"],
        ["--inputs", "i", "--output-prefix", "o", "--resolver", "r.x", "stray"],
    ],
)
def test_anything_else_is_left_to_argparse(options: list[str]) -> None:
    assert cli._fast_parse(options) is None


def test_argparse_still_reports_malformed_command_lines() -> None:
    with pytest.raises(cli.UsageError, match="invalid arguments"):
        cli.parse_args(["--inputs", "i", "--output-prefix", "o", "--", "task-module", "m"])
    parsed = cli.parse_args(["--inputs=i", "--output-prefix", "o", "--resolver", "r.x", "--", "a"])
    assert (parsed.inputs, parsed.output_prefix, parsed.loader_args) == ("i", "o", ["a"])
