"""Files, directories and structured datasets: flyte_nb against flytekit 1.16, both directions.

Every TYPES.md row on ``FlyteFile``, ``FlyteDirectory``, ``os.PathLike``, ``StructuredDataset`` and
DataFrames with ``kwtypes``, and dataclasses / pydantic models holding them: the LiteralType is the same
message, the Literal is the same (random parts of URIs normalised), flytekit reads what flyte_nb wrote
(the same data comes out), and flyte_nb reads what flytekit wrote.
"""

# ruff: noqa: UP045 - typing.Optional is what flytekit users write in these classes
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from collections.abc import Callable
from typing import Annotated, Any, Optional

import msgpack
import pytest
from flyteidl.core import literals_pb2
from google.protobuf.json_format import MessageToDict

import flyte_nb as fnb
from flyte_nb.core.storage import LocalStore

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pydantic = pytest.importorskip("pydantic")

pytestmark = pytest.mark.differential

_HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def fk() -> Any:
    """flytekit's names next to its type engine (imported once for the module)."""
    flytekit = pytest.importorskip("flytekit")
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile
    from flytekit.types.structured import StructuredDataset

    class NS:
        pass

    ns = NS()
    ns.TypeEngine, ns.Literal, ns.kwtypes = TypeEngine, Literal, flytekit.kwtypes  # type: ignore[attr-defined]
    ns.FlyteFile, ns.FlyteDirectory, ns.StructuredDataset = FlyteFile, FlyteDirectory, StructuredDataset  # type: ignore[attr-defined]
    ns.ctx = FlyteContextManager.current_context()  # type: ignore[attr-defined]
    return ns


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A local file, a directory of three files and a parquet file to convert."""
    root = tmp_path_factory.mktemp("data")
    (root / "data.csv").write_text("a,b\n1,x\n2,y\n")
    folder = root / "folder"
    (folder / "sub").mkdir(parents=True)
    for name, text in (("f1.txt", "one"), ("f2.txt", "two"), ("sub/f3.txt", "three")):
        (folder / name).write_text(text)
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(root / "df.parquet")
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(str(tmp_path_factory.mktemp("raw")))


# -- the two sides of each case ----------------------------------------------------------------------
class Side:
    """The names one library gives: FlyteFile, FlyteDirectory, StructuredDataset, kwtypes."""

    def __init__(self, file: Any, directory: Any, dataset: Any, kwtypes: Callable[..., Any]) -> None:
        self.F, self.D, self.SD, self.kw = file, directory, dataset, kwtypes


def ours() -> Side:
    return Side(fnb.FlyteFile, fnb.FlyteDirectory, fnb.StructuredDataset, fnb.kwtypes)


def theirs(fk: Any) -> Side:
    return Side(fk.FlyteFile, fk.FlyteDirectory, fk.StructuredDataset, fk.kwtypes)


# One class per library and name: flytekit makes a new ``FlyteFile["csv"]`` class on every subscript, and
# its encoder insists that a value's field classes are the annotation's own.
_MADE: dict[tuple[str, Any], Any] = {}


def with_files(s: Side) -> Any:
    """TYPES.md's WithFile, plus a csv file, a dataset and containers of files."""
    if (key := ("WithFile", s.F)) in _MADE:
        return _MADE[key]
    csv_file = s.F["csv"]
    _MADE[key] = dataclasses.make_dataclass(
        "WithFile",
        [
            ("ff", s.F),
            ("fd", Optional[s.D], dataclasses.field(default=None)),
            ("sd", Optional[s.SD], dataclasses.field(default=None)),
            ("fc", Optional[csv_file], dataclasses.field(default=None)),
            ("many", list[s.F], dataclasses.field(default_factory=list)),
            ("named", dict[str, s.D], dataclasses.field(default_factory=dict)),
        ],
    )
    return _MADE[key]


def model_with_files(s: Side) -> Any:
    if (key := ("WithFiles", s.F)) in _MADE:
        return _MADE[key]
    _MADE[key] = pydantic.create_model(
        "WithFiles",
        ff=(s.F, ...),
        fc=(s.F["csv"], ...),
        fd=(Optional[s.D], None),
        sd=(Optional[s.SD], None),
        many=(list[s.F], []),
    )
    return _MADE[key]


TypeOf = Callable[[Side], Any]

