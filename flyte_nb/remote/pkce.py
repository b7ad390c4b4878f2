"""Browser sign-in (OAuth2 authorization code with PKCE and a loopback redirect), flytekit's default ``Pkce``.

When FlyteAdmin asks for credentials, :class:`Pkce` opens the authorization server's sign-in page in the
user's browser, with a one-time S256 code challenge; the server sends the browser back to the public
client's loopback ``redirect_uri`` (``http://localhost:53593/callback`` for flytectl's client), where a
one-request HTTP listener in the kernel takes the authorization code, which is exchanged (with the code
verifier) for tokens. Tokens are cached and refreshed as for the device flow (it is its subclass).

This needs the browser and the kernel on the same machine. A kernel elsewhere (JupyterHub, an SSH or
container session, a cloud notebook) cannot open the user's browser, and the browser could not reach
its loopback listener: there the **device flow** is used instead (a link and a code shown in the
notebook, approved in any browser). :func:`browser_sign_in_possible` decides; ``login="browser"`` /
``"device"`` (``Remote(login=…)``, ``$FLYTE_NB_LOGIN``) overrides.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import secrets
import sys
import threading
import urllib.parse
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flyte_nb.errors import ConfigError, RemoteUnauthenticatedError
from flyte_nb.remote.auth import DeviceCode, DeviceFlow, _OAuthServer, _post_form, _token_error

if TYPE_CHECKING:
    from flyte_nb.remote.client import AdminClient

__all__ = ["LOGIN_ENV", "BrowserSignIn", "Pkce", "browser_sign_in_possible", "login_choice"]

LOGIN_ENV = "FLYTE_NB_LOGIN"
LOGINS = ("auto", "browser", "device")
SIGN_IN_TIMEOUT = 300.0  # seconds the loopback listener waits for the browser to come back

# Where a kernel runs away from the user's browser, and how each announces itself.
_REMOTE_SIGNS: tuple[tuple[str, str], ...] = (
    ("JUPYTERHUB_API_TOKEN", "a JupyterHub server"),
    ("JUPYTERHUB_USER", "a JupyterHub server"),
    ("SSH_CONNECTION", "an SSH session"),
    ("SSH_CLIENT", "an SSH session"),
    ("SSH_TTY", "an SSH session"),
    ("KUBERNETES_SERVICE_HOST", "a Kubernetes pod"),
    ("CODESPACES", "a GitHub Codespace"),
    ("COLAB_RELEASE_TAG", "Google Colab"),
    ("SM_CURRENT_HOST", "a SageMaker instance"),
)


def login_choice(login: str | None = None) -> str:
    """``login``, else ``$FLYTE_NB_LOGIN``, else ``"auto"`` — checked.

    Raises
    ------
    ConfigError
        Not one of ``auto``, ``browser``, ``device``.
    """
    choice = (login or os.environ.get(LOGIN_ENV) or "auto").strip().lower()
    if choice not in LOGINS:
        raise ConfigError(
            f"login: expected one of {', '.join(LOGINS)}, got {choice!r}. Pass Remote(login='device') (or "
            f"'browser'), or fix ${LOGIN_ENV}."
        )
    return choice


def _in_container() -> bool:
    return os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")


def browser_sign_in_possible(
    env: Mapping[str, str] | None = None, platform: str | None = None, *, in_container: bool | None = None
) -> tuple[bool, str]:
    """Whether this kernel can open the user's browser, and if not, why (``(False, "an SSH session")``).

    ``env``, ``platform`` and ``in_container`` default to this process's (tests pass their own).
    """
    env = os.environ if env is None else env
    platform = platform or sys.platform
    for name, where in _REMOTE_SIGNS:
        if env.get(name):
            return False, f"the kernel runs in {where}"
    if platform.startswith("linux"):
        if in_container if in_container is not None else _in_container():
            return False, "the kernel runs in a container"
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            return False, "the kernel's machine has no display"
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False, "no web browser was found on the kernel's machine"
    return True, ""


@dataclass(frozen=True)
class BrowserSignIn(DeviceCode):
    """A browser sign-in in progress: ``link`` is the sign-in page (already opened in the browser when it
    could be), ``user_code`` is empty (there is no code to enter)."""


def _verifier_and_challenge() -> tuple[str, str]:
    """RFC 7636: a 43 to 128 character verifier of unreserved characters and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)[:128]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


_SIGNED_IN_PAGE = (
    b"<!doctype html><title>Flyte sign-in</title><body style='font-family:sans-serif'>"
    b"<h3>Signed in to Flyte.</h3><p>You can close this tab and go back to the notebook.</p></body>"
)


