"""Where FlyteAdmin is and how to talk to it, read the way flytekit and flytectl users already set it.

Precedence, per setting (flytekit's ``ConfigEntry.read``):

1. an explicit argument (``Remote(endpoint=..., project=...)``);
2. the environment variable ``FLYTE_<SECTION>_<OPTION>`` (``FLYTE_PLATFORM_URL``, ``FLYTE_CREDENTIALS_…``);
3. the config file: the first of ``config_file``, ``$_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE``,
   ``$FLYTECTL_CONFIG`` (if it exists), ``./flytekit.config``, ``~/.flyte/config`` and
   ``~/.flyte/config.yaml``. Files ending in ``.yaml``/``.yml`` are flytectl YAML (``admin.endpoint``…),
   anything else is flytekit INI (``[platform] url``…).

Secrets (client secrets, tokens) are held in :class:`Secret`, which never shows its value in a repr,
a log line, an error message or a pickle.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from flyte_nb.core.settings import DEFAULT_DOMAIN, DEFAULT_PROJECT
from flyte_nb.errors import ConfigError, NotPicklableError
from flyte_nb.remote.config_values import parse_bool, parse_endpoint, parse_list, parse_text

__all__ = ["AuthConfig", "RemoteConfig", "Secret", "find_config_file", "load_config"]


class Secret:
    """A string that must never be shown: ``repr``/``str`` print ``Secret('***')`` and pickling fails.

    Use :meth:`reveal` at the single place the value goes on the wire.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value itself (only for building a request)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    # Immutable, so a copy is the same object: copy.deepcopy(config) works without going through
    # __reduce__ (which refuses, for pickles).
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        # A pickled Remote (e.g. a notebook namespace saved by a tool) must not carry credentials.
        raise NotPicklableError(
            "A Secret (client secret or token) cannot be pickled: credentials never leave the process. "
            "Recreate the Remote from its configuration in the other process instead."
        )


@dataclass(frozen=True)
class AuthConfig:
    """How to obtain credentials (flytekit's ``[credentials]`` section / flytectl's ``admin.*`` keys).

    ``mode`` is flytekit's auth mode name as configured (``ClientSecret``, ``DeviceFlow``,
    ``ExternalCommand``, ``Pkce``/``standard``…); :func:`flyte_nb.remote.auth.authenticator_for` turns it
    into an authenticator.
    """

    mode: str = "standard"
    client_id: str = ""
    client_secret: Secret | None = None
    scopes: tuple[str, ...] = ()
    audience: str = ""
    command: tuple[str, ...] = ()
    http_proxy_url: str = ""


@dataclass(frozen=True)
class RemoteConfig:
    """Everything needed to reach one FlyteAdmin.

    Parameters
    ----------
    endpoint:
        ``host:port`` of the gRPC endpoint (no scheme; a leading ``dns:///`` is removed).
    insecure:
        Plaintext gRPC (local sandboxes); TLS otherwise.
    insecure_skip_verify:
        TLS without verifying the server certificate (self-signed clusters).
    ca_cert_file_path:
        A PEM bundle of the roots to trust instead of the system's.
    console_endpoint:
        Base URL of the Flyte console, when it is not ``http(s)://<endpoint>``.
    project, domain:
        Where tasks are registered and run.
    auth:
        Credential settings (used only when the server asks for credentials).
    source:
        The config file the values came from (for messages), or ``""``.
    """

    endpoint: str
    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_cert_file_path: str = ""
    console_endpoint: str = ""
    project: str = DEFAULT_PROJECT
    domain: str = DEFAULT_DOMAIN
    auth: AuthConfig = field(default_factory=AuthConfig)
    source: str = ""

    @property
    def console_url(self) -> str:
        """Base URL of the console: ``console_endpoint`` or ``http(s)://<endpoint>`` (flytekit's rule)."""
        if self.console_endpoint:
            return self.console_endpoint.rstrip("/")
        scheme = "http" if self.insecure else "https"
        return f"{scheme}://{self.endpoint}"


