"""In-process execution: binding call arguments, the literal round trip, and the kernel cache.

Calling a task in the kernel goes through the same conversions as a cluster run: Python values →
``LiteralMap`` → the task body → ``LiteralMap`` → Python values. This module holds the pieces of that
round trip that do not depend on the task class: argument binding (positional and keyword), conversion
with error messages that name the task and the variable, the shape of a call's return value, and
:class:`LocalCache`, the in-process memo for ``cache=True`` tasks.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flyteidl.core import literals_pb2

from flyte_nb.core.storage import RawStore, as_store, local_path
from flyte_nb.core.types.engine import decode, encode_into
from flyte_nb.errors import FlyteTypeError, StorageError, TaskInputError, TaskOutputError

if TYPE_CHECKING:
    from flyte_nb.core.interface import PythonInterface

__all__ = [
    "CacheEntry",
    "LocalCache",
    "bind_arguments",
    "cache_key",
    "check_input_names",
    "inputs_to_literal_map",
    "label_lazy_value",
    "literal_map_to_inputs",
    "literal_map_to_outputs",
    "outputs_to_literal_map",
    "shape_outputs",
    "split_outputs",
]


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def bind_arguments(
    task_name: str, input_names: Sequence[str], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Map a call's positional and keyword arguments onto the task's input names.

    Raises
    ------
    TaskInputError
        Too many positional arguments, or an input given both positionally and by keyword.
    """
    if len(args) > len(input_names):
        raise TaskInputError(
            f"Task '{task_name}' takes {len(input_names)} input(s) {list(input_names)}, got {len(args)} "
            f"positional argument(s). Pass at most {len(input_names)}, or use keywords."
        )
    bound = dict(zip(input_names, args, strict=False))  # fewer args than inputs is fine
    for key, value in kwargs.items():
        if key in bound:
            raise TaskInputError(
                f"Task '{task_name}' input '{key}': given both positionally ({_show(bound[key])}) and by "
                f"keyword ({_show(value)}). Pass it only once."
            )
        bound[key] = value
    return bound


def check_input_names(
    task_name: str, inputs: Mapping[str, Any], defaults: Mapping[str, Any], given: Sequence[str]
) -> None:
    """Reject unknown inputs and missing inputs that have no default (one message lists them all)."""
    unknown = [k for k in given if k not in inputs]
    if unknown:
        raise TaskInputError(
            f"Task '{task_name}': unknown input(s) {unknown}; its inputs are {list(inputs)}. "
            "Check the spelling, or add the parameter to the function."
        )
    missing = [k for k in inputs if k not in given and k not in defaults]
    if missing:
        raise TaskInputError(
            f"Task '{task_name}': missing input(s) {missing} (no default). "
            f"Pass {', '.join(f'{k}=...' for k in missing)}, or give the parameter a default."
        )


def _with_fix(message: str, var: str, annotation: str) -> str:
    """``message`` with a fix at the end, unless the converter already gave one."""
    if any(word in message.lower() for word in ("annotate", "annotation", "pass ")):
        return message
    return f"{message} Pass a value of type {annotation}, or change the annotation of '{var}'."


# The errors of a task call's conversions, built in one place for every path that converts (the general
# functions below and the in-kernel call of a plain task, flyte_nb.core.local_call). The caller raises
# them: ``from None`` for a wrong value (the message says it all: a notebook shows this error alone, not
# the converters' chain, which stays reachable as __context__), ``from exc`` for storage failures.


def input_type_error(task_name: str, var: str, python_type: Any, exc: FlyteTypeError) -> TaskInputError:
    """A native input value that does not fit its type: names task, input, expected and received."""
    from flyte_nb.core.interface import describe_type

    msg = _with_fix(str(exc), var, describe_type(python_type))
    return TaskInputError(f"Task '{task_name}' input '{var}': {msg}")


def input_read_error(task_name: str, var: str, python_type: Any, exc: FlyteTypeError) -> TaskInputError:
    """An input literal that cannot be read as the input's type."""
    return TaskInputError(
        f"Task '{task_name}' input '{var}': the literal cannot be read as "
        f"{python_type!r} ({type(exc).__name__}: {exc}). Send a value of the declared type."
    )


def output_type_error(task_name: str, var: str, exc: FlyteTypeError) -> TaskOutputError:
    """A returned value that does not fit its output's type."""
    return TaskOutputError(f"Task '{task_name}' output '{var}': {exc}")


def storage_error(task_name: str, kind: str, var: str, exc: StorageError) -> StorageError:
    """Raw data of an input or output (``kind``) that could not be written or read: names which."""
    return StorageError(f"Task '{task_name}' {kind} '{var}': {exc}")


def no_outputs_error(task_name: str, rval: Any) -> TaskOutputError:
    """A task that declares no outputs returned something other than ``None``."""
    return TaskOutputError(
        f"Task '{task_name}' returned {_show(rval)} but declares no outputs. Annotate the return "
        "type (e.g. -> int) to make it an output, or return None."
    )


