"""Files, directories and datasets through the FlyteAdmin stand-in, as through a cluster.

Local inputs are uploaded through the data proxy before ``CreateExecution`` (content-addressed, never
twice), the container reads them and writes its outputs under the execution's raw prefix, and outputs
come back as handles whose bytes move through signed URLs only when they are read.
"""

from __future__ import annotations

import pathlib

import pytest

import flyte_nb as fnb
from flyte_nb.errors import StorageError
from flyte_nb.remote import Remote
from tests.runtime import tasks_data as t
from tests.standin import StandIn

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")


def _rel(standin: StandIn, uri: str) -> str:
    rel = standin.bucket.rel_from_native(uri)
    assert rel is not None, uri
    return rel


def test_a_csv_file_in_and_out(remote: Remote, standin: StandIn, csv: pathlib.Path) -> None:
    rows, header, doubled = remote.submit(t.summarize_csv, f=str(csv)).wait(timeout=60)
    assert (rows, header) == (3, "id,score")
    uploads = [p for p in standin.bucket.puts if p.endswith("/scores.csv")]
    assert len(uploads) == 1  # the input went through the data proxy, under its MD5
    # the output is a handle: nothing was read yet
    assert not doubled.downloaded
    rel = _rel(standin, doubled.remote_source)
    assert rel not in standin.bucket.gets
    lines = pathlib.Path(doubled.download()).read_text().splitlines()
    assert lines[1:] == csv.read_text().splitlines()[1:] * 2
    assert standin.bucket.gets.count(rel) == 1  # one signed-URL download, on first read
    pathlib.Path(doubled).read_text()
    assert standin.bucket.gets.count(rel) == 1


def test_the_same_file_is_uploaded_once(remote: Remote, standin: StandIn, csv: pathlib.Path) -> None:
    first = remote.submit(t.file_size, f=str(csv))
    second = remote.submit(t.file_size, f=fnb.FlyteFile(str(csv)))
    assert first.wait(timeout=60) == second.wait(timeout=60) == csv.stat().st_size
    assert len([p for p in standin.bucket.puts if p.endswith("/scores.csv")]) == 1
    # an input returned unchanged comes back with the URI it was uploaded to
    same = remote.submit(t.same_file, f=str(csv)).wait(timeout=60)
    assert same.remote_source.startswith("file://")
    assert same.remote_source.endswith("/scores.csv")


def test_a_directory_of_three_files(remote: Remote, standin: StandIn, folder: pathlib.Path) -> None:
    names, total, copy = remote.submit(t.list_directory, d=str(folder)).wait(timeout=60)
    assert names == ["a.txt", "b.txt", "sub/c.txt"]
    assert total == len("alpha") + len("beta") + len("gamma")
    # uploaded through the data proxy as one prefix: uploads/<project>/<domain>/<root from the MD5s>/<file>
    roots = {p.split("/")[3] for p in standin.bucket.puts if p.endswith(".txt")}
    assert len(roots) == 1
    assert sorted(p.split("/", 4)[4] for p in standin.bucket.puts if p.endswith(".txt")) == names
    assert not copy.downloaded
    assert sorted(rel for _, rel in copy.crawl()) == names
    local = pathlib.Path(copy.download())
    got = {str(p.relative_to(local)): p.read_text() for p in local.rglob("*") if p.is_file()}
    assert got == {"a.txt": "ALPHA", "b.txt": "BETA", "sub/c.txt": "GAMMA"}
    prefix = _rel(standin, copy.remote_source)
    assert sorted(g[len(prefix) + 1 :] for g in standin.bucket.gets if g.startswith(prefix + "/")) == names


def test_a_100k_row_dataframe_with_declared_columns(remote: Remote, standin: StandIn) -> None:
    n = 100_000
    df = pd.DataFrame(
        {"id": np.arange(n), "score": np.arange(n) / n, "label": ["row"] * n, "extra": np.zeros(n)}
    )
    execution = remote.submit(t.top_half, df=df)
    before = len(standin.bucket.gets)
    out = execution.wait(timeout=120)
    assert list(out.columns) == ["id", "score"]
    assert out["id"].tolist() == list(range(n // 2, n))
    assert any(g.endswith("/00000") for g in standin.bucket.gets[before:])  # read through a signed URL


def test_a_failed_upload_registers_nothing(remote: Remote, standin: StandIn, csv: pathlib.Path) -> None:
    standin.bucket.faults.put_failures = 1000
    with pytest.raises(StorageError) as info:
        remote.submit(t.summarize_csv, f=str(csv))
    msg = str(info.value)
    assert msg.startswith(f"Task '{t.summarize_csv.name}' input 'f': ")
    assert "expected HTTP 200 or 201, got 503" in msg
    assert "CreateTask" not in standin.calls
    assert "CreateExecution" not in standin.calls
    assert list(standin.store.executions()) == []
