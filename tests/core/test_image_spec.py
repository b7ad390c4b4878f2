"""ImageSpec in flyte_nb: completion, the Python preflight, where a spec is accepted, and building.

No docker engine runs on the test machine: builder detection and builds run against stub ``docker`` /
``envd`` executables on a ``PATH`` the tests control, which record how they were called.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

import flyte_nb as fnb
from flyte_nb.core import image_build
from flyte_nb.core.image_spec import kernel_python
from flyte_nb.errors import ImageBuildError, ImageSpecError, TaskDefinitionError

PY = kernel_python()
OTHER_PY = "3.10" if PY != "3.10" else "3.12"
PIN = f"flyte-nb=={fnb.__version__}"


# ------------------------------------------------------------------------------------------ completion


def test_flyte_nb_and_the_kernels_python_are_added_when_missing() -> None:
    spec = fnb.ImageSpec(packages=["pandas"])
    assert spec.additions == {"packages": [PIN], "python_version": PY}
    full = spec.completed()
    assert full.packages == ["pandas", PIN]
    assert full.python_version == PY
    assert spec.packages == ["pandas"]  # the user's spec is not changed
    assert full.image_name() != spec.image_name()
    assert full.completed() is full  # nothing more to add


@pytest.mark.parametrize("given", ["flyte-nb", "flyte_nb==0.0.9", "Flyte.NB[s3]>=0.1", "  flyte-nb  "])
def test_a_spec_that_has_flyte_nb_keeps_its_own(given: str) -> None:
    spec = fnb.ImageSpec(packages=[given], python_version=PY)
    assert spec.additions == {}
    assert spec.completed().image_name() == spec.image_name()


def test_flyte_nb_in_the_requirements_file_counts(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# pinned\nflyte-nb==0.1.0\npandas\n")
    assert "packages" not in fnb.ImageSpec(requirements=str(req)).additions
    req.write_text("# flyte-nb is only a comment here\npandas\n")
    assert fnb.ImageSpec(requirements=str(req)).additions["packages"] == [PIN]


def test_a_spec_pinning_another_python_is_refused_before_anything_runs() -> None:
    spec = fnb.ImageSpec(python_version=OTHER_PY, packages=["pandas"])
    with pytest.raises(ImageSpecError) as info:
        spec.preflight()
    message = str(info.value)
    assert f"pins Python {OTHER_PY}" in message
    assert f"this kernel runs Python {sys.version.split()[0]}" in message
    assert f"python_version='{PY}'" in message

    def f(a: int) -> int:
        return a

    with pytest.raises(TaskDefinitionError, match=f"pins Python {OTHER_PY}"):
        fnb.task(container_image=spec)(f)
    with pytest.raises(ImageSpecError, match=f"pins Python {OTHER_PY}"):
        fnb.SerializationSettings(image=spec)
    base = fnb.ImageSpec(name="base", python_version=OTHER_PY)
    with pytest.raises(ImageSpecError, match="Its base_image ImageSpec 'base' pins"):
        fnb.ImageSpec(base_image=base).preflight()
    fnb.ImageSpec(python_version=f"{PY}.99").preflight()  # the micro version does not matter


def test_a_lock_file_without_flyte_nb_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text('[[package]]\nname = "pandas"\nversion = "2.2"\n')
    with pytest.raises(ImageSpecError, match="does not lock flyte-nb"):
        fnb.ImageSpec(requirements=str(lock)).preflight()
    lock.write_text('[[package]]\nname = "flyte-nb"\nversion = "0.1.0"\n')
    spec = fnb.ImageSpec(requirements=str(lock))
    spec.preflight()
    assert "packages" not in spec.additions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"packages": "pandas"}, "packages: expected a list of str"),
        ({"apt_packages": ("git",)}, "apt_packages: expected a list of str"),
        ({"registry": "UPPER case/x y"}, "expected a container registry"),
        ({"source_root": "."}, "code travels in its payload"),
        ({"pip_secret_mounts": ["a"]}, "pip_secret_mounts"),
        ({"builder_options": ["x"]}, "builder_options"),
    ],
)
def test_malformed_specs_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ImageSpecError, match=message):
        fnb.ImageSpec(**kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- where a spec is accepted


def _f(a: int) -> int:
    return a


def test_a_task_runs_in_the_completed_specs_image() -> None:
    spec = fnb.ImageSpec(registry="ghcr.io/me", packages=["pandas"])
    task = fnb.task(container_image=spec)(_f)
    assert fnb.serialize_task(task).container.image == spec.completed().image_name()
    assert task.container_image is spec
    opts = fnb.PythonFunctionTask(None, _f, container_image=spec)
    assert fnb.serialize_task(opts).container.image == spec.completed().image_name()


def test_serialization_settings_take_a_spec_as_the_default_image() -> None:
    spec = fnb.ImageSpec(registry="ghcr.io/me")
    template = fnb.serialize_task(fnb.task(_f), fnb.SerializationSettings(image=spec))
    assert template.container.image == spec.completed().image_name()


def test_the_version_changes_with_the_spec() -> None:
    a = fnb.serialize_task(fnb.task(container_image=fnb.ImageSpec(packages=["a"]))(_f)).id.version
    b = fnb.serialize_task(fnb.task(container_image=fnb.ImageSpec(packages=["b"]))(_f)).id.version
    assert a != b


def test_a_container_image_that_is_neither_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match="expected an image reference \\(str\\) or an ImageSpec"):
        fnb.task(container_image=3)(_f)  # type: ignore[arg-type]


def test_runtime_packages_go_to_the_container_env() -> None:
    task = fnb.task(container_image=fnb.ImageSpec(runtime_packages=["polars", "rich"]))(_f)
    env = {kv.key: kv.value for kv in fnb.serialize_task(task).container.env}
    assert env["_F_RUNTIME_PACKAGES"] == "polars rich"


@fnb.task(container_image=fnb.ImageSpec(runtime_packages=["msgpack"]))
def runtime_ok(a: int) -> int:
    return a


@fnb.task(container_image=fnb.ImageSpec(runtime_packages=["no-such-package-xyz"]))
def runtime_missing(a: int) -> int:
    return a


def test_the_process_sandbox_checks_runtime_packages_instead_of_installing_them() -> None:
    assert fnb.SandboxExecutor(mode="process").run(runtime_ok, a=2) == 2
    with pytest.raises(ImageSpecError, match="pip install no-such-package-xyz in the kernel"):
        fnb.SandboxExecutor(mode="process").run(runtime_missing, a=1)


def test_is_container_is_true_outside_a_container() -> None:
    assert fnb.ImageSpec().is_container()


# ------------------------------------------------------------------------------------------- build plan


def test_the_dockerfile_builds_the_completed_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("1")
    spec = fnb.ImageSpec(
        registry="ghcr.io/me",
        packages=["pandas"],
        apt_packages=["git"],
        env={"MODE": "prod"},
        commands=["echo built"],
        copy=["data"],
        entrypoint=["/bin/sh"],
    )
    text = spec.dockerfile()
    full = spec.completed()
    assert f"python={PY}" in text
    assert "apt-get install -y --no-install-recommends git" in text
    assert "MODE=prod" in text
    assert "COPY --chown=flytekit data /root/data/" in text
    assert 'ENTRYPOINT ["/bin/sh"]' in text
    assert "echo built" in text
    assert text.rstrip().endswith(f"ENV _F_IMG_ID={full.id}")
    plan = spec.build_plan()
    assert plan.files["requirements_uv.txt"].splitlines() == ["pandas", PIN]
    assert plan.command == [
        "docker", "buildx", "build", "--tag", full.image_name(), "--platform", "linux/amd64", "--push", "{context}"
    ]  # fmt: skip
    assert plan.copies == {"data": "data"}
    assert plan.added == {"packages": [PIN], "python_version": PY}
    assert "Dockerfile" in str(plan)


def test_the_envd_plan(tmp_path: Path) -> None:
    plan = fnb.ImageSpec(registry="localhost:30000", packages=["pandas"]).build_plan("envd")
    config = plan.files["build.envd"]
    assert f'"pandas", "{PIN}"' in config
    assert f'install.python(version="{PY}")' in config
    assert plan.command[:2] == ["envd", "build"]
    assert f"type=image,name={plan.image},push=true" in plan.command


def test_an_unknown_builder_is_refused() -> None:
    with pytest.raises(ImageBuildError, match="expected one of default, envd"):
        fnb.ImageSpec().build_plan("kaniko")


def test_cuda_is_refused_by_the_default_builder() -> None:
    with pytest.raises(ImageSpecError, match="cuda/cudnn"):
        fnb.ImageSpec(cuda="12").dockerfile()


# ------------------------------------------------------------------------------------------- builders


def _stub(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PATH the test fills with stub executables (sh and its tools stay reachable)."""
    bins = tmp_path / "bin"
    bins.mkdir()
    monkeypatch.setenv("PATH", f"{bins}{os.pathsep}/nonexistent")
    return bins


