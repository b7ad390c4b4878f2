"""``FlyteContext``, ``FlyteContextManager`` and ``ExecutionParameters``: the seed API's context objects.

flytekit threads an ambient global context through 100+ call sites. flyte_nb's core takes what it needs
as explicit arguments; these classes exist because the seed signatures (``dispatch_execute(ctx, …)``,
``pre_execute(user_params)``…) name them. A :class:`FlyteContext` is a plain value: the raw-data store,
the execution parameters and, while a dynamic task body is being compiled, the compilation state.

:class:`FlyteContextManager` keeps the *current* context in a :class:`contextvars.ContextVar` (so threads
and asyncio tasks each see their own). Only two places read it: calling a task object (``t(a=1)``) picks up
the context to run in, and a call inside a ``@dynamic`` body finds the compilation state it adds a node
to. Nothing is stored at import time; with nothing pushed, ``current_context()`` returns a fresh default.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import datetime
import enum
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from flyte_nb.core.storage import MemoryStore, RawStore

if TYPE_CHECKING:
    from flyte_nb.core.settings import SerializationSettings

__all__ = ["ExecutionMode", "ExecutionParameters", "FlyteContext", "FlyteContextManager"]


class ExecutionMode(enum.Enum):
    """Where a task body is running."""

    LOCAL = "local"  # called in the kernel / a Python process (local_execute, sandbox_execute)
    TASK_EXECUTION = "task_execution"  # inside the container entrypoint, as on a cluster
    DYNAMIC_COMPILE = "dynamic_compile"  # a dynamic body is being compiled into a DynamicJobSpec


@dataclass(frozen=True)
class ExecutionParameters:
    """What a running task may know about its execution (flytekit's ``ExecutionParameters``).

    Filled from ``FLYTE_INTERNAL_*`` variables by the container entrypoint, with local placeholders
    when running in the kernel. Passed to ``pre_execute`` / ``post_execute``.
    """

    execution_id: str = "local"
    project: str = "local"
    domain: str = "local"
    task_name: str = ""
    task_version: str = ""
    attempt_number: int = 0
    execution_date: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc)
    )
    working_directory: str = ""
    raw_output_prefix: str = ""
    checkpoint_path: str | None = None
    prev_checkpoint: str | None = None
    execution_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> ExecutionParameters:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def get_working_directory(self) -> str:
        """The task's scratch directory.

        When none was given (a run in the kernel), a fresh directory under a per-process scratch root is
        made on first request. The root is removed when the interpreter exits, never earlier: a file the
        task wrote there and returned (a ``FlyteFile`` read in place) stays valid after the run.
        """
        if self.working_directory:
            os.makedirs(self.working_directory, exist_ok=True)
            return self.working_directory
        path = tempfile.mkdtemp(prefix="work-", dir=_scratch_root())
        object.__setattr__(self, "working_directory", path)
        return path


_SCRATCH: list[str] = []  # the per-process scratch root, made on first use (never at import)
_SCRATCH_LOCK = threading.Lock()


def _scratch_root() -> str:
    with _SCRATCH_LOCK:
        if not _SCRATCH:
            root = tempfile.mkdtemp(prefix="flyte-nb-work-")
            atexit.register(shutil.rmtree, root, True)
            _SCRATCH.append(root)
        return _SCRATCH[0]


@dataclass(frozen=True)
class FlyteContext:
    """The values a task runs with. Immutable: derive new ones with :meth:`with_`."""

    store: RawStore = field(default_factory=MemoryStore)
    execution_params: ExecutionParameters = field(default_factory=ExecutionParameters)
    mode: ExecutionMode = ExecutionMode.LOCAL
    serialization_settings: SerializationSettings | None = None
    compilation_state: Any = None  # flyte_nb.core.dynamic.CompilationState while compiling

    def with_(self, **changes: Any) -> FlyteContext:
        """A copy with some fields changed (``self`` when every change is already its value)."""
        # A task call derives contexts several times, mostly without changing anything, and
        # dataclasses.replace costs microseconds; an immutable context can be shared instead.
        if all(k in _CONTEXT_FIELDS and getattr(self, k) is v for k, v in changes.items()):
            return self
        if not changes.keys() <= _CONTEXT_FIELDS:
            return replace(self, **changes)  # raises the usual TypeError naming the unknown field
        # Same result as replace() (no __post_init__, no InitVars) without re-running __init__.
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    # flytekit spelling, kept for code written against the seed API
    @property
    def user_space_params(self) -> ExecutionParameters:
        """The execution parameters (flytekit's name for them)."""
        return self.execution_params


_CONTEXT_FIELDS = frozenset(f.name for f in fields(FlyteContext))

_CURRENT: contextvars.ContextVar[FlyteContext | None] = contextvars.ContextVar(
    "flyte_nb_context", default=None
)


class FlyteContextManager:
    """Access to the current :class:`FlyteContext` (see the module docstring for why it exists)."""

    @staticmethod
    def current_context() -> FlyteContext:
        """The innermost pushed context, or a fresh default one (in-memory store, local mode)."""
        ctx = _CURRENT.get()
        return ctx if ctx is not None else FlyteContext()

    @staticmethod
    @contextlib.contextmanager
    def with_context(ctx: FlyteContext) -> Iterator[FlyteContext]:
        """Make ``ctx`` current inside the ``with`` block."""
        token = _CURRENT.set(ctx)
        try:
            yield ctx
        finally:
            _CURRENT.reset(token)
