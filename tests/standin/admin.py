"""The stand-in's gRPC services: AdminService, DataProxyService and AuthMetadataService.

Validation rules and error codes follow FlyteAdmin v1.16 (task_validator.go, execution_validator.go,
task_manager.go, execution_manager.go, dataproxy/service.go), as summarised in the protocol notes:
missing fields and bad container resources (unparsable quantities, a request over its limit, fractional or
unequal GPUs) are INVALID_ARGUMENT, identical re-registration is ALREADY_EXISTS, a different template
under the same version is INVALID_ARGUMENT, compile problems are INTERNAL, single-task executions need
every input, execution names are ``^[a-z][a-z\\-0-9]*$`` and at most 63 characters, and terminating a
finished execution is FAILED_PRECONDITION.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import string
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    node_execution_pb2,
    project_pb2,
    task_execution_pb2,
    task_pb2,
    version_pb2,
)
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.service import admin_pb2_grpc, auth_pb2, auth_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc
from google.protobuf import timestamp_pb2

from tests.standin.store import task_digest

if TYPE_CHECKING:
    from tests.standin.server import StandIn

DOMAINS = ("development", "staging", "production")
_NAME_RE = re.compile(r"^[a-z][a-z\-0-9]*$")
TERMINAL = {
    core_execution_pb2.WorkflowExecution.SUCCEEDED,
    core_execution_pb2.WorkflowExecution.FAILED,
    core_execution_pb2.WorkflowExecution.TIMED_OUT,
    core_execution_pb2.WorkflowExecution.ABORTED,
}
MAX_UPLOAD_EXPIRY_S = 3600


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable")  # context.abort raises


def now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


def node_name_for(task_name: str) -> str:
    """FlyteAdmin's generateNodeNameFromTask: keep letters, digits and '-', last 63 characters."""
    kept = "".join(ch for ch in task_name if ch.isalnum() or ch == "-")
    return kept[-63:]


def castable(literal: literals_pb2.Literal, lt: types_pb2.LiteralType) -> bool:
    """A reduced form of propeller's AreTypesCastable for the literal kinds tasks send."""
    if literal.HasField("offloaded_metadata"):
        return True
    kind = lt.WhichOneof("type")
    if kind == "union_type":
        if literal.scalar.HasField("union"):
            literal = literal.scalar.union.value
        return any(castable(literal, variant) for variant in lt.union_type.variants)
    if literal.scalar.HasField("union"):
        return castable(literal.scalar.union.value, lt)
    if kind == "simple":
        scalar = literal.scalar
        if lt.simple == types_pb2.STRUCT:
            return scalar.HasField("generic") or (
                scalar.HasField("binary") and scalar.binary.tag == "msgpack"
            )
        if lt.simple == types_pb2.NONE:
            return scalar.HasField("none_type")
        field = {
            types_pb2.INTEGER: "integer",
            types_pb2.FLOAT: "float_value",
            types_pb2.STRING: "string_value",
            types_pb2.BOOLEAN: "boolean",
            types_pb2.DATETIME: "datetime",
            types_pb2.DURATION: "duration",
        }.get(lt.simple)
        return field is None or (
            scalar.HasField("primitive") and scalar.primitive.WhichOneof("value") == field
        )
    if kind == "collection_type":
        return literal.HasField("collection") and all(
            castable(x, lt.collection_type) for x in literal.collection.literals
        )
    if kind == "map_value_type":
        return literal.HasField("map") and all(
            castable(x, lt.map_value_type) for x in literal.map.literals.values()
        )
    if kind == "blob":
        if not literal.scalar.HasField("blob"):
            return False
        have, want = literal.scalar.blob.metadata.type.format, lt.blob.format
        return not have or not want or have == want
    if kind == "enum_type":
        return literal.scalar.primitive.string_value in lt.enum_type.values
    if kind == "structured_dataset_type":
        return literal.scalar.HasField("structured_dataset")
    return True


