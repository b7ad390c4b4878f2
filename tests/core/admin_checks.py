"""FlyteAdmin's CreateTask checks on a TaskTemplate, re-implemented independently for tests.

Mirrors ``flyteadmin/pkg/manager/impl/validation/task_validator.go`` and the compiler's task checks
(PROTOCOL §4.4): what a template must satisfy for ``CreateTask`` to accept it. Project/domain existence
and platform limits are server state and left out. Returns the list of violations (empty = accepted).
"""

from __future__ import annotations

import re
from decimal import Decimal

from flyteidl.core import identifier_pb2, tasks_pb2

_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_SCALE = {
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def quantity(text: str) -> Decimal | None:
    """k8s ``resource.ParseQuantity``: the value, or ``None`` when it does not parse."""
    match = _QUANTITY.match(text)
    if match is None:
        return None
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _SCALE.get(suffix, Decimal(1))


def admin_violations(t: tasks_pb2.TaskTemplate) -> list[str]:
    """Every CreateTask/compiler rule the template breaks."""
    errors: list[str] = []
    if not t.HasField("id"):
        errors.append("missing id")
    else:
        if t.id.resource_type != identifier_pb2.TASK:
            errors.append("unexpected resource type")
        for fld in ("project", "domain", "name", "version"):
            if not getattr(t.id, fld):
                errors.append(f"missing {fld}")
    if not t.type:
        errors.append("missing type")
    if not t.HasField("metadata"):
        errors.append("missing metadata")
    elif t.metadata.HasField("runtime") and not t.metadata.runtime.version:
        errors.append("missing runtime version")
    if not t.HasField("interface"):
        errors.append("missing typed interface")
    if t.type == "python-task" and not t.HasField("container"):
        errors.append("container target missing")
    if t.HasField("container"):
        errors.extend(_container_violations(t))
    return errors


def _container_violations(t: tasks_pb2.TaskTemplate) -> list[str]:
    errors: list[str] = []
    c = t.container
    if not c.image:
        errors.append("missing image")
    has_io = bool(t.interface.inputs.variables) or bool(t.interface.outputs.variables)
    if has_io and not c.command and not c.args:
        errors.append("command and args both empty with a non-empty interface")
    sides: dict[str, dict[int, Decimal]] = {}
    for side in ("requests", "limits"):
        seen: dict[int, Decimal] = {}
        for entry in getattr(c.resources, side):
            if entry.name in seen:
                errors.append(f"duplicate {side} entry {entry.name}")
            value = quantity(entry.value)
            if value is None:
                errors.append(f"{side} {entry.name}={entry.value!r} is not a quantity")
                continue
            seen[entry.name] = value
        sides[side] = seen
    for name, req in sides["requests"].items():
        lim = sides["limits"].get(name)
        if name != tasks_pb2.Resources.GPU and lim is not None and req > lim:
            errors.append(f"request {name} exceeds limit")
    gpu_req = sides["requests"].get(tasks_pb2.Resources.GPU)
    gpu_lim = sides["limits"].get(tasks_pb2.Resources.GPU)
    for value in (gpu_req, gpu_lim):
        if value is not None and value != value.to_integral_value():
            errors.append("gpu must be a whole number")
    if (gpu_req is None) != (gpu_lim is None) or (gpu_req is not None and gpu_req != gpu_lim):
        errors.append("gpu request must equal gpu limit")
    return errors
