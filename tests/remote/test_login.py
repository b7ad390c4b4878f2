"""Logins that last: cached per endpoint (keyring or a private file), refreshed, shared by kernels,
forgotten on logout; browser sign-in (PKCE) and the device flow, chosen by where the kernel runs."""

from __future__ import annotations

import json
import os
import stat
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flyte_nb.errors import ConfigError, RemoteUnauthenticatedError
from flyte_nb.remote import DeviceFlow, Remote
from flyte_nb.remote.auth import authenticator_for
from flyte_nb.remote.config import RemoteConfig, Secret, load_config
from flyte_nb.remote.pkce import BrowserSignIn, Pkce, browser_sign_in_possible, login_choice
from flyte_nb.remote.token_cache import (
    CachedTokens,
    FileTokenCache,
    KeyringTokenCache,
    NoTokenCache,
    default_token_cache,
    token_file,
)
from tests.remote import tasks
from tests.remote.conftest import make_remote
from tests.standin import StandIn


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[StandIn]:
    with StandIn(tmp_path / "standin", auth=True) as server:
        yield server


def _user_remote(secured: StandIn, shown: list[Any], **kwargs: Any) -> Remote:
    """A Remote as a notebook makes one from the user's configuration (auth mode, cache and all)."""
    config = load_config(secured.endpoint, insecure=True)
    auth = authenticator_for(config, prompt=shown.append, **kwargs)
    return make_remote(secured, auth=auth)


# ---- the token file -------------------------------------------------------------------------------


def test_the_token_file_is_private_atomic_and_per_endpoint(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "cfg" / "flyte_nb" / "tokens.json")
    assert cache.load("a:1") is None
    cache.save("a:1", CachedTokens(Secret("acc-a"), Secret("ref-a"), 123.0))
    cache.save("b:2", CachedTokens(Secret("acc-b")))
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.path.parent).st_mode) == 0o700
    loaded = cache.load("a:1")
    assert loaded is not None
    assert (loaded.access_token.reveal(), loaded.refresh_token, loaded.expires_at) == (
        "acc-a",
        Secret("ref-a"),
        123.0,
    )
    assert loaded.expired
    assert "acc-a" not in repr(loaded)
    cache.delete("a:1")
    assert cache.load("a:1") is None
    assert cache.load("b:2") is not None
    assert sorted(p.name for p in cache.path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_a_widened_or_damaged_token_file_is_handled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = FileTokenCache(tmp_path / "tokens.json")
    cache.save("a:1", CachedTokens(Secret("acc")))
    os.chmod(cache.path, 0o644)
    assert cache.load("a:1") is not None
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    assert "readable by others" in caplog.text
    cache.path.write_text("{not json")
    assert cache.load("a:1") is None
    assert "cannot be read" in caplog.text


def test_the_default_cache_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert token_file() == tmp_path / "flyte_nb" / "tokens.json"
    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "none")
    assert isinstance(default_token_cache(), NoTokenCache)
    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "file")
    assert isinstance(default_token_cache(), FileTokenCache)
    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "auto")  # this machine's keyring has no backend: the file
    assert isinstance(default_token_cache(), FileTokenCache)
    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "keyring")
    with pytest.raises(ConfigError, match="expected the keyring package with a working backend"):
        default_token_cache()
    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "vault")
    with pytest.raises(ConfigError, match="expected one of auto, keyring, file, none, got 'vault'"):
        default_token_cache()


# ---- the OS keyring, shared with flytekit ---------------------------------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[dict[tuple[str, str], str]]:
    import keyring
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    store: dict[tuple[str, str], str] = {}

    class Memory(KeyringBackend):
        priority = 10  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if store.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        yield store
    finally:
        keyring.set_keyring(previous)


