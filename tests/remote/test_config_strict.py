"""Configuration values are read strictly: a setting that cannot be read is a ConfigError naming where
it came from, never a guess (a misspelt ``insecure`` must not turn TLS off) and never a raw error."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyte_nb.errors import ConfigError
from flyte_nb.remote.config import load_config


def _load(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    return load_config(env=env or {}, home=tmp_path / "home", cwd=tmp_path, **kwargs)  # type: ignore[arg-type]


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


# ---- booleans --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(s, True) for s in ("true", "True", "TRUE", "yes", "On", "1", " true ")],
        *[(s, False) for s in ("false", "False", "no", "OFF", "0", "")],
    ],
)
def test_every_boolean_spelling_flytekit_users_write_is_read(
    tmp_path: Path, raw: str, expected: bool
) -> None:
    env = {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_PLATFORM_INSECURE": raw}
    assert _load(tmp_path, env).insecure is expected
    ini = tmp_path / "flytekit.config"
    ini.write_text(f"[platform]\nurl = h:1\ninsecure_skip_verify = {raw}\n")
    assert _load(tmp_path).insecure_skip_verify is expected


@pytest.mark.parametrize("raw", ["Fasle", "flase", "nope", "2", "enabled", "ture"])
def test_a_misspelt_insecure_in_the_environment_is_refused_not_read_as_true(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_PLATFORM_INSECURE": raw})
    message = str(info.value)
    assert message.startswith(
        "$FLYTE_PLATFORM_INSECURE: expected a boolean, true/false, yes/no, on/off or 1/0"
    )
    assert f"got {raw!r} (str)" in message


def test_a_misspelt_boolean_in_a_flytectl_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "admin:\n  endpoint: h:1\n  insecure: flase\n")
    with pytest.raises(
        ConfigError, match=rf"admin.insecure in {path}: expected a boolean.*got 'flase' \(str\)"
    ):
        _load(tmp_path, {"FLYTECTL_CONFIG": str(path)})
    path = _yaml(tmp_path, "admin:\n  endpoint: h:1\n  insecureSkipVerify: [true]\n")
    with pytest.raises(ConfigError, match=r"admin.insecureSkipVerify in .*got \[True\] \(list\)"):
        _load(tmp_path, {"FLYTECTL_CONFIG": str(path)})


def test_a_misspelt_boolean_in_a_flytekit_ini_file_names_section_and_option(tmp_path: Path) -> None:
    (tmp_path / "flytekit.config").write_text("[platform]\nurl = h:1\ninsecure = ture\n")
    with pytest.raises(ConfigError, match=r"\[platform\] insecure in .*flytekit.config: expected a boolean"):
        _load(tmp_path)


def test_an_explicit_insecure_string_is_read_strictly_too(tmp_path: Path) -> None:
    assert _load(tmp_path, endpoint="h:1", insecure="false").insecure is False  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^insecure: expected a boolean.*got 'Fasle'"):
        _load(tmp_path, endpoint="h:1", insecure="Fasle")


# ---- endpoint --------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["", "   ", "dns:///", "/"])
def test_an_empty_endpoint_is_named_as_empty_not_as_missing(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"^endpoint: expected 'host:port', got {endpoint!r}, which names no host"
    ):
        _load(tmp_path, endpoint=endpoint)


def test_an_empty_endpoint_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^\$FLYTE_PLATFORM_URL: expected 'host:port', got ''"):
        _load(tmp_path, {"FLYTE_PLATFORM_URL": ""})


@pytest.mark.parametrize(
    ("yaml_value", "shown"),
    [
        ("[a:1, b:2]", r"\['a:1', 'b:2'\] \(list\)"),
        ("30080", r"30080 \(int\)"),
        ("{host: h}", r"\{'host': 'h'\} \(dict\)"),
    ],
)
def test_an_endpoint_that_is_not_text_is_refused(tmp_path: Path, yaml_value: str, shown: str) -> None:
    path = _yaml(tmp_path, f"admin:\n  endpoint: {yaml_value}\n")
    with pytest.raises(
        ConfigError, match=rf"^admin.endpoint in {path}: expected 'host:port' text, got {shown}"
    ):
        _load(tmp_path, {"FLYTECTL_CONFIG": str(path)})


@pytest.mark.parametrize("endpoint", ["h:65536", "h:99999", "h:0", "h:", "h:http", ":443", "[::1]:70000"])
def test_a_port_outside_1_to_65535_is_refused(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, endpoint=endpoint)
    assert f"with a port from 1 to 65535, got {endpoint!r}" in str(info.value)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("flyte.example.com", "flyte.example.com"),
        ("dns:///flyte.example.com:443/", "flyte.example.com:443"),
        ("h:65535", "h:65535"),
        ("[::1]:8089", "[::1]:8089"),
        ("::1", "::1"),
    ],
)
def test_valid_endpoints_are_kept(tmp_path: Path, given: str, kept: str) -> None:
    assert _load(tmp_path, endpoint=given).endpoint == kept


# ---- files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["config.yaml", "flytekit.config"])
def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(
        b"admin:\n  endpoint: h:1 # caf\xe9\n" if name.endswith("yaml") else b"[platform]\nurl=\xff\n"
    )
    with pytest.raises(ConfigError, match=r"expected UTF-8 text, got a byte that is not UTF-8 at offset \d+"):
        _load(tmp_path, config_file=path)


def test_a_config_path_that_is_a_directory_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    with pytest.raises(ConfigError, match=r"got '.*conf.d', which is a directory"):
        _load(tmp_path, config_file=tmp_path / "conf.d")
    with pytest.raises(
        ConfigError, match=r"\$FLYTECTL_CONFIG: expected a flytectl YAML file, got .*a directory"
    ):
        _load(tmp_path, {"FLYTECTL_CONFIG": str(tmp_path / "conf.d")})
    with pytest.raises(ConfigError, match="which is a path that does not exist"):
        _load(tmp_path, config_file=tmp_path / "nope.yaml")


def test_a_secret_file_that_is_not_utf8_is_refused_without_quoting_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"s3cr3t\xff")
    env = {"FLYTE_PLATFORM_URL": "h:1", "FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION": str(secret)}
    with pytest.raises(ConfigError, match=r"client secret file .*expected UTF-8 text") as info:
        _load(tmp_path, env)
    assert "s3cr3t" not in str(info.value)


def test_a_list_setting_given_as_a_mapping_is_refused(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "admin:\n  endpoint: h:1\n  scopes: {all: true}\n")
    with pytest.raises(ConfigError, match=r"admin.scopes in .*: expected a list of words"):
        _load(tmp_path, {"FLYTECTL_CONFIG": str(path)})


def test_explicit_project_and_domain_must_be_text(tmp_path: Path) -> None:
    assert _load(tmp_path, endpoint="h:1", project=123).project == "123"  # a numeric project name
    with pytest.raises(ConfigError, match=r"^domain: expected text, got \['a'\] \(list\)"):
        _load(tmp_path, endpoint="h:1", domain=["a"])
