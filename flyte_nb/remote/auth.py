"""Credentials for FlyteAdmin: none, a static token, client credentials, a user login (browser or device
flow, cached between kernels), an external command.

As in flytekit, a client sends a token only once it has one: the first call goes out bare, and when the
server answers ``UNAUTHENTICATED`` the authenticator obtains credentials (discovering the token endpoint
through the anonymous ``AuthMetadataService``) and the call is retried once. The header key comes from
the server's public client config (``authorization_metadata_key``, FlyteAdmin's default
``flyte-authorization``), falling back to ``authorization``.

Tokens and secrets are :class:`~flyte_nb.remote.config.Secret` values: they never appear in a repr, a
log line or an error message, and authenticators refuse to be pickled.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from flyte_nb.errors import ConfigError, NotPicklableError, RemoteError, RemoteUnauthenticatedError
from flyte_nb.remote.config import RemoteConfig, Secret
from flyte_nb.remote.http import HttpSettings, http_request
from flyte_nb.remote.redact import redact
from flyte_nb.remote.token_cache import CachedTokens, TokenCache

if TYPE_CHECKING:
    from flyte_nb.remote.client import AdminClient

__all__ = [
    "Authenticator",
    "ClientCredentials",
    "DeviceCode",
    "DeviceFlow",
    "ExternalCommand",
    "NoAuth",
    "StaticToken",
    "authenticator_for",
]

DEFAULT_HEADER_KEY = "authorization"


class Authenticator:
    """Base class: holds the current access token and the header key; subclasses fetch tokens."""

    def __init__(self, *, header_key: str | None = None) -> None:
        self._header_key = header_key
        self._token: Secret | None = None

    def __repr__(self) -> str:
        state = "with token" if self._token else "no token yet"
        return f"{type(self).__name__}({state})"

    def __reduce__(self) -> NoReturn:
        raise NotPicklableError(
            f"{type(self).__name__} holds credentials and cannot be pickled. Recreate the Remote from its "
            "configuration in the other process instead."
        )

    def header_key(self, client: AdminClient) -> str:
        """The metadata key the server reads the token from (discovered once, anonymously)."""
        if self._header_key is None:
            try:
                key = client.public_client_config().authorization_metadata_key
            except RemoteError as exc:
                if exc.code not in ("UNIMPLEMENTED", "NOT_FOUND"):
                    raise  # unreachable or broken: do not settle on a guess for the session
                key = ""  # a server without AuthMetadataService: flytekit's fallback
            self._header_key = key or DEFAULT_HEADER_KEY
        return self._header_key

    def header(self, client: AdminClient) -> tuple[str, str] | None:
        """The ``(key, "Bearer <token>")`` metadata pair, or ``None`` while there is no token."""
        if not self._token:
            return None
        return (self.header_key(client), f"Bearer {self._token.reveal()}")

    def refresh(self, client: AdminClient) -> None:
        """Obtain a new access token (called when the server answers ``UNAUTHENTICATED``)."""
        self._token = Secret(self.fetch_token(client))

    def fetch_token(self, client: AdminClient) -> str:
        """Return a fresh access token; raise :class:`RemoteUnauthenticatedError` when impossible."""
        raise NotImplementedError

    def logout(self, client: AdminClient) -> None:
        """Forget the credentials this authenticator holds (and any it cached), so the next call that
        needs them obtains new ones."""
        self._token = None

    @contextlib.contextmanager
    def prompts_on_this_thread(self, show: Callable[[DeviceCode], None]) -> Iterator[None]:
        """Inside the block, a sign-in this thread needs is shown with ``show`` (modes without a user
        sign-in have nothing to show)."""
        yield


class NoAuth(Authenticator):
    """No credentials: an ``UNAUTHENTICATED`` answer is reported with what to configure."""

    def fetch_token(self, client: AdminClient) -> str:
        raise RemoteUnauthenticatedError(
            f"FlyteAdmin at {client.config.endpoint} requires credentials, but none are configured. "
            "Set admin.authType (ClientSecret with admin.clientId/clientSecretLocation, DeviceFlow, or "
            "ExternalCommand with admin.command) in the config file or FLYTE_CREDENTIALS_* variables, or pass "
            "Remote(auth=StaticToken(...)).",
            code="UNAUTHENTICATED",
        )


class StaticToken(Authenticator):
    """A bearer token obtained elsewhere (e.g. ``flytectl``); sent from the first call on."""

    def __init__(self, token: str | Secret, *, header_key: str | None = None) -> None:
        super().__init__(header_key=header_key)
        self._token = token if isinstance(token, Secret) else Secret(token)

    def refresh(self, client: AdminClient) -> None:
        raise RemoteUnauthenticatedError(
            f"FlyteAdmin at {client.config.endpoint} rejected the static token (expired or invalid). Get a new "
            "token and pass it again, or configure a flow that can refresh (ClientSecret, DeviceFlow).",
            code="UNAUTHENTICATED",
        )


@dataclass(frozen=True)
class _OAuthServer:
    token_endpoint: str
    device_endpoint: str
    client_id: str
    scopes: tuple[str, ...]
    audience: str
    authorization_endpoint: str = ""
    redirect_uri: str = ""


def _discover(client: AdminClient, client_id: str, scopes: Sequence[str], audience: str) -> _OAuthServer:
    public = client.public_client_config()
    metadata = client.oauth2_metadata()
    return _OAuthServer(
        token_endpoint=metadata.token_endpoint,
        device_endpoint=metadata.device_authorization_endpoint,
        client_id=client_id or public.client_id,
        scopes=tuple(scopes) or tuple(public.scopes),
        audience=audience or public.audience,
        authorization_endpoint=metadata.authorization_endpoint,
        redirect_uri=public.redirect_uri,
    )


def _post_form(
    url: str, fields: dict[str, str], settings: HttpSettings, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    body = urllib.parse.urlencode({k: v for k, v in fields.items() if v}).encode()
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    all_headers.update(headers or {})
    try:
        response = http_request("POST", url, data=body, headers=all_headers, settings=settings)
    except OSError as exc:
        raise RemoteUnauthenticatedError(
            f"Could not reach the OAuth endpoint {url}: {exc}. Check the network, and admin.httpProxyURL if "
            "a proxy is needed.",
            code="UNAUTHENTICATED",
        ) from exc
    try:
        payload = json.loads(response.body or b"{}")
    except ValueError:
        payload = {}
    return response.status, payload if isinstance(payload, dict) else {}


def _token_error(url: str, status: int, payload: dict[str, Any], what: str) -> RemoteUnauthenticatedError:
    # Only the OAuth error code and description are shown: the body never echoes our secret, but
    # nothing else from it is needed either.
    reason = payload.get("error", "") or f"HTTP {status}"
    described = payload.get("error_description", "")
    return RemoteUnauthenticatedError(
        f"The token endpoint {url} refused {what}: {reason}{': ' + described if described else ''}. "
        "Check the client id, secret and scopes in the configuration.",
        code="UNAUTHENTICATED",
        details=str(reason),
    )


class ClientCredentials(Authenticator):
    """OAuth2 client credentials (flytekit's ``ClientSecret`` mode), for service accounts and CI."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | Secret,
        *,
        scopes: Sequence[str] = (),
        audience: str = "",
        http: HttpSettings | None = None,
        header_key: str | None = None,
    ) -> None:
        super().__init__(header_key=header_key)
        self.client_id = client_id
        self._secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        self.scopes = tuple(scopes)
        self.audience = audience
        self.http = http or HttpSettings()

    def __repr__(self) -> str:
        state = "with token" if self._token else "no token yet"
        return f"ClientCredentials(client_id={self.client_id!r}, {state})"

    def fetch_token(self, client: AdminClient) -> str:
        server = _discover(client, self.client_id, self.scopes, self.audience)
        # RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64 (flytekit does the same).
        basic = (
            f"{urllib.parse.quote_plus(server.client_id)}:{urllib.parse.quote_plus(self._secret.reveal())}"
        )
        status, payload = _post_form(
            server.token_endpoint,
            {
                "grant_type": "client_credentials",
                "scope": " ".join(server.scopes),
                "audience": server.audience,
            },
            self.http,
            {"Authorization": "Basic " + base64.b64encode(basic.encode()).decode()},
        )
        token = payload.get("access_token")
        if status != 200 or not isinstance(token, str) or not token:
            raise _token_error(
                server.token_endpoint, status, payload, f"client credentials for {server.client_id!r}"
            )
        return token


