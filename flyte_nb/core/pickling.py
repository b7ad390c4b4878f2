"""Deterministic cloudpickle for notebook code.

cloudpickle already pickles interactively defined functions and classes *by value*. Three things make
its bytes change between two runs of the very same notebook cell, and each is normalised here so that a
task's payload, and therefore its version, only changes when its code or captured data change:

* **Cell file names and line numbers.** Code compiled from a cell carries a file name that changes with
  the kernel (``/tmp/ipykernel_<pid>/<hash>.py``) or the execution counter (``<ipython-input-7-…>``), and
  absolute line numbers that move when lines are added above the function. Code objects from cells are
  renamed ``<notebook: qualname>`` and renumbered from line 1 of their own ``def``; tracebacks in the
  container therefore read ``File "<notebook: train>", line 3`` (the third line of ``train``). The
  source of each such function travels with it (:func:`dumps_with_sources`), and the resolver registers
  it with :mod:`linecache` where the payload is loaded, so that traceback shows the line itself. (Plain
  cloudpickle names every code object ``<dynamic-code>``, whose lines no traceback can show.)
* **Class tracker ids.** cloudpickle stamps each dynamic class with a random uuid. Here the id is derived
  from the payload's own content, so equal content gives equal bytes and different content never shares
  an id (which would make a process that loads two payloads reuse the first class for the second).
* **Sets of strings.** String hashing is randomised per process, so set iteration order is too. Sets
  held directly by a global are pickled sorted.
* **Protobuf messages** (a task's ``TypedInterface``…) are pickled with deterministic serialization
  (map entries sorted).

Two correctness fixes on top: ``dataclasses.MISSING`` is pickled by name, so the fields of a notebook
dataclass still compare ``default is MISSING`` after loading (plain cloudpickle copies the sentinel); and
a text file open for reading is refused like any other open file (plain cloudpickle silently replaces it
by a ``StringIO`` snapshot of its contents).

Task objects are pickled without their in-kernel result cache (``local_cache``, which holds a lock and
results that mean nothing elsewhere); they get a fresh, empty one when loaded.

Modules imported from the notebook's own directory are pickled by value too (the container cannot import
them); installed packages stay by reference and must be present in the image.
"""

from __future__ import annotations

import dataclasses
import dis
import functools
import hashlib
import io
import linecache
import os
import re
import site
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cloudpickle
from google.protobuf import message

from flyte_nb.errors import NotPicklableError

__all__ = [
    "NotebookPickler",
    "code_global_names",
    "dumps",
    "dumps_with_sources",
    "is_cell_filename",
    "local_modules",
    "pickle_local_modules_by_value",
    "pickled_by_reference",
    "register_sources",
]

# ipykernel: <tmp>/ipykernel_<pid>/<murmur hash>.py ; IPython: <ipython-input-<N>-<hash>>
_CELL_FILENAME = re.compile(r"(ipykernel_\d+[/\\]\d+\.py$)|(^<ipython-input-\d+-[0-9a-f]+>$)")
_NORMALISED_PREFIX = "<notebook: "
_PLACEHOLDER_SALT = b"flyte-nb class placeholder\0"


def is_cell_filename(filename: str) -> bool:
    """Whether ``filename`` is the name IPython or ipykernel gave a notebook cell."""
    return bool(_CELL_FILENAME.search(filename))


