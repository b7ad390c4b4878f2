"""Reading one configuration value strictly: booleans, text, lists and the endpoint.

A value that cannot be read is a :class:`~flyte_nb.errors.ConfigError` naming where it came from
(``$FLYTE_PLATFORM_INSECURE``, ``admin.insecure in ~/.flyte/config.yaml``…), what it is and what is
accepted. Nothing is guessed: flytekit reads any boolean spelling it does not know as *true*, so
``FLYTE_PLATFORM_INSECURE=Fasle`` would turn TLS off and send tokens in plaintext.
"""

from __future__ import annotations

from typing import Any

from flyte_nb.errors import ConfigError

__all__ = ["BOOLEAN_SPELLINGS", "parse_bool", "parse_endpoint", "parse_list", "parse_text"]

#: Every spelling flytekit users write for a boolean, and what it means: configparser's (flytekit's INI
#: files: 1/yes/true/on, 0/no/false/off, any case) and flytekit's environment reading (false/0/off/no
#: and the empty string are false). YAML files give real booleans.
BOOLEAN_SPELLINGS: dict[str, bool] = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
    "": False,
}

_ACCEPTED = "true/false, yes/no, on/off or 1/0 (any case)"


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def parse_bool(value: Any, where: str) -> bool:
    """``value`` (a YAML/INI/env value) as a bool; ``where`` names the setting in the error.

    Raises
    ------
    ConfigError
        For any spelling outside :data:`BOOLEAN_SPELLINGS` (and any other type than bool, 0/1 or str).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in BOOLEAN_SPELLINGS:
        return BOOLEAN_SPELLINGS[value.strip().lower()]
    raise ConfigError(
        f"{where}: expected a boolean, {_ACCEPTED}, got {_got(value)}. Fix the spelling: an unknown one is "
        "refused rather than read as true, which for insecure would send credentials unencrypted."
    )


def parse_text(value: Any, where: str) -> str:
    """``value`` as stripped text (YAML numbers are written out, e.g. a numeric project name)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{where}: expected text, got {_got(value)}. Write a single value, e.g. key: value.")


def parse_list(value: Any, where: str) -> tuple[str, ...]:
    """``value`` as a list of words: a YAML list, or comma-separated text (flytekit's env and INI form)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)):
        return tuple(parse_text(item, f"{where}[{i}]") for i, item in enumerate(value))
    raise ConfigError(
        f"{where}: expected a list of words (a YAML list, or comma-separated text), got {_got(value)}."
    )


def parse_endpoint(value: Any, where: str) -> str:
    """``value`` as FlyteAdmin's gRPC target ``host[:port]``, without ``dns:///`` or a trailing ``/``.

    Raises
    ------
    ConfigError
        Not text (a YAML list or number), empty, with a URL scheme, or with a port that is not 1-65535.
    """
    if not isinstance(value, str):
        raise ConfigError(
            f"{where}: expected 'host:port' text, got {_got(value)}. Give one endpoint as a string, "
            "e.g. admin.endpoint: dns:///flyte.example.com:443."
        )
    endpoint = value.strip()
    if endpoint.startswith("dns:///"):
        endpoint = endpoint[len("dns:///") :]
    if "://" in endpoint:
        raise ConfigError(
            f"{where}: expected 'host:port' without a scheme, got {endpoint!r}. Use e.g. "
            f"{endpoint.split('://', 1)[1]!r}, with insecure=True for a plaintext (http) endpoint."
        )
    endpoint = endpoint.rstrip("/")
    if not endpoint:
        raise ConfigError(
            f"{where}: expected 'host:port', got {value!r}, which names no host. Give the FlyteAdmin "
            "address, e.g. localhost:30080 (with insecure=True) for a local sandbox."
        )
    host, sep, port = endpoint.rpartition(":")
    bare_ipv6 = ":" in host and not host.endswith("]")
    if sep and not bare_ipv6 and (not host or not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ConfigError(
            f"{where}: expected 'host:port' with a port from 1 to 65535, got {endpoint!r}. "
            "Fix the port, or leave it out for 443."
        )
    return endpoint
