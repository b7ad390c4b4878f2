"""``%%flyte_task --image spec``, ``--secret``, ``--enable-deck``/``--deck-fields`` through a real IPython shell."""

from __future__ import annotations

from typing import Any

import pytest
from flyteidl.core import security_pb2
from IPython.core.error import UsageError

import flyte_nb as fnb
from flyte_nb.core.serialize import serialize_task
from tests.notebook.ipshell import cell


def test_image_names_a_notebook_variable_holding_an_image_spec(ip: Any) -> None:
    cell(ip, "import flyte_nb as fnb\nspec = fnb.ImageSpec(registry='ghcr.io/me', packages=['pandas'])\n")
    cell(ip, "%%flyte_task --image spec --no-widget\ndef f(a: int) -> int:\n    return a\n")
    spec = ip.user_ns["spec"]
    assert ip.user_ns["f"].container_image is spec
    assert serialize_task(ip.user_ns["f"]).container.image == spec.completed().image_name()


def test_image_is_a_reference_otherwise(ip: Any) -> None:
    cell(ip, "not_a_spec = 'something else'\n")
    cell(ip, "%%flyte_task --image not_a_spec --no-widget\ndef g(a: int) -> int:\n    return a\n")
    assert serialize_task(ip.user_ns["g"]).container.image == "not_a_spec"


def test_an_image_spec_for_another_python_is_a_one_line_usage_error(ip: Any) -> None:
    from flyte_nb.core.image_spec import kernel_python

    other = "3.10" if kernel_python() != "3.10" else "3.12"
    cell(ip, f"import flyte_nb as fnb\nold = fnb.ImageSpec(python_version='{other}')\n")
    with pytest.raises(UsageError, match=f"pins Python {other}"):
        cell(ip, "%%flyte_task --image old --no-widget\ndef h(a: int) -> int:\n    return a\n")


def test_secrets_and_decks_make_the_same_options_as_the_keywords(ip: Any) -> None:
    cell(
        ip,
        "%%flyte_task --secret db/password --secret api/token:env --deck-fields input,output --no-widget\n"
        "def k(a: int) -> int:\n    return a\n",
    )
    task = ip.user_ns["k"]
    keywords = fnb.task(
        secret_requests=[
            fnb.Secret(group="db", key="password"),
            fnb.Secret(group="api", key="token", mount_requirement=fnb.Secret.MountType.ENV_VAR),
        ],
        enable_deck=True,
        deck_fields=[fnb.DeckField.INPUT, fnb.DeckField.OUTPUT],
    )(task.task_function)
    assert task.options == keywords.options
    template = serialize_task(task)
    assert template.metadata.generates_deck.value
    assert template.security_context.secrets[1] == security_pb2.Secret(
        group="api", key="token", mount_requirement=security_pb2.Secret.ENV_VAR
    )


def test_enable_deck_alone_keeps_flytekits_default_fields(ip: Any) -> None:
    cell(ip, "%%flyte_task --enable-deck --no-widget\ndef d(a: int) -> int:\n    return a\n")
    from flyte_nb.core.decks import DEFAULT_DECK_FIELDS

    assert ip.user_ns["d"].deck_fields == list(DEFAULT_DECK_FIELDS)
    assert [f.value for f in DEFAULT_DECK_FIELDS] == [
        "Source Code",
        "Dependencies",
        "Timeline",
        "Input",
        "Output",
    ]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--secret /password", "--secret: expected GROUP/KEY"),
        ("--secret db/password:disk", "--secret: expected GROUP/KEY"),
        ("--secret db/", "--secret: expected GROUP/KEY"),
        ("--deck-fields input,graphs", "--deck-fields: expected a comma-separated list"),
    ],
)
def test_bad_values_are_one_line_usage_errors(ip: Any, option: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        cell(ip, f"%%flyte_task {option} --no-widget\ndef b(a: int) -> int:\n    return a\n")