# (attribute, INI section, INI option, flytectl YAML dotted key or None, kind)
_KEYS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("endpoint", "platform", "url", "admin.endpoint", "endpoint"),
    ("insecure", "platform", "insecure", "admin.insecure", "bool"),
    ("insecure_skip_verify", "platform", "insecure_skip_verify", "admin.insecureSkipVerify", "bool"),
    ("ca_cert_file_path", "platform", "ca_cert_file_path", "admin.caCertFilePath", "str"),
    ("console_endpoint", "platform", "console_endpoint", "console.endpoint", "str"),
    ("http_proxy_url", "platform", "http_proxy_url", "admin.httpProxyURL", "str"),
    ("auth_mode", "credentials", "auth_mode", "admin.authType", "str"),
    ("client_id", "credentials", "client_id", "admin.clientId", "str"),
    ("client_secret", "credentials", "client_secret", None, "str"),
    ("client_secret_location", "credentials", "client_secret_location", "admin.clientSecretLocation", "str"),
    ("client_secret_env_var", "credentials", "client_secret_env_var", "admin.clientSecretEnvVar", "str"),
    ("scopes", "credentials", "scopes", "admin.scopes", "list"),
    ("audience", "credentials", "audience", "admin.audience", "str"),
    ("command", "credentials", "command", "admin.command", "list"),
    ("project", "local", "project", "task.project", "str"),
    ("domain", "local", "domain", "task.domain", "str"),
)

_PARSERS = {"bool": parse_bool, "list": parse_list, "str": parse_text, "endpoint": parse_endpoint}


