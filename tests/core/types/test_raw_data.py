"""Values that travel as raw data: pickles, numpy arrays and pandas DataFrames."""

from __future__ import annotations

import builtins
import collections
import hashlib
import re
from typing import Annotated, Any

import cloudpickle
import pytest
from google.protobuf.json_format import MessageToDict

from flyte_nb.core.storage import LocalStore, MemoryStore
from flyte_nb.core.types import TypeEngine
from flyte_nb.errors import FlyteTypeError, StorageError
from tests.core.types.conftest import roundtrip, wire

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


class Model:
    def __init__(self, w: list[float]) -> None:
        self.w = w

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.w == self.w

    def __hash__(self) -> int:
        return len(self.w)


@pytest.fixture
def no_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a file."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"unexpected file access: {args[:1]}")

    monkeypatch.setattr(builtins, "open", refuse)


# -- pickles ---------------------------------------------------------------------------------------
def test_pickle_literal_type_names_the_class() -> None:
    assert MessageToDict(TypeEngine.to_literal_type(Model)) == {
        "blob": {"format": "PythonPickle"},
        "metadata": {"python_class_name": str(Model)},
    }
    assert MessageToDict(TypeEngine.to_literal_type(Any))["metadata"] == {"python_class_name": "typing.Any"}
    assert MessageToDict(TypeEngine.to_literal_type(bytes))["metadata"] == {
        "python_class_name": "<class 'bytes'>"
    }


def test_pickle_uri_layout_and_content(store: MemoryStore) -> None:
    value = Model([1.0])
    lit = TypeEngine.to_literal(value, Model, store=store)
    uri = lit.scalar.blob.uri
    data = store.read_bytes(uri)
    assert re.fullmatch(re.escape(store.raw_prefix) + r"/[0-9a-f]{32}/[0-9a-f]{32}", uri)
    assert uri.endswith(hashlib.md5(data).hexdigest())
    assert cloudpickle.loads(data) == value
    assert MessageToDict(lit.scalar.blob.metadata) == {"type": {"format": "PythonPickle"}}


@pytest.mark.parametrize(
    ("python_type", "value"), [(Any, 5), (Any, "s"), (bytes, b"\x00"), (Model, Model([2.0]))]
)
def test_pickle_round_trip(store: MemoryStore, python_type: Any, value: Any) -> None:
    assert roundtrip(value, python_type, store) == value


def test_pickle_of_none_is_a_clear_error(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"got None \(NoneType\).*Optional"):
        TypeEngine.to_literal(None, Any, store=store)


def test_unpicklable_value_is_a_clear_error(store: MemoryStore) -> None:
    import threading

    with pytest.raises(FlyteTypeError, match=r"expected a picklable value, got <unlocked _thread.lock"):
        TypeEngine.to_literal(threading.Lock(), Any, store=store)


def test_missing_pickle_names_the_uri() -> None:
    lit = TypeEngine.to_literal(1, Any, store=MemoryStore())
    with pytest.raises(StorageError, match="memory://"):
        TypeEngine.to_python_value(lit, Any, store=MemoryStore())


def test_pickles_and_arrays_in_memory_never_touch_disk(store: MemoryStore, no_disk: None) -> None:
    assert roundtrip(Model([1.0]), Model, store) == Model([1.0])
    assert roundtrip([Model([2.0])], list[Model], store) == [Model([2.0])]
    assert np.array_equal(roundtrip(np.arange(4), np.ndarray, store), np.arange(4))
    assert len(store) == 3


def test_local_store_writes_plain_paths(tmp_path: Any) -> None:
    store = LocalStore(str(tmp_path))
    lit = TypeEngine.to_literal(Model([3.0]), Model, store=store)
    assert lit.scalar.blob.uri.startswith(str(tmp_path))
    with open(lit.scalar.blob.uri, "rb") as fh:
        assert cloudpickle.loads(fh.read()) == Model([3.0])


# -- numpy -----------------------------------------------------------------------------------------
def test_ndarray_literal(store: MemoryStore) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(np.ndarray)) == {"blob": {"format": "NumpyArray"}}
    arr = np.array([[1.5, 2.0]], dtype=np.float32)
    lit = TypeEngine.to_literal(arr, np.ndarray, store=store)
    assert re.fullmatch(re.escape(store.raw_prefix) + r"/[0-9a-f]{32}/[0-9a-f]{32}\.npy", lit.scalar.blob.uri)
    out = TypeEngine.to_python_value(wire(lit), np.ndarray, store=store)
    assert out.dtype == np.float32
    assert np.array_equal(out, arr)


def test_object_arrays_need_allow_pickle(store: MemoryStore) -> None:
    arr = np.array([{"a": 1}], dtype=object)
    with pytest.raises(FlyteTypeError, match="allow_pickle"):
        TypeEngine.to_literal(arr, np.ndarray, store=store)
    t = Annotated[np.ndarray, {"allow_pickle": True}]
    assert roundtrip(arr, t, store)[0] == {"a": 1}


def test_ndarray_rejects_a_list(store: MemoryStore) -> None:
    with pytest.raises(
        FlyteTypeError, match=r"expected a numpy.ndarray, got \[1\] \(list\). Pass np.asarray"
    ):
        TypeEngine.to_literal([1], np.ndarray, store=store)


# -- pandas ----------------------------------------------------------------------------------------
def test_dataframe_literal_and_round_trip(store: MemoryStore) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert MessageToDict(TypeEngine.to_literal_type(pd.DataFrame)) == {"structuredDatasetType": {}}
    lit = TypeEngine.to_literal(df, pd.DataFrame, store=store)
    uri = lit.scalar.structured_dataset.uri
    assert re.fullmatch(re.escape(store.raw_prefix) + r"/[0-9a-f]{32}", uri)
    assert store.read_bytes(f"{uri}/00000").startswith(b"PAR1")
    assert MessageToDict(lit.scalar.structured_dataset.metadata) == {
        "structuredDatasetType": {"format": "parquet"}
    }
    assert roundtrip(df, pd.DataFrame, store).equals(df)


def test_dataframe_columns_and_format_annotations(store: MemoryStore) -> None:
    t = Annotated[pd.DataFrame, collections.OrderedDict(a=int), "csv"]
    assert MessageToDict(TypeEngine.to_literal_type(t)) == {
        "structuredDatasetType": {
            "columns": [{"name": "a", "literalType": {"simple": "INTEGER"}}],
            "format": "csv",
        }
    }
    df = pd.DataFrame({"a": [1, 2], "extra": [0.5, 0.5]})
    lit = TypeEngine.to_literal(df, t, store=store)
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type.format == "parquet"
    assert list(TypeEngine.to_python_value(wire(lit), t, store=store).columns) == ["a"]


def test_dataframe_rejects_a_dict(store: MemoryStore) -> None:
    with pytest.raises(FlyteTypeError, match=r"expected a pandas.DataFrame, got \{'a': \[1\]\} \(dict\)"):
        TypeEngine.to_literal({"a": [1]}, pd.DataFrame, store=store)
