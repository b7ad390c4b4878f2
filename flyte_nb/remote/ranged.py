"""Reading an object behind a signed URL in pieces, with HTTP range requests.

``FlyteFile.open("rb")`` on a remote run's output, a preview of its first rows, pyarrow reading a
parquet footer: each needs a part of an object, not all of it. :class:`RangeReader` is a seekable,
read-only file whose reads are ``Range: bytes=…`` GETs of one signed URL:

* the first read fetches exactly what was asked (a preview's head costs that many bytes); reads that
  follow on from the previous one fetch ever larger pieces ahead (up to ``MAX_AHEAD``), so reading a
  whole file line by line costs a few dozen requests, not one per line;
* a server that ignores ``Range`` (answers ``200`` with the whole object) is read once, and the object is
  served from memory from then on, as a plain download would be;
* the object's size comes from the first answer's ``Content-Range`` (:attr:`RangeReader.size`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flyte_nb.errors import StorageError
from flyte_nb.remote.http import HttpResponse

__all__ = ["MAX_AHEAD", "RangeReader"]

FIRST_AHEAD = 256 * 1024
MAX_AHEAD = 16 * 1024 * 1024
_TOTAL = re.compile(r"/\s*(\d+)\s*$")

#: ``fetch(range_header) -> response``: one GET of the signed URL with that ``Range`` header.
Fetch = Callable[[str], HttpResponse]


class RangeReader(io.BufferedIOBase):
    """A read-only, seekable file over one object, read with range requests through ``fetch``.

    Parameters
    ----------
    fetch:
        Sends one GET with the given ``Range`` header value and returns the response (any status).
    what:
        Names the object in errors (its native URL, never the signed one).
    """

    def __init__(self, fetch: Fetch, what: str) -> None:
        super().__init__()
        self._fetch, self._what = fetch, what
        self._pos = 0
        self._size: int | None = None
        self._whole: bytes | None = None  # the server sent everything at once
        self._buf, self._buf_start = b"", 0
        self._ahead = 0

    # -- io protocol --------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos}.get(whence)
        if base is None:
            base = self.size
        if base + offset < 0:
            raise StorageError(f"Cannot seek to {base + offset} in {self._what}: before its start.")
        self._pos = base + offset
        return self._pos

    @property
    def size(self) -> int:
        """The object's size in bytes (one small request if nothing was read yet)."""
        if self._size is None:
            self._get(0, 1)
        if self._size is None:  # an answer without the total: the whole object tells
            self._get(0, None)
        assert self._size is not None  # a whole answer always sets it
        return self._size

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        if size is None or size < 0:
            return self._rest()
        out = bytearray()
        while len(out) < size:
            piece = self._some(size - len(out))
            if not piece:
                break
            out += piece
        return bytes(out)

    def read1(self, size: int = -1) -> bytes:
        self._check_open()
        return self._some(size if size >= 0 else FIRST_AHEAD)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    # -- reading ------------------------------------------------------------------------------------
    def _some(self, n: int) -> bytes:
        """Up to ``n`` bytes at the position (fewer at the end, or where the buffer ends)."""
        if n == 0 or (self._size is not None and self._pos >= self._size):
            return b""
        offset = self._pos - self._buf_start
        if not 0 <= offset < len(self._buf):
            # reads that carry on where the last piece ended fetch ever more ahead; a jump starts over
            sequential = self._buf and self._pos == self._buf_start + len(self._buf)
            self._ahead = min(max(self._ahead * 2, FIRST_AHEAD), MAX_AHEAD) if sequential else 0
            self._buf, self._buf_start = self._get(self._pos, max(n, self._ahead)), self._pos
            offset = 0
        piece = self._buf[offset : offset + n]
        self._pos += len(piece)
        return piece

    def _rest(self) -> bytes:
        if self._whole is None and (self._size is None or self._pos < self._size):
            start = self._pos
            data = self._get(start, None)
            self._pos = start + len(data)
            return data
        data = (self._whole or b"")[self._pos :]
        self._pos += len(data)
        return data

    def _get(self, start: int, length: int | None) -> bytes:
        """Bytes ``[start, start + length)`` (to the end when ``length`` is None)."""
        if self._whole is not None:
            return self._whole[start : None if length is None else start + length]
        end = "" if length is None else str(start + length - 1)
        response = self._fetch(f"bytes={start}-{end}")
        if response.status == 206:
            total = _TOTAL.search(response.headers.get("content-range", ""))
            if total is not None:
                self._size = int(total.group(1))
            elif length is None or len(response.body) < length:  # no total given, but this piece ended it
                self._size = start + len(response.body)
            return response.body
        if response.status == 416:  # nothing at or after start: the object is shorter
            total = _TOTAL.search(response.headers.get("content-range", ""))
            self._size = int(total.group(1)) if total is not None else start
            return b""
        if response.status == 200:  # Range ignored: this is the whole object
            self._whole = response.body
            self._size = len(response.body)
            return self._whole[start : None if length is None else start + length]
        raise StorageError(
            f"Download of {self._what}: expected HTTP 206 or 200, got {response.status}: "
            f"{response.body[:300].decode(errors='replace')}. The data may have expired from the bucket."
        )
