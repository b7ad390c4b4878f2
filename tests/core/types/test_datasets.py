"""StructuredDataset and DataFrames with declared columns: formats, lazy reading and clear errors."""

from __future__ import annotations

import collections
import dataclasses
import pathlib
import re
from typing import Annotated, Any

import pytest
from flyteidl.core import types_pb2
from google.protobuf.json_format import MessageToDict

import flyte_nb as fnb
from flyte_nb.core.storage import LocalStore, MemoryStore
from flyte_nb.errors import FlyteTypeError, TaskInputError, TaskOutputError, UnsupportedTypeError
from tests.core.types.conftest import wire

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

SD, kwtypes, TypeEngine = fnb.StructuredDataset, fnb.kwtypes, fnb.TypeEngine
AB = Annotated[pd.DataFrame, kwtypes(a=int, b=str)]


@pytest.fixture
def frame() -> Any:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})


def test_kwtypes_is_an_ordered_mapping_of_names_to_types() -> None:
    assert fnb.kwtypes(b=str, a=int) == collections.OrderedDict([("b", str), ("a", int)])
    assert list(fnb.kwtypes(b=str, a=int)) == ["b", "a"]


def test_declared_columns_are_in_the_type_and_select_on_read(frame: Any, store: MemoryStore) -> None:
    assert MessageToDict(TypeEngine.to_literal_type(AB)) == {
        "structuredDatasetType": {
            "columns": [
                {"name": "a", "literalType": {"simple": "INTEGER"}},
                {"name": "b", "literalType": {"simple": "STRING"}},
            ]
        }
    }
    lit = TypeEngine.to_literal(frame, AB, store=store)
    meta = lit.scalar.structured_dataset.metadata.structured_dataset_type
    assert [c.name for c in meta.columns] == ["a", "b"]
    assert meta.format == "parquet"
    got = TypeEngine.to_python_value(wire(lit), AB, store=store)
    assert list(got.columns) == ["a", "b"]
    # a reader that declares nothing gets the columns the writer declared, as in flytekit
    assert list(TypeEngine.to_python_value(wire(lit), pd.DataFrame, store=store).columns) == ["a", "b"]
    only_b = Annotated[pd.DataFrame, kwtypes(b=str)]
    assert TypeEngine.to_python_value(wire(lit), only_b, store=store).to_dict("list") == {
        "b": ["x", "y", "z"]
    }


def test_column_types_follow_flytekits_table() -> None:
    @dataclasses.dataclass
    class Point:
        x: float
        y: float

    t = Annotated[pd.DataFrame, kwtypes(n=np.int64, when=np.datetime64, tags=list[str], p=Point)]
    cols = TypeEngine.to_literal_type(t).structured_dataset_type.columns
    assert [(c.name, MessageToDict(c.literal_type)) for c in cols] == [
        ("n", {"simple": "INTEGER"}),
        ("when", {"simple": "DATETIME"}),
        ("tags", {"collectionType": {"simple": "STRING"}}),
        ("p.x", {"simple": "FLOAT"}),
        ("p.y", {"simple": "FLOAT"}),
    ]
    with pytest.raises(UnsupportedTypeError, match=r"column 'd'.*got <class 'complex'>"):
        TypeEngine.to_literal_type(Annotated[pd.DataFrame, kwtypes(d=complex)])


def test_a_dataframe_without_the_declared_columns_names_them(frame: Any) -> None:
    @fnb.task
    def produce() -> Annotated[pd.DataFrame, kwtypes(a=int, missing=str, other=float)]:
        return frame

    with pytest.raises(TaskOutputError) as info:
        produce()
    msg = str(info.value)
    assert f"Task '{produce.name}' output 'o0'" in msg
    assert "without ['missing', 'other']" in msg
    assert "it has ['a', 'b', 'c']" in msg