@dataclass(frozen=True)
class DeviceCode:
    """What the user must do to approve a device-flow login (shown by the notebook)."""

    verification_uri: str
    user_code: str
    verification_uri_complete: str
    expires_in: float

    @property
    def link(self) -> str:
        """The link to open: the complete URI when the server gives one, else ``uri?user_code=…``."""
        return (
            self.verification_uri_complete
            or f"{self.verification_uri}?user_code={urllib.parse.quote(self.user_code)}"
        )


def _print_device_code(code: DeviceCode) -> None:
    print(f"To authenticate with Flyte, open {code.link} and enter the code {code.user_code}.", flush=True)


class DeviceFlow(Authenticator):
    """OAuth2 device authorization grant: the user approves a code in any browser; we poll.

    ``prompt(DeviceCode)`` shows the link and code (the notebook renders it; the default prints it).
    A refresh token, when the server issues one, is used before asking the user again. With a ``cache``
    (:mod:`flyte_nb.remote.token_cache`), the login is kept for the endpoint, so later kernels (and other
    kernels at the same time) start with it: a kernel restart does not ask the user again.
    """

    def __init__(
        self,
        client_id: str = "",
        *,
        scopes: Sequence[str] = (),
        audience: str = "",
        prompt: Callable[[DeviceCode], None] | None = None,
        http: HttpSettings | None = None,
        header_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        cache: TokenCache | None = None,
        cache_key: str = "",
    ) -> None:
        super().__init__(header_key=header_key)
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.audience = audience
        self.prompt = prompt or _print_device_code
        self.cache = cache
        self.cache_key = cache_key  # the endpoint (flytekit's keyring service name)
        self._cache_read = False
        self._expires_at: float | None = None
        self._login_lock = threading.RLock()  # one sign-in at a time, however many threads need one
        # A sign-in needed on a thread that registered its own prompt is shown there (a widget run's panel:
        # a button click is no cell, so the default prompt would display nowhere).
        self._thread_prompts: dict[int, Callable[[DeviceCode], None]] = {}
        self.http = http or HttpSettings()
        self._refresh_token: Secret | None = None
        self._sleep = sleep
        self._clock = clock

    # ---- the cached login ------------------------------------------------------------------------

    def header(self, client: AdminClient) -> tuple[str, str] | None:
        with self._login_lock:
            if not self._cache_read:
                self._cache_read = True
                self._adopt_cached()
            expired = self._expires_at is not None and time.time() > self._expires_at - 60
            if self._token and expired and self._refresh_token:
                self.refresh(client)  # known to be expired: renew before the call, not after a refusal
        return super().header(client)

    def _adopt_cached(self, unlike: Secret | None = None) -> bool:
        """Take the cached login if it differs from ``unlike`` (another kernel signed in or refreshed)."""
        cached = self.cache.load(self.cache_key) if self.cache is not None else None
        if cached is None or cached.access_token == unlike:
            return False
        self._token = cached.access_token
        self._refresh_token = cached.refresh_token or self._refresh_token
        self._expires_at = cached.expires_at
        return not cached.expired

    def refresh(self, client: AdminClient) -> None:
        refused = self._token
        with self._login_lock:
            if self._token != refused:
                return  # another thread signed in meanwhile
            if self._adopt_cached(unlike=refused):
                return  # another kernel signed in or refreshed: its token is newer than ours
            self._token = Secret(self.fetch_token(client))

    def logout(self, client: AdminClient) -> None:
        with self._login_lock:
            super().logout(client)
            self._refresh_token = None
            self._expires_at = None
            self._cache_read = True  # do not read the login back
            if self.cache is not None:
                self.cache.delete(self.cache_key)

    # ---- obtaining tokens -------------------------------------------------------------------------

    def fetch_token(self, client: AdminClient) -> str:
        server = _discover(client, self.client_id, self.scopes, self.audience)
        if self._refresh_token:
            status, payload = _post_form(
                server.token_endpoint,
                {
                    "grant_type": "refresh_token",
                    "refresh_token": self._refresh_token.reveal(),
                    "client_id": server.client_id,
                },
                self.http,
            )
            if status == 200 and payload.get("access_token"):
                return self._keep(payload)
            self._refresh_token = None  # expired: fall through to a new login
        return self.sign_in(client, server)

    def sign_in(self, client: AdminClient, server: _OAuthServer) -> str:
        """Ask the user to sign in (here: approve a device code) and return the new access token."""
        if not server.device_endpoint:
            raise RemoteUnauthenticatedError(
                f"FlyteAdmin at {client.config.endpoint} requires credentials and its authorization server "
                "offers no device flow. Sign in through a browser (admin.authType Pkce on a machine with a "
                "browser), or use ClientSecret or ExternalCommand.",
                code="UNAUTHENTICATED",
            )
        fields = {
            "client_id": server.client_id,
            "scope": " ".join(server.scopes),
            "audience": server.audience,
        }
        status, payload = _post_form(server.device_endpoint, fields, self.http)
        if status != 200 or "device_code" not in payload:
            raise _token_error(server.device_endpoint, status, payload, "the device authorization request")
        code = DeviceCode(
            verification_uri=str(payload.get("verification_uri", "")),
            user_code=str(payload.get("user_code", "")),
            verification_uri_complete=str(payload.get("verification_uri_complete", "")),
            expires_in=float(payload.get("expires_in", 600)),
        )
        self._thread_prompts.get(threading.get_ident(), self.prompt)(code)
        return self._poll(
            server, str(payload["device_code"]), float(payload.get("interval", 5)), code.expires_in
        )

    @contextlib.contextmanager
    def prompts_on_this_thread(self, show: Callable[[DeviceCode], None]) -> Iterator[None]:
        ident = threading.get_ident()
        self._thread_prompts[ident] = show
        try:
            yield
        finally:
            self._thread_prompts.pop(ident, None)

    def _poll(self, server: _OAuthServer, device_code: str, interval: float, expires_in: float) -> str:
        deadline = self._clock() + expires_in
        fields = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device_code,
            "client_id": server.client_id,
        }
        while self._clock() < deadline:
            self._sleep(interval)
            status, payload = _post_form(server.token_endpoint, fields, self.http)
            if status == 200 and payload.get("access_token"):
                return self._keep(payload)
            error = payload.get("error")
            if error == "slow_down":
                interval += 5  # RFC 8628 §3.5
            elif error != "authorization_pending":
                raise _token_error(server.token_endpoint, status, payload, "the device code")
        raise RemoteUnauthenticatedError(
            f"The device login was not approved within {expires_in:.0f} s. Run the cell again and approve the "
            "code in the browser.",
            code="UNAUTHENTICATED",
        )

    def _keep(self, payload: dict[str, Any]) -> str:
        """Remember a token response (and cache it for later kernels); return the access token."""
        refresh = payload.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            self._refresh_token = Secret(refresh)
        expires_in = payload.get("expires_in")
        self._expires_at = time.time() + float(expires_in) if isinstance(expires_in, (int, float)) else None
        access = str(payload["access_token"])
        if self.cache is not None:
            self.cache.save(
                self.cache_key, CachedTokens(Secret(access), self._refresh_token, self._expires_at)
            )
        return access


