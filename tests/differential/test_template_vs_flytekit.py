"""TaskTemplates against flytekit 1.16's ``get_serializable``: equal except where we mean to differ.

Intended differences: the container args (``flyte-nb-execute`` and our resolver instead of
``pyflyte-execute``), the runtime version (flyte_nb's, not flytekit's), a GPU given on one side only
(we copy it to the other, as FlyteAdmin requires request == limit), and a dynamic task's settings env. Everything else — id, type,
metadata, interface, resources, env, extended resources, config, command — must be the same message.
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest
from flyteidl.core import tasks_pb2
from google.protobuf.json_format import MessageToDict

import flyte_nb as fnb
from tests.core.admin_checks import admin_violations
from tests.differential import task_fns
from tests.differential.test_interface_vs_flytekit import ALL, as_if_module_level, make_tasks

pytestmark = pytest.mark.differential

# keyword dicts read best as dict(...) next to the decorator calls they mirror
# ruff: noqa: C408

IMAGE = "ghcr.io/example/flyte-nb:py3.11"
ENV = {"FROM_SETTINGS": "1"}


@pytest.fixture(scope="module")
def fk() -> Any:
    return pytest.importorskip("flytekit")


def _theirs(fk: Any, task: Any) -> tasks_pb2.TaskTemplate:
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(
        image_config=ImageConfig.auto(img_name=IMAGE),
        project="flytesnacks",
        domain="development",
        version="v1",
        env=dict(ENV),
    )
    template: tasks_pb2.TaskTemplate = get_serializable(OrderedDict(), settings, task).template.to_flyte_idl()
    return template


def _ours(task: fnb.PythonFunctionTask[Any]) -> tasks_pb2.TaskTemplate:
    return fnb.serialize_task(task, fnb.SerializationSettings(version="v1", image=IMAGE, env=dict(ENV)))


def _comparable(t: tasks_pb2.TaskTemplate) -> dict[str, Any]:
    c = tasks_pb2.TaskTemplate()
    c.CopyFrom(t)
    c.metadata.runtime.version = ""  # ours is flyte_nb's version, theirs flytekit's
    del c.container.args[:]  # flyte-nb-execute vs pyflyte-execute
    return MessageToDict(c)


def _assert_same(theirs: tasks_pb2.TaskTemplate, ours: tasks_pb2.TaskTemplate) -> None:
    assert _comparable(ours) == _comparable(theirs)
    assert ours.metadata.runtime.type == theirs.metadata.runtime.type
    assert ours.metadata.runtime.flavor == theirs.metadata.runtime.flavor
    # the argument structure is the same; only the program and the resolver differ
    assert ours.container.args[1:12] == theirs.container.args[1:12]
    assert list(ours.container.args[13:]) == list(theirs.container.args[13:])


@pytest.mark.parametrize("name", ALL)
def test_default_template_equals_flytekit(fk: Any, name: str) -> None:
    theirs, ours = make_tasks(name, fk)
    template = _ours(ours)
    _assert_same(_theirs(fk, theirs), template)
    assert admin_violations(template) == []


def _accelerator() -> Any:
    from flytekit.extras.accelerators import GPUAccelerator

    return GPUAccelerator("nvidia-tesla-t4")


# option name -> (flytekit keyword value maker, flyte_nb keyword value)
OPTION_SETS: dict[str, Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]] = {
    "protocol_example": lambda fk: (
        dict(
            retries=2,
            cache=True,
            cache_version="1.0",
            timeout=600,
            interruptible=True,
            requests=fk.Resources(cpu="1", mem="1Gi"),
            limits=fk.Resources(cpu="2", mem="2Gi"),
            environment={"FOO": "bar"},
        ),
        dict(
            retries=2,
            cache=True,
            cache_version="1.0",
            timeout=600,
            interruptible=True,
            requests=fnb.Resources(cpu="1", mem="1Gi"),
            limits=fnb.Resources(cpu="2", mem="2Gi"),
            environment={"FOO": "bar"},
        ),
    ),
    "cache_details": lambda fk: (
        dict(
            cache=True,
            cache_version="3",
            cache_serialize=True,
            cache_ignore_input_vars=("a",),
            deprecated="use v2",
            timeout=datetime.timedelta(minutes=5),
            interruptible=False,
        ),
        dict(
            cache=True,
            cache_version="3",
            cache_serialize=True,
            cache_ignore_input_vars=["a"],
            deprecated="use v2",
            timeout=datetime.timedelta(minutes=5),
            interruptible=False,
        ),
    ),
    "pod_template_and_image": lambda fk: (
        dict(
            pod_template_name="my-pod", container_image="reg/other:1", environment={"FROM_SETTINGS": "task"}
        ),
        dict(
            pod_template_name="my-pod", container_image="reg/other:1", environment={"FROM_SETTINGS": "task"}
        ),
    ),
    "gpu_and_storage": lambda fk: (
        dict(
            requests=fk.Resources(gpu="1", ephemeral_storage="10Gi", mem="500Mi"),
            limits=fk.Resources(gpu="1", mem="1Gi"),
            accelerator=_accelerator(),
        ),
        dict(
            requests=fnb.Resources(gpu="1", ephemeral_storage="10Gi", mem="500Mi"),
            limits=fnb.Resources(gpu="1", mem="1Gi"),
            accelerator="nvidia-tesla-t4",
        ),
    ),
}


@pytest.mark.parametrize("option_set", sorted(OPTION_SETS))
def test_configured_template_equals_flytekit(fk: Any, option_set: str) -> None:
    theirs_kw, ours_kw = OPTION_SETS[option_set](fk)
    fn = task_fns.f_int
    template = _ours(fnb.task(**ours_kw)(fn))
    _assert_same(_theirs(fk, as_if_module_level(fk.task(**theirs_kw)(fn))), template)
    assert admin_violations(template) == []


def test_one_sided_gpu_is_the_intended_difference(fk: Any) -> None:
    fn = task_fns.f_int
    theirs = _theirs(fk, as_if_module_level(fk.task(requests=fk.Resources(gpu="2"))(fn)))
    ours = _ours(fnb.task(requests=fnb.Resources(gpu="2"))(fn))
    assert list(theirs.container.resources.requests) == list(ours.container.resources.requests)
    assert not theirs.container.resources.limits
    assert [(e.name, e.value) for e in ours.container.resources.limits] == [(tasks_pb2.Resources.GPU, "2")]


def test_dynamic_template_equals_flytekit_but_for_the_settings_env(fk: Any) -> None:
    fn = task_fns.f_int
    theirs, ours = _theirs(fk, as_if_module_level(fk.dynamic(fn))), _ours(fnb.dynamic(fn))
    # flytekit ships its whole serialization settings (_F_SS_C); a flyte_nb container needs only the
    # image its sub-tasks default to (project, domain and version come from propeller's variables).
    assert [kv.key for kv in theirs.container.env] == ["FROM_SETTINGS", "_F_SS_C"]
    assert {kv.key: kv.value for kv in ours.container.env} == {"FROM_SETTINGS": "1", "FLYTE_NB_IMAGE": IMAGE}
    del theirs.container.env[:]
    del ours.container.env[:]
    _assert_same(theirs, ours)
