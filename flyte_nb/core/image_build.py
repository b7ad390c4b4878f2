"""Building an :class:`~flyte_nb.core.image_spec.ImageSpec`: the build plan, and the builders that run it.

Two builders, as in flytekit:

``default``
    docker buildx with a generated Dockerfile (flytekit's default builder: micromamba installs the spec's
    Python, uv installs the packages, apt the apt packages; ``ENV _F_IMG_ID`` records the spec's id).
``envd``
    envd with a generated ``build.envd`` (flytekit's envd plugin), where ``envd`` is installed.

Both build the *completed* spec (flyte_nb and the kernel's Python added), so the image can run this
kernel's tasks. :func:`build_plan` says what would run without running it (the Dockerfile, the command,
the context files); :func:`build` runs it, after :func:`detect_builders` has found the builder installed,
or fails naming exactly what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from flyte_nb.errors import ImageBuildError, ImageSpecError

if TYPE_CHECKING:
    from flyte_nb.core.image_spec import ImageSpec

__all__ = ["BUILDERS", "BuildPlan", "build", "build_plan", "detect_builders", "dockerfile", "envd_config"]

BUILDERS = ("default", "envd")
DEFAULT_BASE_IMAGE = "debian:bookworm-slim"
UV_IMAGE = "ghcr.io/astral-sh/uv:0.5.1"
MICROMAMBA_IMAGE = "mambaorg/micromamba:2.0.3-debian12-slim"
PROBE_TIMEOUT = 15.0  # seconds for `docker buildx version` / `docker info` / `envd version`

_UV_INSTALL = Template("""\
RUN --mount=type=cache,sharing=locked,mode=0777,target=/root/.cache/uv,id=uv \\
    --mount=from=uv,source=/uv,target=/usr/bin/uv \\
    --mount=type=bind,target=requirements_uv.txt,src=requirements_uv.txt \\
    $SECRET_MOUNTS \\
    uv pip install $INSTALL_ARGS
""")

_UV_SYNC = Template("""\
WORKDIR /root
RUN --mount=type=cache,sharing=locked,mode=0777,target=/root/.cache/uv,id=uv \\
    --mount=from=uv,source=/uv,target=/usr/bin/uv \\
    --mount=type=bind,target=uv.lock,src=uv.lock \\
    --mount=type=bind,target=pyproject.toml,src=pyproject.toml \\
    $SECRET_MOUNTS \\
    uv sync $INSTALL_ARGS && chown -R flytekit /root/.venv
WORKDIR /
ENV PATH="/root/.venv/bin:$$PATH" UV_PYTHON=/root/.venv/bin/python
""")

_POETRY_INSTALL = Template("""\
RUN --mount=type=cache,sharing=locked,mode=0777,target=/root/.cache/uv,id=uv \\
    --mount=from=uv,source=/uv,target=/usr/bin/uv \\
    uv pip install poetry
ENV POETRY_CACHE_DIR=/tmp/poetry_cache POETRY_VIRTUALENVS_IN_PROJECT=true
WORKDIR /root
RUN --mount=type=cache,sharing=locked,mode=0777,target=/tmp/poetry_cache,id=poetry \\
    --mount=type=bind,target=poetry.lock,src=poetry.lock \\
    --mount=type=bind,target=pyproject.toml,src=pyproject.toml \\
    $SECRET_MOUNTS \\
    poetry install $INSTALL_ARGS && chown -R flytekit /root/.venv
WORKDIR /
ENV PATH="/root/.venv/bin:$$PATH" UV_PYTHON=/root/.venv/bin/python
""")

_APT_INSTALL = Template("""\
RUN --mount=type=cache,sharing=locked,mode=0777,target=/var/cache/apt,id=apt \\
    apt-get update && apt-get install -y --no-install-recommends $PACKAGES
