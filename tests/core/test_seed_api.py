"""Every constructor argument, property and method of the two seed documents exists, with the seed's names.

The tables below are transcribed from the seed documents (flytekit 1.16's ``Task`` and
``PythonFunctionTask`` API pages); ``*args``/``**kwargs`` are spelled with their stars.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from flyteidl.admin import description_entity_pb2
from flyteidl.core import interface_pb2, literals_pb2, tasks_pb2, workflow_pb2

import flyte_nb as fnb
from flyte_nb.core.context import ExecutionParameters, FlyteContext
from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine
from tests.core import tasks_for_tests as m

TASK_INIT = [
    "task_type",
    "name",
    "interface",
    "metadata",
    "task_type_version",
    "security_ctx",
    "docs",
    "**kwargs",
]
TASK_PROPERTIES = [
    "docs",
    "interface",
    "metadata",
    "name",
    "python_interface",
    "security_context",
    "task_type",
    "task_type_version",
]
TASK_METHODS: dict[str, list[str]] = {
    "compile": ["ctx", "*args", "**kwargs"],
    "dispatch_execute": ["ctx", "input_literal_map"],
    "execute": ["**kwargs"],
    "get_config": ["settings"],
    "get_container": ["settings"],
    "get_custom": ["settings"],
    "get_extended_resources": ["settings"],
    "get_input_types": [],
    "get_k8s_pod": ["settings"],
    "get_sql": ["settings"],
    "get_type_for_input_var": ["k", "v"],
    "get_type_for_output_var": ["k", "v"],
    "local_execute": ["ctx", "**kwargs"],
    "local_execution_mode": [],
    "pre_execute": ["user_params"],
    "sandbox_execute": ["ctx", "input_literal_map"],
}

PFT_INIT = [
    "task_config",
    "task_function",
    "task_type",
    "ignore_input_vars",
    "execution_mode",
    "task_resolver",
    "node_dependency_hints",
    "pickle_untyped",
    "**kwargs",
]
PFT_PROPERTIES = [
    "task_config",
    "task_function",
    "task_type",
    "ignore_input_vars",
    "execution_mode",
    "task_resolver",
    "node_dependency_hints",
    "pickle_untyped",
]
PFT_METHODS: dict[str, list[str]] = {
    **TASK_METHODS,
    "compile_into_workflow": ["ctx", "task_function", "**kwargs"],
    "construct_node_metadata": [],
    "dynamic_execute": ["task_function", "**kwargs"],
    "find_lhs": [],
    "get_command": ["settings"],
    "get_default_command": ["settings"],
    "get_image": ["settings"],
    "post_execute": ["user_params", "rval"],
    "reset_command_fn": [],
    "set_command_fn": ["get_command_fn"],
    "set_resolver": ["resolver"],
}


def _params(fn: Any) -> list[str]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append(prefix + p.name)
    return out


@pytest.mark.parametrize(("cls", "expected"), [(fnb.Task, TASK_INIT), (fnb.PythonFunctionTask, PFT_INIT)])
def test_constructor_arguments(cls: type, expected: list[str]) -> None:
    assert _params(cls.__init__) == expected  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cls", "name", "expected"),
    [(fnb.Task, k, v) for k, v in TASK_METHODS.items()]
    + [(fnb.PythonFunctionTask, k, v) for k, v in PFT_METHODS.items()],
)
def test_methods_have_the_seed_parameter_names(cls: type, name: str, expected: list[str]) -> None:
    method = getattr(cls, name)
    assert callable(method)
    assert _params(method) == expected


@pytest.mark.parametrize(
    ("cls", "name"),
    [(fnb.Task, p) for p in TASK_PROPERTIES] + [(fnb.PythonFunctionTask, p) for p in PFT_PROPERTIES],
)
def test_properties_exist(cls: type, name: str) -> None:
    assert isinstance(inspect.getattr_static(cls, name), property)


def test_execution_behaviour_values() -> None:
    behaviour = fnb.PythonFunctionTask.ExecutionBehavior
    assert {b.name for b in behaviour} >= {"DEFAULT", "DYNAMIC"}
    assert m.add.execution_mode is behaviour.DEFAULT
    assert m.fan_out.execution_mode is behaviour.DYNAMIC


def test_seed_methods_speak_flyteidl() -> None:
    settings = fnb.SerializationSettings(version="v1")
    t = m.add
    assert isinstance(t.interface, interface_pb2.TypedInterface)
    assert isinstance(t.docs, description_entity_pb2.DescriptionEntity)
    assert isinstance(t.get_container(settings), tasks_pb2.Container)
    assert t.get_k8s_pod(settings) is None
    assert t.get_sql(settings) is None
    assert t.get_custom(settings) is None
    assert t.get_config(settings) == {}
    assert t.get_extended_resources(settings) is None
    assert t.get_input_types() == {"a": int, "b": int}
    assert t.get_type_for_input_var("a", 1) is int
    assert t.get_type_for_output_var("o0", 1) is int
    assert isinstance(t.construct_node_metadata(), workflow_pb2.NodeMetadata)
    assert t.find_lhs() == "add"
    assert t.task_type == "python-task"
    assert t.task_type_version == 0
    assert t.security_context is None
    assert t.task_config is None
    assert t.node_dependency_hints is None
    assert t.pickle_untyped is False
    params = ExecutionParameters()
    assert t.pre_execute(params) is params
    assert t.post_execute(params, 5) == 5
    store = MemoryStore()
    out = t.sandbox_execute(
        FlyteContext(store=store), TypeEngine.to_literal_map({"a": 1}, {"a": int}, store=store)
    )
    assert isinstance(out, literals_pb2.LiteralMap)


def test_base_task_has_no_python_interface_and_no_targets() -> None:
    base = fnb.Task(task_type="sql", name="q")
    settings = fnb.SerializationSettings()
    assert base.python_interface is None
    assert base.get_input_types() is None
    assert base.get_container(settings) is None
    assert base.interface.HasField("inputs")
    with pytest.raises(NotImplementedError, match="does not define execute"):
        base.execute()


def test_set_resolver_replaces_the_resolver() -> None:
    from flyte_nb.core.resolver import DefaultTaskResolver

    def f(x: int) -> int:
        return x

    t = fnb.task(f)
    r = DefaultTaskResolver()
    t.set_resolver(r)
    assert t.task_resolver is r
    with pytest.raises(TypeError, match="TaskResolverMixin"):
        t.set_resolver("nope")  # type: ignore[arg-type]
