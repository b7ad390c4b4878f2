"""Tasks as FlyteAdmin has them registered: the interface an execution is decoded with when its task
object is not at hand (after a kernel restart, or for an execution flytekit launched).

An execution's ``spec.launch_plan`` names what it runs: a task (a single-task execution, what
``Remote.submit`` and flytekit's ``FlyteRemote.execute(task)`` launch), fetched with ``GetTask``, or a
launch plan (a workflow), fetched with ``GetLaunchPlan`` for its expected inputs and outputs. Either way
the result is a :class:`RegisteredTask` whose Python types are guessed from the literal types
(:mod:`flyte_nb.core.guess`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2, interface_pb2, tasks_pb2

from flyte_nb.core.guess import guess_interface
from flyte_nb.core.task import Task
from flyte_nb.errors import FlyteTypeError, RemoteError

if TYPE_CHECKING:
    from flyte_nb.core.interface import PythonInterface
    from flyte_nb.remote.client import AdminClient

__all__ = ["RegisteredTask", "fetch_registered"]


class RegisteredTask(Task):
    """A task (or launch plan) registered on FlyteAdmin, known by its id and typed interface only.

    Its :attr:`python_interface` is guessed from the registered literal types, so executions of it
    decode to Python values; its code is not here, so it cannot be called in the kernel — but
    ``Remote.submit(registered, **inputs)`` launches it again on the cluster.

    Attributes
    ----------
    id:
        The registered ``Identifier`` (resource type, project, domain, name, version).
    template:
        The compiled ``TaskTemplate`` for a task (``None`` for a launch plan).
    """

    def __init__(
        self,
        id: identifier_pb2.Identifier,
        interface: interface_pb2.TypedInterface,
        *,
        task_type: str = "python-task",
        template: tasks_pb2.TaskTemplate | None = None,
    ) -> None:
        super().__init__(task_type, id.name, interface=interface)
        self.id = id
        self.template = template
        self._guessed: PythonInterface | None = None

    @property
    def python_interface(self) -> PythonInterface:
        """The Python types guessed from the registered interface (see :mod:`flyte_nb.core.guess`)."""
        if self._guessed is None:
            self._guessed = guess_interface(self.interface, self.name)
        return self._guessed

    @property
    def version(self) -> str:
        """The registered version."""
        return self.id.version

    def execute(self, **kwargs: Any) -> NoReturn:
        kind = identifier_pb2.ResourceType.Name(self.id.resource_type).lower().replace("_", " ")
        raise FlyteTypeError(
            f"Expected a task whose code is in this kernel, got {kind} {self.name!r} version {self.id.version} as "
            "fetched from FlyteAdmin (its code is not here, so it cannot run in the kernel). Launch it on the "
            "cluster with remote.submit(task, ...), or define the task in the notebook to run it locally."
        )

    def __repr__(self) -> str:
        return f"RegisteredTask(name={self.name!r}, version={self.id.version!r})"


def fetch_registered(client: AdminClient, launch_plan: identifier_pb2.Identifier) -> RegisteredTask:
    """The registered task (or launch plan) an execution's ``spec.launch_plan`` names.

    Raises
    ------
    RemoteNotFoundError
        It is no longer registered (or never was on this server).
    RemoteError
        The id names neither a task nor a launch plan.
    """
    request = common_pb2.ObjectGetRequest(id=launch_plan)
    if launch_plan.resource_type == identifier_pb2.TASK:
        task = client.get_task(request)
        template = task.closure.compiled_task.template
        return RegisteredTask(launch_plan, template.interface, task_type=template.type, template=template)
    if launch_plan.resource_type == identifier_pb2.LAUNCH_PLAN:
        plan = client.get_launch_plan(request)
        interface = interface_pb2.TypedInterface(outputs=plan.closure.expected_outputs)
        for name, parameter in plan.closure.expected_inputs.parameters.items():
            interface.inputs.variables[name].CopyFrom(parameter.var)
        return RegisteredTask(launch_plan, interface, task_type="launch_plan")
    kind = identifier_pb2.ResourceType.Name(launch_plan.resource_type)
    raise RemoteError(
        f"Expected an execution of a task or a launch plan, got one of {kind} {launch_plan.name!r}: its "
        "interface cannot be fetched. Pass the task to decode it: remote.execution(name, task).",
        code="UNIMPLEMENTED",
    )
