"""``error.pb``: turning a failed task run into Flyte's ``ErrorDocument``, and back into an exception.

Propeller reads ``error.pb`` only when the container exits 0 (PROTOCOL §1.6), and decides from it
whether the attempt is retried (``kind``) and whose fault it was (``origin``). The mapping:

=================================  ============================  ===============  ======
failure                            code                          kind             origin
=================================  ============================  ===============  ======
user code raised ``E``             ``USER:E``                    NON_RECOVERABLE  USER
user code raised a                 ``USER:E``                    RECOVERABLE      USER
:class:`~flyte_nb.RecoverableError`
the task could not be loaded       ``USER:E``                    NON_RECOVERABLE  USER
inputs could not be converted      ``SYSTEM:E``                  NON_RECOVERABLE  SYSTEM
anything else (a flyte_nb bug)     ``SYSTEM:E``                  RECOVERABLE      SYSTEM
the task returned something odd    ``UNKNOWN_OUTPUT``            RECOVERABLE      SYSTEM
the task called ``sys.exit(n)``    ``USER:SystemExit``           NON_RECOVERABLE  USER
the run was interrupted (SIGINT)   ``SYSTEM:KeyboardInterrupt``  RECOVERABLE      SYSTEM
another ``BaseException`` ``E``    ``USER:E``                    NON_RECOVERABLE  USER
=================================  ============================  ===============  ======

A user error's message is the user's own traceback, with flyte_nb's frames removed, ending in the
usual ``Type: message`` line, so what a notebook user reads is what they would see had they called the
function directly.
"""

from __future__ import annotations

import datetime
import importlib
import os
import traceback
from dataclasses import dataclass

from flyteidl.core import errors_pb2, execution_pb2

from flyte_nb import errors as _errors
from flyte_nb.errors import RecoverableError, TaskExecutionError, TaskTimeoutError

__all__ = [
    "ErrorInfo",
    "base_exception_error",
    "error_document",
    "format_user_traceback",
    "is_internal_frame",
    "system_error",
    "to_task_execution_error",
    "user_error",
]

# flyte_nb/errors.py sits at the package root (found without importing the package's facade).
_PACKAGE_DIR = os.path.dirname(os.path.abspath(_errors.__file__))
_RUNPY = ("<frozen runpy>", "runpy.py")
# The import machinery between a resolver's import_module() and the module that failed to import.
_IMPORTLIB = os.path.dirname(os.path.abspath(importlib.__file__))

NON_RECOVERABLE = errors_pb2.ContainerError.NON_RECOVERABLE
RECOVERABLE = errors_pb2.ContainerError.RECOVERABLE
USER = execution_pb2.ExecutionError.USER
SYSTEM = execution_pb2.ExecutionError.SYSTEM


@dataclass(frozen=True)
class ErrorInfo:
    """What goes into a ``ContainerError``: code, message, kind and origin."""

    code: str
    message: str
    kind: int = NON_RECOVERABLE
    origin: int = USER


def is_internal_frame(filename: str) -> bool:
    """True for frames the user did not write: flyte_nb itself and the interpreter's start-up code."""
    if filename.startswith("<frozen importlib"):
        return True
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    return path.startswith((_PACKAGE_DIR + os.sep, _IMPORTLIB + os.sep)) or filename.endswith(_RUNPY)


def _strip(tbe: traceback.TracebackException, seen: set[int], *, top: bool = True) -> None:
    if id(tbe) in seen:
        return
    seen.add(id(tbe))
    kept = [frame for frame in tbe.stack if not is_internal_frame(frame.filename)]
    # When every frame of the error itself is ours (e.g. a conversion error), keep the last one so the
    # traceback says where it was raised; a chained cause with no user frame is just its `Type: message`
    # (e.g. the ModuleNotFoundError behind a resolver's error, without the import machinery's frames).
    tbe.stack = traceback.StackSummary.from_list(kept or (list(tbe.stack)[-1:] if top else []))
    for chained in (tbe.__cause__, tbe.__context__):
        if chained is not None:
            _strip(chained, seen, top=False)


