"""The notebook task resolver: ships a task defined in a notebook (or ``__main__``) as a pickle payload.

A container cannot import a notebook, so the task object itself travels, pickled with cloudpickle: its
function *by value*, together with the notebook globals it reads, the helper functions, classes, closures
and lambdas it uses, and modules imported from the notebook's own directory (the working directory).
Installed packages are pickled *by reference*: the container imports them, so the image must have them.

**Payload format.** ``gzip`` (``mtime=0``, no file name, so equal content gives equal bytes) of::

    flyte-nb-payload\\n
    {"format": 1, "python": "3.11.7", "cloudpickle": "3.1.2", "flyte_nb": "0.1.0", "task": "train", …}\\n
    <cloudpickle of {"task": <the task object>, "sources": {"<notebook: train>": <its cell lines>, …}}>

The sources are registered with :mod:`linecache` when the task is loaded, so that a traceback from the
container shows the user's own lines.

The JSON header is readable without unpickling anything, so a mismatch is reported clearly instead of as
an obscure unpickling error. The loader args pin the payload's location and sha256:
``payload <uri or path> sha256 <hex> task-name <name>``. A relative path is read from the container's
working directory (how the process sandbox runs); other schemes are read through
:mod:`flyte_nb.core.uris`.

**Limits (as cloudpickle's own):** a payload loads only on the same Python *minor* version that pickled
it (the bytecode differs between minor versions), with the packages it references installed, ideally at
the same versions. It is a transport format, not a storage format: do not keep payloads as archives.
Loading a payload runs code from it: only load payloads whose digest you trust (the loader args pin it).

**Versions.** A payload's bytes (and so :meth:`NotebookTaskResolver.content_hash` and the task version)
do not change when an unchanged cell is re-run or the kernel restarted; they change when the function,
anything it captures or the task's definition changes (see :mod:`flyte_nb.core.pickling`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import sys
import threading
import types
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudpickle

from flyte_nb._version import __version__
from flyte_nb.core.resolver import Payload, TaskResolverMixin
from flyte_nb.errors import (
    PayloadDigestError,
    PayloadTooLargeError,
    PythonVersionMismatchError,
    ResolverError,
)

if TYPE_CHECKING:
    from flyte_nb.core.manifest import Manifest
    from flyte_nb.core.settings import SerializationSettings
    from flyte_nb.core.task import Task

__all__ = ["NotebookTaskResolver", "PayloadHeader", "notebook_task_resolver"]

MAGIC = b"flyte-nb-payload\n"
FORMAT_VERSION = 1
DEFAULT_SIZE_LIMIT = 100 * 1000 * 1000
DEFAULT_LARGE_GLOBAL = 5 * 1000 * 1000
_LOCATION = "flyte_nb.core.notebook_resolver.notebook_task_resolver"
_LOADER_USAGE = "payload <uri or path> sha256 <hex digest> [task-name <name>]"


def _python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class PayloadHeader:
    """The metadata at the start of a payload, readable without unpickling it."""

    format: int
    python: str
    cloudpickle: str
    flyte_nb: str
    task: str

    def to_json(self) -> bytes:
        data = {
            "format": self.format,
            "python": self.python,
            "cloudpickle": self.cloudpickle,
            "flyte_nb": self.flyte_nb,
            "task": self.task,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> PayloadHeader:
        try:
            data = json.loads(raw)
            return cls(
                format=int(data["format"]),
                python=str(data["python"]),
                cloudpickle=str(data["cloudpickle"]),
                flyte_nb=str(data["flyte_nb"]),
                task=str(data["task"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ResolverError(
                f"Task payload {where}: its header is not valid ({exc}); expected a JSON object with "
                "format, python, cloudpickle, flyte_nb and task. Re-create the payload from the notebook."
            ) from exc


def encode_payload(header: PayloadHeader, pickled: bytes) -> bytes:
    """gzip (deterministic) of magic + JSON header + pickle."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
        gz.write(MAGIC)
        gz.write(header.to_json() + b"\n")
        gz.write(pickled)
    return buffer.getvalue()