def _normalise_code(code: types.CodeType, label: str, base_line: int) -> types.CodeType:
    """``code`` (and the code objects nested in it) renamed ``label`` and renumbered from ``base_line``."""
    consts = tuple(
        _normalise_code(c, label, base_line) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    # Line tables are deltas from co_firstlineno, so moving the first line moves every line with it.
    return code.replace(
        co_filename=label,
        co_firstlineno=max(1, code.co_firstlineno - base_line + 1),
        co_consts=consts,
    )


def _last_line(code: types.CodeType) -> int:
    """The last source line ``code`` (or code nested in it) executes."""
    lines = [line for _, _, line in code.co_lines() if line is not None]
    nested = [_last_line(c) for c in code.co_consts if isinstance(c, types.CodeType)]
    return max([code.co_firstlineno, *lines, *nested])


def _cell_source(code: types.CodeType) -> str:
    """The cell lines of ``code`` (from its first line, decorators included, to its last), or ``""`` when
    the cell's text is not known."""
    lines = linecache.getlines(code.co_filename)
    return "".join(lines[code.co_firstlineno - 1 : _last_line(code)])


class _SourcesSoFar:
    """Pickled as the sources the pickler collected up to this point (a dict, keys sorted)."""

    def __init__(self, pickler: NotebookPickler) -> None:
        self.pickler = pickler

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (sorted(self.pickler.sources.items()),))


def register_sources(sources: dict[str, str]) -> None:
    """Make tracebacks through code loaded from a payload show its lines (``linecache``, as IPython does
    for cells). Entries without a modification time are never evicted by ``linecache.checkcache``."""
    for label, text in sources.items():
        if isinstance(label, str) and isinstance(text, str) and label.startswith(_NORMALISED_PREFIX):
            linecache.cache[label] = (len(text), None, text.splitlines(keepends=True), label)


class _SortedSet:
    """Stands in for a set while pickling; unpickles as the same set with a reproducible byte order."""

    def __init__(self, kind: type, items: list[Any]) -> None:
        self.kind = kind
        self.items = items

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.kind, (self.items,))


def _stable(value: Any) -> Any:
    if type(value) in (set, frozenset):
        try:
            return _SortedSet(type(value), sorted(value))
        except TypeError:  # mixed or unorderable elements: keep the set as it is
            return value
    return value


_TRANSIENT_TASK_ATTRIBUTES = ("local_cache",)


def _rebuild_message(cls: type[message.Message], data: bytes) -> message.Message:
    msg = cls()
    msg.ParseFromString(data)
    return msg


def _new_task(cls: Any) -> Any:
    return cls.__new__(cls)


def _set_task_state(task: Any, state: tuple[dict[str, Any], tuple[str, ...]]) -> None:
    """Unpickle a task's state, plus a fresh empty result cache."""
    attributes, fresh = state
    task.__dict__.update(attributes)
    if fresh:
        from flyte_nb.core.execution import LocalCache

        for name in fresh:
            setattr(task, name, LocalCache())


def _task_reduce(obj: Any) -> tuple[Any, ...]:
    # A task picks its resolver lazily; pick it now so the bytes do not depend on whether it was asked.
    getattr(obj, "task_resolver", None)
    attributes = dict(vars(obj))
    fresh = tuple(name for name in _TRANSIENT_TASK_ATTRIBUTES if attributes.pop(name, None) is not None)
    # State (not constructor args) so that a task reachable from its own function's globals pickles.
    return (_new_task, (type(obj),), (attributes, fresh), None, None, _set_task_state)


# cloudpickle's class constructors → position of the class tracker id in their arguments. Private names:
# with a cloudpickle that renames them, classes keep random ids (versions less stable, still correct).
_SKELETONS: dict[Any, int] = {
    f: i
    for f, i in (
        (getattr(cloudpickle.cloudpickle, "_make_skeleton_class", None), 4),
        (getattr(cloudpickle.cloudpickle, "_make_skeleton_enum", None), 5),
    )
    if f is not None
}


