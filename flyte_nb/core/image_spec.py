"""``ImageSpec``: a task's container image described by its contents, named exactly as flytekit names it.

The fields are flytekit 1.16's, and so is the name: ``<registry>/<name>:<tag>`` where the tag is a hash
of the spec's fields (:attr:`ImageSpec.id`: md5 of the non-empty fields, ``base_image`` replaced by its
own image name, the requirements file by the sha1 of its contents, ``copy`` by the md5 of the files).
Because the computation is the same, an image built by flytekit from a spec is found by flyte_nb for the
same spec, and the other way round.

A flyte_nb task runs ``flyte-nb-execute`` from a payload pickled by this kernel, so its image needs
flyte_nb itself and the kernel's Python minor version. Wherever a spec is used as an image
(``@task(container_image=spec)``, ``%%flyte_task --image spec``, ``Remote(image=spec)``,
``SerializationSettings(image=spec)``), flyte_nb therefore uses the *completed* spec
(:meth:`ImageSpec.completed`: ``flyte-nb==<version>`` and ``python_version`` added when missing; what was
added is :attr:`ImageSpec.additions`), and refuses a spec pinning another Python minor version before
anything is built or submitted (:meth:`ImageSpec.preflight`). The image name is computed from the
completed spec, as flytekit would compute it for that spec.

Building (:mod:`flyte_nb.core.image_build`): :meth:`ImageSpec.build` uses docker buildx (flytekit's default
builder) or envd where it is installed, and :meth:`ImageSpec.dockerfile` shows what it would build.
"""

from __future__ import annotations

import base64
import copy as _copy
import dataclasses
import enum
import hashlib
import os
import pathlib
import platform as _platform
import re
import stat
import sys
from dataclasses import asdict, dataclass
from typing import Any

from flyte_nb._version import __version__
from flyte_nb.errors import ImageSpecError

__all__ = ["FLYTE_NB_PACKAGE", "CopyFileDetection", "ImageSpec", "image_reference", "kernel_python"]

FLYTE_NB_PACKAGE = "flyte-nb"
_F_IMG_ID = "_F_IMG_ID"  # set in a built image to the spec's id (ImageSpec.is_container)
_EXCLUDED_FROM_ID = ("pip_secret_mounts", "builder", "runtime_packages")
_STR_LISTS = (
    "packages",
    "conda_channels",
    "conda_packages",
    "apt_packages",
    "pip_extra_index_url",
    "entrypoint",
    "commands",
    "runtime_packages",
)
_REGISTRY_NAME = re.compile(r"^(localhost:\d{1,5}|([a-z\d\._-]+)(:\d{1,5})?)(/[\w\.-]+)*$")
_PACKAGE_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_LOCK_FILES = ("uv.lock", "poetry.lock")


class CopyFileDetection(enum.Enum):
    """Which local source files an image gets (flytekit's enum; its repr is part of the spec's hash)."""

    LOADED_MODULES = 1
    ALL = 2
    NO_COPY = 3