def inputs_to_literal_map(
    task_name: str, types: Mapping[str, Any], values: Mapping[str, Any], store: RawStore
) -> literals_pb2.LiteralMap:
    """Convert native input values (a subset of ``types``) to a ``LiteralMap``.

    Raises
    ------
    TaskInputError
        A value does not fit its input's type; the message names task, input, expected and received.
    """
    # One flat loop (no closure, no import) because this runs for every task call.
    lm = literals_pb2.LiteralMap()
    literals = lm.literals
    for var, value in values.items():
        try:
            encode_into(literals[var], value, types[var], store)
        except FlyteTypeError as exc:  # noqa: PERF203 - the error names the input; free without one
            raise input_type_error(task_name, var, types[var], exc) from None
        except StorageError as exc:  # an upload failed: say which input it was for
            raise storage_error(task_name, "input", var, exc) from exc
    return lm


def literal_map_to_inputs(
    task_name: str,
    types: Mapping[str, Any],
    defaults: Mapping[str, Any],
    literal_map: literals_pb2.LiteralMap,
    store: RawStore,
) -> dict[str, Any]:
    """Decode a task's input ``LiteralMap``; inputs missing from it keep their Python default."""
    literals = literal_map.literals
    names = list(literals)
    check_input_names(task_name, types, defaults, names)
    out: dict[str, Any] = {}
    for var in names:
        try:
            value = out[var] = decode(literals[var], types[var], store)
        except FlyteTypeError as exc:
            raise input_read_error(task_name, var, types[var], exc) from exc
        except StorageError as exc:  # its raw data cannot be read: say which input it was
            raise storage_error(task_name, "input", var, exc) from exc
        label_lazy_value(value, f"Task '{task_name}' input '{var}'")
    return out


def label_lazy_value(value: Any, label: str) -> None:
    """Tell a lazily downloaded value (``FlyteFile``, ``FlyteDirectory``, ``StructuredDataset``) which
    variable it is, so a failed download later names it."""
    set_label = getattr(value, "_set_flyte_label", None)
    if set_label is not None:
        set_label(label)


def outputs_to_literal_map(
    task_name: str, iface: PythonInterface, rval: Any, store: RawStore
) -> literals_pb2.LiteralMap:
    """Convert what the task function returned into its output ``LiteralMap``.

    Raises
    ------
    TaskOutputError
        The function returned the wrong number of values, or a value of the wrong type.
    """
    outputs = iface.outputs
    lm = literals_pb2.LiteralMap()
    if not outputs:
        if rval is not None:
            raise no_outputs_error(task_name, rval)
        return lm
    names = list(outputs)
    literals = lm.literals
    for var, value in zip(names, split_outputs(task_name, iface, names, rval), strict=True):
        try:
            encode_into(literals[var], value, outputs[var], store)
        except FlyteTypeError as exc:  # noqa: PERF203 - the error names the output; free without one
            raise output_type_error(task_name, var, exc) from None  # as for inputs
        except StorageError as exc:  # an upload failed: say which output it was for
            raise storage_error(task_name, "output", var, exc) from exc
    return lm


def split_outputs(task_name: str, iface: PythonInterface, names: list[str], rval: Any) -> Sequence[Any]:
    """The values of the outputs ``names`` in what the task function returned (``rval``)."""
    if len(names) == 1:
        # A one-field NamedTuple may be returned as the tuple or as its only value.
        if iface.output_tuple_type is not None and isinstance(rval, tuple) and len(rval) == 1:
            return [rval[0]]
        return [rval]
    if not isinstance(rval, (tuple, list)) or len(rval) != len(names):
        count = len(rval) if isinstance(rval, (tuple, list)) else 1
        declared = ", ".join(names)
        raise TaskOutputError(
            f"Task '{task_name}' returned {count} value(s) ({_show(rval)}) but declares {len(names)} "
            f"outputs ({declared}). Return a tuple of {len(names)} values in that order."
        )
    return list(rval)


def literal_map_to_outputs(
    task_name: str, iface: PythonInterface, literal_map: literals_pb2.LiteralMap, store: RawStore
) -> Any:
    """Decode an output ``LiteralMap`` into what calling the task returns (see :func:`shape_outputs`)."""
    values: dict[str, Any] = {}
    literals = literal_map.literals
    for var, t in iface.outputs.items():
        if var not in literals:
            raise TaskOutputError(
                f"Task '{task_name}' output '{var}' is missing from its outputs "
                f"(got {sorted(literals)}). Return a value for every declared output."
            )
        try:
            value = values[var] = decode(literals[var], t, store)
        except StorageError as exc:  # its raw data cannot be read: say which output it was
            raise storage_error(task_name, "output", var, exc) from exc
        label_lazy_value(value, f"Task '{task_name}' output '{var}'")
    return shape_outputs(iface, values)