def find_config_file(
    config_file: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Path | None:
    """The config file flytekit would read, or ``None`` (see the module docstring for the order)."""
    env = os.environ if env is None else env
    if config_file is not None:
        path = Path(config_file).expanduser()
        if not path.is_file():
            what = "a directory" if path.is_dir() else "a path that does not exist"
            raise ConfigError(
                f"config_file: expected a flytectl YAML or flytekit INI file, got {str(config_file)!r}, which is "
                f"{what}. Check the path, or leave config_file unset to use FLYTECTL_CONFIG / "
                "~/.flyte/config.yaml."
            )
        return path
    override = env.get("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE")
    if override:
        return Path(override).expanduser()
    flytectl = env.get("FLYTECTL_CONFIG")
    if flytectl and Path(flytectl).expanduser().is_dir():
        raise ConfigError(
            f"$FLYTECTL_CONFIG: expected a flytectl YAML file, got {flytectl!r}, which is a directory. "
            "Point it at the config.yaml inside, or unset it."
        )
    if flytectl and Path(flytectl).expanduser().is_file():
        return Path(flytectl).expanduser()
    home_dir = Path(home) if home is not None else Path.home()
    for candidate in (
        Path(cwd or os.getcwd()) / "flytekit.config",
        home_dir / ".flyte" / "config",
        home_dir / ".flyte" / "config.yaml",
    ):
        if candidate.is_file():
            return candidate
    return None


def _read_text(path: Path, what: str) -> str:
    """The file's text: UTF-8, as flytectl and flytekit write it; anything else is a ConfigError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Could not read the {what} {str(path)!r}: {exc.strerror or exc}. Fix the path or the file's "
            "permissions, or remove it."
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Could not read the {what} {str(path)!r}: expected UTF-8 text, got a byte that is not UTF-8 at "
            f"offset {exc.start}. Save the file as UTF-8."
        ) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # a runtime dependency only for flytectl files; most sessions never parse one

    text = _read_text(path, "flytectl config")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"Could not read the flytectl config {str(path)!r}: {exc}. Fix or remove the file."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"The flytectl config {str(path)!r} must be a YAML mapping (admin: {{endpoint: ...}}), "
            f"got a {type(data).__name__}. Fix the file."
        )
    return data


def _yaml_get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _file_values(path: Path | None) -> dict[str, tuple[Any, str]]:
    """Each setting the file holds: ``attr -> (raw value, where it is, for messages)``."""
    if path is None:
        return {}
    out: dict[str, tuple[Any, str]] = {}
    if path.suffix in (".yaml", ".yml"):
        data = _read_yaml(path)
        for attr, _section, _option, yaml_key, _kind in _KEYS:
            value = _yaml_get(data, yaml_key) if yaml_key else None
            if value is not None:
                out[attr] = (value, f"{yaml_key} in {path}")
        return out
    parser = configparser.ConfigParser()
    try:
        parser.read_string(_read_text(path, "flytekit config"), source=str(path))
    except configparser.Error as exc:
        raise ConfigError(
            f"Could not read the flytekit config {str(path)!r}: {exc}. Fix or remove the file."
        ) from exc
    for attr, section, option, _yaml_key, _kind in _KEYS:
        if parser.has_option(section, option):
            out[attr] = (parser.get(section, option), f"[{section}] {option} in {path}")
    return out


def _resolve(file_values: Mapping[str, tuple[Any, str]], env: Mapping[str, str]) -> dict[str, Any]:
    """Each setting from its env variable, else from the file, read strictly (:mod:`.config_values`)."""
    values: dict[str, Any] = {}
    for attr, section, option, _yaml_key, kind in _KEYS:
        name = f"FLYTE_{section}_{option}".upper()
        if name in env:
            raw, where = env[name], f"${name}"
        elif attr in file_values:
            raw, where = file_values[attr]
        else:
            continue
        values[attr] = _PARSERS[kind](raw, where)
    return values


def _client_secret(values: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Secret | None, bool]:
    """The client secret and whether its source forces ClientSecret mode (flytekit's rule)."""
    location = values.get("client_secret_location")
    if location:
        # The error never quotes the file's content: it is the secret.
        text = _read_text(Path(location).expanduser(), "client secret file (admin.clientSecretLocation)")
        return Secret(text.rstrip("\n")), True
    env_var = values.get("client_secret_env_var")
    if env_var:
        if env_var not in env:
            raise ConfigError(
                f"client secret env var: the configuration names ${env_var}, but it is not set. Export it, "
                "or fix admin.clientSecretEnvVar / FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR."
            )
        return Secret(env[env_var]), True
    literal = values.get("client_secret")
    return (Secret(literal) if literal else None), False


def _explicit_text(value: Any, where: str) -> str | None:
    return None if value is None else parse_text(value, where)


def load_config(
    endpoint: str | None = None,
    project: str | None = None,
    domain: str | None = None,
    insecure: bool | None = None,
    config_file: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> RemoteConfig:
    """Build a :class:`RemoteConfig` from explicit arguments, ``FLYTE_*`` variables and config files.

    ``env``, ``home`` and ``cwd`` default to the process's; tests pass their own.

    Raises
    ------
    ConfigError
        No endpoint anywhere, an unreadable or malformed file, or a secret source that does not resolve.
    """
    env = os.environ if env is None else env
    path = find_config_file(config_file, env=env, home=home, cwd=cwd)
    values = _resolve(_file_values(path), env)
    ep = parse_endpoint(endpoint, "endpoint") if endpoint is not None else values.get("endpoint")
    if ep is None:
        raise ConfigError(
            "No FlyteAdmin endpoint configured: expected Remote(endpoint='host:port'), $FLYTE_PLATFORM_URL, "
            "$FLYTECTL_CONFIG or ~/.flyte/config.yaml (admin.endpoint), got none of them. "
            "Pass endpoint=... (and insecure=True for a local sandbox)."
        )
    secret, forces_client_secret = _client_secret(values, env)
    mode = values.get("auth_mode") or "standard"
    if forces_client_secret:
        mode = "ClientSecret"
    auth = AuthConfig(
        mode=mode,
        client_id=values.get("client_id", ""),
        client_secret=secret,
        scopes=values.get("scopes", ()),
        audience=values.get("audience", ""),
        command=values.get("command", ()),
        http_proxy_url=values.get("http_proxy_url", ""),
    )
    return RemoteConfig(
        endpoint=ep,
        insecure=parse_bool(insecure, "insecure") if insecure is not None else values.get("insecure", False),
        insecure_skip_verify=bool(values.get("insecure_skip_verify", False)),
        ca_cert_file_path=values.get("ca_cert_file_path", ""),
        console_endpoint=values.get("console_endpoint", ""),
        project=_explicit_text(project, "project") or values.get("project") or DEFAULT_PROJECT,
        domain=_explicit_text(domain, "domain") or values.get("domain") or DEFAULT_DOMAIN,
        auth=auth,
        source=str(path) if path else "",
    )
