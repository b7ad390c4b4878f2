"""A literal is readable wherever its URI is reachable: the seed API path for every blob type.

A user builds literals with ``TypeEngine.to_literal`` (written under a local temporary directory), or gets
them from elsewhere (``file://`` URIs, an fsspec object store), and hands them to ``dispatch_execute`` /
``sandbox_execute`` with a context whose store is an in-kernel ``MemoryStore``. Every URI is read by its
scheme, so each of these runs.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from flyteidl.core import literals_pb2

import flyte_nb as fnb
from flyte_nb.core.context import FlyteContext
from flyte_nb.core.storage import LocalStore, MemoryStore
from flyte_nb.errors import StorageError

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


class Box:
    """A class without a Flyte type: travels as a pickle."""

    def __init__(self, n: int) -> None:
        self.n = n


@fnb.task
def unbox(b: Box) -> int:
    return b.n


@fnb.task
def total(x: np.ndarray) -> int:
    return int(x.sum())


@fnb.task
def count_rows(df: pd.DataFrame) -> int:
    return len(df)


@fnb.task
def file_length(f: fnb.FlyteFile) -> int:
    with open(f) as fh:
        return len(fh.read())


@fnb.task
def file_count(d: fnb.FlyteDirectory) -> int:
    return sum(1 for p in pathlib.Path(d).rglob("*") if p.is_file())


def _text_file() -> str:
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / "five.txt"
    path.write_text("12345")
    return str(path)


def _folder() -> str:
    import tempfile

    root = pathlib.Path(tempfile.mkdtemp())
    for name in ("a", "b", "c/d"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return str(root)


CASES: list[tuple[Any, str, Any, int]] = [
    (unbox, "b", lambda: Box(7), 7),
    (total, "x", lambda: np.arange(4), 6),
    (count_rows, "df", lambda: pd.DataFrame({"a": [1, 2, 3]}), 3),
    (file_length, "f", _text_file, 5),
    (file_count, "d", _folder, 3),
]
IDS = ["pickle", "numpy", "dataframe", "file", "directory"]


def _inputs(task: Any, var: str, value: Any, **kw: Any) -> literals_pb2.LiteralMap:
    lit = fnb.TypeEngine.to_literal(value, task.python_interface.inputs[var], **kw)
    return literals_pb2.LiteralMap(literals={var: lit})


def _o0(outputs: literals_pb2.LiteralMap) -> int:
    return int(outputs.literals["o0"].scalar.primitive.integer)


@pytest.mark.parametrize(("task", "var", "make", "expected"), CASES, ids=IDS)
def test_a_literal_from_to_literal_runs_through_dispatch_execute(
    task: Any, var: str, make: Any, expected: int
) -> None:
    inputs = _inputs(task, var, make())  # the default store: a local temporary directory
    ctx = fnb.FlyteContextManager.current_context()  # an in-kernel context with its own MemoryStore
    assert isinstance(ctx.store, MemoryStore)
    assert _o0(task.dispatch_execute(ctx, inputs)) == expected
    assert _o0(task.sandbox_execute(FlyteContext(), inputs)) == expected


@pytest.mark.parametrize(("task", "var", "make", "expected"), CASES, ids=IDS)
def test_file_uris_and_object_stores_are_read_by_scheme(
    tmp_path: pathlib.Path, task: Any, var: str, make: Any, expected: int
) -> None:
    pytest.importorskip("fsspec")
    for prefix in (f"file://{tmp_path}", "memory://flyte-nb-anywhere/raw"):
        inputs = _inputs(task, var, make(), store=LocalStore(prefix))
        uri = str(inputs.literals[var])
        assert prefix in uri, uri  # written (uploaded, for files) under that store's prefix
        assert _o0(task.sandbox_execute(FlyteContext(), inputs)) == expected
        # and the type engine reads it back with any store (or none)
        assert (
            fnb.TypeEngine.to_python_value(inputs.literals[var], task.python_interface.inputs[var])
            is not None
        )


def test_a_memory_uri_from_another_call_names_what_happened() -> None:
    store = MemoryStore()
    inputs = _inputs(total, "x", np.arange(3), store=store)
    with pytest.raises(StorageError) as info:
        total.dispatch_execute(FlyteContext(), inputs)
    message = str(info.value)
    assert message.startswith(f"Task '{total.name}' input 'x': ")
    assert store.raw_prefix in message
    assert "only valid inside that call" in message
    assert "/tmp/" not in message


def test_a_missing_local_file_names_the_path(tmp_path: pathlib.Path) -> None:
    inputs = _inputs(total, "x", np.arange(3), store=LocalStore(str(tmp_path)))
    for path in tmp_path.rglob("*.npy"):
        path.unlink()
    with pytest.raises(StorageError, match=r"^Task '.*total' input 'x': Could not read '.*\.npy'"):
        total.dispatch_execute(FlyteContext(), inputs)
