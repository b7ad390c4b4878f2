"""FlyteFile and FlyteDirectory: where the bytes go, lazy reading, and the errors a user meets."""

from __future__ import annotations

import builtins
import dataclasses
import os
import pathlib
import pickle
import re
import sys
from typing import Any

import pytest
from flyteidl.core import literals_pb2, types_pb2

import flyte_nb as fnb
from flyte_nb.core.storage import LocalStore, MemoryStore
from flyte_nb.errors import FlyteTypeError, StorageError, TaskInputError
from tests.core.types.conftest import wire

FlyteFile, FlyteDirectory, TypeEngine = fnb.FlyteFile, fnb.FlyteDirectory, fnb.TypeEngine
CsvFile = FlyteFile["csv"]


@pytest.fixture
def csv(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    return path


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    for name, text in (("f1.txt", "one"), ("f2.txt", "two"), ("sub/f3.txt", "three")):
        (root / name).write_text(text)
    return root


@pytest.fixture
def bucket() -> str:
    """A prefix in fsspec's in-memory filesystem: an object store without network."""
    pytest.importorskip("fsspec")
    import uuid

    return f"memory://flyte-nb-files-{uuid.uuid4().hex[:8]}"


def _uri(lit: literals_pb2.Literal) -> str:
    return lit.scalar.blob.uri


def _files_under(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


# -- where the bytes go ----------------------------------------------------------------------------
def test_a_local_file_stays_in_place_in_a_plain_local_run(csv: pathlib.Path) -> None:
    store = MemoryStore()
    lit = TypeEngine.to_literal(str(csv), FlyteFile, store=store)
    assert _uri(lit) == str(csv)
    assert len(store) == 0  # nothing was copied
    ff = TypeEngine.to_python_value(wire(lit), FlyteFile, store=store)
    assert os.fspath(ff) == str(csv)
    assert ff.downloaded
    assert ff.remote_source is None


def test_a_local_file_is_uploaded_under_the_raw_prefix_otherwise(
    csv: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    store = LocalStore(str(tmp_path / "raw"))
    lit = TypeEngine.to_literal(FlyteFile(str(csv)), FlyteFile, store=store)
    assert re.fullmatch(re.escape(store.raw_prefix) + r"/[0-9a-f]{32}/data\.csv", _uri(lit))
    assert pathlib.Path(_uri(lit)).read_text() == csv.read_text()
    assert lit.scalar.blob.metadata.type == types_pb2.BlobType()


def test_remote_uris_pass_through_untouched(bucket: str) -> None:
    for value in (FlyteFile(f"{bucket}/k.txt"), f"{bucket}/k.txt"):
        assert _uri(TypeEngine.to_literal(value, FlyteFile, store=LocalStore())) == f"{bucket}/k.txt"


def test_an_input_returned_unchanged_keeps_its_uri(csv: pathlib.Path, tmp_path: pathlib.Path) -> None:
    uploading = LocalStore(str(tmp_path / "raw"))
    first = TypeEngine.to_literal(str(csv), FlyteFile, store=uploading)
    decoded = TypeEngine.to_python_value(wire(first), FlyteFile, store=uploading)
    again = TypeEngine.to_literal(decoded, FlyteFile, store=uploading)
    assert _uri(again) == _uri(first)
    assert len(list((tmp_path / "raw").rglob("*.csv"))) == 1  # not uploaded a second time


def test_remote_path_chooses_the_upload_destination_and_false_never_uploads(
    csv: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    store = LocalStore(str(tmp_path / "raw"))
    dest = str(tmp_path / "chosen" / "out.csv")
    assert _uri(TypeEngine.to_literal(FlyteFile(str(csv), remote_path=dest), FlyteFile, store=store)) == dest
    assert pathlib.Path(dest).read_text() == csv.read_text()
    assert _uri(TypeEngine.to_literal(FlyteFile(str(csv), remote_path=False), FlyteFile, store=store)) == str(
        csv
    )


def test_os_pathlike_never_uploads(csv: pathlib.Path) -> None:
    lit = TypeEngine.to_literal(csv, os.PathLike, store=LocalStore())
    assert _uri(lit) == str(csv)
    back = TypeEngine.to_python_value(lit, os.PathLike)
    assert isinstance(back, FlyteFile)
    assert str(back) == str(csv)


def test_metadata_travels_in_the_literal(bucket: str) -> None:
    lit = TypeEngine.to_literal(FlyteFile(f"{bucket}/m", metadata={"k": "v"}), FlyteFile, store=MemoryStore())
    assert dict(lit.metadata) == {"k": "v"}
    assert TypeEngine.to_python_value(wire(lit), FlyteFile).metadata == {"k": "v"}


# -- lazy reading ----------------------------------------------------------------------------------
def test_a_remote_file_is_downloaded_only_when_read(bucket: str) -> None:
    store = LocalStore()
    store.write_bytes(f"{bucket}/k.txt", b"hello")
    ff = TypeEngine.to_python_value(
        TypeEngine.to_literal(f"{bucket}/k.txt", FlyteFile, store=store), FlyteFile, store=store
    )
    assert ff.remote_source == f"{bucket}/k.txt"
    assert not ff.downloaded
    assert not os.path.exists(ff.path)
    with ff.open("rb") as fh:  # streams without a local copy
        assert fh.read() == b"hello"
    assert not ff.downloaded
    with open(ff) as fh:  # os.fspath downloads, once
        assert fh.read() == "hello"
    assert ff.downloaded
    assert ff.download() == ff.path
    assert pathlib.Path(ff.path).name == "k.txt"


def test_a_new_remote_file_written_in_a_kernel_task_is_readable_after_the_call() -> None:
    @fnb.task
    def write() -> FlyteFile:
        out = FlyteFile.new_remote_file("report.txt")
        with out.open("w") as fh:
            fh.write("written in the task")
        return out

    result = write()
    assert result.remote_source.startswith("memory://")
    assert result.remote_source.endswith("/report.txt")
    assert pathlib.Path(result.download()).read_text() == "written in the task"


def test_a_failed_write_stores_nothing() -> None:
    store = MemoryStore()
    ff = FlyteFile(store.new_uri("x.bin"))
    ff._store = store

    def write_half() -> None:
        with ff.open("wb") as fh:
            fh.write(b"half")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_half()
    assert len(store) == 0


def test_a_decoded_file_pickles_without_its_store(bucket: str) -> None:
    store = MemoryStore()
    ff = TypeEngine.to_python_value(
        TypeEngine.to_literal(f"{bucket}/p", FlyteFile, store=store), FlyteFile, store=store
    )
    back = pickle.loads(pickle.dumps(ff))
    assert back.remote_source == f"{bucket}/p"
    assert back._store is None


def test_new_writes_into_the_task_working_directory() -> None:
    @fnb.task
    def make() -> FlyteFile:
        out = FlyteFile.new("out.txt")
        pathlib.Path(out.path).write_text("x")
        return out

    assert pathlib.Path(make().path).read_text() == "x"
    with pytest.raises(FlyteTypeError, match="relative"):
        FlyteFile.new("/abs/out.txt")


# -- formats ---------------------------------------------------------------------------------------
def test_format_classes_are_flytekits_shape() -> None:
    assert FlyteFile["csv"] is FlyteFile[".csv"]
    assert FlyteFile["csv"].extension() == "csv"
    assert FlyteFile.extension() == ""
    assert FlyteFile[""] is FlyteFile
    assert FlyteFile[None] is FlyteFile
    assert issubclass(FlyteFile["csv"], FlyteFile)
    assert TypeEngine.describe(FlyteFile["csv"]) == "file[csv]"
    assert TypeEngine.describe(FlyteDirectory) == "directory"


def test_guessed_types_from_literal_types() -> None:
    blob = types_pb2.BlobType
    assert TypeEngine.guess_python_type(types_pb2.LiteralType(blob=blob(format="csv"))) is FlyteFile["csv"]
    assert (
        TypeEngine.guess_python_type(types_pb2.LiteralType(blob=blob(dimensionality=blob.MULTIPART)))
        is FlyteDirectory
    )


# -- bad input -------------------------------------------------------------------------------------
@fnb.task
def first_line(f: CsvFile) -> str:
    with open(f) as fh:
        return fh.readline().strip()


@fnb.task
def count_files(d: FlyteDirectory) -> int:
    return len(list(pathlib.Path(d).rglob("*.txt")))


def test_a_missing_local_path_names_the_input_and_the_fix(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(TaskInputError) as info:
        first_line(f=str(missing))
    msg = str(info.value)
    assert msg.startswith(f"Task '{first_line.name}' input 'f': expected an existing file, got '{missing}'")
    assert "does not exist" in msg
    assert "Check the path" in msg


def test_a_directory_where_a_file_is_declared_and_the_other_way_round(
    csv: pathlib.Path, folder: pathlib.Path
) -> None:
    with pytest.raises(
        TaskInputError, match=r"input 'f': expected a file, got the directory .*FlyteDirectory"
    ):
        first_line(f=str(folder))
    with pytest.raises(TaskInputError, match=r"input 'd': expected a directory, got the file .*FlyteFile"):
        count_files(d=str(csv))


def test_a_file_without_the_declared_format(tmp_path: pathlib.Path) -> None:
    txt = tmp_path / "notes.txt"
    txt.write_text("x")
    with pytest.raises(TaskInputError) as info:
        first_line(f=str(txt))
    msg = str(info.value)
    assert "expected a 'csv' file (FlyteFile['csv'])" in msg
    assert "a 'txt' file" in msg
    assert "FlyteFile['txt']" in msg


def test_wrong_values_and_literals_are_clear_errors(bucket: str) -> None:
    with pytest.raises(
        FlyteTypeError, match=r"expected a file \(FlyteFile, a path str or an os.PathLike\), got 3 \(int\)"
    ):
        TypeEngine.to_literal(3, FlyteFile)
    directory = TypeEngine.to_literal(f"{bucket}/d/", FlyteDirectory)
    with pytest.raises(
        FlyteTypeError, match=r"expected a file, got the directory .*Declare the variable as FlyteDirectory"
    ):
        TypeEngine.to_python_value(directory, FlyteFile)
    parquet = TypeEngine.to_literal(f"{bucket}/x.parquet", FlyteFile["parquet"])
    with pytest.raises(FlyteTypeError, match=r"expected a 'csv' file, got a 'parquet' file"):
        TypeEngine.to_python_value(parquet, FlyteFile["csv"])


def test_a_literal_whose_local_file_is_gone(csv: pathlib.Path) -> None:
    lit = TypeEngine.to_literal(str(csv), FlyteFile, store=MemoryStore())
    csv.unlink()
    with pytest.raises(StorageError, match="nothing is there"):
        TypeEngine.to_python_value(lit, FlyteFile)


def test_an_object_store_without_its_extra_names_the_extra_and_the_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_s3fs(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("s3fs", "fsspec"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "fsspec", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_s3fs)
    with pytest.raises(StorageError) as info:
        first_line(f="s3://bucket/data.csv")
    msg = str(info.value)
    assert msg.startswith(f"Task '{first_line.name}' input 'f': Cannot download this file")
    assert "pip install 'flyte-nb[s3]'" in msg


# -- directories -----------------------------------------------------------------------------------
def test_a_local_directory_is_uploaded_recursively(folder: pathlib.Path, tmp_path: pathlib.Path) -> None:
    store = LocalStore(str(tmp_path / "raw"))
    lit = TypeEngine.to_literal(str(folder), FlyteDirectory, store=store)
    uri = _uri(lit)
    assert re.fullmatch(re.escape(store.raw_prefix) + r"/[0-9a-f]{32}", uri)  # no trailing slash
    assert lit.scalar.blob.metadata.type.dimensionality == types_pb2.BlobType.MULTIPART
    assert _files_under(pathlib.Path(uri)) == _files_under(folder)


def test_a_directory_stays_in_place_in_a_kernel_call(folder: pathlib.Path) -> None:
    assert count_files(d=str(folder)) == 3
    assert count_files(d=FlyteDirectory(folder)) == 3
    lit = TypeEngine.to_literal(FlyteDirectory(str(folder)), FlyteDirectory, store=MemoryStore())
    assert _uri(lit) == str(folder)


def test_a_remote_directory_keeps_its_prefix_and_downloads_lazily(folder: pathlib.Path, bucket: str) -> None:
    store = LocalStore()
    for rel, text in _files_under(folder).items():
        store.write_bytes(f"{bucket}/d/{rel}", text.encode())
    lit = TypeEngine.to_literal(FlyteDirectory(f"{bucket}/d/"), FlyteDirectory, store=store)
    assert _uri(lit) == f"{bucket}/d/"  # verbatim, trailing slash included
    fd = TypeEngine.to_python_value(wire(lit), FlyteDirectory, store=store)
    assert not fd.downloaded
    entries = FlyteDirectory.listdir(fd)
    assert sorted(type(e).__name__ for e in entries) == ["FlyteDirectory", "FlyteFile", "FlyteFile"]
    assert sorted(rel for _, rel in fd.crawl()) == ["f1.txt", "f2.txt", "sub/f3.txt"]
    assert not fd.downloaded
    f1 = next(e for e in entries if str(e.remote_source).endswith("f1.txt"))
    assert pathlib.Path(f1.download()).read_text() == "one"
    assert _files_under(pathlib.Path(fd.download())) == _files_under(folder)


def test_a_new_remote_directory_filled_in_a_kernel_task() -> None:
    @fnb.task
    def make() -> FlyteDirectory:
        out = FlyteDirectory.new_remote("results")
        for name in ("a.txt", "b.txt"):
            with out.new_file(name).open("w") as fh:
                fh.write(name)
        return out

    result = make()
    assert result.remote_source.endswith("/results")
    assert _files_under(pathlib.Path(result.download())) == {"a.txt": "a.txt", "b.txt": "b.txt"}
    with pytest.raises(FlyteTypeError, match="without an extension"):
        FlyteDirectory.new_remote("results.csv")


# -- inside dataclasses ----------------------------------------------------------------------------
@dataclasses.dataclass
class Bundle:
    report: FlyteFile
    inputs: FlyteDirectory | None = None


def test_files_inside_a_dataclass_follow_the_same_rules(
    csv: pathlib.Path, folder: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    import msgpack

    store = LocalStore(str(tmp_path / "raw"))
    value = Bundle(report=str(csv), inputs=FlyteDirectory(str(folder)))  # type: ignore[arg-type]
    lit = TypeEngine.to_literal(value, Bundle, store=store)
    assert value.report == str(csv)  # the caller's object is not modified
    data = msgpack.loads(lit.scalar.binary.value)
    assert data["report"]["path"].startswith(store.raw_prefix)  # uploaded, as a top-level file would be
    back = TypeEngine.to_python_value(wire(lit), Bundle, store=store)
    assert pathlib.Path(back.report).read_text() == csv.read_text()
    assert _files_under(pathlib.Path(back.inputs)) == _files_under(folder)

    @fnb.task
    def in_kernel(b: Bundle) -> str:
        return pathlib.Path(b.report).read_text()

    assert in_kernel(b=Bundle(report=FlyteFile(str(csv)))) == csv.read_text()


def test_a_cached_task_keys_on_the_files_content_not_its_path(
    csv: pathlib.Path, folder: pathlib.Path
) -> None:
    calls: list[str] = []

    @fnb.task(cache=True, cache_version="1")
    def read(f: FlyteFile, d: FlyteDirectory) -> str:
        calls.append("run")
        return pathlib.Path(f).read_text() + str(len(list(pathlib.Path(d).rglob("*.txt"))))

    assert read(f=str(csv), d=str(folder)) == "a,b\n1,2\n3"
    assert read(f=str(csv), d=str(folder)) == "a,b\n1,2\n3"
    assert calls == ["run"]
    csv.write_text("changed\n")  # edited in place: the cached result would be stale
    assert read(f=str(csv), d=str(folder)) == "changed\n3"
    (folder / "new.txt").write_text("4")
    assert read(f=str(csv), d=str(folder)) == "changed\n4"
    assert calls == ["run", "run", "run"]
