"""The one exception hierarchy of flyte_nb.

Every error flyte_nb raises on purpose is a :class:`FlyteNbError`. Each class also subclasses the single
builtin exception closest to its meaning, so ``except TypeError`` keeps working for callers that do not
know flyte_nb::

    FlyteNbError (Exception)
    ├── FlyteTypeError (TypeError)              a value or annotation does not fit a Flyte type (or an API)
    │   └── UnsupportedTypeError                  an annotation that can never work (bare list, tuple input…)
    │       └── RecursiveTypeError                  a dataclass containing itself other than via Optional
    ├── TaskDefinitionError (ValueError)        a function cannot become a task (missing annotation…)
    ├── TypeRegistrationError (ValueError)      TypeEngine.register was given a transformer it cannot take
    ├── UnexpectedKeywordError (TypeError)      a keyword argument flyte_nb does not take (``@task(retires=1)``)
    ├── NotPicklableError (TypeError)           an object holding credentials or a channel refuses to be pickled
    ├── CommandLineError (ValueError)           ``flyte-nb-execute`` got arguments it cannot use (exit code 2)
    ├── NotStartedError (RuntimeError)          waiting on a run that was never started
    ├── TaskInputError (TypeError)              a call with missing, unknown or colliding arguments
    ├── TaskOutputError (TypeError)             the function returned the wrong number/type of outputs
    ├── TaskExecutionError (RuntimeError)       the task itself failed; carries its own traceback text
    │   └── TaskTimeoutError                      … because it ran past its timeout
    ├── RecoverableError (RuntimeError)         raised *by user code* to ask for a retry (Flyte RECOVERABLE)
    ├── ResolverError (RuntimeError)            a task payload cannot be built or loaded
    │   ├── PayloadDigestError                    the payload's sha256 does not match its loader args
    │   ├── PythonVersionMismatchError            the payload was pickled by another Python minor version
    │   └── PayloadTooLargeError                  the payload is over the configured size limit
    ├── StorageError (OSError)                  reading/writing inputs, outputs or raw data failed
    ├── SecretNotFoundError (ValueError)        a secret a task reads is in no variable or file it may be in
    ├── ConfigError (ValueError)                bad configuration (remote endpoint, auth, config file)
    ├── ImageSpecError (ValueError)             an ImageSpec that cannot work, or cannot run this kernel's tasks
    ├── ImageBuildError (RuntimeError)          no image builder is installed, or the build failed
    ├── RemoteError                             FlyteAdmin answered with an error; keeps code and message
    │   ├── RemoteNotFoundError (LookupError)     no such task or execution
    │   ├── RemoteAlreadyExistsError              it exists already (with other content, when a user sees it)
    │   ├── RemoteInvalidArgumentError (ValueError)  the server refused the request as invalid
    │   ├── RemoteUnauthenticatedError (PermissionError)  credentials missing, expired or refused
    │   └── RemoteUnavailableError (ConnectionError)  the server could not be reached, even after retries
    ├── WaitTimeoutError (TimeoutError)         RemoteExecution.wait(timeout) gave up; the run goes on
    └── InternalError (AssertionError)          "can't happen": a bug in flyte_nb, please report it

Messages follow one rule: say what was expected, what was received (value and type), and what to do.

Only :class:`RemoteUnavailableError` is a ``ConnectionError``: a loop that retries on ``ConnectionError``
retries an unreachable server, never a NOT_FOUND or an INVALID_ARGUMENT answer.
"""

from __future__ import annotations

import os

__all__ = [
    "CommandLineError",
    "ConfigError",
    "FlyteNbError",
    "FlyteRecoverableException",
    "FlyteTypeError",
    "ImageBuildError",
    "ImageSpecError",
    "InternalError",
    "NotPicklableError",
    "NotStartedError",
    "PayloadDigestError",
    "PayloadTooLargeError",
    "PythonVersionMismatchError",
    "RecoverableError",
    "RecursiveTypeError",
    "RemoteAlreadyExistsError",
    "RemoteError",
    "RemoteInvalidArgumentError",
    "RemoteNotFoundError",
    "RemoteUnauthenticatedError",
    "RemoteUnavailableError",
    "ResolverError",
    "SecretNotFoundError",
    "StorageError",
    "TaskDefinitionError",
    "TaskExecutionError",
    "TaskInputError",
    "TaskOutputError",
    "TaskTimeoutError",
    "TypeRegistrationError",
    "UnexpectedKeywordError",
    "UnsupportedTypeError",
    "WaitTimeoutError",
]

BUG_REPORT = "This is a bug in flyte_nb; please report it with the code that triggered it."

# For short tracebacks of remote errors in a notebook: frames of flyte_nb itself, and of the shell that
# runs a cell (IPython's run_code), are not the user's.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NOTEBOOK_MACHINERY = f"{os.sep}IPython{os.sep}core{os.sep}"


class FlyteNbError(Exception):
    """Base class of every error flyte_nb raises on purpose."""


class FlyteTypeError(FlyteNbError, TypeError):
    """A Python value or annotation does not fit the Flyte type it must be converted to or from (or a
    flyte_nb API was given an object of the wrong kind, e.g. ``set_resolver("name")``)."""


class UnsupportedTypeError(FlyteTypeError):
    """An annotation that cannot be used at all (bare ``list``, a tuple input, an int-valued Enum…)."""


class RecursiveTypeError(UnsupportedTypeError):
    """A dataclass that contains itself other than where a value may be missing (``Optional["Node"]``):
    its Flyte type would be infinitely deep. Never skipped like other untyped dataclass fields."""


