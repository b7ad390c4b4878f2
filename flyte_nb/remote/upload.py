"""Moving bytes through FlyteAdmin's DataProxy: signed-URL uploads and downloads.

Uploads follow flytekit's ``upload_file`` (PROTOCOL §4.10) with its quirks fixed:
``CreateUploadLocation`` gets the *raw* 16-byte MD5, the PUT sends every header the server returned
(``Content-MD5``, ``x-amz-meta-flyteContentMD5``…) but the *real* ``Content-Length`` (the server's is the
length of the MD5 string), and 200 or 201 is success. Transient storage failures (5xx, a dropped
connection) are retried with backoff; a PUT is idempotent, so a retry can never duplicate anything.

:class:`DataProxyStore` is the :class:`~flyte_nb.core.storage.RawStore` the type engine uses for a
remote run: pickled inputs are uploaded through it, and pickled or offloaded outputs are downloaded
through ``CreateDownloadLocation`` signed URLs, so a notebook needs no bucket credentials.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from flyteidl.service import dataproxy_pb2

from flyte_nb.errors import RemoteAlreadyExistsError, StorageError
from flyte_nb.remote.client import AdminClient, RetryPolicy
from flyte_nb.remote.http import HttpResponse, HttpSettings, http_request

__all__ = ["DataProxyStore", "Uploader"]

Buffer = bytes | bytearray | memoryview


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
        self, project: str, domain: str, *, filename: str, filename_root: str, data: bytes | None = None
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        """``CreateUploadLocation`` for ``<filename_root>/<filename>`` (MD5-pinned when ``data`` is given)."""
        request = dataproxy_pb2.CreateUploadLocationRequest(
            project=project, domain=domain, filename=filename, filename_root=filename_root
        )
        if data is not None:
            request.content_md5 = hashlib.md5(data).digest()
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
        # Every header the server returned (Content-MD5, x-amz-meta-flyteContentMD5…) is part of the
        # signature, except Content-Length: stow sends the length of the MD5 string; send the real one.
        headers = {k: v for k, v in location.headers.items() if k.lower() != "content-length"}
        if location.native_url.startswith("abfs"):
            headers.setdefault("x-ms-blob-type", "BlockBlob")
        headers["Content-Length"] = str(len(data))
        response = self._send("PUT", location.signed_url, data, headers)
        if response.status not in (200, 201):
            raise StorageError(
                f"Upload to {_redact(location.signed_url)} (for {location.native_url}): expected HTTP 200 or 201, "
                f"got {response.status}: {response.body[:300].decode(errors='replace')}. Check the data proxy's "
                "storage configuration; the upload was retried where the failure looked transient."
            )

    def download(self, native_url: str) -> bytes:
        """The bytes at ``native_url`` (an ``s3://``… URI), read through a signed download URL."""
        request = dataproxy_pb2.CreateDownloadLocationRequest(native_url=native_url)
        request.expires_in.FromSeconds(3600)
        location = self.client.create_download_location(request)
        return self.get(location.signed_url, what=native_url)

    def get(self, url: str, *, what: str) -> bytes:
        """GET a signed URL (retrying transient failures); ``what`` names the data in errors."""
        response = self._send("GET", url, None, {})
        if response.status != 200:
            raise StorageError(
                f"Download of {what}: expected HTTP 200 from {_redact(url)}, got {response.status}: "
                f"{response.body[:300].decode(errors='replace')}. The data may have expired from the bucket."
            )
        return response.body

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> HttpResponse:
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = http_request(method, url, data=data, headers=headers, settings=self.http)
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


class DataProxyStore:
    """A :class:`~flyte_nb.core.storage.RawStore` backed by the DataProxy of one project/domain.

    ``new_uri`` asks the server where a new object will live (a random root, so nothing collides);
    ``write_bytes`` uploads there, MD5-pinned; ``read_bytes`` downloads any ``native_url`` the cluster
    produced (pickled outputs, offloaded literals) through a signed URL.
    """

    def __init__(self, uploader: Uploader, project: str, domain: str) -> None:
        self.uploader = uploader
        self.project = project
        self.domain = domain
        self._roots: dict[str, tuple[str, str]] = {}  # native_url -> (filename_root, filename)

    @property
    def raw_prefix(self) -> str:
        return f"dataproxy://{self.project}/{self.domain}"

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