def test_the_keyring_holds_logins_under_flytekits_names(
    memory_keyring: dict[tuple[str, str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flytekit.clients.auth.keyring import Credentials, KeyringStore

    monkeypatch.setenv("FLYTE_NB_TOKEN_CACHE", "auto")
    cache = default_token_cache()
    assert isinstance(cache, KeyringTokenCache)
    KeyringStore.store(Credentials("fk-access", "fk-refresh", for_endpoint="flyte.example.com:443"))
    from_flytekit = cache.load("flyte.example.com:443")
    assert from_flytekit is not None
    assert (from_flytekit.access_token.reveal(), from_flytekit.refresh_token) == (
        "fk-access",
        Secret("fk-refresh"),
    )
    cache.save("other:81", CachedTokens(Secret("nb-access"), Secret("nb-refresh")))
    retrieved = KeyringStore.retrieve("other:81")
    assert retrieved is not None
    assert (retrieved.access_token, retrieved.refresh_token) == ("nb-access", "nb-refresh")
    cache.delete("other:81")
    assert KeyringStore.retrieve("other:81") is None
    assert not (tmp_path / "flyte_nb").exists() or "nb-access" not in token_file().read_text()


def test_a_failing_keyring_falls_back_to_the_file(tmp_path: Path) -> None:
    import keyring.errors

    class Broken:
        errors = keyring.errors

        def get_password(self, service: str, username: str) -> str:
            raise keyring.errors.KeyringLocked("locked")

        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.KeyringLocked("locked")

        def delete_password(self, service: str, username: str) -> None:
            raise keyring.errors.KeyringLocked("locked")

    cache = KeyringTokenCache(Broken(), FileTokenCache(tmp_path / "tokens.json"))
    cache.save("a:1", CachedTokens(Secret("acc")))
    loaded = cache.load("a:1")
    assert loaded is not None
    assert loaded.access_token.reveal() == "acc"
    cache.delete("a:1")
    assert cache.load("a:1") is None


# ---- device flow logins that last -----------------------------------------------------------------


def test_a_new_kernel_starts_signed_in_and_logout_forgets(secured: StandIn) -> None:
    assert secured.oauth is not None
    shown: list[Any] = []
    first = _user_remote(secured, shown, login="device")
    assert first.submit(tasks.add, a=1).wait(timeout=120) == 4
    assert secured.oauth.device_logins == 1
    # Another kernel (a restart): the cached login is used from the first call, nobody is asked.
    second = _user_remote(secured, shown, login="device")
    requests = secured.oauth.token_requests
    assert second.submit(tasks.add, a=2).wait(timeout=120) == 5
    assert secured.oauth.device_logins == 1
    assert secured.oauth.token_requests == requests
    assert len(shown) == 1
    # An expired token is renewed with the refresh token, still without asking.
    secured.oauth.expire_all()
    assert second.submit(tasks.add, a=3).wait(timeout=120) == 6
    assert secured.oauth.device_logins == 1
    # Logging out forgets the login here and in the cache: the next kernel has to sign in.
    second.logout()
    assert "access_token" not in token_file().read_text()
    third = _user_remote(secured, shown, login="device")
    assert third.submit(tasks.add, a=4).wait(timeout=120) == 7
    assert secured.oauth.device_logins == 2
    assert len(shown) == 2


def test_kernels_share_a_refreshed_login(secured: StandIn) -> None:
    """Refresh tokens are single-use: when one kernel refreshes, the others take its new token."""
    assert secured.oauth is not None
    shown: list[Any] = []
    one = _user_remote(secured, shown, login="device")
    one.register(tasks.add)
    two = _user_remote(secured, shown, login="device")
    two.register(tasks.add)  # signed in from the cache
    secured.oauth.expire_all()
    two.register(tasks.add)  # refreshes: the old refresh token is spent
    one.register(tasks.add)  # refused, then takes the refreshed login from the cache
    assert secured.oauth.device_logins == 1
    assert len(shown) == 1


def test_a_known_expired_token_is_renewed_before_the_call(secured: StandIn) -> None:
    assert secured.oauth is not None
    secured.oauth.token_lifetime = 30  # within the minute of slack: expired at once
    shown: list[Any] = []
    remote = _user_remote(secured, shown, login="device")
    remote.register(tasks.add)
    seen = len(secured.metadata_seen)
    remote.register(tasks.add)
    refused = [m for m, md in secured.metadata_seen[seen:] if m == "CreateTask"]
    assert len(refused) == 1  # renewed first, so the call went out once, with a valid token
    assert secured.oauth.device_logins == 1


# ---- browser sign-in (PKCE) -----------------------------------------------------------------------


def _browser(url: str) -> None:
    """The user's browser: follows the sign-in page's redirect back to the loopback listener."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert b"Signed in to Flyte" in response.read()


def test_browser_sign_in_with_pkce_and_a_loopback_redirect(secured: StandIn) -> None:
    assert secured.oauth is not None
    shown: list[Any] = []
    opened: list[str] = []

    def browser(url: str) -> None:
        opened.append(url)
        _browser(url)

    auth = Pkce(
        login="browser",
        open_browser=browser,
        prompt=shown.append,
        cache=FileTokenCache(),
        cache_key=secured.endpoint,
    )
    remote = make_remote(secured, auth=auth)
    assert remote.submit(tasks.add, a=1, b=1).wait(timeout=120) == 2
    assert (secured.oauth.browser_logins, secured.oauth.device_logins) == (1, 0)
    (url,) = opened
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert url.startswith(f"{secured.http.base_url}/oauth2/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == secured.redirect_uri
    assert query["client_id"] == "flytectl"
    (sign_in,) = shown
    assert isinstance(sign_in, BrowserSignIn)
    assert sign_in.user_code == ""
    assert sign_in.link == url
    # cached like any login: a new kernel does not open the browser again
    again = Pkce(login="browser", open_browser=browser, cache=FileTokenCache(), cache_key=secured.endpoint)
    assert make_remote(secured, auth=again).submit(tasks.add, a=2, b=2).wait(timeout=120) == 4
    assert secured.oauth.browser_logins == 1


def test_a_refused_or_forged_browser_sign_in_is_an_error(secured: StandIn) -> None:
    assert secured.oauth is not None
    secured.oauth.deny_browser = True
    remote = make_remote(secured, auth=Pkce(login="browser", open_browser=_browser_denied))
    with pytest.raises(RemoteUnauthenticatedError, match="did not succeed: access_denied: The user refused"):
        remote.register(tasks.add)

    def forged(url: str) -> None:  # something else calls the loopback redirect first
        with urllib.request.urlopen(f"{secured.redirect_uri}?code=stolen&state=guess", timeout=30):
            pass

    remote = make_remote(secured, auth=Pkce(login="browser", open_browser=forged))
    with pytest.raises(RemoteUnauthenticatedError, match="different state than was sent"):
        remote.register(tasks.add)


def _browser_denied(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30):
        pass


def test_a_browser_that_never_comes_back_or_a_busy_port_is_an_error(secured: StandIn) -> None:
    remote = make_remote(secured, auth=Pkce(login="browser", open_browser=lambda url: None, timeout=0.3))
    with pytest.raises(RemoteUnauthenticatedError, match="did not come back from the sign-in within 0 s"):
        remote.register(tasks.add)
    import socket

    port = urllib.parse.urlsplit(secured.redirect_uri).port
    with socket.socket() as busy:
        busy.bind(("localhost", port))
        busy.listen()
        remote = make_remote(secured, auth=Pkce(login="browser", open_browser=_browser))
        with pytest.raises(RemoteUnauthenticatedError, match=f"Cannot listen on localhost:{port}"):
            remote.register(tasks.add)


# ---- which sign-in ---------------------------------------------------------------------------------


def test_a_remote_kernel_signs_in_with_the_device_flow() -> None:
    local = {"DISPLAY": ":0"}
    assert browser_sign_in_possible({"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22", **local}, "linux") == (
        False,
        "the kernel runs in an SSH session",
    )
    assert not browser_sign_in_possible({"JUPYTERHUB_API_TOKEN": "x", **local}, "linux")[0]
    assert not browser_sign_in_possible({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "darwin")[0]
    assert browser_sign_in_possible({}, "linux", in_container=False) == (
        False,
        "the kernel's machine has no display",
    )
    assert browser_sign_in_possible(local, "linux", in_container=True) == (
        False,
        "the kernel runs in a container",
    )


def test_the_login_is_chosen_by_mode_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    from flyte_nb.remote.auth import _OAuthServer
    from flyte_nb.remote.config import AuthConfig

    def config(mode: str) -> RemoteConfig:
        return RemoteConfig(endpoint="e:1", auth=AuthConfig(mode=mode))

    assert type(authenticator_for(config("DeviceFlow"))) is DeviceFlow
    standard = authenticator_for(config("standard"))
    assert isinstance(standard, Pkce)
    full = _OAuthServer(
        "t", "d", "c", (), "", authorization_endpoint="a", redirect_uri="http://localhost:1/cb"
    )
    monkeypatch.setattr("flyte_nb.remote.pkce.browser_sign_in_possible", lambda: (True, ""))
    assert Pkce(login="auto").method(full) == "browser"
    monkeypatch.setattr("flyte_nb.remote.pkce.browser_sign_in_possible", lambda: (False, "ssh"))
    assert Pkce(login="auto").method(full) == "device"
    assert Pkce(login="browser").method(full) == "browser"
    no_browser_flow = _OAuthServer("t", "d", "c", (), "")
    assert Pkce(login="auto").method(no_browser_flow) == "device"
    monkeypatch.setenv("FLYTE_NB_LOGIN", "browser")
    assert login_choice() == "browser"
    assert login_choice("device") == "device"
    assert authenticator_for(config("Pkce")).login == "browser"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="login: expected one of auto, browser, device, got 'sso'"):
        login_choice("sso")


@pytest.fixture
def ip() -> Iterator[Any]:
    from tests.notebook.ipshell import shell_fixture

    yield from shell_fixture()


def test_logout_from_the_magic(ip: Any, secured: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.error import UsageError
    from IPython.utils.capture import capture_output

    from flyte_nb.notebook.extension import current_magics

    monkeypatch.setenv("FLYTE_CREDENTIALS_AUTH_MODE", "DeviceFlow")
    with pytest.raises(UsageError, match="no remote is configured"):
        ip.run_line_magic("flyte_remote", "--logout")
    ip.run_line_magic("flyte_remote", f"{secured.endpoint} --insecure")
    magics = current_magics(ip)
    assert magics is not None
    assert magics.remote is not None
    with capture_output():  # the device-flow prompt
        magics.remote.submit(tasks.add, a=1).wait(timeout=120)
    assert secured.endpoint in json.loads(token_file().read_text())
    with capture_output() as out:
        ip.run_line_magic("flyte_remote", "--logout")
    assert f"Signed out of {secured.endpoint}" in out.stdout
    assert secured.endpoint not in json.loads(token_file().read_text())
    with pytest.raises(UsageError, match="takes no other options"):
        ip.run_line_magic("flyte_remote", "--logout --project x")


def test_threads_needing_a_login_at_once_sign_in_once(secured: StandIn) -> None:
    assert secured.oauth is not None
    shown: list[Any] = []
    remote = _user_remote(secured, shown, login="device")
    errors: list[BaseException] = []

    def register() -> None:
        try:
            remote.register(tasks.add)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert secured.oauth.device_logins == 1