def shape_outputs(iface: PythonInterface, values: Mapping[str, Any]) -> Any:
    """flytekit's return convention: ``None``, the single value, the declared NamedTuple, or a named tuple
    of ``o0, o1, …`` (``DefaultNamedTupleOutput``) for several outputs.

    This is the one place outputs become what a call returns: kernel calls, process sandbox runs and
    remote executions all come through here.
    """
    names = list(iface.outputs)
    if not names:
        return None
    if iface.output_tuple_type is not None:
        return iface.output_tuple_type(*(values[k] for k in names))
    if len(names) == 1:
        return values[names[0]]
    from flyte_nb.core.outputs import default_named_tuple

    return default_named_tuple(tuple(names))(*(values[k] for k in names))


# --------------------------------------------------------------------------------------------- cache


def _content_digest(uri: str, store: RawStore) -> str | None:
    """The sha256 of the data at ``uri`` (every file of a directory), or ``None`` to key on the URI.

    Local files and directories (a user's inputs, read in place) and what this call wrote are hashed by
    content, in chunks; other remote URIs name immutable blobs, and are not downloaded to make a key.
    """
    full = as_store(store)
    if not full.is_local(uri) and not uri.startswith(full.raw_prefix.rstrip("/") + "/"):
        return None
    digest = hashlib.sha256()
    try:
        if full.is_local(uri):
            path = local_path(uri) or uri
            rels = [""] if os.path.isfile(path) else full.list_files(path) if os.path.isdir(path) else []
            for rel in rels:
                digest.update(rel.encode() + b"\0")
                with open(os.path.join(path, rel) if rel else path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
            return digest.hexdigest() if rels else None
        rels = [""] if full.kind(uri) == "file" else full.list_files(uri)
        for rel in rels:
            digest.update(rel.encode() + b"\0" + full.read_bytes(uri + "/" + rel if rel else uri))
        return digest.hexdigest() if rels else None
    except (StorageError, OSError):
        return None


def _normalize(lit: literals_pb2.Literal, store: RawStore) -> None:
    """Replace raw-data URIs by the digest of their bytes, so equal values give equal cache keys.

    A literal with a ``hash`` (``Annotated[T, HashMethod(fn)]``) is keyed by that hash alone, as Flyte's
    cache does.
    """
    if lit.hash:
        own_hash = lit.hash
        lit.Clear()
        lit.hash = own_hash
        return
    if lit.HasField("collection"):
        for item in lit.collection.literals:
            _normalize(item, store)
    elif lit.HasField("map"):
        for item in lit.map.literals.values():
            _normalize(item, store)
    elif lit.HasField("scalar"):
        scalar = lit.scalar
        if scalar.HasField("union"):
            _normalize(scalar.union.value, store)
        elif scalar.HasField("blob") and (digest := _content_digest(scalar.blob.uri, store)):
            scalar.blob.uri = f"sha256:{digest}"
        elif scalar.HasField("structured_dataset") and (
            digest := _content_digest(scalar.structured_dataset.uri, store)
        ):
            scalar.structured_dataset.uri = f"sha256:{digest}"


def cache_key(
    task_name: str,
    cache_version: str,
    interface_bytes: bytes,
    inputs: literals_pb2.LiteralMap,
    store: RawStore,
    ignore: Sequence[str] = (),
) -> str:
    """The memo key of a call: task name, cache version, interface and inputs (minus ignored ones).

    Like Flyte's catalog, the key does not include the function body: change ``cache_version`` when
    the code changes in a way that matters.
    """
    kept = literals_pb2.LiteralMap()
    for var, lit in inputs.literals.items():
        if var not in ignore:
            kept.literals[var].CopyFrom(lit)
            _normalize(kept.literals[var], store)
    h = hashlib.sha256()
    for part in (task_name.encode(), cache_version.encode(), interface_bytes):
        h.update(len(part).to_bytes(8, "big") + part)
    h.update(kept.SerializeToString(deterministic=True))
    return h.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """A memoised result: the output literals and the store their raw data lives in."""

    outputs: literals_pb2.LiteralMap
    store: RawStore


class LocalCache:
    """In-process memo of ``cache=True`` task results, keyed by :func:`cache_key`.

    Each task has one (``task.local_cache``); the notebook extension replaces it with a kernel-wide
    instance so that every re-definition of a cell's task shares results. Thread-safe: the kernel runs
    tasks from widget threads too.
    """

    def __init__(self) -> None:
        self._entries: dict[str, CacheEntry] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> CacheEntry | None:
        """The entry for ``key``, or ``None`` (counted as a hit or a miss)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
            return entry

    def put(self, key: str, outputs: literals_pb2.LiteralMap, store: RawStore) -> None:
        """Remember ``outputs`` (and the store holding their raw data) under ``key``."""
        with self._lock:
            self._entries[key] = CacheEntry(outputs, store)

    def key_lock(self, key: str) -> threading.Lock:
        """A lock per key: ``cache_serialize=True`` calls with equal inputs run one at a time, so the
        second one is served from the cache instead of computing again."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __repr__(self) -> str:
        return f"LocalCache({len(self)} entries, {self.hits} hits, {self.misses} misses)"