class NotebookPickler(cloudpickle.Pickler):  # type: ignore[misc]
    """A cloudpickle ``Pickler`` with reproducible output for notebook code (see module docstring).

    After :meth:`dump`, :meth:`finish` must be applied to the bytes to replace class-id placeholders.
    """

    def __init__(self, file: io.BytesIO, protocol: int | None = None) -> None:
        super().__init__(file, protocol=protocol)
        self.placeholders: list[bytes] = []
        self.sources: dict[str, str] = {}  # code label -> the cell lines of that code
        from flyte_nb.core.task import Task  # lazily: task.py may load this module on first payload

        self._task_class = Task

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.CodeType):
            if is_cell_filename(obj.co_filename):
                label = f"{_NORMALISED_PREFIX}{getattr(obj, 'co_qualname', obj.co_name)}>"
                source = _cell_source(obj)
                if source:
                    self.sources[label] = source
                obj = _normalise_code(obj, label, obj.co_firstlineno)
            if obj.co_filename.startswith(_NORMALISED_PREFIX):
                return self._code_reduce_keeping_name(obj)
            return NotImplemented
        if obj is dataclasses.MISSING or obj is getattr(dataclasses, "KW_ONLY", None):
            # Module-level sentinels: by name, so `field.default is MISSING` still holds once loaded.
            return "MISSING" if obj is dataclasses.MISSING else "KW_ONLY"
        if isinstance(obj, message.Message):
            return (_rebuild_message, (type(obj), obj.SerializeToString(deterministic=True)))
        if isinstance(obj, io.TextIOWrapper) and obj not in (sys.stdout, sys.stderr, sys.stdin):
            # cloudpickle would snapshot a file open for reading as a StringIO of its contents: the task
            # would then read a copy taken at pickling time, not the file. Refuse, as for other files.
            raise NotPicklableError(
                f"cannot pickle {type(obj).__module__}.{type(obj).__qualname__} object "
                f"(the open file {getattr(obj, 'name', '?')!r})"
            )
        if isinstance(obj, self._task_class) and hasattr(obj, "__dict__"):
            return _task_reduce(obj)
        rv = super().reducer_override(obj)
        if isinstance(rv, tuple) and rv and rv[0] in _SKELETONS:
            rv = self._with_placeholder_id(obj, rv)
        return rv

    def _code_reduce_keeping_name(self, code: types.CodeType) -> Any:
        """cloudpickle's reduction of ``code``, with the normalised file name in place of the
        ``<dynamic-code>`` it gives every code object (so the registered source can be found)."""
        rv = self.dispatch_table[types.CodeType](code)
        if isinstance(rv, tuple) and len(rv) >= 2 and isinstance(rv[1], tuple):
            args = tuple(code.co_filename if a == "<dynamic-code>" else a for a in rv[1])
            rv = (rv[0], args, *rv[2:])
        return rv

    def _with_placeholder_id(self, cls: type, rv: tuple[Any, ...]) -> tuple[Any, ...]:
        args = list(rv[1])
        index = _SKELETONS[rv[0]]
        if not (isinstance(args[index], str) and len(args[index]) == 32):  # an unknown cloudpickle layout
            return rv
        seed = _PLACEHOLDER_SALT + f"{cls.__qualname__}\0{len(self.placeholders)}".encode()
        placeholder = hashlib.sha256(seed).hexdigest()[:32]
        self.placeholders.append(placeholder.encode())
        args[index] = placeholder
        return (rv[0], tuple(args), *rv[2:])

    def _dynamic_function_reduce(self, func: types.FunctionType) -> Any:
        rv = super()._dynamic_function_reduce(func)
        state, slotstate = rv[2]
        slotstate["__globals__"] = {k: _stable(v) for k, v in slotstate["__globals__"].items()}
        return (*rv[:2], (state, slotstate), *rv[3:])

    def finish(self, data: bytes) -> bytes:
        """Replace class-id placeholders in ``data`` by ids derived from the content itself."""
        if not self.placeholders:
            return data
        digest = hashlib.sha256(data).digest()
        for number, placeholder in enumerate(self.placeholders):
            final = hashlib.sha256(digest + number.to_bytes(4, "big")).hexdigest()[:32].encode()
            # Same length, so pickle's length-prefixed strings and frames stay valid.
            data = data.replace(placeholder, final)
        return data


def dumps(obj: Any, *, protocol: int | None = None) -> bytes:
    """Pickle ``obj`` reproducibly (see the module docstring)."""
    buffer = io.BytesIO()
    pickler = NotebookPickler(buffer, protocol=protocol)
    pickler.dump(obj)
    return pickler.finish(buffer.getvalue())


