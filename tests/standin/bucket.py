"""The stand-in's HTTP side: a local-directory "bucket" behind signed URLs, and an OAuth2 server.

Signed URLs behave like S3 presigned URLs as stow makes them for FlyteAdmin: the signature covers the
method, the object path, the expiry and (when the upload location was asked with one) the Content-MD5,
which the PUT must send and which must match the body. ``x-amz-meta-flytecontentmd5`` is kept as the
object's metadata so ``CreateUploadLocation`` can tell an identical re-upload from a different one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class DeviceGrant:
    user_code: str
    client_id: str
    approved: bool = False
    polls: int = 0


@dataclass
class CodeGrant:
    """An authorization code handed to a browser (PKCE), waiting to be exchanged at the token endpoint."""

    client_id: str
    redirect_uri: str
    challenge: str


@dataclass
class OAuthState:
    """Clients, issued tokens and pending device and browser logins of the stand-in's authorization server.

    ``PUBLIC_CLIENT`` is the public client id FlyteAdmin's ``GetPublicClientConfig`` hands out (flytectl's).
    """

    PUBLIC_CLIENT = "flytectl"

    clients: dict[str, str] = field(default_factory=dict)  # client_id -> secret
    tokens: set[str] = field(default_factory=set)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh -> client_id
    devices: dict[str, DeviceGrant] = field(default_factory=dict)  # device_code -> grant
    codes: dict[str, CodeGrant] = field(default_factory=dict)  # authorization code -> grant
    auto_approve_after: int | None = 1  # polls before a device code approves itself (None: never)
    deny_browser: bool = False  # the user refuses the browser sign-in
    redirect_uri: str = ""  # the registered loopback redirect of the public client
    token_lifetime: int = 3600  # expires_in of issued access tokens
    token_requests: int = 0
    device_logins: int = 0  # device authorizations started (a user was asked to approve a code)
    browser_logins: int = 0  # authorization requests (a browser was sent to sign in)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self) -> dict[str, Any]:
        token, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.tokens.add(token)
        self.refresh_tokens[refresh] = "device"
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
            "refresh_token": refresh,
        }

    def expire_all(self) -> None:
        with self.lock:
            self.tokens.clear()


@dataclass
class BucketFaults:
    put_failures: int = 0  # next N PUTs answer 503
    put_status: int = 503


class Bucket:
    """Signs and serves URLs over ``root`` (the bucket directory)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.meta_root = self.root.parent / (self.root.name + "-metadata")
        self.meta_root.mkdir(parents=True, exist_ok=True)
        self.key = secrets.token_bytes(16)
        self.base_url = ""  # set when the HTTP server starts
        self.faults = BucketFaults()
        self.puts: list[str] = []  # relative paths successfully written, in order
        self.gets: list[str] = []  # relative paths read through a signed URL, in order
        self.served: list[tuple[str, int]] = []  # (relative path, bytes sent) per GET, in order

    def served_bytes(self, suffix: str) -> int:
        """Bytes sent for the objects whose relative path ends with ``suffix``."""
        return sum(n for rel, n in self.served if rel.endswith(suffix))

    def native_url(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    def rel_from_native(self, native_url: str) -> str | None:
        # Propeller's storage URIs in the stand-in are plain absolute paths; DataProxy hands out file:// URLs.
        if native_url.startswith("file://"):
            path = Path(urllib.parse.unquote(native_url[len("file://") :])).resolve()
        elif native_url.startswith("/"):
            path = Path(native_url).resolve()
        else:
            return None
        try:
            return path.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None

    def _sig(self, method: str, rel: str, exp: int, md5: str) -> str:
        msg = f"{method}\n{rel}\n{exp}\n{md5}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()

    def sign(self, method: str, rel: str, expires_in: float, md5_b64: str = "") -> tuple[str, float]:
        exp = int(time.time() + expires_in)
        query = urllib.parse.urlencode(
            {"exp": exp, "md5": md5_b64, "sig": self._sig(method, rel, exp, md5_b64)}
        )
        return f"{self.base_url}/bucket/{urllib.parse.quote(rel)}?{query}", exp

    def check(self, method: str, rel: str, query: dict[str, str]) -> str | None:
        """None when the signature is valid, else the reason."""
        try:
            exp = int(query.get("exp", "0"))
        except ValueError:
            return "bad expiry"
        if exp < time.time():
            return "signed URL expired"
        expected = self._sig(method, rel, exp, query.get("md5", ""))
        if not hmac.compare_digest(expected, query.get("sig", "")):
            return "signature does not match"
        return None

    def stored_md5(self, rel: str) -> str | None:
        meta = self.meta_root / (rel + ".json")
        if not meta.exists():
            return None
        return str(json.loads(meta.read_text()).get("flytecontentmd5") or "") or None

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def write(self, rel: str, data: bytes, md5_meta: str | None) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        meta = self.meta_root / (rel + ".json")
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"flytecontentmd5": md5_meta or ""}))


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (inclusive) of a single ``Range: bytes=…`` header as S3 reads it, else ``None``."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        return max(size - int(last), 0), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1