TYPES: list[tuple[str, TypeOf]] = [
    ("FlyteFile", lambda s: s.F),
    ("FlyteFile[csv]", lambda s: s.F["csv"]),
    ("FlyteFile[.tar.gz]", lambda s: s.F[".tar.gz"]),
    ("os.PathLike", lambda s: os.PathLike),
    ("FlyteDirectory", lambda s: s.D),
    ("FlyteDirectory[csv]", lambda s: s.D["csv"]),
    ("Optional[FlyteFile]", lambda s: Optional[s.F]),
    ("list[FlyteFile]", lambda s: list[s.F]),
    ("StructuredDataset", lambda s: s.SD),
    ("StructuredDataset[columns]", lambda s: Annotated[s.SD, s.kw(a=int, b=str)]),
    ("StructuredDataset[columns,csv]", lambda s: Annotated[s.SD, s.kw(a=int), "csv"]),
    ("DataFrame", lambda s: pd.DataFrame),
    ("DataFrame[kwtypes]", lambda s: Annotated[pd.DataFrame, s.kw(a=int, b=str)]),
    ("DataFrame[kwtypes,csv]", lambda s: Annotated[pd.DataFrame, s.kw(a=int), "csv"]),
    (
        "DataFrame[column kinds]",
        lambda s: Annotated[
            pd.DataFrame,
            s.kw(i=np.int32, f=np.float32, b=np.bool_, t=np.datetime64, l=list[int], m=dict[str, float]),
        ],
    ),
    ("DataFrame[nested columns]", lambda s: Annotated[pd.DataFrame, s.kw(a={"x": int, "y": str}, b=float)]),
    ("Optional[DataFrame]", lambda s: Optional[pd.DataFrame]),
    ("dict[allow_pickle]", lambda s: Annotated[dict, s.kw(allow_pickle=True)]),
    ("ndarray[allow_pickle]", lambda s: Annotated[np.ndarray, s.kw(allow_pickle=True)]),
    ("WithFile dataclass", with_files),
    ("WithFiles pydantic", model_with_files),
]


@pytest.mark.parametrize(("name", "make"), TYPES, ids=[t[0] for t in TYPES])
def test_literal_type_equals_flytekit(fk: Any, name: str, make: TypeOf) -> None:
    mine = fnb.TypeEngine.to_literal_type(make(ours()))
    other = fk.TypeEngine.to_literal_type(make(theirs(fk))).to_flyte_idl()
    assert MessageToDict(mine) == MessageToDict(other)
    assert mine.SerializeToString(deterministic=True) == other.SerializeToString(deterministic=True)


# -- literals ----------------------------------------------------------------------------------------
def _normalise(d: Any, prefixes: tuple[str, ...]) -> Any:
    if isinstance(d, dict):
        return {k: _normalise(v, prefixes) for k, v in d.items()}
    if isinstance(d, list):
        return [_normalise(v, prefixes) for v in d]
    if isinstance(d, bytes):
        return _normalise(msgpack.loads(d), prefixes)
    if isinstance(d, str):
        for p in prefixes:
            if d.startswith(p.rstrip("/")):
                d = "{RAW}/" + d[len(p.rstrip("/")) :].lstrip("/")
        return _HEX32.sub("{HEX32}", d)
    return d


def _comparable(lit: literals_pb2.Literal, prefixes: tuple[str, ...]) -> Any:
    d = MessageToDict(lit)
    binary = lit.scalar.binary.value if lit.scalar.HasField("binary") else None
    if binary is not None:  # compare the msgpack map, with its URIs normalised
        d["scalar"]["binary"]["value"] = _normalise(binary, prefixes)
    return _normalise(d, prefixes)


def _summary(value: Any) -> Any:
    """What a user sees of a decoded value, the same for both libraries' classes."""
    kinds = {c.__name__ for c in type(value).__mro__}
    if isinstance(value, pd.DataFrame):
        return ("frame", value.reset_index(drop=True).to_dict("list"))
    if "FlyteFile" in kinds:
        src = value.remote_source
        if src and "://" in str(src) and not str(src).startswith("file://"):
            return ("file", str(src))
        return ("file-content", pathlib.Path(os.fspath(value)).read_text())
    if "FlyteDirectory" in kinds:
        src = value.remote_source
        if src and "://" in str(src):
            return ("dir", str(src))
        root = pathlib.Path(os.fspath(value))
        return (
            "dir-content",
            sorted((str(p.relative_to(root)), p.read_text()) for p in root.rglob("*") if p.is_file()),
        )
    if "StructuredDataset" in kinds:
        literal = value.literal
        uri = literal.uri if literal is not None else value.uri
        if "://" in str(uri):
            return ("dataset", str(uri), value.file_format)
        return ("dataset-content", value.file_format, value.open(pd.DataFrame).all().to_dict("list"))
    if dataclasses.is_dataclass(value) or isinstance(value, pydantic.BaseModel):
        names = (
            [f.name for f in dataclasses.fields(value)]
            if dataclasses.is_dataclass(value)
            else list(type(value).model_fields)
        )
        return {n: _summary(getattr(value, n)) for n in names}
    if isinstance(value, list):
        return [_summary(v) for v in value]
    if isinstance(value, dict):
        return {k: _summary(v) for k, v in value.items()}
    return value


