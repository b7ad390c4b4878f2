"""serialize_task / task_spec / task_version: the TaskTemplate FlyteAdmin accepts."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from flyteidl.admin import description_entity_pb2
from flyteidl.core import tasks_pb2

import flyte_nb as fnb
from flyte_nb.core.serialize import task_spec, task_version
from flyte_nb.errors import TaskDefinitionError
from tests.core import tasks_for_tests as m
from tests.core.admin_checks import admin_violations, quantity

SETTINGS = fnb.SerializationSettings(version="v1", image="ghcr.io/example/img:1")

ARGS_HEAD = [
    "flyte-nb-execute",
    "--inputs",
    "{{.input}}",
    "--output-prefix",
    "{{.outputPrefix}}",
    "--raw-output-data-prefix",
    "{{.rawOutputDataPrefix}}",
    "--checkpoint-path",
    "{{.checkpointOutputPrefix}}",
    "--prev-checkpoint",
    "{{.prevCheckpointPrefix}}",
    "--resolver",
]


def test_plain_task_template_matches_the_protocol() -> None:
    t = fnb.serialize_task(m.add, SETTINGS)
    assert t.type == "python-task"
    md = t.metadata
    assert md.runtime.type == tasks_pb2.RuntimeMetadata.FLYTE_SDK
    assert md.runtime.flavor == "python"
    assert md.runtime.version == fnb.__version__
    assert md.HasField("retries")
    assert md.retries.retries == 0
    assert md.HasField("generates_deck")
    assert md.generates_deck.value is False
    assert md.HasField("metadata")
    assert not md.discoverable
    assert not md.HasField("timeout")
    assert md.WhichOneof("interruptible_value") is None
    assert t.container.image == "ghcr.io/example/img:1"
    assert list(t.container.command) == []
    assert list(t.container.args) == [
        *ARGS_HEAD,
        "flyte_nb.core.resolver.default_task_resolver",
        "--",
        "task-module",
        "tests.core.tasks_for_tests",
        "task-name",
        "add",
    ]
    assert not t.container.resources.requests
    assert not t.container.env
    assert dict(t.config) == {}
    assert not t.HasField("extended_resources")
    assert admin_violations(t) == []


def test_configured_task_sets_metadata_resources_and_env() -> None:
    t = fnb.serialize_task(m.configured, SETTINGS.with_(env={"FROM_SETTINGS": "1", "FOO": "overridden"}))
    md = t.metadata
    assert md.discoverable is True
    assert md.discovery_version == "1.0"
    assert md.retries.retries == 2
    assert md.timeout.ToTimedelta() == datetime.timedelta(seconds=600)
    assert md.interruptible is True
    res = t.container.resources
    assert [(e.name, e.value) for e in res.requests] == [
        (tasks_pb2.Resources.CPU, "1"),
        (tasks_pb2.Resources.MEMORY, "1Gi"),
    ]
    assert [(e.name, e.value) for e in res.limits] == [
        (tasks_pb2.Resources.CPU, "2"),
        (tasks_pb2.Resources.MEMORY, "2Gi"),
    ]
    # settings env first, the task's own environment wins
    assert {kv.key: kv.value for kv in t.container.env} == {"FROM_SETTINGS": "1", "FOO": "bar"}
    assert admin_violations(t) == []


def test_every_decorator_keyword_reaches_the_template() -> None:
    @fnb.task(
        cache=True,
        cache_version="2",
        cache_serialize=True,
        cache_ignore_input_vars=["seed"],
        deprecated="use v2",
        timeout=datetime.timedelta(minutes=5),
        interruptible=False,
        pod_template_name="gpu-pod",
        container_image="ghcr.io/example/other:2",
        requests=fnb.Resources(gpu=1, ephemeral_storage="1Gi"),
        accelerator="nvidia-tesla-t4",
        name="custom.name",
    )
    def f(x: int, seed: int = 0) -> int:
        return x

    t = fnb.serialize_task(f, SETTINGS)
    md = t.metadata
    assert t.id.name == "custom.name"
    assert (md.cache_serializable, md.deprecated_error_message, md.pod_template_name) == (
        True,
        "use v2",
        "gpu-pod",
    )
    assert list(md.cache_ignore_input_vars) == ["seed"]
    assert md.timeout.ToTimedelta() == datetime.timedelta(minutes=5)
    assert md.WhichOneof("interruptible_value") == "interruptible"
    assert md.interruptible is False
    assert t.container.image == "ghcr.io/example/other:2"
    assert t.extended_resources.gpu_accelerator.device == "nvidia-tesla-t4"
    gpu = tasks_pb2.Resources.GPU
    assert [e.value for e in t.container.resources.limits if e.name == gpu] == ["1"]  # GPU request == limit
    assert admin_violations(t) == []


def test_image_resolution_through_image_config_names() -> None:
    @fnb.task(container_image="gpu")
    def f(x: int) -> int:
        return x

    images = fnb.ImageConfig(default_image="reg/default:1", images={"gpu": "reg/gpu:3"})
    assert fnb.serialize_task(f, SETTINGS.with_(image=images)).container.image == "reg/gpu:3"
    assert fnb.serialize_task(m.add, SETTINGS.with_(image=images)).container.image == "reg/default:1"
    assert f.get_image(SETTINGS.with_(image=images)) == "reg/gpu:3"


def test_task_spec_carries_the_docstring_as_rst() -> None:
    spec = task_spec(m.add, SETTINGS)
    assert spec.template == fnb.serialize_task(m.add, SETTINGS)
    assert spec.description.short_description == "Add two ints."
    assert spec.description.long_description.format == description_entity_pb2.DESCRIPTION_FORMAT_RST

    def undocumented(x: int) -> int:
        return x

    bare = task_spec(fnb.task(undocumented), SETTINGS).description
    assert bare.short_description == ""
    assert bare.long_description.format == description_entity_pb2.DESCRIPTION_FORMAT_RST


# -------------------------------------------------------------------------------------------- version


def _fresh(body: str, **options: Any) -> fnb.PythonFunctionTask[Any]:
    ns: dict[str, Any] = {"__name__": "tests.core.generated"}
    exec(f"def work(a: int) -> int:\n    {body}", ns)
    return fnb.task(**options)(ns["work"])


def test_version_is_a_url_safe_content_hash() -> None:
    settings = fnb.SerializationSettings()
    v = fnb.serialize_task(m.add, settings).id.version
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", v)
    assert v == task_version(m.add, settings)
    assert fnb.serialize_task(m.add, settings).id.version == v  # stable


def test_version_changes_with_metadata_image_and_code() -> None:
    settings = fnb.SerializationSettings()
    base = task_version(_fresh("return a"), settings)
    assert task_version(_fresh("return a"), settings) == base
    assert task_version(_fresh("return a", retries=1), settings) != base
    assert task_version(_fresh("return a"), settings.with_(image="other:1")) != base
    assert task_version(_fresh("return a + 1"), settings) != base


def test_explicit_version_wins() -> None:
    assert fnb.serialize_task(m.add, SETTINGS).id.version == "v1"


def test_set_command_fn_and_reset() -> None:
    def f(x: int) -> int:
        return x

    t = fnb.task(f)
    t.set_command_fn(lambda settings: ["custom", settings.project])
    assert list(fnb.serialize_task(t, SETTINGS).container.args) == ["custom", "flytesnacks"]
    t.reset_command_fn()
    assert fnb.serialize_task(t, SETTINGS).container.args[0] == "flyte-nb-execute"
    assert t.get_command(SETTINGS) == t.get_default_command(SETTINGS)


# ----------------------------------------------------------------------------------- resource errors


@pytest.mark.parametrize(
    ("requests", "limits", "pattern"),
    [
        (fnb.Resources(cpu="lots"), None, r"requests cpu: expected a Kubernetes quantity.*'lots'"),
        (None, fnb.Resources(mem="2GB"), r"limits mem: expected a Kubernetes quantity.*'2GB'"),
        (
            fnb.Resources(cpu="2"),
            fnb.Resources(cpu="1"),
            r"cpu: the request \('2'\) is larger than the limit \('1'\)",
        ),
        (fnb.Resources(gpu="0.5"), None, r"requests gpu: expected a whole number"),
        (fnb.Resources(gpu=1), fnb.Resources(gpu=2), r"gpu: request \(1\) and limit \(2\) must be equal"),
    ],
)
def test_invalid_resources_fail_at_definition(
    requests: fnb.Resources | None, limits: fnb.Resources | None, pattern: str
) -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(TaskDefinitionError, match=pattern):
        fnb.task(requests=requests, limits=limits)(f)


def test_quantities_flyteadmin_accepts_are_accepted() -> None:
    def f(x: int) -> int:
        return x

    t = fnb.task(
        requests=fnb.Resources(cpu="500m", mem="1.5Gi", ephemeral_storage="1e9"),
        limits=fnb.Resources(cpu=1, mem="2G"),
    )(f)
    assert admin_violations(fnb.serialize_task(t, SETTINGS)) == []


def test_admin_checks_catch_what_flyteadmin_rejects() -> None:
    """The validator itself: each rule fires on a template that breaks it."""
    good = fnb.serialize_task(m.add, SETTINGS)
    cases: dict[str, Any] = {
        "missing version": lambda t: setattr(t.id, "version", ""),
        "missing metadata": lambda t: t.ClearField("metadata"),
        "missing runtime version": lambda t: setattr(t.metadata.runtime, "version", ""),
        "missing typed interface": lambda t: t.ClearField("interface"),
        "missing image": lambda t: setattr(t.container, "image", ""),
        "command and args both empty": lambda t: t.container.ClearField("args"),
        "is not a quantity": lambda t: t.container.resources.requests.add(
            name=tasks_pb2.Resources.CPU, value="x"
        ),
    }
    for expected, breaker in cases.items():
        t = tasks_pb2.TaskTemplate()
        t.CopyFrom(good)
        breaker(t)
        assert any(expected in v for v in admin_violations(t)), expected
    assert quantity("1.5Gi") == quantity("1536Mi")
