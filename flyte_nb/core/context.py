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
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from flyteidl.core import identifier_pb2

from flyte_nb.core.storage import MemoryStore, RawStore

if TYPE_CHECKING:
    from flyte_nb.core.checkpoint import Checkpoint
    from flyte_nb.core.decks import Deck, TimeLineDeck
    from flyte_nb.core.secrets import SecretsManager
    from flyte_nb.core.settings import SerializationSettings

__all__ = ["ExecutionMode", "ExecutionParameters", "FlyteContext", "FlyteContextManager", "current_context"]

#: What flytekit reports outside a cluster: project, domain and name "local". Shared, not copied per
#: call (a kernel call builds a context every time); treat it as read-only.
_LOCAL_EXECUTION_ID = identifier_pb2.WorkflowExecutionIdentifier(
    project="local", domain="local", name="local"
)
_USER_LOGGER = "flyte_nb.user_space"


class ExecutionMode(enum.Enum):
    """Where a task body is running."""

    LOCAL = "local"  # called in the kernel / a Python process (local_execute, sandbox_execute)
    TASK_EXECUTION = "task_execution"  # inside the container entrypoint, as on a cluster
    DYNAMIC_COMPILE = "dynamic_compile"  # a dynamic body is being compiled into a DynamicJobSpec


@dataclass(frozen=True)
class ExecutionParameters:
    """What a running task may know about its execution (flytekit's ``ExecutionParameters``).

    ``flyte_nb.current_context()`` returns it inside a task. Filled from propeller's ``FLYTE_INTERNAL_*``
    variables and the command line by the container entrypoint, with flytekit's local placeholders
    (``"local"``) in the kernel. Also passed to ``pre_execute`` / ``post_execute``.

    Attributes
    ----------
    execution_id:
        The ``WorkflowExecutionIdentifier`` (project, domain, name) of the execution.
    task_id:
        The task's ``Identifier`` (see the property).
    working_directory:
        A scratch directory for the task (made on first use in the kernel).
    raw_output_prefix:
        Where large values of this attempt are written.
    checkpoint, secrets, logging, decks:
        See the properties.
    attempt_number:
        0 for the first attempt, 1 for the first retry…
    """

    execution_id: identifier_pb2.WorkflowExecutionIdentifier = field(
        default_factory=lambda: _LOCAL_EXECUTION_ID
    )
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
    #: The attempt's checkpoint; ``None`` makes one from ``checkpoint_path`` (or in memory) on first use.
    checkpointer: Checkpoint | None = None
    #: The decks made while the task runs (``Deck(...)`` appends itself here), rendered after it.
    decks: list[Deck] = field(default_factory=list)
    #: Whether the running task writes its decks (``@task(enable_deck=True)``).
    enable_deck: bool = False
    #: Where the task's output files (``outputs.pb``, ``deck.html``) go, in a container.
    output_metadata_prefix: str | None = None

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

    @property
    def task_id(self) -> identifier_pb2.Identifier:
        """The running task's ``Identifier`` (``local`` parts outside a cluster, as flytekit's)."""
        return identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK,
            project=self.extra.get("task_project") or self.project,
            domain=self.extra.get("task_domain") or self.domain,
            name=self.task_name or "local",
            version=self.task_version or "local",
        )

    @property
    def logging(self) -> logging.Logger:
        """A logger for task code (``flyte_nb.user_space``)."""
        return logging.getLogger(_USER_LOGGER)

    @property
    def secrets(self) -> SecretsManager:
        """Read the secrets the task requested: ``secrets.get(group, key)``."""
        from flyte_nb.core.secrets import SecretsManager

        return SecretsManager()

    @property
    def checkpoint(self) -> Checkpoint:
        """This attempt's checkpoint: ``write``/``read`` bytes, ``save``/``restore`` files.

        In a container it lives under ``--checkpoint-path`` and ``read``/``restore`` see the previous
        attempt's (``--prev-checkpoint``); in the kernel it is kept in memory.
        """
        if self.checkpointer is None:
            from flyte_nb.core.checkpoint import MemoryCheckpoint, SyncCheckpoint

            made: Checkpoint
            if self.checkpoint_path:
                made = SyncCheckpoint(
                    self.checkpoint_path, self.prev_checkpoint, local_dir=self.working_directory or None
                )
            else:
                made = MemoryCheckpoint()
            object.__setattr__(self, "checkpointer", made)
        assert self.checkpointer is not None
        return self.checkpointer

    @property
    def default_deck(self) -> Deck:
        """A new deck named ``default`` (flytekit's ``default_deck``)."""
        from flyte_nb.core.decks import Deck

        return Deck("default")

    @property
    def timeline_deck(self) -> TimeLineDeck:
        """The deck that shows how long the parts of the task took."""
        from flyte_nb.core.decks import timeline_deck

        return timeline_deck(self)


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
        current = self.__dict__  # exactly the fields: a frozen dataclass without extra attributes
        for k, v in changes.items():
            if k not in current or current[k] is not v:
                break
        else:
            return self
        if not changes.keys() <= _CONTEXT_FIELDS:
            return replace(self, **changes)  # raises the usual TypeError naming the unknown field
        # Same result as replace() (no __post_init__, no InitVars) without re-running __init__.
        new = object.__new__(type(self))
        new.__dict__.update(current)
        new.__dict__.update(changes)
        return new

    # flytekit spelling, kept for code written against the seed API
    @property
    def user_space_params(self) -> ExecutionParameters:
        """The execution parameters (flytekit's name for them)."""
        return self.execution_params