""")

_MICROMAMBA_PYTHON = Template("""\
RUN --mount=type=cache,sharing=locked,mode=0777,target=/opt/micromamba/pkgs,id=micromamba \\
    --mount=from=micromamba,source=/usr/bin/micromamba,target=/usr/bin/micromamba \\
    micromamba config set use_lockfiles False && \\
    ( micromamba create -n runtime --root-prefix /opt/micromamba -c conda-forge $CHANNELS \\
      python=$PYTHON_VERSION $CONDA_PACKAGES \\
    || micromamba install -n runtime --root-prefix /opt/micromamba -c conda-forge $CHANNELS \\
      python=$PYTHON_VERSION $CONDA_PACKAGES ) && \\
    chown -R flytekit /opt/micromamba
""")

_DOCKERFILE = Template("""\
#syntax=docker/dockerfile:1.5
FROM $UV_IMAGE as uv
FROM $MICROMAMBA_IMAGE as micromamba

FROM $BASE_IMAGE

WORKDIR /
USER root
$APT_INSTALL
RUN --mount=from=micromamba,source=/etc/ssl/certs/ca-certificates.crt,target=/tmp/ca-certificates.crt \\
    [ -f /etc/ssl/certs/ca-certificates.crt ] || \\
    mkdir -p /etc/ssl/certs/ && cp /tmp/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt

RUN id -u flytekit || useradd --create-home --shell /bin/bash flytekit
RUN chown -R flytekit /root && chown -R flytekit /home

$PYTHON_INSTALL

ENV PATH="$EXTRA_PATH:$$PATH" \\
    UV_PYTHON=$PYTHON_EXEC \\
    UV_COMPILE_BYTECODE=1 \\
    UV_LINK_MODE=copy \\
    SSL_CERT_DIR=/etc/ssl/certs \\
    $ENV

$PACKAGES_INSTALL

ENV PATH="$$PATH:/usr/local/nvidia/bin:/usr/local/cuda/bin" \\
    LD_LIBRARY_PATH="/usr/local/nvidia/lib64:$$LD_LIBRARY_PATH"

$ENTRYPOINT

$COPY_COMMANDS

RUN --mount=type=cache,sharing=locked,mode=0777,target=/root/.cache/uv,id=uv \\
    --mount=from=uv,source=/uv,target=/usr/bin/uv $RUN_COMMANDS

WORKDIR /root
SHELL ["/bin/bash", "-c"]

USER flytekit
RUN mkdir -p $$HOME && echo "export PATH=$$PATH" >> $$HOME/.profile

