"""Value objects a task is defined and compiled with: resources, metadata, serialization settings.

All of them are immutable dataclasses: they are passed down explicitly, never read from ambient state.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Union

from flyteidl.core import literals_pb2, tasks_pb2
from google.protobuf import duration_pb2, wrappers_pb2

from flyte_nb._version import __version__
from flyte_nb.errors import TaskDefinitionError

if TYPE_CHECKING:
    from flyte_nb.core.image_spec import ImageSpec

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_PROJECT",
    "MAX_RETRIES",
    "MAX_TIMEOUT_SECONDS",
    "ImageConfig",
    "Resources",
    "SerializationSettings",
    "TaskMetadata",
    "default_image",
    "parse_quantity",
]

DEFAULT_PROJECT = "flytesnacks"
DEFAULT_DOMAIN = "development"

#: ``RetryStrategy.retries`` is a uint32, and propeller computes the attempts as ``retries + 1`` in that
#: type (flytepropeller's ``computeRetryStrategy``): 2**32 - 1 would wrap to zero attempts.
MAX_RETRIES = 2**32 - 2
#: The largest ``google.protobuf.Duration`` (10,000 years); propeller refuses a longer task timeout.
MAX_TIMEOUT_SECONDS = 315_576_000_000

Quantity = Union[str, int, float]  # noqa: UP007 - a runtime alias; `|` needs 3.10 objects


def default_image() -> str:
    """The container image a task runs in when none is configured.

    ``$FLYTE_NB_IMAGE`` when set; otherwise ``flyte-nb:py<major>.<minor>-<version>``, the image built from
    this project's instructions (README, "Running on a cluster"). It must contain flyte_nb and the same
    Python minor version as the kernel that pickles the task.
    """
    env = os.environ.get("FLYTE_NB_IMAGE")
    if env:
        return env
    return f"flyte-nb:py{sys.version_info.major}.{sys.version_info.minor}-{__version__}"


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE]?)")


def parse_quantity(value: object) -> Decimal:
    """Parse a Kubernetes resource quantity (``"500m"``, ``"2Gi"``, ``"1e3"``, ``4``) into a number.

    Raises
    ------
    TaskDefinitionError
        ``value`` is not a quantity Kubernetes (and so FlyteAdmin) accepts.
    """
    m = _QUANTITY.fullmatch(str(value).strip())
    if isinstance(value, bool) or m is None:
        raise TaskDefinitionError(
            f"expected a Kubernetes quantity such as '500m', '2', '4Gi' or 8, got {value!r} "
            f"({type(value).__name__}). Fix the value."
        )
    number, suffix = Decimal(m.group(1)), m.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * (Decimal(10) ** int(suffix[1:]))


@dataclass(frozen=True)
class Resources:
    """Kubernetes resource quantities for a task (``cpu="1"``, ``mem="2Gi"``, ``gpu=1``…).

    The values are checked when a task is defined with them (:meth:`quantities`), not here, so a
    ``Resources`` can be built before it is known whether it holds requests or limits.
    """

    cpu: Quantity | None = None
    mem: Quantity | None = None
    gpu: Quantity | None = None
    ephemeral_storage: Quantity | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("cpu", "mem", "gpu", "ephemeral_storage")

    def quantities(self) -> dict[str, Decimal]:
        """The set fields as numbers (``mem="2Gi"`` → ``2147483648``).

        Raises
        ------
        TaskDefinitionError
            A field is not a Kubernetes quantity, is negative, or asks for part of a GPU; the message
            starts with the field's name.
        """
        parsed: dict[str, Decimal] = {}
        for name in self.FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            try:
                number = parse_quantity(value)
            except TaskDefinitionError as exc:
                raise TaskDefinitionError(f"{name}: {exc}") from None
            if number < 0:
                raise TaskDefinitionError(f"{name}: expected a non-negative quantity, got {value!r}.")
            if name == "gpu" and number != number.to_integral_value():
                raise TaskDefinitionError(
                    f"gpu: expected a whole number of GPUs, got {number}. Use e.g. gpu=1."
                )
            parsed[name] = number
        return parsed

    def entries(self) -> list[tasks_pb2.Resources.ResourceEntry]:
        """The non-empty entries as flyteidl ``ResourceEntry`` messages, in flytekit's order."""
        names = (
            (self.cpu, tasks_pb2.Resources.CPU),
            (self.mem, tasks_pb2.Resources.MEMORY),
            (self.gpu, tasks_pb2.Resources.GPU),
            (self.ephemeral_storage, tasks_pb2.Resources.EPHEMERAL_STORAGE),
        )
        return [
            tasks_pb2.Resources.ResourceEntry(name=name, value=str(value))
            for value, name in names
            if value is not None
        ]