def test_a_dataset_without_the_declared_columns_names_them_on_read(frame: Any, store: MemoryStore) -> None:
    lit = TypeEngine.to_literal(frame[["a"]], pd.DataFrame, store=store)

    @fnb.task
    def consume(df: Annotated[pd.DataFrame, kwtypes(a=int, b=str)]) -> int:
        return len(df)

    with pytest.raises(TaskInputError, match=r"input 'df'.*without \['b'\] \(it has \['a'\]\)"):
        consume.dispatch_execute(fnb.FlyteContext(store=store), _map(df=lit))


def _map(**literals: Any) -> Any:
    from flyteidl.core import literals_pb2

    return literals_pb2.LiteralMap(literals=literals)


def test_structured_dataset_of_a_dataframe_in_each_format(frame: Any, store: MemoryStore) -> None:
    parquet = TypeEngine.to_literal(SD(dataframe=frame), SD, store=store)
    uri = parquet.scalar.structured_dataset.uri
    assert re.fullmatch(re.escape(store.raw_prefix) + r"/[0-9a-f]{32}", uri)
    assert store.read_bytes(f"{uri}/00000").startswith(b"PAR1")
    csv_type = Annotated[SD, kwtypes(a=int), "csv"]
    csv = TypeEngine.to_literal(SD(dataframe=frame), csv_type, store=store)
    sdt = csv.scalar.structured_dataset.metadata.structured_dataset_type
    assert sdt.format == "csv"
    assert store.read_bytes(f"{csv.scalar.structured_dataset.uri}/.csv").startswith(b"a,b,c\n")
    back = TypeEngine.to_python_value(wire(csv), csv_type, store=store)
    assert isinstance(back, SD)
    assert back.file_format == "csv"
    assert back.open(pd.DataFrame).all().to_dict("list") == {"a": [1, 2, 3]}