def decode_payload(data: bytes, where: str) -> tuple[PayloadHeader, bytes]:
    """Split a payload into its header and its pickle (nothing is unpickled)."""
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise ResolverError(
            f"Task payload {where}: expected a gzip file written by flyte_nb, got {len(data)} bytes that "
            f"are not gzip ({exc}). Check that the loader args point at the task's payload."
        ) from exc
    if not raw.startswith(MAGIC):
        raise ResolverError(
            f"Task payload {where}: expected a flyte_nb payload (starting with {MAGIC!r}), got "
            f"{raw[:20]!r}. A flytekit pkl.gz cannot be loaded by flyte_nb: re-register the task with flyte_nb."
        )
    header_line, _, pickled = raw[len(MAGIC) :].partition(b"\n")
    return PayloadHeader.from_json(header_line, where), pickled


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80] or "task"


class NotebookTaskResolver(TaskResolverMixin):
    """Resolver for tasks defined in a notebook or ``__main__`` (see the module docstring).

    Parameters
    ----------
    size_limit:
        Largest payload (compressed bytes) :meth:`payload` accepts; larger ones raise
        :class:`~flyte_nb.errors.PayloadTooLargeError` naming the largest captured items.
    large_global:
        Captured values whose pickle is larger than this (bytes) trigger a warning suggesting to pass
        them as task inputs instead.
    """

    def __init__(
        self, size_limit: int = DEFAULT_SIZE_LIMIT, large_global: int = DEFAULT_LARGE_GLOBAL
    ) -> None:
        self.size_limit = size_limit
        self.large_global = large_global
        # The last payload encoded, keyed by its header and the sha256 of its pickle. One serialize_task
        # asks for the payload three times (version, template, digest), a process run once more: pickling
        # again is cheap, compressing again is not (~0.4 s for 20 MB of captured data).
        self._last: tuple[tuple[PayloadHeader, bytes], bytes] | None = None
        self._size_checked: tuple[PayloadHeader, bytes] | None = None  # its large-global warnings shown
        # The shared instance serves widget threads too: the check-then-mark of the size warning is
        # one step, so a payload's warning shows once. (_last is replaced whole: readers need no lock.)
        self._size_lock = threading.Lock()

    def __reduce__(self) -> str | tuple[Any, ...]:
        # The shared instance travels as a reference, so a loaded task points at the container's instance.
        if self is notebook_task_resolver:
            return "notebook_task_resolver"
        return (NotebookTaskResolver, (self.size_limit, self.large_global))

    def __repr__(self) -> str:
        return f"NotebookTaskResolver(size_limit={self.size_limit}, large_global={self.large_global})"

    @property
    def location(self) -> str:
        return _LOCATION

    def name(self) -> str:
        return "notebook"

    # ---- building the payload --------------------------------------------------------------------

    def _pickle(self, task: Task) -> tuple[bytes, PayloadHeader, tuple[str, ...]]:
        from flyte_nb.core import pickling  # building payloads only: a container just loads one

        local = tuple(pickling.local_modules())
        header = PayloadHeader(
            format=FORMAT_VERSION,
            python=_python_version(),
            cloudpickle=cloudpickle.__version__,
            flyte_nb=__version__,
            task=task.name,
        )
        with pickling.pickle_local_modules_by_value(list(local)):
            try:
                pickled = pickling.dumps_with_sources({"task": task})
            except Exception as exc:
                raise self._unpicklable_error(task, exc, local) from exc
        return pickled, header, local

    def _unpicklable_error(self, task: Task, exc: Exception, local: tuple[str, ...]) -> ResolverError:
        manifest = self._manifest(task, None, local)
        problems = manifest.unpicklable if manifest is not None else []
        if problems:
            lines = "; ".join(
                f"{item.name}{f' ({item.cell})' if item.cell else ''}: {item.problem}" for item in problems
            )
            return ResolverError(f"Task {task.name!r} cannot be pickled for a container. {lines}")
        return ResolverError(
            f"Task {task.name!r} cannot be pickled for a container: {type(exc).__name__}: {exc}. "
            "Check the globals its function reads (resolver.manifest(task) lists them)."
        )

    def payload(self, task: Task) -> Payload:
        """The task's payload: the bytes to store where the loader args point.

        Raises
        ------
        ResolverError
            When something the task captures cannot be pickled (named, with its cell).
        PayloadTooLargeError
            When the payload is over :attr:`size_limit` (the largest captured items are named).
        """
        pickled, header, local = self._pickle(task)
        key = self._key(header, pickled)
        data = self._encode(header, pickled, key)
        with self._size_lock:
            if len(data) > self.size_limit or (
                len(pickled) > self.large_global and key != self._size_checked
            ):
                self._check_size(task, data, local)
                self._size_checked = key  # warn once per payload content, not on every serialization
        digest = hashlib.sha256(data).hexdigest()
        return Payload(data=data, filename=f"{_safe_name(task.name)}-{digest[:16]}.fnb.pkl.gz")

    @staticmethod
    def _key(header: PayloadHeader, pickled: bytes) -> tuple[PayloadHeader, bytes]:
        return (header, hashlib.sha256(pickled).digest())

    def _encode(
        self, header: PayloadHeader, pickled: bytes, key: tuple[PayloadHeader, bytes] | None = None
    ) -> bytes:
        """:func:`encode_payload`, reusing the last result when the pickle is byte-for-byte the same."""
        key = key or self._key(header, pickled)
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        data = encode_payload(header, pickled)
        self._last = (key, data)
        return data

    def _check_size(self, task: Task, data: bytes, local: tuple[str, ...]) -> None:
        from flyte_nb.core.manifest import human_size

        manifest = self._manifest(task, len(data), local)
        largest = manifest.largest(3) if manifest is not None else []
        named = ", ".join(
            f"{i.name} ({human_size(i.size)}{f', {i.cell}' if i.cell else ''})" for i in largest
        )
        if len(data) > self.size_limit:
            raise PayloadTooLargeError(
                f"Task {task.name!r}: the payload is {human_size(len(data))}, over the limit of "
                f"{human_size(self.size_limit)}. Largest captured items: {named or 'unknown'}. Pass large "
                "data as task inputs (they travel as files) instead of reading notebook globals, or raise "
                "the limit with NotebookTaskResolver(size_limit=...)."
            )
        for item in largest:
            if item.size is not None and item.size > self.large_global and item.kind != "function":
                warnings.warn(
                    f"Task {task.name!r} captures {item.kind} {item.name!r} ({human_size(item.size)}"
                    f"{f', defined in {item.cell}' if item.cell else ''}) by value in its payload. Pass it "
                    "as a task input instead, so it is uploaded once as data and not with every version.",
                    UserWarning,
                    stacklevel=3,
                )

    def _manifest(self, task: Task, size: int | None, local: tuple[str, ...]) -> Manifest | None:
        from flyte_nb.core import pickling
        from flyte_nb.core.manifest import build_manifest

        function = getattr(task, "task_function", None)
        if not isinstance(function, types.FunctionType):
            return None
        with pickling.pickle_local_modules_by_value(list(local)):
            return build_manifest(task.name, function, payload_size=size, local_modules=local)

    def manifest(self, task: Task) -> Manifest:
        """What the task's payload captures, by value or by reference, with sizes and cells.

        Never raises for unpicklable values: they are listed in ``manifest.unpicklable`` instead.
        """
        from flyte_nb.core import pickling

        local = tuple(pickling.local_modules())
        try:
            pickled, header, _ = self._pickle(task)
            size: int | None = len(self._encode(header, pickled))
        except ResolverError:
            size = None
        manifest = self._manifest(task, size, local)
        if manifest is None:
            raise ResolverError(
                f"Task {task.name!r} has no Python function to inspect (task_function is "
                f"{type(getattr(task, 'task_function', None)).__name__}); only function tasks have a manifest."
            )
        return manifest

    def content_hash(self, task: Task) -> str:
        """sha256 of the payload: changes with the code and every captured value, not with cell numbers."""
        pickled, header, _ = self._pickle(task)
        return hashlib.sha256(self._encode(header, pickled)).hexdigest()

    def loader_args(self, settings: SerializationSettings, task: Task) -> list[str]:
        payload = self.payload(task)
        location = settings.payload_uri or payload.filename
        return ["payload", location, "sha256", payload.sha256, "task-name", task.name]

    # ---- loading ---------------------------------------------------------------------------------

    def load_task(self, loader_args: list[str]) -> Task:
        args = _parse_loader_args(loader_args)
        location, expected = args["payload"], args["sha256"]
        data = _read(location)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise PayloadDigestError(
                f"Task payload {location}: expected sha256 {expected}, got {actual}. The file is not the one "
                "the task was registered with (it changed, or another payload was written there). Re-register "
                "the task from its notebook, which stores a fresh payload, or point the loader args at it."
            )
        header, pickled = decode_payload(data, location)
        _check_header(header, location)
        try:
            record = cloudpickle.loads(pickled)
        except ModuleNotFoundError as exc:
            raise ResolverError(
                f"Task payload {location} (task {header.task!r}) needs module {exc.name!r}, which is not "
                f"installed here. Install it in the image (pip install {exc.name}) or, if it is a module from "
                "the notebook's directory, import it in the notebook before registering the task."
            ) from exc
        except Exception as exc:
            raise ResolverError(
                f"Task payload {location} (task {header.task!r}, pickled by flyte_nb {header.flyte_nb}, "
                f"cloudpickle {header.cloudpickle}) could not be unpickled here (flyte_nb {__version__}, "
                f"cloudpickle {cloudpickle.__version__}): {type(exc).__name__}: {exc}. Use an image with the "
                "same package versions as the notebook kernel."
            ) from exc
        from flyte_nb.core.task import Task  # at run time only: the task module imports resolvers

        task = record.get("task") if isinstance(record, dict) else None
        if not isinstance(task, Task):
            got = (
                f"a record whose 'task' is {type(task).__name__}"
                if isinstance(record, dict)
                else f"a {type(record).__name__}"
            )
            raise ResolverError(
                f"Task payload {location}: expected a record holding a flyte_nb task under 'task', got {got}. "
                "The file is not a task payload written by flyte_nb; re-register the task from its notebook."
            )
        name = args.get("task-name")
        if name is not None and getattr(task, "name", None) != name:
            raise ResolverError(
                f"Task payload {location}: expected task {name!r}, got {getattr(task, 'name', None)!r}. "
                "The loader args point at another task's payload; re-register the task."
            )
        sources = record.get("sources")
        if isinstance(sources, dict):  # payloads from before sources travelled have none
            from flyte_nb.core import pickling

            pickling.register_sources(sources)
        loaded: Task = task
        return loaded