class TaskDefinitionError(FlyteNbError, ValueError):
    """A function cannot become a task as written."""


class TypeRegistrationError(FlyteNbError, ValueError):
    """``TypeEngine.register`` was given something it cannot register (see the message for why)."""


class UnexpectedKeywordError(FlyteNbError, TypeError):
    """A flyte_nb function or constructor was given a keyword argument it does not take."""


class NotPicklableError(FlyteNbError, TypeError):
    """An object holding credentials or a network channel was pickled (it would ship them)."""


class CommandLineError(FlyteNbError, ValueError):
    """The ``flyte-nb-execute`` command line is malformed (reported on stderr with exit code 2)."""


class NotStartedError(FlyteNbError, RuntimeError):
    """Something was asked of a run that was never started (e.g. ``RunPanel.wait()`` before a click)."""


class TaskInputError(FlyteNbError, TypeError):
    """A task was called with missing, unknown, colliding or ill-typed arguments."""


class TaskOutputError(FlyteNbError, TypeError):
    """A task function returned something that does not match its declared outputs."""


class TaskExecutionError(FlyteNbError, RuntimeError):
    """A task failed while running.

    Attributes
    ----------
    task_name:
        Name of the task that failed.
    traceback_text:
        The task's own traceback (user frames only), as text. Empty when there is none.
    code, kind, origin:
        The Flyte ``ContainerError`` fields: e.g. ``"USER:ValueError"``, ``"NON_RECOVERABLE"``, ``"USER"``.
    """

    def __init__(
        self,
        message: str,
        *,
        task_name: str = "",
        traceback_text: str = "",
        code: str = "",
        kind: str = "NON_RECOVERABLE",
        origin: str = "USER",
    ) -> None:
        super().__init__(message)
        self.task_name = task_name
        self.traceback_text = traceback_text
        self.code = code
        self.kind = kind
        self.origin = origin

    def __str__(self) -> str:
        text = super().__str__()
        if self.traceback_text and self.traceback_text not in text:
            text = f"{text}\n\n{self.traceback_text.rstrip()}"
        return text


class TaskTimeoutError(TaskExecutionError):
    """A task ran past its ``timeout`` and was stopped."""


class RecoverableError(FlyteNbError, RuntimeError):
    """Raise this from task code for a failure worth retrying.

    It maps to Flyte's RECOVERABLE error kind (flytekit's ``FlyteRecoverableException``): the attempt
    fails, and the task is retried if it has ``retries`` left.
    """


#: flytekit's name for it (``flytekit.exceptions.user.FlyteRecoverableException``).
FlyteRecoverableException = RecoverableError


class ResolverError(FlyteNbError, RuntimeError):
    """A task payload could not be built or loaded."""


class PayloadDigestError(ResolverError):
    """The payload's sha256 differs from the digest recorded in the task's loader args."""


class PythonVersionMismatchError(ResolverError):
    """The payload was pickled by a different Python minor version than the one loading it."""


class PayloadTooLargeError(ResolverError):
    """The task payload is larger than the configured limit."""


class StorageError(FlyteNbError, OSError):
    """Reading or writing task inputs, outputs or raw data failed."""


class SecretNotFoundError(FlyteNbError, ValueError):
    """A secret could not be found where Flyte presents it; the message names the variable and file to
    set (never a value). A ``ValueError``, as flytekit raises, so code catching that keeps working."""


class ConfigError(FlyteNbError, ValueError):
    """Configuration (endpoint, auth, config file) is missing or malformed."""


class ImageSpecError(FlyteNbError, ValueError):
    """An ``ImageSpec`` is malformed, or its image could not run this kernel's tasks (another Python)."""


class ImageBuildError(FlyteNbError, RuntimeError):
    """An image could not be built: no builder is installed (the message names what is missing), or the
    build itself failed."""


class RemoteError(FlyteNbError):
    """FlyteAdmin (or the data proxy) answered with an error.

    Attributes
    ----------
    code:
        The gRPC status code name, e.g. ``"INVALID_ARGUMENT"``.
    details:
        The server's own message, kept verbatim.
    """

    def __init__(self, message: str, *, code: str = "", details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error (its ``_render_traceback_`` protocol): the caller's own frames
        and the message, without flyte_nb's frames and without the errors chained under it (the gRPC error
        stays reachable as ``__cause__``). The message holds what a user needs: code, server message and
        what to check. Plain Python tracebacks are unchanged."""
        import traceback

        frames = [
            frame
            for frame in traceback.extract_tb(self.__traceback__)
            if not frame.filename.startswith(_PACKAGE_DIR) and _NOTEBOOK_MACHINERY not in frame.filename
        ]
        text = "".join(
            [
                *(["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []),
                *traceback.format_exception_only(type(self), self),
            ]
        )
        return text.rstrip("\n").splitlines()


class RemoteNotFoundError(RemoteError, LookupError):
    """The requested entity (task, execution…) does not exist on the server."""


class RemoteAlreadyExistsError(RemoteError):
    """The entity already exists (with different content, when raised to a user)."""


class RemoteInvalidArgumentError(RemoteError, ValueError):
    """The server rejected the request as invalid."""


class RemoteUnauthenticatedError(RemoteError, PermissionError):
    """The server requires (valid) credentials."""


class RemoteUnavailableError(RemoteError, ConnectionError):
    """The server could not be reached, even after retries."""


class WaitTimeoutError(FlyteNbError, TimeoutError):
    """``RemoteExecution.wait(timeout=...)`` gave up before the execution finished; it keeps running."""


class InternalError(FlyteNbError, AssertionError):
    """Something that cannot happen did: a bug in flyte_nb."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} {BUG_REPORT}")
