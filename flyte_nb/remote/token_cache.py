"""Where a user's login to a FlyteAdmin is kept between kernels, so a restart does not ask again.

As flytekit does, tokens from a user login (browser or device flow) are cached per endpoint:

* in the **OS keyring** when the optional ``keyring`` package is importable and has a working backend
  (macOS Keychain, Windows Credential Locker, Secret Service…), under flytekit's own names (service =
  the endpoint, usernames ``access_token`` and ``refresh_token``), so a login made with flytekit serves
  flyte_nb and the other way round;
* otherwise in a **file only the user can read**: ``<config dir>/flyte_nb/tokens.json`` (``$XDG_CONFIG_HOME``
  or ``~/.config`` on Linux, ``~/Library/Application Support`` on macOS, ``%APPDATA%`` on Windows), mode
  0600 in a 0700 directory, replaced atomically and locked while it is rewritten.

``$FLYTE_NB_TOKEN_CACHE`` picks one: ``keyring``, ``file``, ``none`` (nothing is cached), or ``auto`` (the
default: keyring when usable, else the file). Client credentials and external-command tokens are never
cached: they are obtained again without asking anyone. ``%flyte_remote --logout`` (``Remote.logout()``)
deletes the endpoint's entry. Tokens are held as :class:`~flyte_nb.remote.config.Secret` values and are
never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flyte_nb.errors import ConfigError
from flyte_nb.remote.config import Secret

__all__ = [
    "CACHE_ENV",
    "CachedTokens",
    "FileTokenCache",
    "KeyringTokenCache",
    "NoTokenCache",
    "TokenCache",
    "default_token_cache",
    "token_file",
]

_log = logging.getLogger(__name__)

CACHE_ENV = "FLYTE_NB_TOKEN_CACHE"
_ACCESS, _REFRESH = "access_token", "refresh_token"  # flytekit's KeyringStore names


@dataclass(frozen=True)
class CachedTokens:
    """A login's tokens: the access token, the refresh token (if any) and when the access token expires."""

    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: float | None = None  # Unix time; None when unknown (the keyring does not keep it)

    @property
    def expired(self) -> bool:
        """True when the access token has expired (or does within a minute)."""
        return self.expires_at is not None and time.time() > self.expires_at - 60


class TokenCache(Protocol):
    """Keeps one login per endpoint."""

    def load(self, endpoint: str) -> CachedTokens | None:
        """The tokens cached for ``endpoint``, or ``None``."""
        ...

    def save(self, endpoint: str, tokens: CachedTokens) -> None:
        """Cache ``tokens`` for ``endpoint`` (failures are logged, never raised: a login still works)."""
        ...

    def delete(self, endpoint: str) -> None:
        """Forget the tokens of ``endpoint``."""
        ...


class NoTokenCache:
    """Caches nothing (``$FLYTE_NB_TOKEN_CACHE=none``): every kernel signs in anew."""

    def load(self, endpoint: str) -> CachedTokens | None:
        return None

    def save(self, endpoint: str, tokens: CachedTokens) -> None:
        return None

    def delete(self, endpoint: str) -> None:
        return None

    def __repr__(self) -> str:
        return "NoTokenCache()"


def token_file() -> Path:
    """``<user config dir>/flyte_nb/tokens.json``."""
    if os.environ.get("XDG_CONFIG_HOME"):
        base = Path(os.environ["XDG_CONFIG_HOME"])
    elif sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path.home() / ".config"
    return base / "flyte_nb" / "tokens.json"


