"""The pickle manifest: what a notebook task's payload captures, before anything is uploaded.

:func:`build_manifest` walks the task function the way cloudpickle will: the globals its code reads,
its closure variables and defaults, and, recursively, the notebook functions and classes among them. For
each item it records whether it travels *by value* (its code or data is in the payload) or *by reference*
(only its import name is: the package must be installed in the image), its pickled size, and the notebook
cell that defines it. Anything that cannot be pickled (a lock, a socket or database connection, an open
file, a generator…) is named together with the global that holds it, the path to it inside that global,
and what to do instead.
"""

from __future__ import annotations

import ast
import html
import os
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flyte_nb.core import session as notebook_session
from flyte_nb.core.pickling import code_global_names, dumps, pickled_by_reference

if TYPE_CHECKING:
    from flyte_nb.core.session import NotebookSession

__all__ = ["CapturedItem", "CellLocator", "Manifest", "build_manifest", "human_size"]

BY_VALUE = "by value"
BY_REFERENCE = "by reference"
UNPICKLABLE = "unpicklable"

# Globals of these types are listed; closures/defaults of these types are too trivial to list.
_SCALARS = (int, float, str, bytes, bool, complex, type(None))


def human_size(size: int | None) -> str:
    """``1536`` → ``"1.5 kB"`` (decimal units, like file browsers)."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class CapturedItem:
    """One thing a task payload captures.

    Attributes
    ----------
    name:
        The global (or closure variable, or default) name, e.g. ``"THRESHOLD"``.
    kind:
        ``"function"``, ``"task"``, ``"class"``, ``"module"``, ``"global"``, ``"closure"`` or
        ``"default"``.
    how:
        ``"by value"``, ``"by reference"`` (imported by name in the container) or ``"unpicklable"``.
    size:
        Pickled size in bytes of the item on its own (by value items; ``None`` otherwise).
    type_name:
        The value's type, or the import path of a by-reference function, class or module.
    used_by:
        The function (or class) whose code reads it.
    cell:
        Where it is defined: ``"In[3]"`` for a notebook cell, a file name for a local module, ``""`` when
        unknown.
    problem:
        For unpicklable items: what cannot be pickled and what to do instead.
    """

    name: str
    kind: str
    how: str
    size: int | None
    type_name: str
    used_by: str
    cell: str = ""
    problem: str = ""

    def describe(self) -> str:
        """One line: ``global THRESHOLD (float, In[2]) by value, 24 B``."""
        where = f", {self.cell}" if self.cell else ""
        size = f", {human_size(self.size)}" if self.size is not None else ""
        text = f"{self.kind} {self.name} ({self.type_name}{where}) {self.how}{size}"
        return f"{text}: {self.problem}" if self.problem else text


_NOTHING = "Nothing else is captured: the payload holds the task's own code only."


@dataclass(frozen=True)
class Manifest:
    """What a task payload captures (see the module docstring).

    ``payload_size`` is the size of the whole compressed payload, ``None`` when it cannot be built.
    ``str(manifest)`` is a readable table; in a notebook it renders as an HTML table.
    """

    task_name: str
    items: tuple[CapturedItem, ...]
    payload_size: int | None = None
    local_modules: tuple[str, ...] = field(default=())

    @property
    def by_value(self) -> list[CapturedItem]:
        """Items whose code or data travels in the payload."""
        return [i for i in self.items if i.how == BY_VALUE]

    @property
    def by_reference(self) -> list[CapturedItem]:
        """Items imported by name in the container (must be installed in the image)."""
        return [i for i in self.items if i.how == BY_REFERENCE]

    @property
    def unpicklable(self) -> list[CapturedItem]:
        """Items that cannot be pickled: the payload cannot be built until they are fixed."""
        return [i for i in self.items if i.how == UNPICKLABLE]

    def largest(self, n: int = 3) -> list[CapturedItem]:
        """The ``n`` largest by-value items, largest first."""
        sized = [i for i in self.by_value if i.size is not None]
        return sorted(sized, key=lambda i: (-(i.size or 0), i.name))[:n]

    def summary(self) -> str:
        """One line: size and counts."""
        size = "cannot be built" if self.payload_size is None else human_size(self.payload_size)
        text = (
            f"Payload of task {self.task_name!r}: {size}; {len(self.by_value)} by value, "
            f"{len(self.by_reference)} by reference"
        )
        if self.unpicklable:
            text += f", {len(self.unpicklable)} cannot be pickled"
        return text

    def to_text(self) -> str:
        """A readable table, one captured item per line."""
        lines = [self.summary()]
        rows = [
            (i.how, i.kind, i.name, i.type_name, i.cell, human_size(i.size) if i.size is not None else "")
            for i in self.items
        ]
        if not rows:
            lines.append(f"  {_NOTHING}")
        if rows:
            widths = [max(len(r[c]) for r in rows) for c in range(5)]
            for row in rows:
                cells = [row[c].ljust(widths[c]) for c in range(5)]
                lines.append(("  " + "  ".join(cells) + "  " + row[5]).rstrip())
        lines.extend(f"  ! {item.name}: {item.problem}" for item in self.unpicklable)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        if not self.items:
            return f'<div class="fnb-manifest"><p>{html.escape(self.summary())}</p><p><i>{_NOTHING}</i></p></div>'
        head = "".join(f"<th>{h}</th>" for h in ("how", "kind", "name", "type", "defined in", "size"))
        body = []
        for i in self.items:
            style = ' style="color:var(--jp-error-color1, #b00020)"' if i.how == UNPICKLABLE else ""
            cells = (
                i.how,
                i.kind,
                i.name,
                i.type_name,
                i.cell,
                human_size(i.size) if i.size is not None else "",
            )
            row = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            body.append(f"<tr{style}>{row}</tr>")
            if i.problem:
                body.append(f'<tr{style}><td colspan="6">{html.escape(i.problem)}</td></tr>')
        return (
            f'<div class="fnb-manifest"><p>{html.escape(self.summary())}</p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )


# ---- where things are defined -------------------------------------------------------------------


def _assigned_names(tree: ast.AST) -> set[str]:
    """Names a cell binds at module level (assignments, imports, defs, for/with targets)."""
    names: set[str] = set()
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue  # names bound inside are local to the def
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


class CellLocator:
    """Maps code and global names to the notebook cell (``In[N]``) that defines them.

    Asks the notebook ``session`` (default: the one the flyte_nb extension installed, see
    :mod:`flyte_nb.core.session`) for the cell a file name was compiled from and for the cells' sources;
    without a session, local files are named relative to the working directory.
    """

    def __init__(self, session: NotebookSession | None = None) -> None:
        self._session = session if session is not None else notebook_session.current()
        self._parsed: dict[int, set[str]] = {}

    def for_code(self, code: types.CodeType | None) -> str:
        """``In[N]`` for code compiled from a cell, a relative path for local files, else ``""``."""
        if code is None:
            return ""
        filename = code.co_filename
        number = self._session.cell_of_file(filename) if self._session is not None else None
        if number is not None:
            return f"In[{number}]"
        if os.path.isabs(filename):
            rel = os.path.relpath(filename)
            return rel if not rel.startswith("..") else ""
        return ""

    def for_global(self, name: str) -> str:
        """``In[N]`` of the latest cell that binds ``name`` (from the notebook's input history)."""
        if self._session is None:
            return ""
        history = self._session.cell_sources()
        for number in range(len(history) - 1, 0, -1):
            if name in self._names_in(number, history[number]):
                return f"In[{number}]"
        return ""

    def _names_in(self, number: int, source: str) -> set[str]:
        if number not in self._parsed:
            self._parsed[number] = _names_in_source(source)
        return self._parsed[number]


def _names_in_source(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = _assigned_names(tree)
    # A cell magic is transformed into get_ipython().run_cell_magic(name, line, body): read the body too.
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run_cell_magic"
            and len(node.args) == 3
            and isinstance(node.args[2], ast.Constant)
            and isinstance(node.args[2].value, str)
        ):
            names |= _names_in_source(node.args[2].value)
    return names


def _code_of(obj: Any) -> types.CodeType | None:
    if isinstance(obj, types.FunctionType):
        return obj.__code__
    if isinstance(obj, type):
        for attr in vars(obj).values():
            fn = _unwrap(attr)
            if fn is not None:
                return fn.__code__
    return None


def _unwrap(attr: Any) -> types.FunctionType | None:
    if isinstance(attr, (staticmethod, classmethod)):
        attr = attr.__func__
    if isinstance(attr, property):
        attr = attr.fget
    return attr if isinstance(attr, types.FunctionType) else None


# ---- unpicklable objects --------------------------------------------------------------------------

_HINTS = (
    (
        ("lock", "rlock", "condition", "semaphore", "event"),
        "Create it inside the task function: a lock only means something inside one process.",
    ),
    (
        ("socket", "connection", "cursor", "session", "client", "engine", "channel"),
        "Open the connection inside the task function (pass its address as an input or read it from an "
        "environment variable).",
    ),
    (
        ("textiowrapper", "bufferedreader", "bufferedwriter", "fileio", "bufferedrandom"),
        "Open the file inside the task function, or pass its contents (or its path) as a task input.",
    ),
    (
        ("generator", "coroutine", "async_generator"),
        "Turn it into a list first (list(...)), or create it inside the task function.",
    ),
)
_DEFAULT_HINT = "Create it inside the task function, or pass the data it holds as a task input."


def _hint(obj: Any) -> str:
    name = type(obj).__name__.lower()
    for keys, hint in _HINTS:
        if any(k in name for k in keys):
            return hint
    return _DEFAULT_HINT


def _children(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(f"{path}[{k!r}]", v) for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, (type, types.FunctionType, types.ModuleType)):
        return []
    state = getattr(value, "__dict__", None)
    return [(f"{path}.{k}", v) for k, v in state.items()] if isinstance(state, dict) else []


def _culprit(value: Any, path: str, depth: int = 0) -> tuple[str, Any]:
    """The innermost part of ``value`` that fails to pickle, with its path (``conn``, ``cfg.lock``…)."""
    if depth < 8:
        for child_path, child in _children(value, path)[:500]:
            if not _picklable(child):
                return _culprit(child, child_path, depth + 1)
    return path, value


def _picklable(value: Any) -> bool:
    try:
        dumps(value)
    except Exception:  # noqa: BLE001 - pickling runs the object's own code (__reduce__…): anything goes
        return False
    return True


def _problem(name: str, value: Any, exc: BaseException) -> str:
    path, culprit = _culprit(value, name)
    kind = f"{type(culprit).__module__}.{type(culprit).__qualname__}".removeprefix("builtins.")
    where = f"{path}" if path == name else f"{path} (inside global {name})"
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{where} is a {kind}, which cannot be pickled ({reason}). {_hint(culprit)}"


# ---- the walk -------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    t = type(value)
    return t.__qualname__ if t.__module__ in ("builtins", "__main__") else f"{t.__module__}.{t.__qualname__}"


def _import_path(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


class _Walker:
    def __init__(self, cells: CellLocator) -> None:
        self.cells = cells
        self.items: list[CapturedItem] = []
        self._seen: set[int] = set()

    def add(
        self,
        name: str,
        kind: str,
        how: str,
        size: int | None,
        type_name: str,
        used_by: str,
        cell: str = "",
        problem: str = "",
    ) -> None:
        self.items.append(CapturedItem(name, kind, how, size, type_name, used_by, cell, problem))

    def function(self, fn: types.FunctionType) -> None:
        """Walk what ``fn`` captures (not ``fn`` itself)."""
        owner = fn.__qualname__
        for name in code_global_names(fn.__code__):
            if name in fn.__globals__:
                self.value(name, fn.__globals__[name], owner, "global")
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell (variable not assigned yet)
                continue
            self.value(var, contents, owner, "closure")
        defaults = list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
        for default in defaults:
            if not isinstance(default, _SCALARS):
                self.value(_type_name(default), default, owner, "default")

    def value(self, name: str, value: Any, used_by: str, kind: str) -> None:
        if id(value) in self._seen or (kind != "global" and isinstance(value, _SCALARS)):
            return
        self._seen.add(id(value))
        if (
            isinstance(value, types.ModuleType)
            or (isinstance(value, (types.FunctionType, type)) and pickled_by_reference(value))
            or isinstance(value, types.BuiltinFunctionType)
        ):
            self._by_reference(name, value, used_by)
        elif isinstance(value, types.FunctionType):
            self.add(
                name,
                "function",
                BY_VALUE,
                self._size(value),
                "function",
                used_by,
                self.cells.for_code(value.__code__),
            )
            self.function(value)
        elif isinstance(getattr(value, "task_function", None), types.FunctionType):
            # Another notebook task (called from a dynamic body): it travels with its own function.
            fn = value.task_function
            self.add(
                name,
                "task",
                BY_VALUE,
                self._size(value),
                type(value).__name__,
                used_by,
                self.cells.for_code(fn.__code__),
            )
            self.function(fn)
        elif isinstance(value, type):
            self.add(
                name,
                "class",
                BY_VALUE,
                self._size(value),
                "class",
                used_by,
                self.cells.for_code(_code_of(value)),
            )
            for attr in vars(value).values():
                method = _unwrap(attr)
                if method is not None:
                    self.function(method)
        else:
            self._object(name, value, used_by, kind)

    def _by_reference(self, name: str, value: Any, used_by: str) -> None:
        if isinstance(value, types.ModuleType):
            if not pickled_by_reference(value):
                self.add(
                    name,
                    "module",
                    BY_VALUE,
                    self._size(value),
                    value.__name__,
                    used_by,
                    self.cells.for_code(_module_code(value)),
                )
                return
            self.add(name, "module", BY_REFERENCE, None, value.__name__, used_by)
            return
        kind = "class" if isinstance(value, type) else "function"
        self.add(name, kind, BY_REFERENCE, None, _import_path(value), used_by)

    def _object(self, name: str, value: Any, used_by: str, kind: str) -> None:
        cell = self.cells.for_global(name) if kind == "global" else ""
        try:
            size: int | None = len(dumps(value))
        except Exception as exc:  # noqa: BLE001 - as in _picklable; the error is what the manifest reports
            self.add(
                name, kind, UNPICKLABLE, None, _type_name(value), used_by, cell, _problem(name, value, exc)
            )
            return
        self.add(name, kind, BY_VALUE, size, _type_name(value), used_by, cell)
        cls = type(value)
        if cls.__module__ == "__main__" or not pickled_by_reference(cls):
            self.value(cls.__name__, cls, name, "class")

    @staticmethod
    def _size(value: Any) -> int | None:
        try:
            return len(dumps(value))
        except Exception:  # noqa: BLE001 - as in _picklable; the culprit is reported where the walk reaches it
            return None


def _module_code(module: types.ModuleType) -> types.CodeType | None:
    file = getattr(module, "__file__", None)
    return compile("", file, "exec") if isinstance(file, str) else None


def build_manifest(
    task_name: str,
    function: types.FunctionType,
    *,
    payload_size: int | None = None,
    local_modules: tuple[str, ...] = (),
    cells: CellLocator | None = None,
) -> Manifest:
    """Walk ``function`` and list what pickling it by value captures (see the module docstring).

    Call it with the notebook's local modules registered for pickling by value (as the resolver does),
    so that they are reported as such.
    """
    walker = _Walker(cells or CellLocator())
    walker.function(function)
    return Manifest(task_name, tuple(walker.items), payload_size, local_modules)