# Last, so a change of the spec's id does not invalidate the cached layers above.
ENV $IMG_ID
""")


@dataclass
class BuildPlan:
    """What a build does, without doing it.

    Attributes
    ----------
    builder:
        ``"default"`` (docker buildx) or ``"envd"``.
    image:
        The image name the build produces (the completed spec's).
    command:
        The command run in the build context directory (``{context}`` stands for it).
    files:
        The generated files of the build context (``Dockerfile``, ``requirements_uv.txt``, ``build.envd``).
    copies:
        Local files copied into the context: context name -> source path (requirements, ``copy`` items).
    added:
        What the completed spec added to the user's spec (:attr:`ImageSpec.additions`).
    """

    builder: str
    image: str
    command: list[str]
    files: dict[str, str] = field(default_factory=dict)
    copies: dict[str, str] = field(default_factory=dict)
    added: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"builder: {self.builder}", f"image:   {self.image}"]
        if self.added:
            lines.append("added:   " + ", ".join(f"{k}={v}" for k, v in self.added.items()))
        lines.append("command: " + " ".join(self.command))
        for name, source in self.copies.items():
            lines.append(f"copy:    {source} -> {{context}}/{name}")
        for name, content in self.files.items():
            lines.append(f"--- {name}\n{content.rstrip()}")
        return "\n".join(lines)


def _requirements(spec: ImageSpec) -> tuple[str, list[str], dict[str, str], dict[str, str]]:
    """(the install step, its pip args, generated files, copied files) for the spec's Python packages."""
    args: list[str] = []
    if spec.pip_index:
        args.append(f"--index-url {spec.pip_index}")
    args += [f"--extra-index-url {url}" for url in spec.pip_extra_index_url or ()]
    if spec.pip_extra_args:
        args.append(spec.pip_extra_args)
    mounts = " ".join(
        f"--mount=type=secret,id=secret_{i},target={dst}"
        for i, (_src, dst) in enumerate(spec.pip_secret_mounts or ())
    )
    copies: dict[str, str] = {}
    lock = os.path.basename(spec.requirements) if spec.requirements else ""
    if lock in ("uv.lock", "poetry.lock"):
        if spec.packages:
            raise ImageSpecError(
                f"ImageSpec {spec.name!r}: packages and a {lock} are mutually exclusive (as in flytekit). Put the "
                f"packages in the locked project, or use a requirements.txt."
            )
        assert spec.requirements is not None
        pyproject = os.path.join(os.path.dirname(spec.requirements), "pyproject.toml")
        if not os.path.exists(pyproject):
            raise ImageSpecError(
                f"ImageSpec {spec.name!r}: {lock} needs the pyproject.toml next to it ({pyproject}), which is missing."
            )
        copies = {lock: spec.requirements, "pyproject.toml": pyproject}
        if lock == "uv.lock":
            args += ["--locked", "--no-dev", "--no-install-project"]
            step = _UV_SYNC
        else:
            args += ["--no-root"]
            step = _POETRY_INSTALL
        return step.substitute(SECRET_MOUNTS=mounts, INSTALL_ARGS=" ".join(args)), args, {}, copies
    lines: list[str] = []
    if spec.requirements:
        try:
            lines += [line.strip() for line in Path(spec.requirements).read_text().splitlines()]
        except OSError as exc:
            raise ImageSpecError(
                f"ImageSpec requirements: cannot read {spec.requirements!r} ({exc})."
            ) from exc
    lines += list(spec.packages or ())
    args += ["--requirement", "requirements_uv.txt"]
    install = _UV_INSTALL.substitute(SECRET_MOUNTS=mounts, INSTALL_ARGS=" ".join(args))
    return install, args, {"requirements_uv.txt": "\n".join(lines)}, copies


def _copy_commands(spec: ImageSpec) -> tuple[str, dict[str, str]]:
    commands: list[str] = []
    copies: dict[str, str] = {}
    for src in spec.copy or ():
        path = Path(src)
        if path.is_absolute() or ".." in path.parts:
            raise ImageSpecError(
                f"ImageSpec copy: {src!r} is absolute or leaves the current directory; give paths relative to it "
                "(they are copied to /root/<path>)."
            )
        copies[path.as_posix()] = src
        target = path.as_posix() if path.is_dir() else path.parent.as_posix()
        commands.append(f"COPY --chown=flytekit {path.as_posix()} /root/{target}/")
    return "\n".join(commands), copies


def dockerfile_context(spec: ImageSpec) -> tuple[str, dict[str, str], dict[str, str]]:
    """(the Dockerfile, other generated files, copied files) for building ``spec`` as it is."""
    if spec.cuda is not None or spec.cudnn is not None:
        raise ImageSpecError(
            f"ImageSpec {spec.name!r}: cuda/cudnn are not used by the default builder (as in flytekit): GPU "
            "libraries from PyPI bring their own CUDA; otherwise start from a base_image with CUDA."
        )
    if spec.python_exec:
        if spec.conda_channels or spec.conda_packages:
            raise ImageSpecError(
                f"ImageSpec {spec.name!r}: conda packages need micromamba's Python, not python_exec."
            )
        python_install, python_exec, extra_path = "", spec.python_exec, ""
    else:
        python_install = _MICROMAMBA_PYTHON.substitute(
            PYTHON_VERSION=spec.python_version or _kernel_python(),
            CONDA_PACKAGES=" ".join(spec.conda_packages or ()),
            CHANNELS=" ".join(f"-c {c}" for c in spec.conda_channels or ()),
        )
        python_exec, extra_path = (
            "/opt/micromamba/envs/runtime/bin/python",
            "/opt/micromamba/envs/runtime/bin",
        )
    packages_step, _args, files, copies = _requirements(spec)
    copy_commands, copied = _copy_commands(spec)
    copies.update(copied)
    env = {"PYTHONPATH": "/root", **(spec.env or {})}
    base = (
        spec.base_image.image_name()
        if not isinstance(spec.base_image, (str, type(None)))
        else spec.base_image
    )
    config = spec.builder_config or {}
    text = _DOCKERFILE.substitute(
        UV_IMAGE=config.get("uv_image", UV_IMAGE),
        MICROMAMBA_IMAGE=config.get("micromamba_image", MICROMAMBA_IMAGE),
        BASE_IMAGE=base or DEFAULT_BASE_IMAGE,
        APT_INSTALL=_APT_INSTALL.substitute(PACKAGES=" ".join(spec.apt_packages))
        if spec.apt_packages
        else "",
        PYTHON_INSTALL=python_install,
        EXTRA_PATH=extra_path,
        PYTHON_EXEC=python_exec,
        ENV=" ".join(f"{k}={v}" for k, v in env.items()),
        PACKAGES_INSTALL=packages_step,
        ENTRYPOINT=f"ENTRYPOINT {json.dumps(spec.entrypoint)}" if spec.entrypoint is not None else "",
        COPY_COMMANDS=copy_commands,
        RUN_COMMANDS=" && ".join(spec.commands or ()),
        IMG_ID=f"_F_IMG_ID={spec.id}",
    )
    return text, files, copies


def _kernel_python() -> str:
    from flyte_nb.core.image_spec import kernel_python

    return kernel_python()


def dockerfile(spec: ImageSpec) -> str:
    """The Dockerfile docker buildx builds for the completed ``spec``."""
    spec.preflight()
    return dockerfile_context(spec.completed())[0]


def envd_config(spec: ImageSpec) -> str:
    """The ``build.envd`` envd builds for ``spec`` as it is (flytekit's envd plugin's layout)."""

    def quoted(items: list[str] | None) -> str:
        return ", ".join(json.dumps(i) for i in items or ())

    base = (
        spec.base_image.image_name()
        if not isinstance(spec.base_image, (str, type(None)))
        else spec.base_image
    )
    env = {"PYTHONPATH": "/root", "_F_IMG_ID": spec.id, **(spec.env or {})}
    lines = [
        "# syntax=v1",
        "",
        "def build():",
        f'    base(image="{base or DEFAULT_BASE_IMAGE}", dev=False)',
        f"    run(commands=[{quoted(spec.commands)}])",
        f"    install.python_packages(name=[{quoted(spec.packages)}])",
        f"    install.apt_packages(name=[{quoted(spec.apt_packages)}])",
        f"    runtime.environ(env={json.dumps(env)}, extra_path=['/root'])",
        f'    config.pip_index(url="{spec.pip_index or "https://pypi.org/simple"}")',
    ]
    if spec.conda_packages:
        lines += ["    install.conda(use_mamba=True)"]
        lines += [
            f"    install.conda_packages(name=[{quoted(spec.conda_packages)}], channel=[{quoted(spec.conda_channels)}])"
        ]
    if spec.requirements:
        lines += ['    install.python_packages(requirements="requirements.txt")']
    if spec.python_version:
        lines += [f'    install.python(version="{spec.python_version}")']
    return "\n".join(lines) + "\n"


def build_plan(spec: ImageSpec, builder: str | None = None, *, push: bool = True) -> BuildPlan:
    """What building ``spec`` with ``builder`` (default: the spec's, else ``"default"``) would do."""
    spec.preflight()
    full = spec.completed()
    name = builder or spec.builder or "default"
    if name not in BUILDERS:
        raise ImageBuildError(
            f"ImageSpec builder: expected one of {', '.join(BUILDERS)}, got {name!r}. flyte_nb builds with docker "
            "buildx ('default') or envd."
        )
    image = full.image_name()
    if name == "envd":
        copies = {"requirements.txt": full.requirements} if full.requirements else {}
        command = ["envd", "build", "--path", "{context}", "--platform", str(full.platform)]
        if full.registry:
            command += ["--output", f"type=image,name={image},push={'true' if push else 'false'}"]
        return BuildPlan(name, image, command, {"build.envd": envd_config(full)}, copies, spec.additions)
    text, files, copies = dockerfile_context(full)
    command = ["docker", "buildx", "build", "--tag", image, "--platform", str(full.platform)]
    for i, (src, _dst) in enumerate(full.pip_secret_mounts or ()):
        command += ["--secret", f"id=secret_{i},src={src}"]
    if full.registry and push:
        command.append("--push")
    else:
        command.append("--load")
    command.append("{context}")
    return BuildPlan(name, image, command, {"Dockerfile": text, **files}, copies, spec.additions)


# -- builders ----------------------------------------------------------------------------------------


def _probe(argv: list[str]) -> str | None:
    """``None`` when ``argv`` succeeds, else why not (its error output, shortened)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"`{' '.join(argv)}` did not answer within {PROBE_TIMEOUT:g}s"
    except OSError as exc:
        return f"`{' '.join(argv)}` could not run ({exc.strerror or exc})"
    if done.returncode == 0:
        return None
    detail = " ".join((done.stderr or done.stdout).split())[:300]
    return f"`{' '.join(argv)}` failed (exit code {done.returncode}): {detail}"


def detect_builders() -> dict[str, str | None]:
    """Builder name -> ``None`` when it can build here, else exactly what is missing."""
    found: dict[str, str | None] = {}
    if shutil.which("docker") is None:
        found["default"] = (
            "docker is not installed (no `docker` on PATH); install Docker with the buildx plugin"
        )
    elif (why := _probe(["docker", "buildx", "version"])) is not None:
        found["default"] = f"the docker buildx plugin is missing: {why}; install docker-buildx"
    elif (why := _probe(["docker", "info", "--format", "{{.ServerVersion}}"])) is not None:
        found["default"] = f"no Docker daemon is reachable: {why}; start Docker (or set DOCKER_HOST)"
    else:
        found["default"] = None
    if shutil.which("envd") is None:
        found["envd"] = "envd is not installed (no `envd` on PATH); pip install envd"
    else:
        found["envd"] = _probe(["envd", "version"])
    return found


def _pick(spec: ImageSpec, builder: str | None) -> str:
    wanted = builder or spec.builder
    found = detect_builders()
    if wanted is not None:
        if wanted not in found:
            raise ImageBuildError(
                f"ImageSpec builder: expected one of {', '.join(BUILDERS)}, got {wanted!r}."
            )
        if found[wanted] is not None:
            raise ImageBuildError(f"Cannot build image {spec.name!r} with {wanted!r}: {found[wanted]}.")
        return wanted
    for name in BUILDERS:
        if found[name] is None:
            return name
    raise ImageBuildError(
        f"Cannot build image {spec.name!r}: no image builder is available. docker buildx (flytekit's default): "
        f"{found['default']}. envd: {found['envd']}. Alternatively build the Dockerfile from "
        "spec.dockerfile() elsewhere and push it as spec.completed().image_name()."
    )


def build(
    spec: ImageSpec,
    builder: str | None = None,
    *,
    push: bool = True,
    timeout: float = 3600.0,
    output: Callable[[str], None] = print,
) -> str:
    """Build the completed ``spec`` with an installed builder; return the image name.

    Raises
    ------
    ImageBuildError
        No builder is available, or the build failed or timed out (its output tail is in the message).
    """
    name = _pick(spec, builder)
    plan = build_plan(spec, builder=name, push=push)
    with tempfile.TemporaryDirectory(prefix="flyte-nb-image-") as tmp:
        context = Path(tmp)
        _fill_context(context, plan.files, plan.copies)
        command = [str(context) if part == "{context}" else part for part in plan.command]
        output("Run command: " + " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ImageBuildError(
                f"Building image {plan.image} took longer than {timeout:g}s and was stopped."
            ) from None
        except OSError as exc:
            raise ImageBuildError(
                f"Building image {plan.image}: {command[0]} could not run ({exc})."
            ) from exc
        if done.stdout:
            output(done.stdout)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout)[-3000:]
            raise ImageBuildError(
                f"Building image {plan.image} with {name} failed (exit code {done.returncode}):\n{tail}"
            )
    return plan.image


def _fill_context(context: Path, files: Mapping[str, str], copies: Mapping[str, str]) -> None:
    for name, content in files.items():
        (context / name).write_text(content)
    for name, source in copies.items():
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif os.path.exists(source):
            shutil.copy(source, target)
        else:
            raise ImageSpecError(f"ImageSpec: {source!r} is to be copied into the image but does not exist.")
