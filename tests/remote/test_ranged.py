"""Reading part of an object behind a signed URL: range requests, read-ahead, and servers that ignore Range."""

from __future__ import annotations

import io
import pathlib
import re

import pytest

from flyte_nb.errors import StorageError
from flyte_nb.remote import Remote
from flyte_nb.remote.http import HttpResponse
from flyte_nb.remote.ranged import MAX_AHEAD, RangeReader
from tests.runtime import tasks_data as t
from tests.standin import StandIn

DATA = bytes(range(256)) * 40_000  # ~10 MB


class Server:
    """Answers range requests on DATA as S3 does (or ignores them, like a plain web server)."""

    def __init__(self, *, honours_range: bool = True, status: int = 0) -> None:
        self.ranges: list[str] = []
        self.sent = 0
        self.honours_range, self.status = honours_range, status

    def fetch(self, span: str) -> HttpResponse:
        self.ranges.append(span)
        if self.status:
            return HttpResponse(self.status, {}, b"AccessDenied")
        if not self.honours_range:
            self.sent += len(DATA)
            return HttpResponse(200, {}, DATA)
        first, last = re.fullmatch(r"bytes=(\d+)-(\d*)", span).groups()  # type: ignore[union-attr]
        start, end = int(first), min(int(last), len(DATA) - 1) if last else len(DATA) - 1
        if start >= len(DATA):
            return HttpResponse(416, {"content-range": f"bytes */{len(DATA)}"}, b"")
        piece = DATA[start : end + 1]
        self.sent += len(piece)
        return HttpResponse(206, {"content-range": f"bytes {start}-{end}/{len(DATA)}"}, piece)


def test_the_first_read_fetches_exactly_what_was_asked() -> None:
    server = Server()
    reader = RangeReader(server.fetch, "s3://bucket/k")
    assert reader.read(100) == DATA[:100]
    assert server.ranges == ["bytes=0-99"]
    assert reader.size == len(DATA)  # from the answer's Content-Range: no second request
    assert server.ranges == ["bytes=0-99"]


def test_reading_on_fetches_ahead_so_a_whole_read_costs_few_requests() -> None:
    server = Server()
    reader = RangeReader(server.fetch, "s3://bucket/k")
    lines = io.BufferedReader(reader, 8192)  # small reads, as line iteration does
    out = bytearray()
    while chunk := lines.read(8192):
        out += chunk
    assert bytes(out) == DATA
    assert len(server.ranges) < 12  # 8 KB reads of 10 MB, in pieces growing to MAX_AHEAD
    assert server.sent == len(DATA)  # nothing fetched twice
    assert MAX_AHEAD >= 16 * 1024 * 1024


def test_seeking_reads_only_the_parts_asked_for() -> None:
    server = Server()
    reader = RangeReader(server.fetch, "s3://bucket/k")
    reader.seek(-8, io.SEEK_END)  # a parquet footer
    assert reader.read() == DATA[-8:]
    reader.seek(1000)
    assert reader.read(10) == DATA[1000:1010]
    assert server.sent < 1000
    assert reader.read1(5) == DATA[1010:1015]  # from what was fetched
    assert reader.tell() == 1015


def test_text_mode_reads_lines() -> None:
    text = "".join(f"line {i}\n" for i in range(100_000)).encode()

    def fetch(span: str) -> HttpResponse:
        first, last = re.fullmatch(r"bytes=(\d+)-(\d*)", span).groups()  # type: ignore[union-attr]
        end = min(int(last), len(text) - 1) if last else len(text) - 1
        return HttpResponse(
            206, {"content-range": f"bytes {first}-{end}/{len(text)}"}, text[int(first) : end + 1]
        )

    with io.TextIOWrapper(RangeReader(fetch, "s3://b/k")) as fh:
        assert sum(1 for _ in fh) == 100_000


def test_a_server_that_ignores_range_is_read_once() -> None:
    server = Server(honours_range=False)
    reader = RangeReader(server.fetch, "s3://bucket/k")
    assert reader.read(10) == DATA[:10]
    assert reader.read(10) == DATA[10:20]
    reader.seek(0)
    assert reader.read() == DATA
    assert len(server.ranges) == 1


def test_the_end_of_the_object_and_empty_objects() -> None:
    server = Server()
    reader = RangeReader(server.fetch, "s3://bucket/k")
    reader.seek(len(DATA) + 5)
    assert reader.read(10) == b""
    empty = RangeReader(lambda span: HttpResponse(416, {"content-range": "bytes */0"}, b""), "s3://b/empty")
    assert empty.read(10) == b""
    assert empty.size == 0


def test_a_refused_download_names_the_object_not_the_signed_url() -> None:
    reader = RangeReader(Server(status=403).fetch, "s3://bucket/k")
    with pytest.raises(StorageError, match=r"Download of s3://bucket/k: expected HTTP 206 or 200, got 403"):
        reader.read(1)


def test_a_remote_output_file_streams_through_range_requests(
    remote: Remote, standin: StandIn, tmp_path: pathlib.Path
) -> None:
    csv = tmp_path / "scores.csv"
    csv.write_text("id,score\n" + "".join(f"{i},{i / 3}\n" for i in range(50_000)))
    _rows, _header, doubled = remote.submit(t.summarize_csv, f=str(csv)).wait(timeout=60)
    rel = standin.bucket.rel_from_native(doubled.remote_source)
    assert rel is not None
    with doubled.open("rb") as fh:
        assert fh.read(9) == b"id,score\n"
    assert standin.bucket.served_bytes(rel) == 9  # the start, not the ~1.7 MB object
    with doubled.open("r") as fh:
        lines = fh.read().splitlines()
    assert len(lines) == 1 + 2 * 50_000
    assert not doubled.downloaded  # streamed: no local copy