class FileTokenCache:
    """Tokens in a JSON file readable by its owner only (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else token_file()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileTokenCache({str(self.path)!r})"

    def _read(self) -> dict[str, Any]:
        try:
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)  # someone widened it: tokens are the user's alone
                _log.warning("flyte_nb: %s was readable by others; it is now private to you", self.path)
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _log.warning("flyte_nb: the token cache %s cannot be read (%s); signing in anew", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the cache's lock file (other kernels too) while it is read, changed and replaced."""
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                import fcntl
            except ImportError:  # Windows: no advisory locks; the replace itself is still atomic
                yield
                return
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def load(self, endpoint: str) -> CachedTokens | None:
        entry = self._read().get(endpoint)
        if not isinstance(entry, dict) or not isinstance(entry.get(_ACCESS), str):
            return None
        refresh = entry.get(_REFRESH)
        expires = entry.get("expires_at")
        return CachedTokens(
            Secret(entry[_ACCESS]),
            Secret(refresh) if isinstance(refresh, str) and refresh else None,
            float(expires) if isinstance(expires, (int, float)) else None,
        )

    def save(self, endpoint: str, tokens: CachedTokens) -> None:
        entry: dict[str, Any] = {_ACCESS: tokens.access_token.reveal(), "expires_at": tokens.expires_at}
        if tokens.refresh_token:
            entry[_REFRESH] = tokens.refresh_token.reveal()
        try:
            with self._locked():
                data = self._read()
                data[endpoint] = entry
                self._write(data)
        except OSError as exc:
            _log.warning(
                "flyte_nb: could not cache the login in %s (%s); the next kernel signs in again",
                self.path,
                exc,
            )

    def delete(self, endpoint: str) -> None:
        try:
            with self._locked():
                data = self._read()
                if data.pop(endpoint, None) is not None:
                    self._write(data)
        except OSError as exc:
            _log.warning("flyte_nb: could not remove the login from %s (%s)", self.path, exc)


class KeyringTokenCache:
    """Tokens in the OS keyring, under flytekit's names; a keyring that fails falls back to ``fallback``."""

    def __init__(self, keyring: Any, fallback: TokenCache) -> None:
        self._keyring = keyring  # the imported `keyring` module
        self.fallback = fallback

    def __repr__(self) -> str:
        return f"KeyringTokenCache({type(self._keyring.get_keyring()).__name__})"

    def load(self, endpoint: str) -> CachedTokens | None:
        try:
            access = self._keyring.get_password(endpoint, _ACCESS)
            refresh = self._keyring.get_password(endpoint, _REFRESH)
        except self._keyring.errors.KeyringError as exc:
            _log.debug("keyring unavailable (%s); reading the token file", type(exc).__name__)
            return self.fallback.load(endpoint)
        if not access:
            return self.fallback.load(endpoint)
        return CachedTokens(Secret(access), Secret(refresh) if refresh else None)

    def save(self, endpoint: str, tokens: CachedTokens) -> None:
        try:
            if tokens.refresh_token:
                self._keyring.set_password(endpoint, _REFRESH, tokens.refresh_token.reveal())
            self._keyring.set_password(endpoint, _ACCESS, tokens.access_token.reveal())
        except self._keyring.errors.KeyringError as exc:
            _log.debug("keyring unavailable (%s); using the token file", type(exc).__name__)
            self.fallback.save(endpoint, tokens)

    def delete(self, endpoint: str) -> None:
        for key in (_ACCESS, _REFRESH, "id_token"):
            with contextlib.suppress(
                self._keyring.errors.KeyringError
            ):  # absent, or no keyring: nothing to forget
                self._keyring.delete_password(endpoint, key)
        self.fallback.delete(endpoint)


def _usable_keyring() -> Any:
    """The ``keyring`` module when it is installed with a working backend, else ``None``."""
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring configuration must not stop a login; use the file
        return None
    # keyring's "fail" and "null" backends (no Keychain / Secret Service here) have a priority of 0 or less.
    return keyring if backend.priority > 0 else None


def default_token_cache() -> TokenCache:
    """The cache ``$FLYTE_NB_TOKEN_CACHE`` names (default ``auto``: the OS keyring if usable, else the file).

    Raises
    ------
    ConfigError
        An unknown value, or ``keyring`` asked for where no usable keyring is installed.
    """
    choice = os.environ.get(CACHE_ENV, "auto").strip().lower() or "auto"
    if choice == "none":
        return NoTokenCache()
    if choice == "file":
        return FileTokenCache()
    if choice not in ("auto", "keyring"):
        raise ConfigError(
            f"{CACHE_ENV}: expected one of auto, keyring, file, none, got {choice!r}. Fix or unset the variable."
        )
    keyring = _usable_keyring()
    if keyring is not None:
        return KeyringTokenCache(keyring, FileTokenCache())
    if choice == "keyring":
        raise ConfigError(
            f"{CACHE_ENV}=keyring: expected the keyring package with a working backend, got none (pip install "
            "keyring, or a backend such as Secret Service). Use file (a private token file) instead."
        )
    return FileTokenCache()
