"""TaskTemplates against flytekit 1.16 byte for byte: ``SerializeToString(deterministic=True)``.

``test_template_vs_flytekit`` compares the templates as JSON documents, which hides the order of repeated
fields (resources, env). FlyteAdmin diffs templates as bytes when a version is registered twice, so a
different order is a different task. Here the same tasks are compared as deterministic bytes, after the
two intended differences are set aside: the container args (``flyte-nb-execute`` and our resolver) and
the runtime version (flyte_nb's, not flytekit's).
"""

from __future__ import annotations

from typing import Any

import pytest
from flyteidl.core import tasks_pb2

import flyte_nb as fnb
from tests.differential import task_fns
from tests.differential.test_interface_vs_flytekit import ALL, as_if_module_level, make_tasks
from tests.differential.test_template_vs_flytekit import OPTION_SETS, _ours, _theirs

pytestmark = pytest.mark.differential


@pytest.fixture(scope="module")
def fk() -> Any:
    return pytest.importorskip("flytekit")


def comparable_bytes(template: tasks_pb2.TaskTemplate) -> bytes:
    """The template's deterministic bytes without the container args and the runtime version."""
    c = tasks_pb2.TaskTemplate()
    c.CopyFrom(template)
    c.metadata.runtime.version = ""
    del c.container.args[:]
    return c.SerializeToString(deterministic=True)


def assert_same_bytes(theirs: tasks_pb2.TaskTemplate, ours: tasks_pb2.TaskTemplate) -> None:
    if comparable_bytes(ours) != comparable_bytes(theirs):
        # The JSON documents say where they differ; the bytes also differ on repeated-field order.
        ours_resources = [(e.name, e.value) for e in ours.container.resources.requests]
        theirs_resources = [(e.name, e.value) for e in theirs.container.resources.requests]
        pytest.fail(
            f"template bytes differ\nours:   {comparable_bytes(ours)!r}\ntheirs: {comparable_bytes(theirs)!r}\n"
            f"requests ours {ours_resources} theirs {theirs_resources}"
        )


@pytest.mark.parametrize("name", ALL)
def test_default_template_bytes_equal_flytekit(fk: Any, name: str) -> None:
    theirs, ours = make_tasks(name, fk)
    assert_same_bytes(_theirs(fk, theirs), _ours(ours))


@pytest.mark.parametrize("option_set", sorted(set(OPTION_SETS) - {"gpu_and_storage"}))
def test_configured_template_bytes_equal_flytekit(fk: Any, option_set: str) -> None:
    theirs_kw, ours_kw = OPTION_SETS[option_set](fk)
    fn = task_fns.f_int
    assert_same_bytes(
        _theirs(fk, as_if_module_level(fk.task(**theirs_kw)(fn))), _ours(fnb.task(**ours_kw)(fn))
    )


# Every resource on both sides, so the one-sided GPU copy (an intended difference) does not apply.
ALL_RESOURCES = {"cpu": "1", "mem": "2Gi", "gpu": "1", "ephemeral_storage": "10Gi"}


@pytest.mark.parametrize(
    "fields",
    [
        ("cpu", "mem", "ephemeral_storage"),  # the case: flytekit writes EPHEMERAL_STORAGE first
        ("mem", "cpu"),
        ("ephemeral_storage",),
        ("gpu", "ephemeral_storage", "mem", "cpu"),
        ("mem", "gpu"),
    ],
)
def test_resource_order_is_flytekits(fk: Any, fields: tuple[str, ...]) -> None:
    values = {f: ALL_RESOURCES[f] for f in fields}
    fn = task_fns.f_int
    theirs = _theirs(
        fk, as_if_module_level(fk.task(requests=fk.Resources(**values), limits=fk.Resources(**values))(fn))
    )
    ours = _ours(fnb.task(requests=fnb.Resources(**values), limits=fnb.Resources(**values))(fn))
    names = tasks_pb2.Resources.ResourceName.Name
    assert [names(e.name) for e in ours.container.resources.requests] == [
        names(e.name) for e in theirs.container.resources.requests
    ]
    assert_same_bytes(theirs, ours)


def test_ephemeral_storage_comes_first() -> None:
    """What the issue reported, stated without flytekit: [EPHEMERAL_STORAGE, CPU, MEMORY]."""
    t = fnb.task(requests=fnb.Resources(cpu="1", ephemeral_storage="1Gi", mem="1Gi"))(task_fns.f_int)
    entries = fnb.serialize_task(t, fnb.SerializationSettings(version="v1")).container.resources.requests
    assert [tasks_pb2.Resources.ResourceName.Name(e.name) for e in entries] == [
        "EPHEMERAL_STORAGE",
        "CPU",
        "MEMORY",
    ]


def test_secret_requests_and_decks_give_flytekits_bytes(fk: Any) -> None:
    fn = task_fns.f_int
    theirs_secrets = [
        fk.Secret(group="db", key="password"),
        fk.Secret(
            group="api", key="token", mount_requirement=fk.Secret.MountType.ENV_VAR, env_var="API_TOKEN"
        ),
        fk.Secret(group="certs", key="ca", group_version="2", mount_requirement=fk.Secret.MountType.FILE),
    ]
    ours_secrets = [
        fnb.Secret(group="db", key="password"),
        fnb.Secret(
            group="api", key="token", mount_requirement=fnb.Secret.MountType.ENV_VAR, env_var="API_TOKEN"
        ),
        fnb.Secret(group="certs", key="ca", group_version="2", mount_requirement=fnb.Secret.MountType.FILE),
    ]
    theirs = _theirs(
        fk, as_if_module_level(fk.task(secret_requests=theirs_secrets, enable_deck=True, retries=1)(fn))
    )
    ours = _ours(fnb.task(secret_requests=ours_secrets, enable_deck=True, retries=1)(fn))
    assert theirs.metadata.generates_deck.value is True
    assert len(theirs.security_context.secrets) == 3
    assert_same_bytes(theirs, ours)


@pytest.mark.parametrize("fields", [("Input",), ("Output", "Timeline"), ()])
def test_deck_fields_do_not_change_the_template(fk: Any, fields: tuple[str, ...]) -> None:
    from flytekit.deck import DeckField as FkDeckField

    fn = task_fns.f_int
    theirs = _theirs(
        fk,
        as_if_module_level(fk.task(enable_deck=True, deck_fields=tuple(FkDeckField(f) for f in fields))(fn)),
    )
    ours = _ours(fnb.task(enable_deck=True, deck_fields=[fnb.DeckField(f) for f in fields])(fn))
    assert_same_bytes(theirs, ours)