def test_a_dataset_from_a_uri_is_read_lazily(frame: Any, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "df.parquet"
    frame.to_parquet(path)
    kernel = MemoryStore()
    lit = TypeEngine.to_literal(SD(uri=str(path), file_format="parquet"), SD, store=kernel)
    assert lit.scalar.structured_dataset.uri == str(path)  # in place in a plain local run
    uploaded = TypeEngine.to_literal(
        SD(uri=str(path), file_format="parquet"), SD, store=LocalStore(str(tmp_path / "raw"))
    )
    assert uploaded.scalar.structured_dataset.uri.startswith(str(tmp_path / "raw"))
    sd = TypeEngine.to_python_value(wire(lit), SD, store=kernel)
    assert sd.dataframe is None
    pd.testing.assert_frame_equal(sd.open(pd.DataFrame).all(), frame)
    again = TypeEngine.to_literal(sd, SD, store=LocalStore(str(tmp_path / "other")))
    assert again.scalar.structured_dataset == lit.scalar.structured_dataset  # returned unchanged


def test_the_typed_format_wins_over_the_values(store: MemoryStore) -> None:
    lit = TypeEngine.to_literal(SD(uri="s3://b/x", file_format="csv"), Annotated[SD, "parquet"], store=store)
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type.format == "parquet"
    lit = TypeEngine.to_literal(SD(uri="s3://b/x", file_format="csv"), SD, store=store)
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type.format == "csv"


def test_dataset_mistakes_are_clear(frame: Any, store: MemoryStore, tmp_path: pathlib.Path) -> None:
    with pytest.raises(
        FlyteTypeError, match=r"expected a StructuredDataset, got .*StructuredDataset\(dataframe=df\)"
    ):
        TypeEngine.to_literal(frame, SD, store=store)
    with pytest.raises(FlyteTypeError, match="neither"):
        TypeEngine.to_literal(SD(), SD, store=store)
    with pytest.raises(FlyteTypeError, match="does not exist"):
        TypeEngine.to_literal(SD(uri=str(tmp_path / "nope.parquet")), SD, store=store)
    with pytest.raises(FlyteTypeError, match=r"open\(\)"):
        SD(dataframe=frame).all()
    lit = TypeEngine.to_literal(frame, pd.DataFrame, store=store)
    lit.scalar.structured_dataset.metadata.structured_dataset_type.format = "avro"
    with pytest.raises(FlyteTypeError, match="parquet or csv dataset, got format 'avro'"):
        TypeEngine.to_python_value(lit, pd.DataFrame, store=store)


def test_a_multi_part_parquet_directory_is_read_whole(frame: Any, tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "part-0.parquet")
    frame.iloc[2:].to_parquet(folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    sdt = types_pb2.StructuredDatasetType(format="parquet")
    lit = TypeEngine.to_literal(SD(uri=str(folder), file_format="parquet"), SD, store=MemoryStore())
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type == sdt
    got = TypeEngine.to_python_value(lit, Annotated[pd.DataFrame, kwtypes(a=int)])
    assert got["a"].tolist() == [1, 2, 3]


def test_a_large_frame_with_declared_columns_round_trips_in_the_kernel() -> None:
    n = 100_000
    df = pd.DataFrame({"id": np.arange(n), "score": np.linspace(0, 1, n), "label": ["x"] * n, "extra": 0})

    @fnb.task
    def keep_top(
        d: Annotated[pd.DataFrame, kwtypes(id=int, score=float, label=str)],
    ) -> Annotated[pd.DataFrame, kwtypes(id=int, score=float)]:
        assert list(d.columns) == ["id", "score", "label"]
        return d[d.score >= 0.5]

    out = keep_top(d=df)
    assert list(out.columns) == ["id", "score"]
    assert len(out) == n // 2


# -- the start of a dataset (what a preview shows) ---------------------------------------------------------
def test_the_head_of_a_dataset_is_its_schema_row_count_and_first_rows(frame: Any, store: MemoryStore) -> None:
    from flyte_nb.core.types.structured_dataset import dataset_head, dataset_is_remote

    big = pd.concat([frame] * 1000, ignore_index=True)
    for fmt, rows in (("parquet", 3000), ("csv", 3000)):
        lit = TypeEngine.to_literal(SD(dataframe=big), Annotated[SD, fmt], store=store)
        sd = TypeEngine.to_python_value(lit, Annotated[SD, kwtypes(c=float, a=int)], store=store)
        assert not dataset_is_remote(sd)  # in this call's memory
        head = dataset_head(sd, 4)
        assert [name for name, _ in head.columns] == ["a", "b", "c"]  # what is stored
        assert list(head.frame.columns) == ["c", "a"]  # what the reader declared, in its order
        assert head.frame["a"].tolist() == [1, 2, 3, 1]
        assert head.total_rows == rows
        assert head.files == 1


def test_the_head_of_parts_counts_every_part_and_a_huge_csv_is_read_from_its_start(
    frame: Any, tmp_path: pathlib.Path
) -> None:
    from flyte_nb.core.types import _dataframe_io
    from flyte_nb.core.types.structured_dataset import dataset_head

    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "part-0.parquet")
    frame.iloc[2:].to_parquet(folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    head = dataset_head(SD(uri=str(folder), file_format="parquet"), 10)
    assert (head.total_rows, head.files) == (3, 2)
    assert head.frame["a"].tolist() == [1, 2]  # the first part's rows
    huge = tmp_path / "huge"
    huge.mkdir()
    with (huge / ".csv").open("w") as fh:
        fh.write("a,b\n" + "1,x\n" * 100_000)
        fh.truncate(1_000_000_000)  # sparse: 1 GB that costs nothing
    head = dataset_head(SD(uri=str(huge), file_format="csv"), 5)
    assert head.total_rows is None  # only the first CSV_HEAD_BYTES were read
    assert head.frame.to_dict("list") == {"a": [1] * 5, "b": ["x"] * 5}
    assert _dataframe_io.CSV_HEAD_BYTES < 1_000_000


def test_the_head_of_a_dataset_without_its_declared_columns_names_them(
    frame: Any, store: MemoryStore
) -> None:
    from flyte_nb.core.types.structured_dataset import dataset_head

    lit = TypeEngine.to_literal(frame, pd.DataFrame, store=store)
    sd = TypeEngine.to_python_value(lit, Annotated[SD, kwtypes(a=int, zz=str)], store=store)
    with pytest.raises(FlyteTypeError, match=r"declared columns \['a', 'zz'\].*without \['zz'\]"):
        dataset_head(sd, 3)
