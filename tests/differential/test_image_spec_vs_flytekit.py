"""ImageSpec names against flytekit 1.16: for the same spec, the same id, tag and fully qualified name.

flytekit names an image by a hash of the spec's fields; an image built by either tool is found by the
other only if both compute the same name. The table below and a Hypothesis search over many more specs
compare ``id``, ``tag`` and ``image_name()`` field for field, including the parts that read files
(``requirements``, ``copy``) and nested base specs. Templates of tasks using a spec are compared as bytes.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flyte_nb as fnb
from flyte_nb.core.image_spec import CopyFileDetection
from tests.differential import task_fns
from tests.differential.test_interface_vs_flytekit import as_if_module_level
from tests.differential.test_template_bytes_vs_flytekit import assert_same_bytes

pytestmark = pytest.mark.differential


@pytest.fixture(scope="module")
def fk() -> Any:
    return pytest.importorskip("flytekit")


def _theirs_kw(kw: dict[str, Any]) -> dict[str, Any]:
    from flytekit.constants import CopyFileDetection as FkCopy

    out = dict(kw)
    if isinstance(out.get("source_copy_mode"), CopyFileDetection):
        out["source_copy_mode"] = FkCopy(out["source_copy_mode"].value)
    return out


def assert_same_name(fk: Any, kw: dict[str, Any]) -> None:
    ours, theirs = fnb.ImageSpec(**kw), fk.ImageSpec(**_theirs_kw(kw))
    assert ours.id == theirs.id, kw
    assert ours.tag == theirs.tag, kw
    assert ours.image_name() == theirs.image_name(), kw


TABLE: dict[str, dict[str, Any]] = {
    "empty": {},
    "packages": {"packages": ["pandas", "numpy==2.0"]},
    "python": {"python_version": "3.11"},
    "python_micro": {"python_version": "3.11.7"},
    "registry": {"registry": "ghcr.io/flyteorg", "packages": ["a"]},
    "registry_upper": {"registry": "GHCR.io/Org"},
    "localhost_registry": {"registry": "localhost:30000"},
    "name_upper": {"name": "My-Image"},
    "env": {"env": {"B": "2", "A": "1"}},
    "apt": {"apt_packages": ["git", "curl"]},
    "commands": {"commands": ["echo hi", "ls"]},
    "base_image": {"base_image": "python:3.11-slim"},
    "platform": {"platform": "linux/arm64"},
    "pip": {
        "pip_index": "https://idx",
        "pip_extra_index_url": ["https://a", "https://b"],
        "pip_extra_args": "--pre",
    },
    "conda": {"conda_packages": ["cudatoolkit"], "conda_channels": ["nvidia"]},
    "cuda": {"cuda": "12.1", "cudnn": "8"},
    "entrypoint": {"entrypoint": ["python", "-m"]},
    "entrypoint_empty": {"entrypoint": []},
    "tag_format": {"tag_format": "{spec_hash}-dev"},
    "python_exec": {"python_exec": "/usr/bin/python3"},
    "builder_left_out": {"builder": "envd"},
    "runtime_left_out": {"runtime_packages": ["x"]},
    "secret_mounts_left_out": {"pip_secret_mounts": [(".gitconfig", "/etc/gitconfig")]},
    "registry_config_left_out_of_tag": {"registry_config": "/tmp/cfg.json"},
    "builder_options": {"builder_options": {"cpu": 2, "flag": True}},
    "builder_config": {"builder_config": {"uv_image": "ghcr.io/astral-sh/uv:0.4"}},
    "no_copy_mode": {"source_copy_mode": CopyFileDetection.NO_COPY},
    "everything": {
        "name": "full",
        "python_version": "3.11",
        "env": {"X": "y"},
        "registry": "docker.io/me",
        "packages": ["a"],
        "apt_packages": ["b"],
        "base_image": "ubuntu:22.04",
        "commands": ["c"],
        "pip_index": "https://p",
        "tag_format": "v-{spec_hash}",
    },
}


@pytest.mark.parametrize("case", sorted(TABLE))
def test_names_equal_flytekits(fk: Any, case: str) -> None:
    assert_same_name(fk, TABLE[case])


def test_requirements_are_hashed_by_content(fk: Any, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("pandas==2.2\nnumpy\n\n")
    assert_same_name(fk, {"requirements": str(req)})
    before = fnb.ImageSpec(requirements=str(req)).tag
    req.write_text("pandas==2.3\n")
    assert_same_name(fk, {"requirements": str(req)})
    assert fnb.ImageSpec(requirements=str(req)).tag != before


def test_copied_files_and_directories_are_hashed_by_content(
    fk: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "a.csv").write_text("1,2")
    (tmp_path / "data" / "sub" / "b.txt").write_text("b")
    (tmp_path / "config.yaml").write_text("k: v")
    assert_same_name(fk, {"copy": ["data", "config.yaml"]})
    before = fnb.ImageSpec(copy=["data"]).tag
    (tmp_path / "data" / "sub" / "b.txt").write_text("changed")
    assert fnb.ImageSpec(copy=["data"]).tag != before
    assert_same_name(fk, {"copy": ["data"]})


def test_nested_base_specs_name_the_same(fk: Any) -> None:
    base = {"name": "base", "packages": ["x"], "registry": "localhost:30000", "python_version": "3.11"}
    ours = fnb.ImageSpec(base_image=fnb.ImageSpec(**base), packages=["y"])
    theirs = fk.ImageSpec(base_image=fk.ImageSpec(**base), packages=["y"])
    assert (ours.id, ours.image_name()) == (theirs.id, theirs.image_name())


def test_with_builders_give_the_same_specs(fk: Any) -> None:
    ours = fnb.ImageSpec(packages=["a"]).with_packages(["b"]).with_apt_packages("git").with_commands("ls")
    theirs = fk.ImageSpec(packages=["a"]).with_packages(["b"]).with_apt_packages("git").with_commands("ls")
    assert ours.image_name() == theirs.image_name()
    assert fnb.ImageSpec.from_env(pinned_packages=["msgpack"]).image_name() == (
        fk.ImageSpec.from_env(pinned_packages=["msgpack"]).image_name()
    )


def test_the_completed_spec_is_named_as_flytekit_names_that_spec(fk: Any) -> None:
    """flyte_nb adds flyte-nb and the kernel's Python; the name is flytekit's for the completed spec."""
    spec = fnb.ImageSpec(registry="ghcr.io/me", packages=["pandas"])
    completed = spec.completed()
    assert spec.additions == {
        "packages": [f"flyte-nb=={fnb.__version__}"],
        "python_version": completed.python_version,
    }
    theirs = fk.ImageSpec(
        registry="ghcr.io/me", packages=completed.packages, python_version=completed.python_version
    )
    assert completed.image_name() == theirs.image_name()


# -------------------------------------------------------------------------------------------- Hypothesis

_text = st.text(alphabet="abcdefghij0123456789-_.=<>", min_size=1, max_size=12)
_lists = st.none() | st.lists(_text, max_size=3)
_specs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}", fullmatch=True),
        "python_version": st.sampled_from(["3.9", "3.10", "3.11", "3.12.1"]),
        "builder": st.sampled_from(["default", "envd", "noop"]),
        "env": st.none() | st.dictionaries(st.from_regex(r"[A-Z]{1,4}", fullmatch=True), _text, max_size=3),
        "registry": st.none() | st.sampled_from(["localhost:30000", "ghcr.io/org", "docker.io/me/sub"]),
        "packages": _lists,
        "conda_packages": _lists,
        "conda_channels": _lists,
        "apt_packages": _lists,
        "cuda": st.none() | _text,
        "base_image": st.none() | st.sampled_from(["python:3.11", "ubuntu:22.04"]),
        "platform": st.none() | st.sampled_from(["linux/amd64", "linux/arm64", "linux/amd64,linux/arm64"]),
        "pip_index": st.none() | _text,
        "pip_extra_index_url": _lists,
        "pip_extra_args": st.none() | _text,
        "registry_config": st.none() | _text,
        "entrypoint": _lists,
        "commands": _lists,
        "tag_format": st.none() | st.sampled_from(["{spec_hash}", "{spec_hash}-x", "v1-{spec_hash}"]),
        "python_exec": st.none() | _text,
        "runtime_packages": _lists,
        "builder_options": st.none()
        | st.dictionaries(_text, st.integers() | _text | st.booleans(), max_size=2),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kw=_specs)
def test_many_specs_name_the_same(fk: Any, kw: dict[str, Any]) -> None:
    assert_same_name(fk, kw)


# -------------------------------------------------------------------------------------------- templates


def test_a_task_with_an_image_spec_has_flytekits_template_bytes(
    fk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.image_spec.image_spec import ImageBuildEngine
    from flytekit.tools.translator import get_serializable

    monkeypatch.setattr(ImageBuildEngine, "build", classmethod(lambda cls, spec: None))  # no docker here
    spec = fnb.ImageSpec(registry="ghcr.io/me", packages=["pandas"], runtime_packages=["polars"])
    full = spec.completed()
    theirs_spec = fk.ImageSpec(
        registry="ghcr.io/me",
        packages=full.packages,
        python_version=full.python_version,
        runtime_packages=["polars"],
    )
    fn = task_fns.f_int
    theirs_task = as_if_module_level(fk.task(container_image=theirs_spec, environment={"E": "1"})(fn))
    theirs = get_serializable(
        OrderedDict(),
        SerializationSettings(
            image_config=ImageConfig.auto(img_name="ghcr.io/x/default:1"),
            project="flytesnacks",
            domain="development",
            version="v1",
            env={"FROM_SETTINGS": "1"},
        ),
        theirs_task,
    ).template.to_flyte_idl()
    ours = fnb.serialize_task(
        fnb.task(container_image=spec, environment={"E": "1"})(fn),
        fnb.SerializationSettings(version="v1", image="ghcr.io/x/default:1", env={"FROM_SETTINGS": "1"}),
    )
    assert ours.container.image == full.image_name() == theirs_spec.image_name()
    assert [kv.key for kv in ours.container.env] == ["FROM_SETTINGS", "E", "_F_RUNTIME_PACKAGES"]
    assert_same_bytes(theirs, ours)


def test_copy_digest_skips_what_flytekit_skips(
    fk: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    os.symlink(tmp_path / "missing", tmp_path / "d" / "dangling")
    assert_same_name(fk, {"copy": ["d", "nothing-here"]})