ValueOf = Callable[[Side, pathlib.Path], Any]

VALUES: list[tuple[str, TypeOf, ValueOf]] = [
    ("file s3", lambda s: s.F, lambda s, p: s.F("s3://bucket/key/file.txt")),
    ("file s3 str", lambda s: s.F, lambda s, p: "s3://bucket/a.txt"),
    ("file local (uploaded)", lambda s: s.F, lambda s, p: str(p / "data.csv")),
    ("file local FlyteFile (uploaded)", lambda s: s.F, lambda s, p: s.F(str(p / "data.csv"))),
    ("file local pathlib (uploaded)", lambda s: s.F, lambda s, p: p / "data.csv"),
    ("file with metadata", lambda s: s.F, lambda s, p: s.F("s3://b/m.txt", metadata={"k": "v"})),
    ("file[csv] s3", lambda s: s.F["csv"], lambda s, p: s.F("s3://bucket/key/file.csv")),
    ("file[csv] local", lambda s: s.F["csv"], lambda s, p: str(p / "data.csv")),
    ("os.PathLike s3", lambda s: os.PathLike, lambda s, p: "s3://bucket/a.txt"),
    ("os.PathLike local (kept)", lambda s: os.PathLike, lambda s, p: str(p / "data.csv")),
    ("dir s3", lambda s: s.D, lambda s, p: s.D("s3://bucket/prefix/")),
    ("dir local (uploaded)", lambda s: s.D, lambda s, p: str(p / "folder")),
    ("dir local FlyteDirectory (uploaded)", lambda s: s.D, lambda s, p: s.D(str(p / "folder"))),
    ("dir[csv] s3", lambda s: s.D["csv"], lambda s, p: s.D("s3://bucket/prefix/")),
    ("list of files", lambda s: list[s.F], lambda s, p: [s.F("s3://b/1.txt"), s.F("s3://b/2.txt")]),
    ("Optional file", lambda s: Optional[s.F], lambda s, p: s.F("s3://b/o.txt")),
    ("dataframe", lambda s: pd.DataFrame, lambda s, p: pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})),
    (
        "dataframe columns",
        lambda s: Annotated[pd.DataFrame, s.kw(a=int)],
        lambda s, p: pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    ),
    ("sd dataframe", lambda s: s.SD, lambda s, p: s.SD(dataframe=pd.DataFrame({"a": [1]}))),
    (
        "sd dataframe csv",
        lambda s: Annotated[s.SD, s.kw(a=int), "csv"],
        lambda s, p: s.SD(dataframe=pd.DataFrame({"a": [1, 2], "b": [3, 4]})),
    ),
    (
        "sd uri",
        lambda s: s.SD,
        lambda s, p: s.SD(uri="s3://bucket/df.parquet", file_format="parquet"),
    ),
    (
        "sd local uri (uploaded)",
        lambda s: s.SD,
        lambda s, p: s.SD(uri=str(p / "df.parquet"), file_format="parquet"),
    ),
    (
        "sd uri, typed format wins",
        lambda s: Annotated[s.SD, s.kw(a=int), "parquet"],
        lambda s, p: s.SD(uri="s3://bucket/x", file_format="csv"),
    ),
    ("dataclass remote", with_files, lambda s, p: with_files(s)(ff=s.F("s3://b/k.txt"))),
    (
        "dataclass all fields",
        with_files,
        lambda s, p: with_files(s)(
            ff=s.F("s3://b/k.txt"),
            fd=s.D("s3://b/d/"),
            sd=s.SD(uri="s3://b/df", file_format="parquet"),
            fc=s.F("s3://b/c.csv"),
            many=[s.F("s3://b/1")],
            named={"x": s.D("s3://b/x/")},
        ),
    ),
    (
        "dataclass local (uploaded)",
        with_files,
        lambda s, p: with_files(s)(ff=s.F(str(p / "data.csv")), fd=s.D(str(p / "folder"))),
    ),
    ("dataclass str shortcut", with_files, lambda s, p: with_files(s)(ff="s3://b/k.txt", fd="s3://b/d/")),
    (
        "dataclass dataframe",
        with_files,
        lambda s, p: with_files(s)(ff=s.F("s3://b/k.txt"), sd=s.SD(dataframe=pd.DataFrame({"a": [1, 2]}))),
    ),
    (
        "pydantic",
        model_with_files,
        lambda s, p: model_with_files(s)(
            ff=s.F("s3://b/k.txt"),
            fc=model_with_files(s).model_fields["fc"].annotation(str(p / "data.csv")),
            fd=s.D("s3://b/d/"),
            sd=s.SD(uri="s3://b/df", file_format="parquet"),
            many=[s.F("s3://b/1")],
        ),
    ),
]