_CONTEXT_FIELDS = frozenset(f.name for f in fields(FlyteContext))


_PARAMS_DEFAULTS = {f.name: f.default for f in fields(ExecutionParameters) if f.default is not MISSING}
# The default factories, inlined in default_context (tests/core/test_call_path.py holds it to the
# constructor): a shared placeholder id, the time, and a fresh dict and list.
_PARAMS_DEFAULTS["execution_id"] = _LOCAL_EXECUTION_ID
_CONTEXT_DEFAULTS = {f.name: f.default for f in fields(FlyteContext) if f.default is not MISSING}
_new = object.__new__
_now = datetime.datetime.now
_UTC = datetime.timezone.utc


def default_context(store: RawStore | None = None) -> FlyteContext:
    """``FlyteContext(store=store)`` (a fresh ``MemoryStore`` by default), built without ``__init__``.

    Every task call outside a pushed context starts from one, and the frozen dataclasses' ``__init__``
    (an ``object.__setattr__`` per field, for two objects) was a tenth of an in-kernel call. The result is
    the same: every field its default, every default factory called.
    """
    params = _new(ExecutionParameters)
    values = params.__dict__
    values.update(_PARAMS_DEFAULTS)
    values["execution_date"] = _now(_UTC)
    values["extra"] = {}
    values["decks"] = []
    ctx = _new(FlyteContext)
    values = ctx.__dict__
    values.update(_CONTEXT_DEFAULTS)
    values["store"] = MemoryStore() if store is None else store
    values["execution_params"] = params
    return ctx


_CURRENT: contextvars.ContextVar[FlyteContext | None] = contextvars.ContextVar(
    "flyte_nb_context", default=None
)

#: ``pushed_context()``: the innermost pushed context, or ``None`` when nothing is pushed (no default is
#: made). ``push_context(ctx)`` makes ``ctx`` current and returns a token; ``pop_context(token)`` undoes
#: it (``with_context`` without a ``with`` block). The context variable's own methods: no Python frame.
pushed_context = _CURRENT.get
push_context = _CURRENT.set
pop_context = _CURRENT.reset


class _Pushed:
    """``with FlyteContextManager.with_context(ctx):`` (a class: cheaper than a generator per task call)."""

    __slots__ = ("ctx", "token")

    def __init__(self, ctx: FlyteContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> FlyteContext:
        self.token = _CURRENT.set(self.ctx)
        return self.ctx

    def __exit__(self, *exc_info: object) -> None:
        _CURRENT.reset(self.token)


class FlyteContextManager:
    """Access to the current :class:`FlyteContext` (see the module docstring for why it exists)."""

    @staticmethod
    def current_context() -> FlyteContext:
        """The innermost pushed context, or a fresh default one (in-memory store, local mode)."""
        ctx = _CURRENT.get()
        return ctx if ctx is not None else default_context()

    @staticmethod
    def with_context(ctx: FlyteContext) -> contextlib.AbstractContextManager[FlyteContext]:
        """Make ``ctx`` current inside the ``with`` block."""
        return _Pushed(ctx)


def current_context() -> ExecutionParameters:
    """The execution parameters of the running task (flytekit's ``flytekit.current_context()``).

    Inside a task: its execution and task ids, working directory, raw output prefix, checkpoint,
    secrets, logging and decks. Outside any task it returns local placeholders, as flytekit does.
    """
    params = FlyteContextManager.current_context().execution_params
    params.get_working_directory()  # a usable scratch directory, as flytekit gives one
    return params
