"""Task interfaces against flytekit 1.16: the same functions give the same ``TypedInterface``.

Every function of :mod:`tests.differential.task_fns` (over forty, covering every type the engine
supports, output naming and docstring styles) is made a task by both libraries, and the interfaces
must be equal messages (types, annotations, descriptions), plus the same native output names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict

import flyte_nb as fnb
from tests.differential import task_fns

pytestmark = pytest.mark.differential

FACTORIES = ["f_flyte_annotated", "f_dataframe_columns"]
ALL = [*task_fns.PLAIN, *FACTORIES]


@pytest.fixture(scope="module")
def fk() -> Any:
    return pytest.importorskip("flytekit")


def _functions(name: str, fk: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(the function for flytekit, the function for flyte_nb): the same one unless a factory is needed."""
    if name == "f_flyte_annotated":
        from flytekit.core.annotation import FlyteAnnotation

        return task_fns.make_flyte_annotated(FlyteAnnotation), task_fns.make_flyte_annotated(
            fnb.FlyteAnnotation
        )
    if name == "f_dataframe_columns":
        return (
            task_fns.make_dataframe_columns(fk.kwtypes(a=int, b=str)),
            task_fns.make_dataframe_columns({"a": int, "b": str}),
        )
    fn = getattr(task_fns, name)
    return fn, fn


def as_if_module_level(flytekit_task: Any) -> Any:
    """Name ``flytekit_task`` as flytekit does for a ``@task`` at module level of its function's module.

    flytekit records the module a task *instance* is created in by walking up the stack to the first
    module-level frame; for a task made inside a test that is pytest's ``__main__``, which flytekit turns
    into a dotted path relative to the working directory (e.g. ``.venv.lib…pytest.__main__`` when the
    virtualenv lives in the checkout) and prefixes to the name.
    """
    flytekit_task._instantiated_in = flytekit_task.task_function.__module__
    return flytekit_task


def make_tasks(name: str, fk: Any) -> tuple[Any, fnb.PythonFunctionTask[Any]]:
    """The flytekit task and the flyte_nb task for the function ``name``."""
    from flytekit.core.python_function_task import PythonFunctionTask as FkTask

    theirs_fn, ours_fn = _functions(name, fk)
    if name in task_fns.IGNORED_INPUTS:
        ignored = task_fns.IGNORED_INPUTS[name]
        return (
            as_if_module_level(FkTask(task_config=None, task_function=theirs_fn, ignore_input_vars=ignored)),
            fnb.PythonFunctionTask(None, ours_fn, ignore_input_vars=ignored),
        )
    untyped = name in task_fns.PICKLE_UNTYPED
    return as_if_module_level(fk.task(pickle_untyped=untyped)(theirs_fn)), fnb.task(pickle_untyped=untyped)(
        ours_fn
    )


def test_the_table_has_at_least_forty_functions() -> None:
    assert len(ALL) >= 40


@pytest.mark.parametrize("name", ALL)
def test_typed_interface_equals_flytekit(fk: Any, name: str) -> None:
    theirs, ours = make_tasks(name, fk)
    expected = theirs.interface.to_flyte_idl()
    assert MessageToDict(ours.interface) == MessageToDict(expected)
    assert ours.interface == expected


@pytest.mark.parametrize("name", ALL)
def test_native_interface_names_equal_flytekit(fk: Any, name: str) -> None:
    theirs, ours = make_tasks(name, fk)
    assert list(ours.python_interface.inputs) == list(theirs.python_interface.inputs)
    assert list(ours.python_interface.outputs) == list(theirs.python_interface.outputs)
    assert ours.python_interface.output_tuple_name == theirs.python_interface.output_tuple_name
    assert ours.name == theirs.name


@pytest.mark.parametrize("name", ["f_doc_rest", "f_doc_google", "f_doc_numpy", "f_int"])
def test_docs_equal_flytekit(fk: Any, name: str) -> None:
    theirs, ours = make_tasks(name, fk)
    expected = theirs.docs.to_flyte_idl()
    assert ours.docs.short_description == expected.short_description
    assert ours.docs.long_description == expected.long_description


def test_pickled_variables_are_reported(fk: Any) -> None:
    _, untyped = make_tasks("f_untyped", fk)
    _, custom = make_tasks("f_custom", fk)
    _, plain = make_tasks("f_int", fk)
    assert set(untyped.pickled) == {"a", "o0"}
    assert set(custom.pickled) == {"c", "o0"}
    assert plain.pickled == {}