def _as_timedelta(timeout: datetime.timedelta | int | float | None) -> datetime.timedelta | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, datetime.timedelta)):
        raise TaskDefinitionError(
            f"timeout: expected seconds (int/float) or a datetime.timedelta, got {timeout!r} "
            f"({type(timeout).__name__}). Pass e.g. timeout=600 or timeout=timedelta(minutes=10)."
        )
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    # NaN fails every comparison, so it is refused here too, before timedelta() raises its own error.
    if not 0 <= seconds <= MAX_TIMEOUT_SECONDS:
        raise TaskDefinitionError(
            f"timeout: expected a duration from 0 to {MAX_TIMEOUT_SECONDS:,} s (10,000 years, the longest "
            f"Flyte stores), got {timeout!r}. Pass e.g. timeout=600, or leave it unset for no timeout."
        )
    return timeout if isinstance(timeout, datetime.timedelta) else datetime.timedelta(seconds=timeout)


@dataclass(frozen=True)
class TaskMetadata:
    """Cluster-side behaviour of a task: caching, retries, timeout, interruptibility…

    Mirrors flytekit's ``TaskMetadata``; :meth:`to_flyte_idl` gives the ``tasks_pb2.TaskMetadata`` that
    goes into the ``TaskTemplate`` (with ``retries`` always present, as Flyte needs).
    """

    cache: bool = False
    cache_version: str = ""
    cache_serialize: bool = False
    retries: int = 0
    interruptible: bool | None = None
    deprecated: str = ""
    timeout: datetime.timedelta | int | float | None = None
    pod_template_name: str | None = None
    cache_ignore_input_vars: tuple[str, ...] = ()
    generates_deck: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout", _as_timedelta(self.timeout))
        object.__setattr__(self, "cache_ignore_input_vars", tuple(self.cache_ignore_input_vars))
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise TaskDefinitionError(
                f"retries: expected a non-negative int, got {self.retries!r} ({type(self.retries).__name__})."
            )
        if self.retries > MAX_RETRIES:
            raise TaskDefinitionError(
                f"retries: expected at most {MAX_RETRIES:,}, got {self.retries:,}. Flyte stores retries as a "
                "32-bit count (RetryStrategy.retries); pass a smaller number."
            )
        if self.cache_serialize and not self.cache:
            raise TaskDefinitionError("cache_serialize=True needs cache=True as well.")
        if self.cache_ignore_input_vars and not self.cache:
            raise TaskDefinitionError("cache_ignore_input_vars needs cache=True as well.")

    @property
    def timeout_delta(self) -> datetime.timedelta | None:
        """The timeout as a ``timedelta`` (``None`` when unset)."""
        assert not isinstance(self.timeout, (int, float))
        return self.timeout

    def to_flyte_idl(self) -> tasks_pb2.TaskMetadata:
        """The flyteidl ``TaskMetadata`` (runtime FLYTE_SDK / python / flyte_nb's version)."""
        md = tasks_pb2.TaskMetadata(
            discoverable=self.cache,
            runtime=tasks_pb2.RuntimeMetadata(
                type=tasks_pb2.RuntimeMetadata.FLYTE_SDK, version=__version__, flavor="python"
            ),
            retries=_retry_strategy(self.retries),
            discovery_version=self.cache_version,
            deprecated_error_message=self.deprecated,
            cache_serializable=self.cache_serialize,
            pod_template_name=self.pod_template_name or "",
            cache_ignore_input_vars=list(self.cache_ignore_input_vars),
            generates_deck=wrappers_pb2.BoolValue(value=self.generates_deck),
            metadata=tasks_pb2.K8sObjectMetadata(),
        )
        td = self.timeout_delta
        if td is not None:
            md.timeout.CopyFrom(_duration(td))
        if self.interruptible is not None:
            md.interruptible = self.interruptible
        return md