def kernel_python() -> str:
    """This interpreter's ``major.minor`` (what a task pickled here needs in its image)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names_flyte_nb(requirement: str) -> bool:
    m = _PACKAGE_NAME.match(requirement)
    return m is not None and _normalized(m.group(1)) == FLYTE_NB_PACKAGE


@dataclass
class ImageSpec:
    """A container image described by what it contains (flytekit's ``ImageSpec``, same fields and names).

    The most used fields: ``name`` (default ``"flytekit"``, as in flytekit), ``registry``,
    ``base_image`` (a reference or another ``ImageSpec``), ``python_version``, ``packages``,
    ``requirements`` (a requirements.txt, ``uv.lock`` or ``poetry.lock``), ``apt_packages``, ``env``,
    ``commands``, ``copy`` (files copied to ``/root``), ``platform`` (default ``linux/amd64``) and
    ``builder``. ``source_root`` is not supported: a flyte_nb task's code travels in its payload.

    Examples
    --------
    >>> spec = ImageSpec(registry="ghcr.io/me", packages=["pandas"], python_version="3.11")
    >>> spec.image_name().startswith("ghcr.io/me/flytekit:")
    True
    """

    name: str = "flytekit"
    python_version: str | None = None
    builder: str | None = None
    source_root: str | None = None
    env: dict[str, str] | None = None
    registry: str | None = None
    packages: list[str] | None = None
    conda_packages: list[str] | None = None
    conda_channels: list[str] | None = None
    requirements: str | None = None
    apt_packages: list[str] | None = None
    cuda: str | None = None
    cudnn: str | None = None
    base_image: str | ImageSpec | None = None
    platform: str | None = None
    pip_index: str | None = None
    pip_extra_index_url: list[str] | None = None
    pip_secret_mounts: list[tuple[str, str]] | None = None
    pip_extra_args: str | None = None
    registry_config: str | None = None
    entrypoint: list[str] | None = None
    commands: list[str] | None = None
    tag_format: str | None = None
    source_copy_mode: CopyFileDetection | None = None
    copy: list[str] | None = None
    python_exec: str | None = None
    runtime_packages: list[str] | None = None
    builder_options: dict[str, Any] | None = None
    builder_config: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ImageSpecError(f"ImageSpec name: expected a non-empty str, got {self.name!r}.")
        self.name = self.name.lower()
        self._is_force_push = False
        if self.registry:
            self.registry = self.registry.lower()
            if not _REGISTRY_NAME.match(self.registry):
                raise ImageSpecError(
                    f"ImageSpec registry: expected a container registry such as 'localhost:30000', "
                    f"'ghcr.io/username' or 'docker.io/username', got {self.registry!r}."
                )
        if self.platform is None:
            arm = _platform.machine().lower() in ("arm64", "aarch64")
            local = bool(self.registry) and str(self.registry).startswith("localhost:")
            self.platform = "linux/arm64" if (local and arm) else "linux/amd64"
        for field_name in _STR_LISTS:
            value = getattr(self, field_name)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ImageSpecError(
                    f"ImageSpec {field_name}: expected a list of str or None (as flytekit), got {value!r} "
                    f"({type(value).__name__}). Pass e.g. {field_name}=['item']."
                )
        mounts = self.pip_secret_mounts
        if mounts is not None and not (
            isinstance(mounts, list)
            and all(
                isinstance(m, tuple) and len(m) == 2 and all(isinstance(x, str) for x in m) for m in mounts
            )
        ):
            raise ImageSpecError(
                f"ImageSpec pip_secret_mounts: expected a list of (source, mount path) str tuples, got {mounts!r}."
            )
        if self.builder_options is not None and not isinstance(self.builder_options, dict):
            raise ImageSpecError(
                f"ImageSpec builder_options: expected a dict or None, got {type(self.builder_options).__name__}."
            )
        if self.source_root is not None or self.source_copy_mode not in (None, CopyFileDetection.NO_COPY):
            raise ImageSpecError(
                f"ImageSpec source_root / source_copy_mode: got source_root={self.source_root!r}, "
                f"source_copy_mode={self.source_copy_mode!r}. They copy a project's source files into the "
                "image; a flyte_nb task's code travels in its payload instead. Use copy=[...] for data files."
            )

    # -- flytekit's identity ---------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """flytekit's id of the spec: URL-safe base64 md5 of its non-empty fields (builder, runtime
        packages and secret mounts left out), without ``=`` padding."""
        fields = asdict(
            self,
            dict_factory=lambda items: {
                k: v for k, v in items if v is not None and k not in _EXCLUDED_FROM_ID
            },
        )
        digest = hashlib.md5(str(fields).encode("utf-8")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def tag(self) -> str:
        """The image tag: :attr:`id` of the spec with its references resolved (``-`` → ``_``), or
        ``tag_format`` applied to it."""
        spec = _copy.deepcopy(self)
        if isinstance(spec.base_image, ImageSpec):
            spec = dataclasses.replace(spec, base_image=spec.base_image.image_name())
        if self.copy:
            spec = dataclasses.replace(spec, copy=_copy_digest(self.copy))  # type: ignore[arg-type]
        if spec.requirements:
            try:
                content = pathlib.Path(spec.requirements).read_bytes()
            except OSError as exc:
                raise ImageSpecError(
                    f"ImageSpec requirements: cannot read {spec.requirements!r} ({exc.strerror or exc}); its "
                    "content is part of the image tag. Give an existing file."
                ) from exc
            spec = dataclasses.replace(spec, requirements=hashlib.sha1(content.strip()).hexdigest())
        spec = dataclasses.replace(
            spec, registry_config=None
        )  # the registry config does not change the image
        tag = spec.id.replace("-", "_")
        return self.tag_format.format(spec_hash=tag) if self.tag_format else tag

    def image_name(self) -> str:
        """The fully qualified image name, ``[<registry>/]<name>:<tag>`` (flytekit's)."""
        name = f"{self.name}:{self.tag}"
        return f"{self.registry}/{name}" if self.registry else name

    def is_container(self) -> bool:
        """Whether this code runs in an image built from this spec, as flytekit decides it: true outside
        any task run (so module-level imports guarded by it happen), else whether the image's
        ``_F_IMG_ID`` is this spec's (or its completed spec's) id."""
        from flyte_nb.core import context

        if context._CURRENT.get() is None:  # no task is running: flytekit's "not in an execution"
            return True
        built = os.environ.get(_F_IMG_ID)
        return built in (self.id, self.completed().id)

    # -- flytekit's builders ---------------------------------------------------------------------------

    def _update_attribute(self, attr: str, values: str | list[str] | dict[str, Any]) -> ImageSpec:
        current = _copy.deepcopy(getattr(self, attr))
        if current is None:
            current = {} if isinstance(values, dict) else []
        if isinstance(values, str):
            current.append(values)
        elif isinstance(values, list):
            current.extend(values)
        elif isinstance(values, dict):
            current.update(values)
        return dataclasses.replace(self, **{attr: current})

    def with_commands(self, commands: str | list[str]) -> ImageSpec:
        """A new spec with more build commands."""
        return self._update_attribute("commands", commands)

    def with_packages(self, packages: str | list[str]) -> ImageSpec:
        """A new spec with more Python packages."""
        return self._update_attribute("packages", packages)

    def with_apt_packages(self, apt_packages: str | list[str]) -> ImageSpec:
        """A new spec with more apt packages."""
        return self._update_attribute("apt_packages", apt_packages)

    def with_copy(self, src: str | list[str]) -> ImageSpec:
        """A new spec that also copies ``src`` into the image."""
        return self._update_attribute("copy", src)

    def with_runtime_packages(self, runtime_packages: list[str]) -> ImageSpec:
        """A new spec with packages installed when the task starts (needs pip in the image)."""
        return self._update_attribute("runtime_packages", runtime_packages)

    def with_builder_options(self, builder_options: dict[str, Any]) -> ImageSpec:
        """A new spec with more builder options."""
        return self._update_attribute("builder_options", builder_options)

    def force_push(self) -> ImageSpec:
        """A copy that :meth:`build` pushes even if the image exists."""
        pushed = _copy.deepcopy(self)
        pushed._is_force_push = True
        return pushed

    @classmethod
    def from_env(cls, *, pinned_packages: list[str] | None = None, **kwargs: Any) -> ImageSpec:
        """A spec with this interpreter's Python version and ``pinned_packages`` at their installed versions."""
        from importlib.metadata import version

        if kwargs.get("python_version") is not None:
            raise ImageSpecError(
                "ImageSpec.from_env: python_version is taken from this interpreter; do not pass it."
            )
        kwargs.pop("python_version", None)
        packages = list(kwargs.pop("packages", None) or [])
        packages += [f"{p}=={version(p)}" for p in pinned_packages or []]
        return cls(packages=packages, python_version=kernel_python(), **kwargs)

    # -- flyte_nb: what a notebook payload needs --------------------------------------------------------

    @property
    def additions(self) -> dict[str, Any]:
        """What :meth:`completed` adds: ``packages`` (``flyte-nb==<version>``) and ``python_version``
        (this kernel's ``major.minor``) when the spec does not have them."""
        added: dict[str, Any] = {}
        if not self._has_flyte_nb():
            added["packages"] = [f"{FLYTE_NB_PACKAGE}=={__version__}"]
        if self.python_version is None:
            added["python_version"] = kernel_python()
        return added

    def _has_flyte_nb(self) -> bool:
        if any(_names_flyte_nb(p) for p in self.packages or ()):
            return True
        if not self.requirements:
            return False
        try:
            text = pathlib.Path(self.requirements).read_text()
        except OSError:
            return False  # reported by preflight / tag, which need the file anyway
        if os.path.basename(self.requirements) in _LOCK_FILES:
            return (
                re.search(r'^name\s*=\s*"flyte[-_.]nb"\s*$', text, re.MULTILINE | re.IGNORECASE) is not None
            )
        return any(_names_flyte_nb(line) for line in text.splitlines() if not line.lstrip().startswith("#"))

    def completed(self) -> ImageSpec:
        """This spec with :attr:`additions` applied: the image a flyte_nb task can run in."""
        added = self.additions
        if not added:
            return self
        changes = dict(added)
        if "packages" in changes:
            changes["packages"] = [*(self.packages or []), *changes["packages"]]
        return dataclasses.replace(self, **changes)

    def preflight(self) -> None:
        """Refuse, before anything is built or submitted, a spec whose image cannot run this kernel's tasks.

        Raises
        ------
        ImageSpecError
            The spec (or its ``base_image`` spec) pins another Python minor version than this kernel's, or
            installs from a lock file that lacks flyte-nb (packages cannot be added to a lock file).
        """
        for spec, role in ((self, "ImageSpec"), (self.base_image, "Its base_image ImageSpec")):
            if not isinstance(spec, ImageSpec) or spec.python_version is None:
                continue
            m = re.match(r"^\s*(\d+)\.(\d+)", str(spec.python_version))
            pinned = f"{m.group(1)}.{m.group(2)}" if m else str(spec.python_version)
            if pinned != kernel_python():
                raise ImageSpecError(
                    f"{role} {spec.name!r} pins Python {spec.python_version}, but this kernel runs Python "
                    f"{sys.version.split()[0]}: a task pickled here loads only under Python {kernel_python()}. "
                    f"Set python_version='{kernel_python()}' (or leave it unset), or run the notebook under "
                    f"Python {pinned}."
                )
        if (
            self.requirements
            and os.path.basename(self.requirements) in _LOCK_FILES
            and not self._has_flyte_nb()
        ):
            raise ImageSpecError(
                f"ImageSpec {self.name!r} installs from {self.requirements}, which does not lock flyte-nb, and "
                f"packages cannot be added next to a lock file. Add {FLYTE_NB_PACKAGE}=={__version__} to that "
                "project and lock it again."
            )

    # -- building --------------------------------------------------------------------------------------

    def dockerfile(self) -> str:
        """The Dockerfile the default builder (docker buildx) would build for the completed spec."""
        from flyte_nb.core.image_build import dockerfile

        return dockerfile(self)

    def build_plan(self, builder: str | None = None, *, push: bool = True) -> Any:
        """What :meth:`build` would do: the builder, the command and the files of the build context."""
        from flyte_nb.core.image_build import build_plan

        return build_plan(self, builder=builder, push=push)

    def build(self, builder: str | None = None, *, push: bool = True, timeout: float = 3600.0) -> str:
        """Build (and with a registry, push) the completed spec's image; return its name.

        Uses ``builder`` (``"default"``: docker buildx, as flytekit; ``"envd"``), else the spec's
        ``builder``, else the first of them that is installed.

        Raises
        ------
        ImageBuildError
            No builder is available (the message says exactly what is missing), or the build failed.
        """
        from flyte_nb.core.image_build import build

        return build(self, builder=builder, push=push, timeout=timeout)


def image_reference(image: Any) -> Any:
    """An image as a reference: an :class:`ImageSpec` becomes its completed image name (after the
    :meth:`~ImageSpec.preflight`); anything else is returned as is."""
    if isinstance(image, ImageSpec):
        image.preflight()
        return image.completed().image_name()
    return image


# flytekit's fast-registration digest of `copy` (flytekit/tools/fast_registration.py compute_digest):
# md5 over each file's bytes then its relative path without separators; directories walked as os.walk
# yields them, files sorted. Reproduced exactly, walk order included, so the tags agree.
def _copy_digest(sources: list[str]) -> str:
    hasher = hashlib.md5()

    def add(path: str, rel: str) -> None:
        if not os.path.exists(path) or stat.S_ISSOCK(os.stat(path).st_mode):
            return
        with open(path, "rb") as fh:
            while chunk := fh.read(65536):
                hasher.update(chunk)
        hasher.update("".join(rel.split(os.sep)).encode("utf-8"))

    for src in sources:
        if os.path.isdir(src):
            for root, _dirs, files in os.walk(src, topdown=True):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    add(full, os.path.relpath(full, src))
        else:
            add(src, os.path.basename(src))
    return hasher.hexdigest()
