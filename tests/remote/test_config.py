"""Configuration as flytekit users have it: explicit > FLYTE_* env > config files (YAML and INI)."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from flyte_nb.errors import ConfigError
from flyte_nb.remote.auth import ClientCredentials, DeviceFlow, ExternalCommand, authenticator_for
from flyte_nb.remote.config import Secret, load_config

YAML = """\
admin:
  endpoint: dns:///flyte.example.com:443
  insecure: false
  insecureSkipVerify: true
  caCertFilePath: /etc/ssl/flyte.pem
  authType: DeviceFlow
  clientId: notebook
  scopes: [all, offline]
console:
  endpoint: https://console.example.com/
task:
  project: ml
  domain: staging
"""


def _load(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    return load_config(env=env or {}, home=tmp_path / "home", cwd=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_flytectl_yaml_from_home_is_read_with_its_keys(tmp_path: Path) -> None:
    (tmp_path / "home" / ".flyte").mkdir(parents=True)
    (tmp_path / "home" / ".flyte" / "config.yaml").write_text(YAML)
    config = _load(tmp_path)
    assert config.endpoint == "flyte.example.com:443"  # dns:/// stripped
    assert config.insecure is False
    assert config.insecure_skip_verify is True
    assert config.ca_cert_file_path == "/etc/ssl/flyte.pem"
    assert config.console_url == "https://console.example.com"
    assert (config.project, config.domain) == ("ml", "staging")
    assert config.auth.mode == "DeviceFlow"
    assert config.auth.scopes == ("all", "offline")
    assert isinstance(authenticator_for(config), DeviceFlow)


def test_env_beats_file_and_explicit_beats_env(tmp_path: Path) -> None:
    path = tmp_path / "flytectl.yaml"
    path.write_text(YAML)
    env = {
        "FLYTECTL_CONFIG": str(path),
        "FLYTE_PLATFORM_URL": "env-host:81",
        "FLYTE_PLATFORM_INSECURE": "True",
        "FLYTE_LOCAL_PROJECT": "envproj",
    }
    config = _load(tmp_path, env)
    assert config.endpoint == "env-host:81"
    assert config.insecure is True
    assert config.project == "envproj"
    assert config.domain == "staging"  # not overridden: from the file
    assert config.source == str(path)
    config = _load(tmp_path, env, endpoint="arg-host:82", project="argproj", insecure=False)
    assert (config.endpoint, config.project, config.insecure) == ("arg-host:82", "argproj", False)
    assert config.console_url == "https://console.example.com"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("false", False), ("0", False), ("Off", False), ("no", False), ("1", True), ("yes", True)],
)
def test_env_booleans_follow_flytekit(tmp_path: Path, raw: str, expected: bool) -> None:
    config = _load(tmp_path, {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_PLATFORM_INSECURE": raw})
    assert config.insecure is expected


def test_flytekit_ini_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "flytekit.config").write_text(
        "[platform]\nurl = ini-host:30080\ninsecure = True\n[credentials]\nauth_mode = ExternalCommand\n"
        "command = gcloud,auth,print-access-token\n[local]\ndomain = production\n"
    )
    config = _load(tmp_path)
    assert (config.endpoint, config.insecure, config.domain) == ("ini-host:30080", True, "production")
    assert config.console_url == "http://ini-host:30080"
    auth = authenticator_for(config)
    assert isinstance(auth, ExternalCommand)
    assert auth.command == ("gcloud", "auth", "print-access-token")


def test_client_secret_from_a_file_forces_client_secret_mode_and_stays_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-value\n")
    env = {
        "FLYTE_PLATFORM_URL": "h:1",
        "FLYTE_CREDENTIALS_CLIENT_ID": "robot",
        "FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION": str(secret_file),
    }
    config = _load(tmp_path, env)
    assert config.auth.mode == "ClientSecret"
    assert config.auth.client_secret == Secret("s3cr3t-value")  # trailing newline stripped
    auth = authenticator_for(config)
    assert isinstance(auth, ClientCredentials)
    assert "s3cr3t" not in repr(config) + repr(auth) + str(config.auth)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(config)
    # Copies stay in the process, so they are allowed (and keep the secret, still hidden).
    copied = copy.deepcopy(config)
    assert copied == config
    assert copied.auth.client_secret is not None
    assert copied.auth.client_secret.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(copied)


def test_client_secret_from_a_named_env_var(tmp_path: Path) -> None:
    env = {
        "FLYTE_PLATFORM_URL": "h:1",
        "FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR": "MY_SECRET",
        "MY_SECRET": "xyz",
    }
    config = _load(tmp_path, env)
    assert config.auth.mode == "ClientSecret"
    assert config.auth.client_secret == Secret("xyz")
    with pytest.raises(ConfigError, match=r"names \$MY_SECRET, but it is not set"):
        _load(tmp_path, {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR": "MY_SECRET"})


def test_a_literal_secret_does_not_switch_the_auth_mode(tmp_path: Path) -> None:
    config = _load(tmp_path, {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_CREDENTIALS_CLIENT_SECRET": "lit"})
    assert config.auth.mode == "standard"


def test_no_endpoint_anywhere_names_every_place_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path)
    for place in ("FLYTE_PLATFORM_URL", "FLYTECTL_CONFIG", "~/.flyte/config.yaml", "endpoint="):
        assert place in str(info.value)


def test_endpoint_with_a_scheme_is_explained(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"without a scheme, got 'https://flyte.example.com'.*'flyte.example.com'"
    ):
        _load(tmp_path, endpoint="https://flyte.example.com")


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _load(tmp_path, config_file=tmp_path / "nope.yaml")


def test_unknown_auth_mode_is_an_error_naming_the_choices(tmp_path: Path) -> None:
    config = _load(tmp_path, {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_CREDENTIALS_AUTH_MODE": "Kerberos"})
    with pytest.raises(ConfigError, match="ClientSecret, DeviceFlow, ExternalCommand"):
        authenticator_for(config)
