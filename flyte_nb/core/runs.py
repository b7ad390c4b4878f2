"""Recording runs: what the core tells a run ledger, and how it summarises inputs and errors for it.

A *run* is a task run started as a run: a widget button, ``SandboxExecutor(...).run`` in any mode, or
``Remote.submit``. A plain call, ``add(1)``, is an ordinary function call (it is often made in loops and
inside other tasks, and costs microseconds): it is not recorded.

The core does not know where runs are recorded. In a notebook with the flyte_nb extension loaded, the
:class:`~flyte_nb.core.session.NotebookSession` supplies a :class:`RunRecorder` (the SQLite ledger beside
the notebook, :mod:`flyte_nb.core.ledger`); anywhere else there is none and nothing is recorded.

What a recorder receives is already safe to store: inputs as a short summary (``n=3, df=DataFrame(1000x4)``,
values of inputs named like secrets masked), errors as one scrubbed line (no signed-URL signatures, no
bearer tokens). Recording never fails a run: a recorder that cannot write logs a warning and carries on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import reprlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from flyte_nb.core import session

if TYPE_CHECKING:
    from flyte_nb.core.task import Task

__all__ = [
    "RemoteRun",
    "RunRecorder",
    "RunStart",
    "error_summary",
    "input_summary",
    "phase_of_exception",
    "recorded_run",
    "scrub",
]

#: Input names whose values are never written down (``api_key=***``).
SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|secret|token|api[_-]?key|credential|private[_-]?key", re.I)
SUMMARY_LIMIT = 300  # characters of an input summary
ERROR_LIMIT = 300  # characters of an error summary


@dataclass(frozen=True)
class RunStart:
    """A run that is starting: what the ledger records first."""

    task: str
    version: str
    mode: str  # "kernel", "process" or "remote"
    inputs: str  # input_summary(...)
    started_at: float = dataclasses.field(default_factory=time.time)


@dataclass(frozen=True)
class RemoteRun:
    """Where a remote run lives: the FlyteAdmin endpoint, the execution id and its console link."""

    endpoint: str
    project: str
    domain: str
    name: str
    url: str


class RunRecorder(Protocol):
    """Where runs are written down (the notebook's run ledger). Its methods never raise."""

    def run_started(self, start: RunStart, remote: RemoteRun | None = None) -> int | None:
        """Record a new run (``remote`` for a launched execution); return its id, or ``None`` if not recorded."""
        ...

    def run_finished(self, run_id: int, phase: str, duration: float, error: str = "") -> None:
        """Record how run ``run_id`` ended (``error``: an :func:`error_summary`, for failed runs)."""
        ...

    def remote_phase(
        self, remote: RemoteRun, phase: str, duration: float | None = None, error: str = ""
    ) -> None:
        """Record the phase a remote execution was last seen in (a no-op for executions not recorded)."""
        ...


def current_recorder() -> RunRecorder | None:
    """The recorder of the notebook this kernel runs (``None`` outside a notebook with the extension)."""
    notebook = session.current()
    return notebook.run_recorder() if notebook is not None else None


# ---- summaries --------------------------------------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = _repr.maxdeque = 5
_repr.maxdict = 4
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlong = 24

_URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_TOKEN_FIELD = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|client_secret|password|token)(['\"]?\s*[:=]\s*['\"]?)[^\s,'\"&}]+"
)


def scrub(text: str) -> str:
    """``text`` without what may be a credential: URL query strings (signatures), bearer tokens,
    ``token=…``/``"access_token": …`` values."""
    text = _URL_QUERY.sub(r"\1?…", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    return _TOKEN_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def _shape(value: Any) -> str | None:
    """``DataFrame(1000x4)`` / ``ndarray(float64, 10x10)`` for array-likes, without rendering them."""
    shape = getattr(value, "shape", None)
    if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
        return None
    dims = "x".join(str(n) for n in shape)
    dtype = getattr(value, "dtype", None)
    kind = type(value).__name__
    if dtype is not None and not hasattr(value, "columns"):
        return f"{kind}({dtype}, {dims})"
    return f"{kind}({dims})"


def value_summary(value: Any) -> str:
    """A short, bounded description of one input value (never its full repr for large values)."""
    shaped = _shape(value)
    if shaped is not None:
        return shaped
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{type(value).__name__}({len(value)} B)"
    if isinstance(value, (list, tuple, set, frozenset, dict)) and len(value) > 20:
        return f"{type(value).__name__}[{len(value)} items]"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(
            f"{f.name}={value_summary(getattr(value, f.name, None))}" for f in dataclasses.fields(value)[:4]
        )
        more = ", …" if len(dataclasses.fields(value)) > 4 else ""
        return f"{type(value).__name__}({fields}{more})"
    if isinstance(value, (str, int, float, bool, type(None), list, tuple, set, frozenset, dict)):
        return _repr.repr(value)
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def input_summary(inputs: Mapping[str, Any]) -> str:
    """``a=1, b='x', df=DataFrame(1000x4), api_key=***`` — at most ``SUMMARY_LIMIT`` characters."""
    parts = []
    for name, value in inputs.items():
        shown = "***" if SECRET_NAME.search(name) else scrub(value_summary(value))
        parts.append(f"{name}={shown}")
    text = ", ".join(parts)
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def error_summary(error: BaseException) -> str:
    """One line for a failed run, scrubbed: the task's own exception (the last line of its traceback)
    when it failed, else the exception type and the first line of its message."""
    from flyte_nb.errors import TaskExecutionError

    if isinstance(error, TaskExecutionError) and error.traceback_text.strip():
        text = error.traceback_text.strip().splitlines()[-1].strip()
    else:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    text = scrub(text)
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def phase_of_exception(error: BaseException) -> str:
    """The phase a run that raised ``error`` ended in: ABORTED (interrupted), TIMED_OUT or FAILED."""
    from flyte_nb.errors import TaskTimeoutError

    if isinstance(error, KeyboardInterrupt):  # Ctrl-C, or a widget's Cancel (RunCancelled)
        return "ABORTED"
    if isinstance(error, TaskTimeoutError):
        return "TIMED_OUT"
    return "FAILED"


def local_version(task: Task) -> str:
    """The task's content-hash version, or ``""`` when it cannot be computed (e.g. an unpicklable global:
    the run itself may still work in the kernel)."""
    from flyte_nb.core.serialize import task_version
    from flyte_nb.errors import FlyteNbError

    try:
        return task_version(task)
    except FlyteNbError:
        return ""


@contextlib.contextmanager
def recorded_run(task: Task, mode: str, inputs: Mapping[str, Any]) -> Iterator[None]:
    """Record the run in the block (start, then its end and phase) with the notebook's recorder, if any."""
    recorder = current_recorder()
    if recorder is None:
        yield
        return
    start = RunStart(task=task.name, version=local_version(task), mode=mode, inputs=input_summary(inputs))
    run_id = recorder.run_started(start)
    began = time.monotonic()
    try:
        yield
    except BaseException as exc:
        if run_id is not None:
            recorder.run_finished(
                run_id, phase_of_exception(exc), time.monotonic() - began, error_summary(exc)
            )
        raise
    if run_id is not None:
        recorder.run_finished(run_id, "SUCCEEDED", time.monotonic() - began)