def _parse_loader_args(loader_args: list[str]) -> dict[str, str]:
    if len(loader_args) % 2:
        raise ResolverError(
            f"Notebook resolver: expected loader args `{_LOADER_USAGE}`, got {loader_args!r}."
        )
    args = dict(zip(loader_args[::2], loader_args[1::2], strict=True))
    missing = [key for key in ("payload", "sha256") if key not in args]
    if missing:
        raise ResolverError(
            f"Notebook resolver: expected loader args `{_LOADER_USAGE}`, got {loader_args!r} (missing "
            f"{', '.join(missing)}). Re-serialize the task with flyte_nb."
        )
    return args


def _read(location: str) -> bytes:
    path = location[len("file://") :] if location.startswith("file://") else location
    if "://" not in path:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise ResolverError(
                f"Task payload {location}: could not read it from {os.path.abspath(path)} "
                f"({exc.strerror or exc}). Write resolver.payload(task) there before running the task."
            ) from exc
    from flyte_nb.core import uris  # other schemes go through fsspec

    return uris.read_bytes(location)


def _check_header(header: PayloadHeader, where: str) -> None:
    if header.format != FORMAT_VERSION:
        raise ResolverError(
            f"Task payload {where}: expected payload format {FORMAT_VERSION}, got {header.format} "
            f"(written by flyte_nb {header.flyte_nb}; this is flyte_nb {__version__}). Use the same flyte_nb "
            "version in the image as in the notebook kernel."
        )
    here = _python_version()
    if _minor(header.python) != _minor(here):
        raise PythonVersionMismatchError(
            f"Task payload {where} (task {header.task!r}) was pickled by Python {header.python}, but this "
            f"is Python {here}; pickled code only loads on the same Python minor version. Run the task in "
            f"an image with Python {_minor(header.python)}, or re-run the notebook from a Python "
            f"{_minor(here)} kernel."
        )


notebook_task_resolver = NotebookTaskResolver()
"""The shared :class:`NotebookTaskResolver` (``--resolver flyte_nb.core.notebook_resolver.notebook_task_resolver``)."""