def test_nothing_installed_names_both_missing_builders(bin_dir: Path) -> None:
    found = image_build.detect_builders()
    assert "docker is not installed (no `docker` on PATH)" in str(found["default"])
    assert "envd is not installed" in str(found["envd"])
    with pytest.raises(ImageBuildError) as info:
        fnb.ImageSpec().build()
    assert "no image builder is available" in str(info.value)
    assert "spec.dockerfile()" in str(info.value)


def test_docker_without_buildx_says_so(bin_dir: Path) -> None:
    _stub(
        bin_dir,
        "docker",
        'if [ "$1" = buildx ]; then echo "unknown command: docker buildx" >&2; exit 1; fi\n',
    )
    assert "the docker buildx plugin is missing" in str(image_build.detect_builders()["default"])
    with pytest.raises(ImageBuildError, match="with 'default': the docker buildx plugin is missing"):
        fnb.ImageSpec().build(builder="default")


def test_docker_without_a_daemon_says_so(bin_dir: Path) -> None:
    _stub(
        bin_dir,
        "docker",
        'if [ "$1" = info ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi\n',
    )
    assert "no Docker daemon is reachable" in str(image_build.detect_builders()["default"])


def test_a_build_runs_docker_buildx_in_a_context_with_the_dockerfile(bin_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    _stub(
        bin_dir,
        "docker",
        f'if [ "$1" = buildx ] && [ "$2" = build ]; then\n'
        f'  ctx=$(eval echo \\${{$#}}); printf "%s\\n" "$*" >> {log}; /bin/cp "$ctx/Dockerfile" {tmp_path}/built.Dockerfile\n'
        "fi\nexit 0\n",
    )
    spec = fnb.ImageSpec(registry="ghcr.io/me", packages=["pandas"])
    lines: list[str] = []
    name = image_build.build(spec, output=lines.append)
    assert name == spec.completed().image_name()
    call = log.read_text().split()
    assert call[:5] == ["buildx", "build", "--tag", name, "--platform"]
    assert "--push" in call
    assert (tmp_path / "built.Dockerfile").read_text() == spec.dockerfile()
    assert lines[0].startswith("Run command: docker buildx build")


def test_a_failed_build_shows_the_builders_output(bin_dir: Path) -> None:
    _stub(
        bin_dir,
        "docker",
        'if [ "$2" = build ]; then echo "ERROR: failed to solve" >&2; exit 17; fi\nexit 0\n',
    )
    with pytest.raises(ImageBuildError, match="exit code 17") as info:
        image_build.build(fnb.ImageSpec(), output=lambda s: None)
    assert "failed to solve" in str(info.value)


def test_envd_is_used_where_it_is_the_one_installed(bin_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "envd.txt"
    _stub(bin_dir, "envd", f'printf "%s\\n" "$*" >> {log}\nexit 0\n')
    assert image_build.detect_builders()["envd"] is None
    spec = fnb.ImageSpec(registry="localhost:30000")
    assert image_build.build(spec, output=lambda s: None) == spec.completed().image_name()
    assert "build --path" in log.read_text()


def test_the_plan_is_json_friendly() -> None:
    plan = fnb.ImageSpec().build_plan()
    assert json.loads(json.dumps(plan.command))[0] == "docker"