@pytest.mark.parametrize(("name", "make_type", "make_value"), VALUES, ids=[v[0] for v in VALUES])
def test_literal_equals_flytekit_and_decodes_both_ways(
    fk: Any, store: LocalStore, local: pathlib.Path, name: str, make_type: TypeOf, make_value: ValueOf
) -> None:
    our_type, their_type = make_type(ours()), make_type(theirs(fk))
    mine = fnb.TypeEngine.to_literal(make_value(ours(), local), our_type, store=store)
    their_lt = fk.TypeEngine.to_literal_type(their_type)
    other = fk.TypeEngine.to_literal(
        fk.ctx, make_value(theirs(fk), local), their_type, their_lt
    ).to_flyte_idl()
    mine, other = (literals_pb2.Literal.FromString(x.SerializeToString()) for x in (mine, other))
    prefixes = (store.raw_prefix, fk.ctx.file_access.raw_output_prefix)
    assert _comparable(mine, prefixes) == _comparable(other, prefixes)

    expected = _summary(fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(other), their_type))
    assert (
        _summary(fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(mine), their_type))
        == expected
    )
    assert _summary(fnb.TypeEngine.to_python_value(other, our_type, store=store)) == expected
    assert _summary(fnb.TypeEngine.to_python_value(mine, our_type, store=store)) == expected


# -- reading with declared columns -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("dataframe", lambda s: Annotated[pd.DataFrame, s.kw(b=str)]),
        ("dataset", lambda s: Annotated[s.SD, s.kw(b=str)]),
        ("undeclared reader keeps the writer's columns", lambda s: pd.DataFrame),
    ],
)
def test_declared_columns_select_on_read_as_in_flytekit(
    fk: Any, store: LocalStore, name: str, reader: TypeOf
) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]})
    writer_ours = Annotated[pd.DataFrame, fnb.kwtypes(a=int, b=str)]
    writer_theirs = Annotated[pd.DataFrame, fk.kwtypes(a=int, b=str)]
    mine = fnb.TypeEngine.to_literal(df, writer_ours, store=store)
    other = fk.TypeEngine.to_literal(fk.ctx, df, writer_theirs, fk.TypeEngine.to_literal_type(writer_theirs))

    def frame(value: Any) -> Any:
        return value if isinstance(value, pd.DataFrame) else value.open(pd.DataFrame).all()

    expected = frame(fk.TypeEngine.to_python_value(fk.ctx, other, reader(theirs(fk))))
    assert list(expected.columns) != list(df.columns)  # the case is about selection
    from_ours = frame(
        fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(mine), reader(theirs(fk)))
    )
    pd.testing.assert_frame_equal(from_ours, expected)
    pd.testing.assert_frame_equal(
        frame(fnb.TypeEngine.to_python_value(other.to_flyte_idl(), reader(ours()), store=store)), expected
    )
    pd.testing.assert_frame_equal(
        frame(fnb.TypeEngine.to_python_value(mine, reader(ours()), store=store)), expected
    )


def test_flytekit_reads_a_csv_dataset_we_wrote(fk: Any, store: LocalStore) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    mine = fnb.TypeEngine.to_literal(
        fnb.StructuredDataset(dataframe=df), Annotated[fnb.StructuredDataset, "csv"], store=store
    )
    assert pathlib.Path(mine.scalar.structured_dataset.uri, ".csv").is_file()  # flytekit's layout
    got = fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(mine), pd.DataFrame)
    pd.testing.assert_frame_equal(got, df)


def test_guessed_types_read_flytekit_literals(fk: Any, local: pathlib.Path, store: LocalStore) -> None:
    for their_type, value in (
        (fk.FlyteFile["csv"], str(local / "data.csv")),
        (fk.FlyteDirectory, str(local / "folder")),
        (fk.StructuredDataset, fk.StructuredDataset(dataframe=pd.DataFrame({"a": [1]}))),
    ):
        lt = fk.TypeEngine.to_literal_type(their_type)
        lit = fk.TypeEngine.to_literal(fk.ctx, value, their_type, lt).to_flyte_idl()
        guessed = fnb.TypeEngine.guess_python_type(lt.to_flyte_idl())
        assert fnb.TypeEngine.to_literal_type(guessed) == lt.to_flyte_idl()
        decoded = fnb.TypeEngine.to_python_value(lit, guessed, store=store)
        expected = fk.TypeEngine.to_python_value(fk.ctx, fk.Literal.from_flyte_idl(lit), their_type)
        assert _summary(decoded) == _summary(expected)
