"""Moving bytes through FlyteAdmin's DataProxy: signed-URL uploads and downloads.

Uploads follow flytekit's ``upload_file`` (PROTOCOL §4.10) with its quirks fixed:
``CreateUploadLocation`` gets the *raw* 16-byte MD5, the PUT sends every header the server returned
(``Content-MD5``, ``x-amz-meta-flyteContentMD5``…) but the *real* ``Content-Length`` (the server's is the
length of the MD5 string), and 200 or 201 is success. Transient storage failures (5xx, a dropped
connection) are retried with backoff; a PUT is idempotent, so a retry can never duplicate anything.

:class:`DataProxyStore` is the store the type engine uses for a remote run: pickled values, dataframes
and a user's local files and directories are uploaded through it (files content-addressed, once), and
outputs (pickles, offloaded literals, files, directories, datasets) are downloaded through
``CreateDownloadLocation`` signed URLs when they are read, so a notebook needs no bucket credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from flyteidl.service import dataproxy_pb2

from flyte_nb.core.storage import BaseStore, ObjectWriter
from flyte_nb.errors import RemoteAlreadyExistsError, StorageError
from flyte_nb.remote.client import AdminClient, RetryPolicy
from flyte_nb.remote.http import HttpResponse, HttpSettings, http_request
from flyte_nb.remote.ranged import RangeReader

__all__ = ["DataProxyStore", "Uploader"]

Buffer = bytes | bytearray | memoryview
#: A request body: bytes, or a function opening a fresh file object for each attempt.
Body = bytes | Callable[[], BinaryIO]


def _redact(url: str) -> str:
    """A signed URL without its query string (the signature is a bearer credential)."""
    return url.split("?", 1)[0]


@dataclass
class Uploader:
    """Uploads and downloads through one FlyteAdmin's DataProxy."""

    client: AdminClient
    http: HttpSettings
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=4, initial=0.25, maximum=4.0))
    sleep: Callable[[float], None] = time.sleep

    def location(
        self,
        project: str,
        domain: str,
        *,
        filename: str,
        filename_root: str,
        data: bytes | None = None,
        md5: bytes | None = None,
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        """``CreateUploadLocation`` for ``<filename_root>/<filename>`` (MD5-pinned when ``data`` or its
        raw ``md5`` digest is given; without a root the server files it under the MD5 itself)."""
        request = dataproxy_pb2.CreateUploadLocationRequest(
            project=project, domain=domain, filename=filename, filename_root=filename_root
        )
        if data is not None:
            md5 = hashlib.md5(data).digest()
        if md5 is not None:
            request.content_md5 = md5
            request.add_content_md5_metadata = True
        return self.client.create_upload_location(request)

    def upload(self, project: str, domain: str, data: bytes, *, filename: str, filename_root: str) -> str:
        """Store ``data`` as ``<filename_root>/<filename>`` and return its ``native_url``.

        An object already stored there with the same MD5 is simply rewritten (the server signs a new
        URL for it); one with a *different* MD5 makes the server answer ALREADY_EXISTS, and the data is
        then stored beside it under a fresh root.
        """
        try:
            location = self.location(
                project, domain, filename=filename, filename_root=filename_root, data=data
            )
        except RemoteAlreadyExistsError:
            root = f"{filename_root}-{uuid.uuid4().hex[:8]}"
            location = self.location(project, domain, filename=filename, filename_root=root, data=data)
        self.put(location, data)
        return location.native_url

    def put(self, location: dataproxy_pb2.CreateUploadLocationResponse, data: bytes) -> None:
        """PUT ``data`` to the signed URL of ``location`` (retrying transient failures)."""
        self._put(location, data, len(data))

    def put_file(self, location: dataproxy_pb2.CreateUploadLocationResponse, path: str) -> None:
        """PUT the local file ``path`` to the signed URL of ``location``, streamed from disk."""
        # Reopened for every attempt; _exchange closes it.
        self._put(location, lambda: open(path, "rb"), os.path.getsize(path))  # noqa: SIM115

    def _put(self, location: dataproxy_pb2.CreateUploadLocationResponse, data: Body, size: int) -> None:
        # Every header the server returned (Content-MD5, x-amz-meta-flyteContentMD5…) is part of the
        # signature, except Content-Length: stow sends the length of the MD5 string; send the real one.
        headers = {k: v for k, v in location.headers.items() if k.lower() != "content-length"}
        if location.native_url.startswith("abfs"):
            headers.setdefault("x-ms-blob-type", "BlockBlob")
        headers["Content-Length"] = str(size)
        response = self._send("PUT", location.signed_url, data, headers)
        if response.status not in (200, 201):
            raise StorageError(
                f"Upload to {_redact(location.signed_url)} (for {location.native_url}): expected HTTP 200 or 201, "
                f"got {response.status}: {response.body[:300].decode(errors='replace')}. Check the data proxy's "
                "storage configuration; the upload was retried where the failure looked transient."
            )

    def signed_download_url(self, native_url: str) -> str:
        """A ``CreateDownloadLocation`` signed URL for ``native_url`` (valid for an hour)."""
        request = dataproxy_pb2.CreateDownloadLocationRequest(native_url=native_url)
        request.expires_in.FromSeconds(3600)
        location = self.client.create_download_location(request)
        return str(location.signed_url)

    def download(self, native_url: str) -> bytes:
        """The bytes at ``native_url`` (an ``s3://``… URI), read through a signed download URL."""
        return self.get(self.signed_download_url(native_url), what=native_url)

    def download_file(self, native_url: str, dst: str) -> None:
        """Stream the object at ``native_url`` into the local file ``dst`` (written atomically)."""
        url = self.signed_download_url(native_url)
        tmp = f"{dst}.{uuid.uuid4().hex[:8]}.part"
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        try:
            response = self._send("GET", url, None, {}, sink_path=tmp)
            self._check_download(response, url, native_url)
            os.replace(tmp, dst)
        finally:
            with contextlib.suppress(OSError):
                os.remove(tmp)

    def open_download(self, native_url: str) -> RangeReader:
        """A seekable file on the object at ``native_url``, read in pieces with range requests through one
        signed URL (only what is read is downloaded)."""
        url = self.signed_download_url(native_url)
        return RangeReader(lambda span: self._send("GET", url, None, {"Range": span}), native_url)

    def get(self, url: str, *, what: str) -> bytes:
        """GET a signed URL (retrying transient failures); ``what`` names the data in errors."""
        response = self._send("GET", url, None, {})
        self._check_download(response, url, what)
        return response.body

    @staticmethod
    def _check_download(response: HttpResponse, url: str, what: str) -> None:
        if response.status != 200:
            raise StorageError(
                f"Download of {what}: expected HTTP 200 from {_redact(url)}, got {response.status}: "
                f"{response.body[:300].decode(errors='replace')}. The data may have expired from the bucket."
            )

    def _send(
        self, method: str, url: str, data: Body | None, headers: dict[str, str], *, sink_path: str = ""
    ) -> HttpResponse:
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = _exchange(method, url, data, headers, self.http, sink_path)
            except OSError as exc:
                if last:
                    raise StorageError(
                        f"{method} {_redact(url)} failed after {attempt} attempts: {exc}. Check the network "
                        "path to the cluster's object store (a proxy may be needed: admin.httpProxyURL)."
                    ) from exc
            else:
                if response.status < 500 or last:
                    return response
            self.sleep(self.retry.delay(attempt - 1))
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def _exchange(
    method: str, url: str, data: Body | None, headers: dict[str, str], settings: HttpSettings, sink_path: str
) -> HttpResponse:
    """One HTTP exchange: a body made fresh for each attempt (a file is reopened), a sink file truncated."""
    with contextlib.ExitStack() as stack:
        body = stack.enter_context(data()) if callable(data) else data
        sink = stack.enter_context(open(sink_path, "wb")) if sink_path else None
        response = http_request(method, url, data=body, headers=headers, settings=settings, sink=sink)
    return response


class DataProxyStore(BaseStore):
    """The store of a remote run: every byte moves through the data proxy of one project/domain.

    * ``new_uri``/``write_bytes`` upload new objects (pickles, dataframes) at locations the server hands
      out (a random root, so nothing collides);
    * ``upload_file``/``upload_dir`` upload a user's local file or directory *content-addressed* (the
      MD5 names the location) and only once per :class:`~flyte_nb.remote.Remote`, however often it is
      passed;
    * reads (``read_bytes``, ``get_file``, ``open``) of any URI the cluster produced go through
      ``CreateDownloadLocation`` signed URLs, so a notebook needs no bucket credentials; ``open`` reads
      in pieces with range requests, so reading the start of an object downloads only that. No URI is
      local here: a path in a literal is a path in the cluster's storage.

    The data proxy signs one object at a time and cannot list a prefix: listing a directory (to
    download it, ``listdir``, ``crawl``) needs direct access to the bucket (its fsspec extra and
    credentials), and the error says so when that is missing.
    """

    def __init__(
        self,
        uploader: Uploader,
        project: str,
        domain: str,
        uploaded: dict[tuple[str, ...], str] | None = None,
    ) -> None:
        self.uploader = uploader
        self.project = project
        self.domain = domain
        self._roots: dict[str, tuple[str, str]] = {}  # native_url -> (filename_root, filename)
        self._uploaded = uploaded if uploaded is not None else {}  # content key -> native_url

    @property
    def raw_prefix(self) -> str:
        return f"dataproxy://{self.project}/{self.domain}"

    def is_local(self, uri: str) -> bool:
        return False

    def new_uri(self, name: str = "") -> str:
        root, filename = uuid.uuid4().hex, name or "data"
        location = self.uploader.location(self.project, self.domain, filename=filename, filename_root=root)
        self._roots[location.native_url] = (root, filename)
        return location.native_url

    def write_bytes(self, uri: str, data: Buffer) -> None:
        payload = bytes(data)
        for native, (root, filename) in self._roots.items():
            if uri == native or uri.startswith(native + "/"):
                # Objects "inside" a new URI (a dataframe's part files) live under the same root.
                name = filename + uri[len(native) :]
                location = self.uploader.location(
                    self.project, self.domain, filename=name, filename_root=root, data=payload
                )
                if location.native_url != uri:
                    raise StorageError(
                        f"The data proxy placed {name!r} at {location.native_url}, expected {uri}. Its storage "
                        "layout is not deterministic; this store cannot write nested objects there."
                    )
                self.uploader.put(location, payload)
                return
        raise StorageError(
            f"Cannot write {uri!r}: this store only writes URIs it handed out with new_uri(). "
            "This is a bug in flyte_nb; please report it."
        )

    def read_bytes(self, uri: str) -> bytes:
        return self.uploader.download(uri)

    def get_file(self, uri: str, dst: str) -> None:
        self.uploader.download_file(uri, dst)

    def open(self, uri: str, mode: str = "rb") -> IO[Any]:
        if "r" in mode:  # only the pieces read are downloaded (a preview's head, a parquet footer…)
            # (a BufferedIOBase is a binary file, though typeshed's IO[Any] and TextIOWrapper do not say so)
            reader = self.uploader.open_download(uri)
            return reader if "b" in mode else io.TextIOWrapper(reader)  # type: ignore[type-var,return-value]
        writer = ObjectWriter(self, uri)
        return writer if "b" in mode else io.TextIOWrapper(writer)

    def kind(self, uri: str) -> str | None:
        return None  # the data proxy cannot tell without reading

    def list_files(self, uri: str) -> list[str]:
        try:
            return super().list_files(uri)  # direct access to the bucket, when this process has it
        except StorageError as exc:
            raise StorageError(
                f"Cannot list {uri!r}: the data proxy signs single objects and cannot list a directory, and "
                f"this kernel has no direct access to the bucket ({exc})"
            ) from exc

    def put_file(self, src: str, uri: str) -> None:
        raise StorageError(
            f"Cannot upload {src!r} to the chosen location {uri!r} through the data proxy, which decides "
            "where uploads go. Drop remote_path/remote_directory; the file is uploaded under the run's data."
        )

    def upload_file(self, src: str) -> str:
        """Upload ``src`` content-addressed (the server files it under its MD5); once per Remote."""
        md5 = _md5_of(src)
        name = os.path.basename(src.rstrip(os.sep))
        key = ("file", self.project, self.domain, md5.hex(), name)
        if key not in self._uploaded:
            location = self.uploader.location(
                self.project, self.domain, filename=name, filename_root="", md5=md5
            )
            self.uploader.put_file(location, src)
            self._uploaded[key] = location.native_url
        return self._uploaded[key]

    def upload_dir(self, src: str) -> str:
        """Upload ``src`` recursively under a root named by the MD5s of its files; its URI (no trailing /)."""
        from flyte_nb.core import uris

        files = [(rel, os.path.join(src, *rel.split("/"))) for rel in uris.list_files(src)]
        digests = {rel: _md5_of(path) for rel, path in files}
        root = hashlib.md5(
            "".join(f"{rel}\0{d.hex()}\n" for rel, d in sorted(digests.items())).encode()
        ).hexdigest()
        key = ("dir", self.project, self.domain, root)
        if key in self._uploaded:
            return self._uploaded[key]
        prefix = ""
        for rel, path in files or [(".empty", "")]:
            location = self.uploader.location(
                self.project, self.domain, filename=rel, filename_root=root, md5=digests.get(rel)
            )
            if not location.native_url.endswith("/" + rel):
                raise StorageError(
                    f"The data proxy placed {rel!r} of {src!r} at {location.native_url}, not under one prefix; "
                    "the directory cannot be uploaded through it."
                )
            prefix = prefix or location.native_url[: -len(rel) - 1]
            if path:
                self.uploader.put_file(location, path)
        self._uploaded[key] = prefix
        return prefix


def _md5_of(path: str) -> bytes:
    """The raw MD5 digest of a local file, read in chunks."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise StorageError(f"Could not read {path!r} to upload it: {exc.strerror or exc}.") from exc
    return digest.digest()