def dumps_with_sources(record: dict[str, Any], *, protocol: int | None = None) -> bytes:
    """Pickle ``record`` reproducibly, plus a ``"sources"`` entry: the cell lines of every notebook
    function pickled by value (label → text, for :func:`register_sources` where it is loaded)."""
    buffer = io.BytesIO()
    pickler = NotebookPickler(buffer, protocol=protocol)
    # dict items are pickled in order: the sources entry is reduced after everything else was seen
    pickler.dump({**record, "sources": _SourcesSoFar(pickler)})
    return pickler.finish(buffer.getvalue())


# ---- notebook-local modules -----------------------------------------------------------------------


def _install_dirs() -> list[str]:
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # pragma: no cover - virtualenv's old site.py lacks them
        pass
    return [os.path.realpath(d) for d in dirs if d]


@functools.lru_cache(maxsize=8192)
def _realpath(file: str) -> str:
    # Every payload (each submit, version and template) scans all of sys.modules; resolving a module's
    # symlinks once instead of on every scan takes that from milliseconds to microseconds.
    return os.path.realpath(file)


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def local_modules(directory: str | None = None) -> list[str]:
    """Top-level modules imported from ``directory`` (default: the working directory), sorted.

    These are the notebook's own modules (``helpers.py`` next to the notebook): not installed, so a
    container cannot import them. Anything under the interpreter's prefix or site-packages (a venv inside
    the project), flyte_nb itself and installed distributions (editable installs) are excluded.
    """
    root = os.path.realpath(directory or os.getcwd())
    installed = _install_dirs()
    found = []
    for name, module in list(sys.modules.items()):
        if "." in name or name in ("__main__", "flyte_nb") or module is None:
            continue
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        path = _realpath(file)
        if _inside(path, root) and not any(_inside(path, d) for d in installed):
            found.append(name)
    if found:
        distributed = _distributed_names(tuple(sys.path))
        found = [name for name in found if name not in distributed]
    return sorted(found)


@functools.lru_cache(maxsize=4)
def _distributed_names(path: tuple[str, ...]) -> frozenset[str]:
    # Scanning every installed distribution takes a noticeable fraction of a second: cache it per
    # sys.path (a pip install into a running kernel is rare, and a new sys.path rescans).
    del path
    import importlib.metadata  # ~20 ms to import: only a payload being built needs it

    return frozenset(importlib.metadata.packages_distributions())


_REGISTRY_LOCK = threading.RLock()


@contextmanager
def pickle_local_modules_by_value(names: list[str]) -> Iterator[None]:
    """Register ``names`` with cloudpickle for pickling by value, for the duration of the block.

    Modules the user registered already are left registered afterwards.
    """
    # cloudpickle's registry is process-wide: one pickling at a time (widgets build payloads in threads).
    with _REGISTRY_LOCK:
        already = set(cloudpickle.list_registry_pickle_by_value())
        added = [n for n in names if n not in already and n in sys.modules]
        for name in added:
            cloudpickle.register_pickle_by_value(sys.modules[name])
        try:
            yield
        finally:
            for name in added:
                if name in sys.modules:
                    cloudpickle.unregister_pickle_by_value(sys.modules[name])


def pickled_by_reference(obj: Any) -> bool:
    """Whether cloudpickle would pickle this function, class or module by reference (import by name)."""
    return bool(cloudpickle.cloudpickle._should_pickle_by_reference(obj))


_GLOBAL_OPS = {"LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL"}


def code_global_names(code: types.CodeType) -> list[str]:
    """Names of the globals ``code`` (and the code nested in it) reads or writes, in first-use order."""
    names: dict[str, None] = {}
    for instruction in dis.get_instructions(code):
        if instruction.opname in _GLOBAL_OPS:
            names[str(instruction.argval)] = None
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(dict.fromkeys(code_global_names(const)))
    return list(names)