class ExternalCommand(Authenticator):
    """Runs a command (``admin.command``) whose stripped standard output is the access token.

    When the command fails, the end of its standard error is quoted, with anything token-shaped and the
    ``secrets`` given (e.g. the configured client secret) redacted (:func:`flyte_nb.remote.redact.redact`).
    """

    def __init__(
        self, command: Sequence[str], *, header_key: str | None = None, secrets: Sequence[Secret] = ()
    ) -> None:
        super().__init__(header_key=header_key)
        self._secrets = tuple(secrets)
        if not command:
            raise ConfigError(
                "ExternalCommand: expected a command that prints a token, got none. Set admin.command "
                "(a list of words) / FLYTE_CREDENTIALS_COMMAND."
            )
        self.command = tuple(command)

    def fetch_token(self, client: AdminClient) -> str:
        try:
            done = subprocess.run(self.command, capture_output=True, text=True, check=False, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RemoteUnauthenticatedError(
                f"The token command {self.command[0]!r} could not run: {exc}. Fix admin.command.",
                code="UNAUTHENTICATED",
            ) from None
        token = done.stdout.strip()
        if done.returncode != 0 or not token:
            # stdout is never echoed: it is (or contains) the token. stderr is, redacted: a helper may
            # print the token (or a refresh token, a secret) there too.
            hidden = [token, *done.stdout.splitlines(), *(s.reveal() for s in self._secrets)]
            stderr = redact(done.stderr.strip(), [h.strip() for h in hidden])[-500:]
            raise RemoteUnauthenticatedError(
                f"The token command {self.command[0]!r} exited with {done.returncode} and "
                f"{'no output' if not token else 'output'}; expected exit 0 with the token on stdout. "
                f"stderr (credentials redacted): {stderr or '(empty)'}",
                code="UNAUTHENTICATED",
            )
        return token


_MODES: dict[str, str] = {
    "STANDARD": "user",
    "PKCE": "user",
    "DEVICEFLOW": "device",
    "BASIC": "client",
    "CLIENT_CREDENTIALS": "client",
    "CLIENTSECRET": "client",
    "EXTERNAL_PROCESS": "command",
    "EXTERNALCOMMAND": "command",
}


def authenticator_for(
    config: RemoteConfig,
    *,
    prompt: Callable[[DeviceCode], None] | None = None,
    login: str | None = None,
    cache: TokenCache | None = None,
) -> Authenticator:
    """The authenticator flytekit would pick for ``config.auth.mode``.

    ``Pkce``/``standard`` (flytekit's default) signs in through a browser when the kernel runs on the
    user's own machine, and with the device flow when it cannot open one there (a remote kernel):
    :class:`~flyte_nb.remote.pkce.Pkce` decides at sign-in; ``login`` (or ``$FLYTE_NB_LOGIN``: ``auto``,
    ``browser``, ``device``) overrides. ``DeviceFlow`` always uses the device flow. Either way the login
    is cached per endpoint (``cache``, default :func:`~flyte_nb.remote.token_cache.default_token_cache`),
    and a user is asked only when the server demands credentials and none are cached.
    """
    auth = config.auth
    kind = _MODES.get(auth.mode.upper().replace("-", "_"))
    if kind is None:
        raise ConfigError(
            f"auth mode: expected one of ClientSecret, DeviceFlow, ExternalCommand, Pkce, got {auth.mode!r}. "
            "Fix admin.authType / FLYTE_CREDENTIALS_AUTH_MODE."
        )
    http = HttpSettings.from_config(config)
    if kind == "client":
        if auth.client_secret is None or not auth.client_id:
            raise ConfigError(
                "auth mode ClientSecret: expected a client id and a secret (admin.clientId and "
                "admin.clientSecretLocation / clientSecretEnvVar, or FLYTE_CREDENTIALS_CLIENT_ID and "
                f"FLYTE_CREDENTIALS_CLIENT_SECRET), got client id {auth.client_id!r} and "
                f"{'a' if auth.client_secret else 'no'} secret."
            )
        return ClientCredentials(
            auth.client_id, auth.client_secret, scopes=auth.scopes, audience=auth.audience, http=http
        )
    if kind == "command":
        if not auth.command:
            raise ConfigError(
                f"auth mode {auth.mode}: expected the command that prints a token, got none. Set admin.command "
                "(a YAML list of words) / [credentials] command / FLYTE_CREDENTIALS_COMMAND (comma-separated), "
                "or choose another admin.authType."
            )
        return ExternalCommand(auth.command, secrets=[s for s in (auth.client_secret,) if s])
    return _user_login(config, kind, http, prompt, login, cache)


def _user_login(
    config: RemoteConfig,
    kind: str,
    http: HttpSettings,
    prompt: Callable[[DeviceCode], None] | None,
    login: str | None,
    cache: TokenCache | None,
) -> DeviceFlow:
    """The device flow (``kind == "device"``) or the browser-or-device sign-in, with the login cache."""
    if cache is None:
        from flyte_nb.remote.token_cache import default_token_cache

        cache = default_token_cache()
    auth = config.auth
    if kind == "device":
        return DeviceFlow(
            auth.client_id,
            scopes=auth.scopes,
            audience=auth.audience,
            prompt=prompt,
            http=http,
            cache=cache,
            cache_key=config.endpoint,
        )
    from flyte_nb.remote.pkce import Pkce, login_choice

    return Pkce(
        auth.client_id,
        login=login_choice(login),
        scopes=auth.scopes,
        audience=auth.audience,
        prompt=prompt,
        http=http,
        cache=cache,
        cache_key=config.endpoint,
    )