class _Listener(http.server.HTTPServer):
    """Waits for one request on the redirect path and keeps its query parameters."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path
        self.result: dict[str, str] | None = None
        self.arrived = threading.Event()
        super().__init__((host, port), _handler_for(self))


def _handler_for(listener: _Listener) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never logged
            return

        def do_GET(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            if parsed.path != listener.path or listener.arrived.is_set():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            listener.result = dict(urllib.parse.parse_qsl(parsed.query))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(_SIGNED_IN_PAGE)))
            self.end_headers()
            self.wfile.write(_SIGNED_IN_PAGE)
            listener.arrived.set()

    return Handler


class Pkce(DeviceFlow):
    """Sign in through the browser (authorization code + PKCE), or with the device flow where no browser
    can be opened (see the module docstring).

    Parameters
    ----------
    client_id:
        The OAuth client (default: the server's public client, as flytekit does).
    login:
        ``"auto"`` (browser on the user's own machine, else device flow), ``"browser"`` or ``"device"``.
    open_browser:
        Opens the sign-in page (default :func:`webbrowser.open`); tests pass a plain HTTP client.
    timeout:
        Seconds to wait for the browser to come back to the loopback redirect.
    **kwargs:
        As for :class:`~flyte_nb.remote.auth.DeviceFlow` (scopes, audience, prompt, cache…).
    """

    def __init__(
        self,
        client_id: str = "",
        *,
        login: str = "auto",
        open_browser: Callable[[str], object] | None = None,
        timeout: float = SIGN_IN_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(client_id, **kwargs)
        self.login = login_choice(login)
        self.open_browser = open_browser or (lambda url: webbrowser.open(url, new=1))
        self.timeout = timeout

    def __repr__(self) -> str:
        state = "with token" if self._token else "no token yet"
        return f"Pkce(login={self.login!r}, {state})"

    def method(self, server: _OAuthServer) -> str:
        """``"browser"`` or ``"device"``: how this sign-in happens with ``server``."""
        if self.login != "auto":
            return self.login
        if not server.authorization_endpoint or not server.redirect_uri:
            return "device"
        if not server.device_endpoint:
            return "browser"
        return "browser" if browser_sign_in_possible()[0] else "device"

    def sign_in(self, client: AdminClient, server: _OAuthServer) -> str:
        if self.method(server) == "device":
            return super().sign_in(client, server)
        if not server.authorization_endpoint or not server.redirect_uri:
            raise RemoteUnauthenticatedError(
                f"FlyteAdmin at {client.config.endpoint} offers no browser sign-in (no authorization endpoint or "
                "redirect URI in its auth metadata). Use login='device' (or $FLYTE_NB_LOGIN=device).",
                code="UNAUTHENTICATED",
            )
        verifier, challenge = _verifier_and_challenge()
        state = secrets.token_urlsafe(24)
        query = {
            "response_type": "code",
            "client_id": server.client_id,
            "redirect_uri": server.redirect_uri,
            "scope": " ".join(server.scopes),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
        if server.audience:
            query["audience"] = server.audience
        url = f"{server.authorization_endpoint}?{urllib.parse.urlencode(query)}"
        params = self._through_browser(server, url)
        if params.get("state") != state:
            raise RemoteUnauthenticatedError(
                "The browser came back from the sign-in with a different state than was sent (another sign-in, or a "
                "forged redirect); nothing was accepted. Run the cell again to sign in.",
                code="UNAUTHENTICATED",
            )
        if "code" not in params:
            error = params.get("error", "no code")
            described = params.get("error_description", "")
            raise RemoteUnauthenticatedError(
                f"The sign-in at {server.authorization_endpoint} did not succeed: {error}"
                f"{': ' + described if described else ''}. Run the cell again to sign in.",
                code="UNAUTHENTICATED",
            )
        return self._exchange(server, params["code"], verifier)

    def _through_browser(self, server: _OAuthServer, url: str) -> dict[str, str]:
        redirect = urllib.parse.urlsplit(server.redirect_uri)
        host, port = redirect.hostname or "localhost", redirect.port or 80
        try:
            listener = _Listener(host, port, redirect.path or "/")
        except OSError as exc:
            raise RemoteUnauthenticatedError(
                f"Cannot listen on {host}:{port} for the browser's return from the sign-in ({exc.strerror}): another "
                "sign-in may be in progress. Finish or close it and run the cell again, or use login='device'.",
                code="UNAUTHENTICATED",
            ) from None
        thread = threading.Thread(
            target=listener.serve_forever, args=(0.1,), name="flyte-nb-sign-in", daemon=True
        )
        thread.start()
        try:
            sign_in = BrowserSignIn(server.authorization_endpoint, "", url, self.timeout)
            self._thread_prompts.get(threading.get_ident(), self.prompt)(sign_in)
            self.open_browser(url)
            if not listener.arrived.wait(self.timeout):
                raise RemoteUnauthenticatedError(
                    f"The browser did not come back from the sign-in within {self.timeout:.0f} s. Run the cell again "
                    "and complete the sign-in, or use login='device'.",
                    code="UNAUTHENTICATED",
                )
        finally:
            listener.shutdown()
            listener.server_close()
            thread.join(5)
        return dict(listener.result or {})

    def _exchange(self, server: _OAuthServer, code: str, verifier: str) -> str:
        status, payload = _post_form(
            server.token_endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": server.redirect_uri,
                "client_id": server.client_id,
                "code_verifier": verifier,
            },
            self.http,
        )
        if status != 200 or not payload.get("access_token"):
            raise _token_error(server.token_endpoint, status, payload, "the authorization code")
        return self._keep(payload)