def _retry_strategy(retries: int) -> literals_pb2.RetryStrategy:
    return literals_pb2.RetryStrategy(retries=retries)


def _duration(td: datetime.timedelta) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromTimedelta(td)
    return d


@dataclass(frozen=True)
class ImageConfig:
    """Which container image each task uses.

    ``default_image`` is used unless a task names one of ``images`` (by key) or a full image reference.
    """

    default_image: str = field(default_factory=default_image)
    images: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def auto(cls, img_name: str | None = None) -> ImageConfig:
        """An ``ImageConfig`` whose default is ``img_name`` (or :func:`default_image`)."""
        return cls(default_image=img_name or default_image())

    def find(self, name_or_ref: str | ImageSpec | None) -> str:
        """Resolve a task's ``container_image`` (None, a name in ``images``, a reference, or an
        :class:`~flyte_nb.ImageSpec`, which becomes its completed image name)."""
        if name_or_ref is None:
            return self.default_image
        if not isinstance(name_or_ref, str):
            from flyte_nb.core.image_spec import image_reference

            return str(image_reference(name_or_ref))
        return self.images.get(name_or_ref, name_or_ref)


@dataclass(frozen=True)
class SerializationSettings:
    """What a template is compiled against.

    Parameters
    ----------
    project, domain:
        Where the task is registered.
    version:
        The task version. ``None`` means the content hash of the task (stable across re-runs of an
        unchanged notebook cell; see :func:`flyte_nb.serialize_task`).
    image:
        An image reference, an :class:`ImageConfig`, an :class:`~flyte_nb.ImageSpec` (its completed image;
        refused at once when it pins another Python than the kernel's), or ``None`` for
        :func:`default_image`.
    env:
        Environment variables added to every task's container.
    payload_uri:
        Where the task's pickled payload is (or will be) stored, for resolvers that ship one (the
        notebook resolver). ``None`` means a file next to the working directory of the container, which
        is how the process sandbox runs it.
    """

    project: str = DEFAULT_PROJECT
    domain: str = DEFAULT_DOMAIN
    version: str | None = None
    image: str | ImageConfig | ImageSpec | None = None
    env: Mapping[str, str] | None = None
    payload_uri: str | None = None

    def __post_init__(self) -> None:
        if self.image is not None and not isinstance(self.image, (str, ImageConfig)):
            from flyte_nb.core.image_spec import ImageSpec

            if not isinstance(self.image, ImageSpec):
                raise TaskDefinitionError(
                    f"SerializationSettings image: expected an image reference (str), an ImageConfig or an "
                    f"ImageSpec, got {self.image!r} ({type(self.image).__name__})."
                )
            self.image.preflight()  # before anything is compiled against it

    @property
    def image_config(self) -> ImageConfig:
        """The settings' image as an :class:`ImageConfig`."""
        if isinstance(self.image, ImageConfig):
            return self.image
        if self.image is None or isinstance(self.image, str):
            return ImageConfig.auto(self.image)
        from flyte_nb.core.image_spec import image_reference

        return ImageConfig.auto(str(image_reference(self.image)))

    def with_(self, **changes: object) -> SerializationSettings:
        """A copy with some fields changed."""
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]
