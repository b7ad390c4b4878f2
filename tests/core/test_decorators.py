"""The decorators, task naming, resolvers chosen by default, repr hooks and the default resolver."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import flyte_nb as fnb
from flyte_nb.core.resolver import DefaultTaskResolver, default_task_resolver
from flyte_nb.errors import ResolverError, TaskDefinitionError
from tests.core import tasks_for_tests as m


def test_bare_and_keyword_forms_return_tasks() -> None:
    def f(x: int) -> int:
        return x

    bare = fnb.task(f)
    configured = fnb.task(retries=3)(f)
    assert isinstance(bare, fnb.PythonFunctionTask)
    assert configured.metadata.retries == 3
    assert bare.task_function is f
    assert bare(x=2) == 2


def test_dynamic_accepts_the_same_keywords() -> None:
    def f(x: int) -> int:
        return x

    d = fnb.dynamic(retries=1, cache=True, cache_version="1")(f)
    assert d.execution_mode is fnb.PythonFunctionTask.ExecutionBehavior.DYNAMIC
    assert d.metadata.cache
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*'retires'"):
        fnb.dynamic(retires=1)


def test_timeout_in_seconds_or_timedelta() -> None:
    def f(x: int) -> int:
        return x

    assert fnb.task(timeout=90)(f).metadata.timeout == datetime.timedelta(seconds=90)
    assert fnb.task(timeout=datetime.timedelta(hours=1))(f).metadata.timeout == datetime.timedelta(hours=1)
    with pytest.raises(TaskDefinitionError, match=r"timeout: expected seconds"):
        fnb.task(timeout="10m")(f)  # type: ignore[arg-type]


def test_option_errors_name_the_task() -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(TaskDefinitionError, match=r"Task 'f' retries"):
        fnb.task(retries=-1)(f)
    with pytest.raises(TaskDefinitionError, match=r"cache_ignore_input_vars: \['y'\] are not inputs"):
        fnb.task(cache=True, cache_ignore_input_vars=["y"])(f)
    with pytest.raises(TaskDefinitionError, match=r"environment: expected str keys and values"):
        fnb.task(environment={"N": 1})(f)  # type: ignore[dict-item]


def test_decorating_twice_or_a_non_function_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match="already a task"):
        fnb.task(m.add)  # type: ignore[arg-type]
    with pytest.raises(TaskDefinitionError, match="expected a function"):
        fnb.task(42)  # type: ignore[arg-type]


async def _fetch(n: int) -> int:
    return n


async def _stream(n: int) -> Any:
    yield n


@pytest.mark.parametrize(("fn", "kind"), [(_fetch, "an async function"), (_stream, "an async function")])
def test_async_functions_are_refused_at_definition(fn: Any, kind: str) -> None:
    # Calling such a task would otherwise fail only later, with "expected int, got <coroutine …>".
    with pytest.raises(TaskDefinitionError) as info:
        fnb.task(fn)
    assert f"Task '{fn.__module__}.{fn.__name__}': expected a plain function, got {kind}" in str(info.value)
    assert "plain def" in str(info.value)


def test_names_and_default_resolvers() -> None:
    assert m.add.name == "tests.core.tasks_for_tests.add"
    assert m.add.task_resolver is default_task_resolver

    ns: dict[str, Any] = {"__name__": "__main__"}
    exec("def nb_add(a: int) -> int:\n    return a", ns)
    notebook_task = fnb.task(ns["nb_add"])
    assert notebook_task.name == "nb_add"
    from flyte_nb.core.notebook_resolver import notebook_task_resolver

    assert notebook_task.task_resolver is notebook_task_resolver

    def nested(a: int) -> int:  # not importable by module + name: shipped by value
        return a

    assert fnb.task(nested).task_resolver is notebook_task_resolver


def test_explicit_name_wins() -> None:
    def f(x: int) -> int:
        return x

    assert fnb.task(name="team.f")(f).name == "team.f"


# -------------------------------------------------------------------------------------------- reprs


def test_repr_is_plain_text_that_needs_no_kernel_layer() -> None:
    """The core's repr is its own: the rich views are registered by the notebook extension."""

    def g(a: int, b: object) -> str:
        return "x"

    t = fnb.task(g)
    text = repr(t)
    assert text.startswith("<task tests.core.test_decorators.g(a: int, b: ")
    assert "pickled: b" in text
    assert not hasattr(t, "_repr_html_")
    assert not hasattr(t, "_ipython_display_")


# -------------------------------------------------------------------------------- default resolver


def test_default_resolver_round_trip() -> None:
    settings = fnb.SerializationSettings()
    args = default_task_resolver.loader_args(settings, m.add)
    assert args == ["task-module", "tests.core.tasks_for_tests", "task-name", "add"]
    assert default_task_resolver.load_task(args) is m.add
    assert default_task_resolver.location == "flyte_nb.core.resolver.default_task_resolver"
    assert len(default_task_resolver.content_hash(m.add)) == 64


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["entity-name", "x"], "expected loader args"),
        (
            ["task-module", "no_such_module_xyz", "task-name", "f"],
            "cannot import module 'no_such_module_xyz'",
        ),
        (["task-module", "tests.core.tasks_for_tests", "task-name", "Stats"], "not a task"),
    ],
)
def test_default_resolver_errors(args: list[str], pattern: str) -> None:
    with pytest.raises(ResolverError, match=pattern):
        DefaultTaskResolver().load_task(args)


def test_default_resolver_refuses_main_functions() -> None:
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec("def nb(a: int) -> int:\n    return a", ns)
    t = fnb.task(task_resolver=default_task_resolver)(ns["nb"])
    with pytest.raises(ResolverError, match="cannot import"):
        fnb.serialize_task(t)


def test_task_options_are_one_validated_value_for_decorator_and_constructor() -> None:
    from flyte_nb.core.options import TaskOptions

    def f(x: int) -> int:
        return x

    decorated = fnb.task(retries=2, environment={"A": "1"}, requests=fnb.Resources(cpu="1"))(f)
    constructed = fnb.PythonFunctionTask(
        None,
        f,
        metadata=fnb.TaskMetadata(retries=2),
        environment={"A": "1"},
        requests=fnb.Resources(cpu="1"),
    )
    assert decorated.options == constructed.options
    assert isinstance(decorated.options, TaskOptions)
    again = fnb.PythonFunctionTask(None, f, options=decorated.options)
    assert fnb.serialize_task(again) == fnb.serialize_task(decorated)


def test_misspelt_keywords_are_named_with_the_closest_one() -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(
        TypeError,
        match=r"task\(\) got unexpected keyword argument\(s\) 'retires' \(did you mean 'retries'\?\)",
    ):
        fnb.task(retires=1)
    with pytest.raises(
        TypeError, match=r"PythonFunctionTask\(\) got unexpected keyword argument\(s\) 'image'"
    ):
        fnb.PythonFunctionTask(None, f, image="x")  # type: ignore[call-arg]


def test_options_and_keywords_together_are_refused() -> None:
    def f(x: int) -> int:
        return x

    options = fnb.task(retries=1)(f).options
    with pytest.raises(TaskDefinitionError, match=r"pass either options= or the keywords \['name'\]"):
        fnb.PythonFunctionTask(None, f, options=options, name="other")
