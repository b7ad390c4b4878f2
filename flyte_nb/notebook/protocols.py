"""What the kernel layer uses of the objects it runs and shows, stated as Protocols.

The widgets and views work with any object that has these members: ``flyte_nb.Remote`` and
``flyte_nb.RemoteExecution`` (imported only for type checking here, so that showing a task does not load
grpc), and the stand-ins tests pass. Nothing in this layer probes an object for attributes it may lack.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flyteidl.core import identifier_pb2

    from flyte_nb.core.settings import SerializationSettings
    from flyte_nb.core.task import Task
    from flyte_nb.remote.config import RemoteConfig

__all__ = ["Execution", "RemoteRunner", "SignInCode", "SubmitStep"]


class SignInCode(Protocol):
    """A device-flow sign-in to show: where to go and the code to enter (``flyte_nb.remote.DeviceCode``)."""

    @property
    def verification_uri(self) -> str: ...

    @property
    def user_code(self) -> str: ...

    @property
    def link(self) -> str: ...


class SubmitStep(Protocol):
    """A step of a submission as it starts (``flyte_nb.remote.SubmitProgress``)."""

    @property
    def step(self) -> str:
        """``inputs``, ``upload``, ``register``, ``launch`` or ``retry``."""
        ...

    @property
    def message(self) -> str:
        """The step in words."""
        ...


class Execution(Protocol):
    """A run on a Flyte cluster (``flyte_nb.RemoteExecution``)."""

    @property
    def id(self) -> identifier_pb2.WorkflowExecutionIdentifier:
        """Project, domain and name."""
        ...

    @property
    def task(self) -> Task | None:
        """The task that was submitted, when known (its outputs' names and types)."""
        ...

    @property
    def name(self) -> str:
        """The execution name."""
        ...

    @property
    def url(self) -> str:
        """Its page in the Flyte console."""
        ...

    @property
    def phase(self) -> str:
        """The current phase name (asks the server unless recently asked)."""
        ...

    @property
    def attempt(self) -> int:
        """The 1-based number of the current attempt."""
        ...

    @property
    def duration(self) -> float | None:
        """The run time in seconds the cluster reported at the last look, if any."""
        ...

    @property
    def outputs(self) -> Any:
        """The native outputs once it SUCCEEDED."""
        ...

    @property
    def error(self) -> BaseException | None:
        """The failure once it FAILED, TIMED_OUT or was ABORTED."""
        ...

    def wait(self, timeout: float | None = None, on_update: Callable[[Any], None] | None = None) -> Any:
        """Block until it ends; return its outputs or raise its error."""
        ...

    def terminate(self, cause: str = ...) -> None:
        """Abort it on the cluster."""
        ...


class RemoteRunner(Protocol):
    """A Flyte cluster to submit tasks to (``flyte_nb.Remote``)."""

    def submit(
        self, task: Task, progress: Callable[[SubmitStep], None] | None = None, /, **inputs: Any
    ) -> Execution:
        """Register ``task`` and launch it with native ``inputs``, telling ``progress`` of each step."""
        ...

    def sign_in_prompts_here(self, show: Callable[[SignInCode], None]) -> AbstractContextManager[None]:
        """Show sign-ins that calls on this thread need with ``show``."""
        ...

    @property
    def config(self) -> RemoteConfig:
        """Where the cluster is (endpoint, project, domain)."""
        ...

    def settings(self) -> SerializationSettings:
        """What tasks are compiled with for this cluster (their versions depend on it)."""
        ...

    def execution(
        self, name: str, task: Task | None = None, *, project: str | None = None, domain: str | None = None
    ) -> Execution:
        """Re-attach to execution ``name``."""
        ...

    def logout(self) -> None:
        """Forget the credentials, cached ones included."""
        ...