def format_user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` (and its chained causes) without flyte_nb's own frames.

    Ends with the ``Type: message`` line of ``exc``.
    """
    tbe = traceback.TracebackException.from_exception(exc)
    _strip(tbe, set())
    return "".join(tbe.format())


def _type_name(exc: BaseException) -> str:
    return type(exc).__name__


def user_error(exc: BaseException) -> ErrorInfo:
    """The error for an exception raised by the task's own code (or while loading it)."""
    kind = RECOVERABLE if isinstance(exc, RecoverableError) else NON_RECOVERABLE
    return ErrorInfo(f"USER:{_type_name(exc)}", format_user_traceback(exc), kind, USER)


def base_exception_error(exc: BaseException) -> ErrorInfo:
    """The error for a ``BaseException`` that is no ``Exception``: ``sys.exit()``, an interrupt…

    The process can still act on these, so they get an ``error.pb`` like any failure: exiting without one
    would let propeller read a task that called ``sys.exit(0)`` as a success, or lose the error's type.
    """
    trace = format_user_traceback(exc).rstrip("\n")
    if isinstance(exc, SystemExit):
        return ErrorInfo(
            "USER:SystemExit",
            f"{trace}\nThe task called sys.exit({exc.code!r}) instead of returning. A task ends by returning its "
            "outputs, or by raising an exception when it fails.",
            NON_RECOVERABLE,
            USER,
        )
    if isinstance(exc, KeyboardInterrupt):
        return ErrorInfo(
            "SYSTEM:KeyboardInterrupt",
            f"{trace}\nThe task was interrupted (SIGINT / KeyboardInterrupt) before it finished.",
            RECOVERABLE,
            SYSTEM,
        )
    return user_error(exc)


def system_error(exc: BaseException, *, recoverable: bool, with_traceback: bool) -> ErrorInfo:
    """The error for a failure outside the user's code (input conversion, a flyte_nb bug)."""
    if with_traceback:
        message = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    else:
        message = f"{_type_name(exc)}: {exc}"
    return ErrorInfo(
        f"SYSTEM:{_type_name(exc)}", message, RECOVERABLE if recoverable else NON_RECOVERABLE, SYSTEM
    )


def error_document(info: ErrorInfo, *, now: datetime.datetime | None = None) -> errors_pb2.ErrorDocument:
    """The ``ErrorDocument`` for ``info``, time-stamped ``now`` (UTC) and with the worker name, if any."""
    err = errors_pb2.ContainerError(
        code=info.code,
        message=info.message,
        kind=info.kind,  # type: ignore[arg-type]
        origin=info.origin,  # type: ignore[arg-type]
        worker=os.environ.get("_F_WN", ""),
    )
    err.timestamp.FromDatetime(now or datetime.datetime.now(datetime.timezone.utc))
    return errors_pb2.ErrorDocument(error=err)


def kind_name(kind: int) -> str:
    """``"RECOVERABLE"`` or ``"NON_RECOVERABLE"``."""
    return str(errors_pb2.ContainerError.Kind.Name(kind))


def origin_name(origin: int) -> str:
    """``"USER"``, ``"SYSTEM"`` or ``"UNKNOWN"``."""
    return str(execution_pb2.ExecutionError.ErrorKind.Name(origin))


def to_task_execution_error(
    error: errors_pb2.ContainerError, *, task_name: str, attempts: int = 1, timeout: bool = False
) -> TaskExecutionError:
    """The :class:`~flyte_nb.TaskExecutionError` a caller sees for a ``ContainerError``."""
    kind, origin = kind_name(error.kind), origin_name(error.origin)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    summary = error.message.strip().splitlines()[-1] if error.message.strip() else error.code
    message = f"Task {task_name!r} failed{tries} with {error.code} ({kind} {origin.lower()} error): {summary}"
    cls = TaskTimeoutError if timeout else TaskExecutionError
    return cls(
        message,
        task_name=task_name,
        traceback_text=error.message,
        code=error.code,
        kind=kind,
        origin=origin,
    )
