"""The one place flyte_nb speaks plain HTTP(S): OAuth token endpoints and signed storage URLs.

Only the standard library (``urllib``) is used: the requests are few and simple, and a heavier HTTP
client would be a dependency for two verbs. Signed URLs and token endpoints never get a Flyte token.
"""

from __future__ import annotations

import shutil
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from flyte_nb.remote.config import RemoteConfig

__all__ = ["HttpResponse", "HttpSettings", "http_request"]


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (lower-cased names) and body of a finished HTTP exchange, whatever its status."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class HttpSettings:
    """TLS and proxy settings shared by every HTTP call of one :class:`~flyte_nb.remote.Remote`."""

    insecure_skip_verify: bool = False
    ca_cert_file_path: str = ""
    proxy_url: str = ""
    timeout: float = 60.0

    @classmethod
    def from_config(cls, config: RemoteConfig) -> HttpSettings:
        """The HTTP side of a :class:`RemoteConfig` (flytekit applies the same TLS options to both)."""
        return cls(
            insecure_skip_verify=config.insecure_skip_verify,
            ca_cert_file_path=config.ca_cert_file_path,
            proxy_url=config.auth.http_proxy_url,
        )

    def ssl_context(self) -> ssl.SSLContext:
        if self.insecure_skip_verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=self.ca_cert_file_path or None)


def http_request(
    method: str,
    url: str,
    *,
    data: bytes | BinaryIO | None = None,
    headers: Mapping[str, str] | None = None,
    settings: HttpSettings | None = None,
    sink: BinaryIO | None = None,
) -> HttpResponse:
    """Perform one HTTP request and return its response, also for 4xx/5xx statuses.

    ``data`` may be an open file (sent in chunks; give its ``Content-Length``), and ``sink`` receives a
    successful response's body in chunks instead of ``HttpResponse.body`` (large downloads never sit in
    memory). Network-level failures (refused connection, TLS, timeout) raise ``OSError``
    (``urllib.error.URLError`` is one); callers decide whether to retry.
    """
    settings = settings or HttpSettings()
    handlers: list[urllib.request.BaseHandler] = []
    if url.startswith("https://"):
        handlers.append(urllib.request.HTTPSHandler(context=settings.ssl_context()))
    if settings.proxy_url:
        handlers.append(
            urllib.request.ProxyHandler({"http": settings.proxy_url, "https": settings.proxy_url})
        )
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=settings.timeout) as response:
            head = {k.lower(): v for k, v in response.headers.items()}
            if sink is None:
                return HttpResponse(response.status, head, response.read())
            shutil.copyfileobj(response, sink, 1 << 20)
            return HttpResponse(response.status, head, b"")
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp is not None else b""
        return HttpResponse(exc.code, {k.lower(): v for k, v in exc.headers.items()}, body)