_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_SUFFIX = {
    "": 1,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity(text: str) -> Decimal | None:
    """A Kubernetes resource quantity (``resource.ParseQuantity``), or None when it does not parse."""
    m = _QUANTITY.match(text.strip())
    if m is None:
        return None
    number, suffix = Decimal(m.group(1)), m.group(2) or ""
    return number * (Decimal(f"1{suffix}") if suffix[:1] in ("e", "E") else Decimal(_SUFFIX[suffix]))


def resources_problem(tid: identifier_pb2.Identifier, resources: tasks_pb2.Resources) -> str:
    """flyteadmin's validateTaskResources (no platform limits configured): '' when the resources are fine."""
    names = tasks_pb2.Resources.ResourceName
    checked = {names.CPU, names.MEMORY, names.GPU, names.EPHEMERAL_STORAGE}
    parsed: list[dict[int, Decimal]] = []
    for entries in (resources.requests, resources.limits):
        values: dict[int, Decimal] = {}
        for entry in entries:
            if entry.name not in checked:
                continue
            label = names.Name(entry.name)
            if entry.name in values:
                return f"can't specify {label} limit for task [{tid.name}] multiple times"
            value = quantity(entry.value)
            if value is None:
                return (
                    f"Parsing of {label} request failed for value {entry.value} - reason  quantities must match the "
                    "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'. Please follow K8s "
                    "conventions for resources https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
                )
            if entry.name == names.GPU and value % 1:
                return f"gpu for [{tid.name}] must be a whole number, got: {entry.value} instead"
            values[entry.name] = value
        parsed.append(values)
    requests, limits = parsed
    for name, request in requests.items():
        limit = limits.get(name)
        if limit is None:
            continue
        # Quantity.Value() rounds up to whole units before comparing, as admin does.
        if name == names.GPU and math.ceil(request) != math.ceil(limit):
            return f"For extended resource 'gpu' the default value must equal the limit value for task [{tid.name}]"
        if name != names.GPU and math.ceil(limit) < math.ceil(request):
            return f"Requested {names.Name(name)} default [{request}] is greater than the limit [{limit}]. Please fix your configuration"
    return ""


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, standin: StandIn) -> None:
        self.s = standin

    # ---- projects ----------------------------------------------------------------------------------

    def _check_project(self, context: grpc.ServicerContext, project: str, domain: str) -> None:
        if project not in self.s.projects:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"failed to validate that project [{project}] and domain [{domain}] are registered, err: [project [{project}] not found]",
            )
        if domain not in DOMAINS:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"domain [{domain}] is unrecognized by system")

    def GetVersion(self, request: Any, context: grpc.ServicerContext) -> version_pb2.GetVersionResponse:
        return version_pb2.GetVersionResponse(
            control_plane_version=version_pb2.Version(Build="standin", Version="v1.16.8")
        )

    def ListProjects(self, request: Any, context: grpc.ServicerContext) -> project_pb2.Projects:
        return project_pb2.Projects(
            projects=[
                project_pb2.Project(id=p, name=p, domains=[project_pb2.Domain(id=d, name=d) for d in DOMAINS])
                for p in sorted(self.s.projects)
            ]
        )

    def GetDomains(self, request: Any, context: grpc.ServicerContext) -> project_pb2.GetDomainsResponse:
        return project_pb2.GetDomainsResponse(domains=[project_pb2.Domain(id=d, name=d) for d in DOMAINS])

    # ---- tasks -------------------------------------------------------------------------------------

    def CreateTask(
        self, request: task_pb2.TaskCreateRequest, context: grpc.ServicerContext
    ) -> task_pb2.TaskCreateResponse:
        bad = grpc.StatusCode.INVALID_ARGUMENT
        if not request.HasField("id"):
            abort(context, bad, "missing id")
        tid = request.id
        if tid.resource_type != identifier_pb2.TASK:
            abort(
                context,
                bad,
                f"unexpected resource type {identifier_pb2.ResourceType.Name(tid.resource_type)} for identifier [{tid}], expected TASK instead",
            )
        for field in ("project", "domain", "name", "version"):
            if not getattr(tid, field):
                abort(context, bad, f"missing {field}")
        self._check_project(context, tid.project, tid.domain)
        if not request.HasField("spec") or not request.spec.HasField("template"):
            abort(context, bad, "missing spec")
        template = request.spec.template
        if not template.type:
            abort(context, bad, "missing type")
        if not template.HasField("metadata"):
            abort(context, bad, "missing metadata")
        if template.metadata.HasField("runtime") and not template.metadata.runtime.version:
            abort(context, bad, "missing runtime version")
        if not template.HasField("interface"):
            abort(context, bad, "missing typed interface")
        if template.HasField("container") and not template.container.image:
            abort(context, bad, "missing image")
        if template.HasField("container"):
            problem = resources_problem(tid, template.container.resources)
            if problem:
                abort(context, bad, problem)
        compiled = tasks_pb2.TaskTemplate()
        compiled.CopyFrom(template)
        compiled.id.CopyFrom(tid)  # admin overwrites template.id with the request id
        has_io = bool(compiled.interface.inputs.variables) or bool(compiled.interface.outputs.variables)
        if (
            compiled.HasField("container")
            and has_io
            and not compiled.container.command
            and not compiled.container.args
        ):
            abort(
                context,
                grpc.StatusCode.INTERNAL,
                "failed to compile task: Value required [container.command, container.args]",
            )
        if (
            not compiled.HasField("container")
            and not compiled.HasField("k8s_pod")
            and not compiled.HasField("sql")
        ):
            abort(context, grpc.StatusCode.INTERNAL, "failed to compile task: Value required [target]")
        with self.s.store.lock:
            existing = self.s.store.get_task(tid)
            if existing is not None:
                if task_digest(existing.closure.compiled_task.template) == task_digest(compiled):
                    abort(
                        context,
                        grpc.StatusCode.ALREADY_EXISTS,
                        "task with identical structure already exists",
                    )
                abort(
                    context,
                    bad,
                    f"{tid.name} task with different structure already exists. (Please register a new version of the task):\n"
                    f"{self.s.diff(existing.closure.compiled_task.template, compiled)}",
                )
            stored = task_pb2.Task(id=tid, short_description=request.spec.description.short_description)
            stored.closure.compiled_task.template.CopyFrom(compiled)
            stored.closure.created_at.CopyFrom(now())
            self.s.store.put_task(stored)
        self.s.calls.append("CreateTask")
        return task_pb2.TaskCreateResponse()

    def GetTask(self, request: common_pb2.ObjectGetRequest, context: grpc.ServicerContext) -> task_pb2.Task:
        task = self.s.store.get_task(request.id)
        if task is None:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"entry not found: task {request.id.name} version {request.id.version}",
            )
        return task

    # ---- executions --------------------------------------------------------------------------------

    def _validate_execution(
        self, request: execution_pb2.ExecutionCreateRequest, context: grpc.ServicerContext
    ) -> None:
        bad = grpc.StatusCode.INVALID_ARGUMENT
        if not request.project:
            abort(context, bad, "missing project")
        if not request.domain:
            abort(context, bad, "missing domain")
        self._check_project(context, request.project, request.domain)
        if request.name:
            if not _NAME_RE.match(request.name.lower()):
                abort(
                    context,
                    bad,
                    f"invalid name format: {request.name}, does not match supported regex '^[a-z][a-z\\-0-9]*$'",
                )
            if len(request.name) > 63:
                abort(context, bad, f"name size cannot exceed 63, got {len(request.name)}")
        if not request.HasField("spec"):
            abort(context, bad, "missing spec")
        lp = request.spec.launch_plan
        for field in ("project", "domain", "name", "version"):
            if not getattr(lp, field):
                abort(context, bad, f"missing launch_plan {field}")
        if lp.resource_type not in (identifier_pb2.LAUNCH_PLAN, identifier_pb2.TASK):
            abort(context, bad, f"unexpected resource type {lp.resource_type}, expected LAUNCH_PLAN or TASK")
        for key, literal in request.inputs.literals.items():
            if not key:
                abort(context, bad, "inputs: a literal has an empty name")
            if literal.WhichOneof("value") is None and not literal.HasField("offloaded_metadata"):
                abort(context, bad, f"inputs: literal {key} has no value")

    def CreateExecution(
        self, request: execution_pb2.ExecutionCreateRequest, context: grpc.ServicerContext
    ) -> execution_pb2.ExecutionCreateResponse:
        self._validate_execution(request, context)
        lp = request.spec.launch_plan
        if lp.resource_type != identifier_pb2.TASK:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"missing entity of type LAUNCH_PLAN with identifier {lp.name}",
            )
        task = self.s.store.get_task(lp)
        if task is None:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f'missing entity of type TASK with identifier project:"{lp.project}" domain:"{lp.domain}" name:"{lp.name}" version:"{lp.version}"',
            )
        interface = task.closure.compiled_task.template.interface
        expected = interface.inputs.variables
        for key in request.inputs.literals:
            if key not in expected:
                abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"invalid input {key}")
        for key, var in expected.items():
            if key not in request.inputs.literals:
                abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"expected_inputs {key} missing")
            if not castable(request.inputs.literals[key], var.type):
                abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"invalid {key} input wrong type. Expected {var.type}, but got {request.inputs.literals[key]}",
                )
        name = request.name or "a" + "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(19)
        )
        eid = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.project, domain=request.domain, name=name
        )
        with self.s.store.lock:
            if self.s.store.get_execution(eid) is not None:
                abort(
                    context,
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"execution with name [{name}] already exists: duplicate key value violates unique constraint",
                )
            execution = execution_pb2.Execution(id=eid, spec=request.spec)
            execution.spec.metadata.principal = self.s.principal(context)
            execution.closure.phase = core_execution_pb2.WorkflowExecution.UNDEFINED
            execution.closure.created_at.CopyFrom(now())
            execution.closure.updated_at.CopyFrom(now())
            execution.closure.workflow_id.CopyFrom(
                identifier_pb2.Identifier(
                    resource_type=identifier_pb2.WORKFLOW,
                    project=lp.project,
                    domain=lp.domain,
                    name=f".flytegen.{lp.name}",
                    version=lp.version,
                )
            )
            self.s.store.put_execution(execution)
            self.s.store.put_blob(eid, "inputs.pb", request.inputs.SerializeToString(deterministic=True))
        self.s.calls.append("CreateExecution")
        self.s.propeller.launch(eid)
        return execution_pb2.ExecutionCreateResponse(id=eid)

    def ListExecutions(
        self, request: common_pb2.ResourceListRequest, context: grpc.ServicerContext
    ) -> execution_pb2.ExecutionList:
        """flyteadmin's ListExecutions: filters (eq / ne / value_in on phase, task.name, launch_plan.name,
        execution name), created_at sort, offset tokens."""
        if request.limit <= 0:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid limit: 0")
        try:
            tests = [_execution_filter(part) for part in request.filters.split("+") if part.strip()]
        except ValueError as exc:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"failed to parse filters: {exc}")
        found = [
            e
            for e in self.s.store.executions()
            if e.id.project == request.id.project
            and e.id.domain == request.id.domain
            and all(test(e) for test in tests)
        ]
        key = request.sort_by.key or "created_at"
        if key != "created_at":
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"unsupported sort key {key}")
        found.sort(
            key=lambda e: (e.closure.created_at.seconds, e.closure.created_at.nanos),
            reverse=request.sort_by.direction == common_pb2.Sort.DESCENDING,
        )
        offset = int(request.token or 0)
        page = found[offset : offset + request.limit]
        more = offset + request.limit < len(found)
        self.s.calls.append("ListExecutions")
        return execution_pb2.ExecutionList(executions=page, token=str(offset + request.limit) if more else "")

    def CreateLaunchPlan(self, request: Any, context: grpc.ServicerContext) -> Any:
        from flyteidl.admin import launch_plan_pb2

        plan = launch_plan_pb2.LaunchPlan(id=request.id, spec=request.spec)
        self.s.store.put_launch_plan(plan)
        return launch_plan_pb2.LaunchPlanCreateResponse()

    def GetLaunchPlan(self, request: common_pb2.ObjectGetRequest, context: grpc.ServicerContext) -> Any:
        plan = self.s.store.get_launch_plan(request.id)
        if plan is None:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"missing entity of type launch plan with identifier {request.id.name} {request.id.version}",
            )
        return plan

    def _execution(
        self, eid: identifier_pb2.WorkflowExecutionIdentifier, context: grpc.ServicerContext
    ) -> execution_pb2.Execution:
        execution = self.s.store.get_execution(eid)
        if execution is None:
            abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f'missing entity of type execution with identifier project:"{eid.project}" domain:"{eid.domain}" name:"{eid.name}"',
            )
        return execution

    def GetExecution(
        self, request: execution_pb2.WorkflowExecutionGetRequest, context: grpc.ServicerContext
    ) -> execution_pb2.Execution:
        return self._execution(request.id, context)

    def GetExecutionData(
        self, request: execution_pb2.WorkflowExecutionGetDataRequest, context: grpc.ServicerContext
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        execution = self._execution(request.id, context)
        response = execution_pb2.WorkflowExecutionGetDataResponse()
        inputs = self.s.store.get_blob(request.id, "inputs.pb") or b""
        response.full_inputs.ParseFromString(inputs)
        if execution.closure.phase == core_execution_pb2.WorkflowExecution.SUCCEEDED:
            outputs_rel = self.s.store.get_blob(request.id, "outputs_uri")
            if outputs_rel:
                rel = outputs_rel.decode()
                data = (self.s.bucket.root / rel).read_bytes() if self.s.bucket.exists(rel) else b""
                if len(data) <= self.s.max_inline_bytes:
                    response.full_outputs.ParseFromString(data)
                elif self.s.signed_urls:
                    url, _ = self.s.bucket.sign("GET", rel, 600)
                    response.outputs.url, response.outputs.bytes = url, len(data)
        return response

    def TerminateExecution(
        self, request: execution_pb2.ExecutionTerminateRequest, context: grpc.ServicerContext
    ) -> execution_pb2.ExecutionTerminateResponse:
        execution = self._execution(request.id, context)
        if execution.closure.phase in TERMINAL:
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "Cannot abort an already terminated workflow execution",
            )
        principal = self.s.principal(context)

        def aborting(ex: execution_pb2.Execution) -> None:
            ex.closure.phase = core_execution_pb2.WorkflowExecution.ABORTING
            ex.closure.abort_metadata.cause = request.cause
            ex.closure.abort_metadata.principal = principal
            ex.closure.updated_at.CopyFrom(now())

        self.s.store.update_execution(request.id, aborting)
        self.s.propeller.abort(request.id)
        return execution_pb2.ExecutionTerminateResponse()

    def ListNodeExecutions(
        self, request: node_execution_pb2.NodeExecutionListRequest, context: grpc.ServicerContext
    ) -> node_execution_pb2.NodeExecutionList:
        execution = self._execution(request.workflow_execution_id, context)
        response = node_execution_pb2.NodeExecutionList()
        if execution.closure.phase == core_execution_pb2.WorkflowExecution.UNDEFINED or request.token:
            return response
        node = response.node_executions.add()
        node.id.node_id = node_name_for(execution.spec.launch_plan.name)
        node.id.execution_id.CopyFrom(execution.id)
        node.metadata.spec_node_id = node.id.node_id
        node.closure.phase = _NODE_PHASE.get(
            execution.closure.phase, core_execution_pb2.NodeExecution.UNDEFINED
        )
        node.closure.created_at.CopyFrom(execution.closure.created_at)
        node.closure.updated_at.CopyFrom(execution.closure.updated_at)
        if execution.closure.HasField("error"):
            node.closure.error.CopyFrom(execution.closure.error)
        outputs_rel = self.s.store.get_blob(execution.id, "outputs_uri")
        if outputs_rel:
            node.closure.output_uri = self.s.bucket.native_url(outputs_rel.decode())
        return response

    def _task_executions(
        self, node_id: Any, context: grpc.ServicerContext
    ) -> list[task_execution_pb2.TaskExecution]:
        """One task execution per attempt of the node: earlier attempts FAILED, the last one in the node's phase."""
        execution = self._execution(node_id.execution_id, context)
        if node_id.node_id != node_name_for(execution.spec.launch_plan.name):
            return []
        started = self.s.propeller.attempts.get(execution.id.name, 0)
        last_phase = _TASK_PHASE.get(execution.closure.phase, core_execution_pb2.TaskExecution.RUNNING)
        out = []
        for attempt in range(started):
            te = task_execution_pb2.TaskExecution()
            te.id.task_id.CopyFrom(execution.spec.launch_plan)
            te.id.node_execution_id.CopyFrom(node_id)
            te.id.retry_attempt = attempt
            te.closure.phase = (
                last_phase if attempt == started - 1 else core_execution_pb2.TaskExecution.FAILED
            )
            te.closure.task_type = "python-task"
            out.append(te)
        return out

    def ListTaskExecutions(
        self, request: task_execution_pb2.TaskExecutionListRequest, context: grpc.ServicerContext
    ) -> task_execution_pb2.TaskExecutionList:
        found = [] if request.token else self._task_executions(request.node_execution_id, context)
        return task_execution_pb2.TaskExecutionList(task_executions=found)

    def GetTaskExecution(
        self, request: task_execution_pb2.TaskExecutionGetRequest, context: grpc.ServicerContext
    ) -> task_execution_pb2.TaskExecution:
        for te in self._task_executions(request.id.node_execution_id, context):
            if te.id.retry_attempt == request.id.retry_attempt:
                return te
        abort(
            context,
            grpc.StatusCode.NOT_FOUND,
            f"missing entity of type task execution with identifier {request.id}",
        )

    def GetTaskExecutionData(
        self, request: task_execution_pb2.TaskExecutionGetDataRequest, context: grpc.ServicerContext
    ) -> task_execution_pb2.TaskExecutionGetDataResponse:
        eid = request.id.node_execution_id.execution_id
        data = self.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=eid), context)
        response = task_execution_pb2.TaskExecutionGetDataResponse(full_inputs=data.full_inputs)
        if request.id.retry_attempt + 1 == self.s.propeller.attempts.get(eid.name, 0):
            response.full_outputs.CopyFrom(data.full_outputs)  # only the last attempt produced outputs
        return response

    def GetNodeExecutionData(
        self, request: node_execution_pb2.NodeExecutionGetDataRequest, context: grpc.ServicerContext
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        data = self.GetExecutionData(
            execution_pb2.WorkflowExecutionGetDataRequest(id=request.id.execution_id), context
        )
        return node_execution_pb2.NodeExecutionGetDataResponse(
            full_inputs=data.full_inputs, full_outputs=data.full_outputs
        )


def _execution_filter(expression: str) -> Any:
    """One of flyteadmin's filter expressions (``eq(phase,SUCCEEDED)``) as a test on an Execution."""
    m = re.fullmatch(r"\s*(eq|ne|value_in)\(([\w.]+),([^)]*)\)\s*", expression)
    if m is None:
        raise ValueError(f"invalid filter expression {expression!r}")
    op, field, raw = m.groups()
    values = set(raw.split(";")) if op == "value_in" else {raw}

    def value(e: execution_pb2.Execution) -> str:
        lp = e.spec.launch_plan
        if field == "phase":
            return str(core_execution_pb2.WorkflowExecution.Phase.Name(e.closure.phase))
        if field == "task.name":
            return lp.name if lp.resource_type == identifier_pb2.TASK else ""
        if field == "launch_plan.name":
            return lp.name
        if field in ("name", "execution.name"):
            return e.id.name
        raise ValueError(f"unsupported filter field {field!r}")

    value(execution_pb2.Execution())  # an unknown field fails now, not per row
    if op == "ne":
        return lambda e: value(e) not in values
    return lambda e: value(e) in values


_NODE_PHASE = {
    core_execution_pb2.WorkflowExecution.QUEUED: core_execution_pb2.NodeExecution.QUEUED,
    core_execution_pb2.WorkflowExecution.RUNNING: core_execution_pb2.NodeExecution.RUNNING,
    core_execution_pb2.WorkflowExecution.SUCCEEDING: core_execution_pb2.NodeExecution.RUNNING,
    core_execution_pb2.WorkflowExecution.SUCCEEDED: core_execution_pb2.NodeExecution.SUCCEEDED,
    core_execution_pb2.WorkflowExecution.FAILING: core_execution_pb2.NodeExecution.FAILING,
    core_execution_pb2.WorkflowExecution.FAILED: core_execution_pb2.NodeExecution.FAILED,
    core_execution_pb2.WorkflowExecution.ABORTING: core_execution_pb2.NodeExecution.RUNNING,
    core_execution_pb2.WorkflowExecution.ABORTED: core_execution_pb2.NodeExecution.ABORTED,
    core_execution_pb2.WorkflowExecution.TIMED_OUT: core_execution_pb2.NodeExecution.TIMED_OUT,
}


_TASK_PHASE = {
    core_execution_pb2.WorkflowExecution.SUCCEEDING: core_execution_pb2.TaskExecution.SUCCEEDED,
    core_execution_pb2.WorkflowExecution.SUCCEEDED: core_execution_pb2.TaskExecution.SUCCEEDED,
    core_execution_pb2.WorkflowExecution.FAILING: core_execution_pb2.TaskExecution.FAILED,
    core_execution_pb2.WorkflowExecution.FAILED: core_execution_pb2.TaskExecution.FAILED,
    core_execution_pb2.WorkflowExecution.ABORTING: core_execution_pb2.TaskExecution.RUNNING,
    core_execution_pb2.WorkflowExecution.ABORTED: core_execution_pb2.TaskExecution.ABORTED,
    core_execution_pb2.WorkflowExecution.TIMED_OUT: core_execution_pb2.TaskExecution.FAILED,
}


class DataProxyServicer(dataproxy_pb2_grpc.DataProxyServiceServicer):
    def __init__(self, standin: StandIn) -> None:
        self.s = standin

    def CreateUploadLocation(
        self, request: dataproxy_pb2.CreateUploadLocationRequest, context: grpc.ServicerContext
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        bad = grpc.StatusCode.INVALID_ARGUMENT
        if not request.project or not request.domain:
            abort(context, bad, "prj and dmn are required")
        if not request.content_md5 and not request.filename_root:
            abort(context, bad, "content_md5 or filename_root is a required field")
        if request.expires_in.seconds > MAX_UPLOAD_EXPIRY_S:
            abort(
                context,
                bad,
                f"expiresIn [{request.expires_in.seconds}s] cannot exceed max allowed expiration [1h0m0s]",
            )
        md5_b64 = base64.b64encode(request.content_md5).decode() if request.content_md5 else ""
        root = request.filename_root or base64.b32encode(request.content_md5).decode()
        filename = request.filename or secrets.token_hex(10)
        rel = "/".join(
            p for p in ("uploads", request.org, request.project, request.domain, root, filename) if p
        )
        if request.filename and request.filename_root and self.s.bucket.exists(rel):
            stored = self.s.bucket.stored_md5(rel)
            if not md5_b64 or stored != md5_b64:
                abort(
                    context,
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"file already exists at location [{self.s.bucket.native_url(rel)}], specify a matching hash if you want to rewrite",
                )
        expires = request.expires_in.seconds or MAX_UPLOAD_EXPIRY_S
        url, exp = self.s.bucket.sign("PUT", rel, expires, md5_b64)
        response = dataproxy_pb2.CreateUploadLocationResponse(
            signed_url=url, native_url=self.s.bucket.native_url(rel)
        )
        response.expires_at.FromSeconds(int(exp))
        if md5_b64:
            response.headers["Content-MD5"] = md5_b64
            response.headers["Content-Length"] = str(len(md5_b64))  # stow's quirk: not the body length
            if request.add_content_md5_metadata:
                response.headers["x-amz-meta-flytecontentmd5"] = md5_b64
        self.s.calls.append("CreateUploadLocation")
        return response

    def CreateDownloadLocation(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest, context: grpc.ServicerContext
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        rel = self.s.bucket.rel_from_native(request.native_url)
        if rel is None:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"failed to create a signed url for [{request.native_url}]: not in the configured bucket",
            )
        url, exp = self.s.bucket.sign("GET", rel, request.expires_in.seconds or 3600)
        response = dataproxy_pb2.CreateDownloadLocationResponse(signed_url=url)
        response.expires_at.FromSeconds(int(exp))
        return response


class AuthServicer(auth_pb2_grpc.AuthMetadataServiceServicer):
    def __init__(self, standin: StandIn) -> None:
        self.s = standin

    def GetPublicClientConfig(
        self, request: Any, context: grpc.ServicerContext
    ) -> auth_pb2.PublicClientAuthConfigResponse:
        return auth_pb2.PublicClientAuthConfigResponse(
            client_id="flytectl",
            redirect_uri=self.s.redirect_uri,
            scopes=["offline", "all"],
            authorization_metadata_key=self.s.auth_header_key,
        )

    def GetOAuth2Metadata(
        self, request: Any, context: grpc.ServicerContext
    ) -> auth_pb2.OAuth2MetadataResponse:
        base = self.s.http.base_url
        return auth_pb2.OAuth2MetadataResponse(
            issuer=base,
            authorization_endpoint=f"{base}/oauth2/authorize",
            token_endpoint=f"{base}/oauth2/token",
            device_authorization_endpoint=f"{base}/oauth2/device/auth",
            response_types_supported=["code"],
            code_challenge_methods_supported=["S256"],
            grant_types_supported=[
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
        )