def _handler(bucket: Bucket, oauth: OAuthState | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def _reply(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._reply(status, json.dumps(payload).encode(), "application/json")

        def _split(self) -> tuple[str, dict[str, str]]:
            parsed = urllib.parse.urlsplit(self.path)
            return urllib.parse.unquote(parsed.path), dict(urllib.parse.parse_qsl(parsed.query))

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_PUT(self) -> None:
            path, query = self._split()
            body = self._body()
            if not path.startswith("/bucket/"):
                return self._reply(404, b"no such route")
            rel = path[len("/bucket/") :]
            problem = bucket.check("PUT", rel, query)
            if problem:
                return self._reply(403, problem.encode())
            if bucket.faults.put_failures > 0:
                bucket.faults.put_failures -= 1
                return self._reply(bucket.faults.put_status, b"injected storage failure")
            signed_md5 = query.get("md5", "")
            sent_md5 = self.headers.get("Content-MD5", "")
            real_md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            if signed_md5 and sent_md5 != signed_md5:
                return self._reply(403, b"Content-MD5 header missing or not the signed one")
            if sent_md5 and sent_md5 != real_md5:
                return self._reply(400, b"BadDigest: Content-MD5 does not match the body")
            bucket.write(rel, body, self.headers.get("x-amz-meta-flytecontentmd5"))
            bucket.puts.append(rel)
            return self._reply(200)

        def _bucket_get(self, path: str, query: dict[str, str]) -> None:
            if not path.startswith("/bucket/"):
                return self._reply(404, b"no such route")
            rel = path[len("/bucket/") :]
            problem = bucket.check("GET", rel, query)
            if problem:
                return self._reply(403, problem.encode())
            if not bucket.exists(rel):
                return self._reply(404, b"NoSuchKey")
            bucket.gets.append(rel)
            data = (bucket.root / rel).read_bytes()
            span = _byte_range(self.headers.get("Range", ""), len(data))
            if span is None:  # no Range (or one S3 would ignore): the whole object
                bucket.served.append((rel, len(data)))
                return self._reply(200, data, "application/octet-stream")
            start, end = span
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            piece = data[start : end + 1]
            bucket.served.append((rel, len(piece)))
            self.send_response(206)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Range", f"bytes {start}-{start + len(piece) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(piece)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(piece)
            return None

        def do_GET(self) -> None:  # the OAuth authorize endpoint, then the bucket
            path, query = self._split()
            if path == "/oauth2/authorize" and oauth is not None:
                with oauth.lock:
                    return self._authorize(query)
            return self._bucket_get(path, query)

        do_HEAD = do_GET

        def _authorize(self, query: dict[str, str]) -> None:
            """The browser step of the authorization-code flow: the user signs in (at once, here) and the
            browser is sent back to the loopback redirect with a code, or with an error."""
            assert oauth is not None
            oauth.browser_logins += 1
            redirect = query.get("redirect_uri", "")
            if query.get("client_id") != OAuthState.PUBLIC_CLIENT or redirect != oauth.redirect_uri:
                return self._reply(400, b"unknown client or redirect_uri not registered")
            if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
                return self._reply(400, b"response_type=code with an S256 code_challenge is required")
            if oauth.deny_browser:
                back = {
                    "error": "access_denied",
                    "error_description": "The user refused.",
                    "state": query.get("state", ""),
                }
            else:
                code = secrets.token_urlsafe(16)
                oauth.codes[code] = CodeGrant(query["client_id"], redirect, query.get("code_challenge", ""))
                back = {"code": code, "state": query.get("state", "")}
            self.send_response(302)
            self.send_header("Location", f"{redirect}?{urllib.parse.urlencode(back)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        def do_POST(self) -> None:
            path, _ = self._split()
            form = dict(urllib.parse.parse_qsl(self._body().decode()))
            if oauth is None:
                return self._reply(404, b"auth is off")
            with oauth.lock:
                if path == "/oauth2/token":
                    return self._token(form)
                if path == "/oauth2/device/auth":
                    return self._device(form)
            return self._reply(404, b"no such route")

        def _token(self, form: dict[str, str]) -> None:
            assert oauth is not None
            oauth.token_requests += 1
            grant = form.get("grant_type")
            if grant == "client_credentials":
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Basic "):
                    return self._json(401, {"error": "invalid_client"})
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                cid, secret = urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)
                if oauth.clients.get(cid) != secret:
                    return self._json(
                        401, {"error": "invalid_client", "error_description": "bad client credentials"}
                    )
                return self._json(200, oauth.issue())
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                device = oauth.devices.get(form.get("device_code", ""))
                if device is None:
                    return self._json(400, {"error": "invalid_grant"})
                device.polls += 1
                if oauth.auto_approve_after is not None and device.polls >= oauth.auto_approve_after:
                    device.approved = True
                if not device.approved:
                    return self._json(400, {"error": "authorization_pending"})
                del oauth.devices[form["device_code"]]
                return self._json(200, oauth.issue())
            if grant == "authorization_code":
                code = oauth.codes.pop(form.get("code", ""), None)
                if (
                    code is None
                    or code.redirect_uri != form.get("redirect_uri")
                    or code.client_id != form.get("client_id")
                ):
                    return self._json(
                        400, {"error": "invalid_grant", "error_description": "unknown or used code"}
                    )
                verifier = form.get("code_verifier", "")
                digest = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                )
                if not 43 <= len(verifier) <= 128 or digest != code.challenge:
                    return self._json(
                        400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                    )
                return self._json(200, oauth.issue())
            if grant == "refresh_token":
                if form.get("refresh_token") not in oauth.refresh_tokens:
                    return self._json(400, {"error": "invalid_grant"})
                del oauth.refresh_tokens[form["refresh_token"]]
                return self._json(200, oauth.issue())
            return self._json(400, {"error": "unsupported_grant_type"})

        def _device(self, form: dict[str, str]) -> None:
            assert oauth is not None
            oauth.device_logins += 1
            device_code, user_code = secrets.token_urlsafe(16), secrets.token_hex(4).upper()
            oauth.devices[device_code] = DeviceGrant(user_code=user_code, client_id=form.get("client_id", ""))
            return self._json(
                200,
                {
                    "device_code": device_code,
                    "user_code": user_code,
                    "verification_uri": f"{bucket.base_url}/device",
                    "expires_in": 60,
                    "interval": 0.05,
                },
            )

    return Handler


class HttpSide:
    """Runs the bucket + OAuth HTTP server on 127.0.0.1 (free port) in a daemon thread."""

    def __init__(self, bucket: Bucket, oauth: OAuthState | None) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(bucket, oauth))
        self.server.daemon_threads = True
        bucket.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.base_url = bucket.base_url
        self.thread = threading.Thread(target=self.server.serve_forever, name="standin-http", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
