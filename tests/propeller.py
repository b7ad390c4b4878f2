"""A propeller stand-in for tests: run a ``TaskTemplate``'s container command the way Flyte would.

This module is deliberately independent of flyte_nb's Python API: it reads and writes flyteidl
protobufs only, renders the container command with its own implementation of propeller's rules
(``flyteplugins/.../core/template/template.go``) and decides the outcome as propeller does
(PROTOCOL §1.3-1.7). What a test sees here is what a cluster would see.

Main entry points
-----------------
``run_task_template(template, inputs, workdir, ...) -> PropellerResult``
    One node execution: all its attempts (retries per §1.7) and, for a dynamic task, the sub-nodes of
    its ``futures.pb``.
``run_attempt(template, inputs, workdir, attempt=0, ...) -> AttemptResult``
    Exactly one attempt: render, run, classify.

The command runs with the *same interpreter's* console scripts: ``flyte-nb-execute`` (or
``pyflyte-execute``) is looked up next to ``sys.executable`` before ``PATH``.
"""

from __future__ import annotations

import decimal
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flyteidl.core import (
    dynamic_job_pb2,
    errors_pb2,
    execution_pb2,
    literals_pb2,
    tasks_pb2,
    types_pb2,
    workflow_pb2,
)

__all__ = [
    "MAX_OUTPUT_BYTES",
    "AttemptPaths",
    "AttemptResult",
    "PropellerResult",
    "render_arg",
    "run_attempt",
    "run_task_template",
    "script_command",
]

MAX_OUTPUT_BYTES = 2 * 1024 * 1024  # flytestdlib storage.limits.maxDownloadMBs default
SYSTEM_RETRY_BUDGET = 3  # propeller max-node-retries-system-failures default

USER = execution_pb2.ExecutionError.USER
SYSTEM = execution_pb2.ExecutionError.SYSTEM

# ---------------------------------------------------------------------------------------- rendering


def _rx(name: str) -> re.Pattern[str]:
    return re.compile(r"(?i){{\s*[\.$]" + name + r"\s*}}")


_RX = {
    "input": _rx("Input"),
    "output": _rx("OutputPrefix"),
    "input_prefix": _rx("InputPrefix"),
    "raw": _rx("RawOutputDataPrefix"),
    "prev": _rx("PrevCheckpointPrefix"),
    "ckpt": _rx("CheckpointOutputPrefix"),
    "key": _rx("PerRetryUniqueKey"),
    "tpl": _rx("TaskTemplatePath"),
    "ns": _rx("Namespace"),
}
_INPUT_VAR = re.compile(r"(?i){{\s*[\.$]Inputs\.(?P<input_name>[^}\s]+)\s*}}")


class RenderFailure(Exception):
    """Propeller could not render the command (the node fails permanently)."""


def _go_float(x: float) -> str:
    # Go's %v is strconv %g with shortest digits: exponent form when the exponent is < -4 or >= 6.
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    d = decimal.Decimal(repr(x))
    neg, digs, e = d.as_tuple()
    digits = "".join(map(str, digs)).rstrip("0") or "0"
    exp = len(digs) + int(e) - 1
    sign = "-" if neg else ""
    if exp < -4 or exp >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    return sign + format(abs(d).normalize(), "f")


def _go_any(v: object) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, list):
        return "[" + " ".join(_go_any(x) for x in v) + "]"
    if isinstance(v, dict):
        kv = sorted((_go_any(k), _go_any(x)) for k, x in v.items())
        return "map[" + " ".join(f"{k}:{x}" for k, x in kv) + "]"
    return str(v)


def _literal_text(lit: literals_pb2.Literal) -> str:
    kind = lit.WhichOneof("value")
    if kind == "collection":
        return "[" + ",".join(_literal_text(x) for x in lit.collection.literals) + "]"
    if kind != "scalar":
        raise RenderFailure(f"received an unexpected primitive type [{kind}]")
    sc = lit.scalar
    skind = sc.WhichOneof("value")
    if skind == "primitive":
        p = sc.primitive
        pk = p.WhichOneof("value")
        if pk == "integer":
            return str(p.integer)
        if pk == "boolean":
            return "true" if p.boolean else "false"
        if pk == "float_value":
            return _go_float(p.float_value)
        if pk == "string_value":
            return p.string_value
        if pk == "datetime":  # Go's RFC3339Nano: trailing zeros of the fraction trimmed
            return (
                re.sub(r"\.?0+Z$", "Z", p.datetime.ToJsonString())
                if "." in p.datetime.ToJsonString()
                else p.datetime.ToJsonString()
            )
        if pk == "duration":
            return f"seconds:{p.duration.seconds}" + (
                f" nanos:{p.duration.nanos}" if p.duration.nanos else ""
            )
        raise RenderFailure(f"received an unexpected primitive type [{pk}]")
    if skind == "blob":
        return sc.blob.uri
    if skind == "schema":
        return sc.schema.uri
    if skind == "binary":
        if sc.binary.tag != "msgpack":
            raise RenderFailure(f"unsupported binary tag [{sc.binary.tag}]")
        import msgpack

        return _go_any(msgpack.unpackb(sc.binary.value, strict_map_key=False))
    raise RenderFailure(f"received an unexpected scalar type [{skind}]")


def _sanitize_key(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]+", "_", re.sub(r"^[^a-zA-Z_]+", "a", name))


def render_arg(arg: str, values: Mapping[str, str], inputs: literals_pb2.LiteralMap | None) -> str:
    """Render one command element; ``values`` maps the keys of ``_RX`` to their substitutions."""
    order = ["input", "output", "input_prefix", "raw", "prev", "ckpt", "key"]
    val = arg
    for key in order:
        val = _RX[key].sub(lambda _m, k=key: values[k], val)
    if _RX["tpl"].search(val):
        val = _RX["tpl"].sub(lambda _m: values["tpl"], val)
    val = _RX["ns"].sub(lambda _m: values.get("ns", ""), val)
    if inputs is None:
        return val

    def var(m: re.Match[str]) -> str:
        name = m.group("input_name")
        if name not in inputs.literals:
            raise RenderFailure(f"requested input is not found [{name}]")
        return _literal_text(inputs.literals[name])

    return _INPUT_VAR.sub(var, val)


def script_command(argv: list[str]) -> list[str]:
    """``argv`` with its program resolved next to ``sys.executable`` first (the same venv)."""
    if not argv:
        return argv
    prog = argv[0]
    if os.sep not in prog:
        sibling = Path(sys.executable).parent / prog
        if sibling.exists():
            return [str(sibling), *argv[1:]]
        found = shutil.which(prog)
        if found:
            return [found, *argv[1:]]
    return argv


# ------------------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class AttemptPaths:
    """Where one attempt's files live (propeller's layout under a local "bucket" directory)."""

    data_dir: Path
    inputs: Path
    output_prefix: Path
    raw_output_prefix: Path
    checkpoint_prefix: Path
    prev_checkpoint_prefix: Path | None
    working_dir: Path
    task_template: Path

    @property
    def outputs(self) -> Path:
        return self.output_prefix / "outputs.pb"

    @property
    def error(self) -> Path:
        return self.output_prefix / "error.pb"

    @property
    def futures(self) -> Path:
        return self.output_prefix / "futures.pb"


def _paths(workdir: Path, data_dir: Path, exec_name: str, node_id: str, attempt: int) -> AttemptPaths:
    def raw_for(n: int) -> Path:
        unique = hashlib.sha1(f"{exec_name}/{node_id}/{n}".encode()).hexdigest()[:20]
        return workdir / "raw" / unique[:2] / unique

    return AttemptPaths(
        data_dir=data_dir,
        inputs=data_dir / "inputs.pb",
        output_prefix=data_dir / str(attempt),
        raw_output_prefix=raw_for(attempt),
        checkpoint_prefix=raw_for(attempt) / "_flytecheckpoints",
        prev_checkpoint_prefix=raw_for(attempt - 1) / "_flytecheckpoints" if attempt > 0 else None,
        working_dir=workdir / "pods" / f"{exec_name}-{node_id}-{attempt}".replace("/", "-"),
        task_template=data_dir / "task.pb",
    )


# ------------------------------------------------------------------------------------------ results


@dataclass
class AttemptResult:
    """The outcome of one attempt, as propeller classifies it.

    ``phase`` is ``"SUCCEEDED"``, ``"DYNAMIC"`` (``futures.pb`` found), ``"RETRYABLE_FAILURE"``,
    ``"PERMANENT_FAILURE"`` or ``"TIMED_OUT"``.
    """

    phase: str
    attempt: int
    outputs: literals_pb2.LiteralMap | None
    error: execution_pb2.ExecutionError | None
    container_error: errors_pb2.ContainerError | None
    exit_code: int | None
    stdout: str
    stderr: str
    paths: AttemptPaths
    command: list[str]
    futures: dynamic_job_pb2.DynamicJobSpec | None = None


@dataclass
class PropellerResult:
    """The outcome of a node execution: ``phase`` is ``"SUCCEEDED"``, ``"FAILED"`` or ``"TIMED_OUT"``."""

    phase: str
    outputs: literals_pb2.LiteralMap | None
    error: execution_pb2.ExecutionError | None
    exit_code: int | None
    stdout: str
    stderr: str
    paths: AttemptPaths
    attempts: list[AttemptResult] = field(default_factory=list)
    sub_nodes: dict[str, PropellerResult] = field(default_factory=dict)

    @property
    def container_error(self) -> errors_pb2.ContainerError | None:
        return self.attempts[-1].container_error if self.attempts else None


def _exec_error(code: str, message: str, kind: int) -> execution_pb2.ExecutionError:
    return execution_pb2.ExecutionError(code=code, message=message, kind=kind)  # type: ignore[arg-type]


def _read_proto(path: Path, msg):  # type: ignore[no-untyped-def]
    msg.ParseFromString(path.read_bytes())
    return msg


def _classify(
    template: tasks_pb2.TaskTemplate, paths: AttemptPaths, exit_code: int, stderr: str
) -> tuple[
    str,
    literals_pb2.LiteralMap | None,
    execution_pb2.ExecutionError | None,
    errors_pb2.ContainerError | None,
    dynamic_job_pb2.DynamicJobSpec | None,
]:
    """PROTOCOL §1.6: futures.pb, then error.pb, then outputs.pb — only after a successful exit."""
    if exit_code != 0:
        killed = exit_code in (137, 143) or exit_code < 0
        code = "Interrupted" if killed else "RetryableFailure"
        tail = "\n".join(stderr.splitlines()[-20:])
        msg = f"[primary] terminated with exit code ({exit_code}). Reason [{'Killed' if killed else 'Error'}]. Message: \n{tail}"
        return "RETRYABLE_FAILURE", None, _exec_error(code, msg, SYSTEM if killed else USER), None, None
    if paths.futures.exists():
        spec = _read_proto(paths.futures, dynamic_job_pb2.DynamicJobSpec())
        return "DYNAMIC", None, None, None, spec
    if paths.error.exists():
        doc = _read_proto(paths.error, errors_pb2.ErrorDocument())
        if not doc.HasField("error"):
            return (
                "RETRYABLE_FAILURE",
                None,
                _exec_error("ErrorFileBadFormat", "error.pb has no error", SYSTEM),
                None,
                None,
            )
        err = doc.error
        ee = execution_pb2.ExecutionError(
            code=err.code, message=err.message, kind=err.origin, worker=err.worker, error_uri=str(paths.error)
        )
        ee.timestamp.CopyFrom(err.timestamp)
        phase = (
            "RETRYABLE_FAILURE" if err.kind == errors_pb2.ContainerError.RECOVERABLE else "PERMANENT_FAILURE"
        )
        return phase, None, ee, err, None
    if not template.interface.outputs.variables:
        return "SUCCEEDED", literals_pb2.LiteralMap(), None, None, None
    if not paths.outputs.exists():
        return (
            "RETRYABLE_FAILURE",
            None,
            _exec_error("OutputsNotFound", f"Outputs not found at [{paths.outputs}]", SYSTEM),
            None,
            None,
        )
    if paths.outputs.stat().st_size > MAX_OUTPUT_BYTES:
        return (
            "PERMANENT_FAILURE",
            None,
            _exec_error("OutputSizeExceeded", f"{paths.outputs} is over 2 MB", USER),
            None,
            None,
        )
    outputs = _read_proto(paths.outputs, literals_pb2.LiteralMap())
    return "SUCCEEDED", outputs, None, None, None


# ------------------------------------------------------------------------------------------ running


def _pump(stream, sink: list[str], echo: Callable[[str], None] | None) -> None:  # type: ignore[no-untyped-def]
    for line in iter(stream.readline, ""):
        sink.append(line)
        if echo is not None:
            echo(line)
    stream.close()


def _timeout_of(template: tasks_pb2.TaskTemplate, override: float | None) -> float | None:
    if override is not None:
        return override
    if template.metadata.HasField("timeout"):
        return template.metadata.timeout.ToTimedelta().total_seconds() or None
    return None


SECRETS_ENV_PREFIX = "_FSEC_"  # what Flyte's secrets webhook injects (flytepropeller/pkg/webhook)
SECRETS_DIR = "/etc/flyte/secrets"


def webhook_env(
    template: tasks_pb2.TaskTemplate, secrets: Mapping[tuple[str, str], str] | None
) -> dict[str, str]:
    """What the secrets webhook adds to the pod for the template's ``security_context.secrets``.

    ``secrets`` is the cluster's secret store, ``(group, key) -> value``; a requested secret missing from
    it is left out (the webhook mounts secrets as optional).
    """
    env = {"FLYTE_SECRETS_ENV_PREFIX": SECRETS_ENV_PREFIX, "FLYTE_SECRETS_DEFAULT_DIR": SECRETS_DIR}
    for s in template.security_context.secrets:
        value = (secrets or {}).get((s.group, s.key))
        if value is not None:
            env[f"{SECRETS_ENV_PREFIX}{s.group}_{s.key}".upper()] = value
            if s.env_var:
                env[s.env_var] = value
    return env


def run_attempt(
    template: tasks_pb2.TaskTemplate,
    inputs: literals_pb2.LiteralMap,
    workdir: str | os.PathLike[str],
    *,
    payload_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[tuple[str, str], str] | None = None,
    attempt: int = 0,
    timeout: float | None = None,
    execution: tuple[str, str, str] = ("flytesnacks", "development", "fexec"),
    node_id: str = "n0",
    data_dir: str | os.PathLike[str] | None = None,
    echo: Callable[[str], None] | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> AttemptResult:
    """Run one attempt of ``template`` and classify it as propeller does.

    ``payload_dir``'s files are copied into the attempt's working directory (the container's cwd), as a
    fast-registered distribution would be. ``env`` is the container image's environment (default: this
    process's, without secret variables); propeller's ``FLYTE_INTERNAL_*``, the template's ``env`` and
    the secrets webhook's variables (``secrets``: the cluster's secret store) go on top.
    """
    workdir = Path(workdir)
    project, domain, exec_name = execution
    ddir = (
        Path(data_dir)
        if data_dir is not None
        else workdir / "metadata" / f"{project}-{domain}-{exec_name}" / node_id / "data"
    )
    paths = _paths(workdir, ddir, exec_name, node_id, attempt)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    if not paths.inputs.exists():  # propeller writes inputs.pb once, before the first attempt
        paths.inputs.write_bytes(inputs.SerializeToString())
    if attempt > 0 and paths.output_prefix.exists():
        shutil.rmtree(paths.output_prefix)
    paths.output_prefix.mkdir(parents=True, exist_ok=True)
    if paths.working_dir.exists():
        shutil.rmtree(paths.working_dir)
    paths.working_dir.mkdir(parents=True)
    if payload_dir is not None:
        for item in Path(payload_dir).iterdir():
            if item.is_file():
                shutil.copy2(item, paths.working_dir / item.name)
    values = {
        "input": str(paths.inputs),
        "output": str(paths.output_prefix),
        "input_prefix": str(paths.data_dir),
        "raw": str(paths.raw_output_prefix),
        "prev": str(paths.prev_checkpoint_prefix) if paths.prev_checkpoint_prefix else '""',
        "ckpt": str(paths.checkpoint_prefix),
        "key": _sanitize_key(f"{exec_name}-{node_id}-{attempt}"),
        "tpl": str(paths.task_template),
        "ns": f"{project}-{domain}",
    }
    container = template.container
    try:
        if any(_RX["tpl"].search(a) for a in [*container.command, *container.args]):
            paths.task_template.write_bytes(template.SerializeToString())
        argv = [render_arg(a, values, inputs) for a in [*container.command, *container.args]]
    except RenderFailure as exc:
        err = _exec_error("BadTaskSpecification", f"failed to render args: {exc}", USER)
        return AttemptResult("PERMANENT_FAILURE", attempt, None, err, None, None, "", "", paths, [])
    argv = script_command(argv)
    proc_env = {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("_FSEC_")}
    proc_env.update({kv.key: kv.value for kv in container.env})
    proc_env.update(webhook_env(template, secrets))
    proc_env.update(
        {
            "FLYTE_INTERNAL_EXECUTION_ID": exec_name,
            "FLYTE_INTERNAL_EXECUTION_PROJECT": project,
            "FLYTE_INTERNAL_EXECUTION_DOMAIN": domain,
            "FLYTE_INTERNAL_TASK_PROJECT": template.id.project,
            "FLYTE_INTERNAL_TASK_DOMAIN": template.id.domain,
            "FLYTE_INTERNAL_TASK_NAME": template.id.name,
            "FLYTE_INTERNAL_TASK_VERSION": template.id.version,
            "FLYTE_ATTEMPT_NUMBER": str(attempt),
        }
    )
    out: list[str] = []
    errs: list[str] = []
    proc = subprocess.Popen(
        argv,
        cwd=paths.working_dir,
        env=proc_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if on_start is not None:
        on_start(proc)
    threads = [
        threading.Thread(target=_pump, args=(proc.stdout, out, echo), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, errs, echo), daemon=True),
    ]
    for t in threads:
        t.start()
    limit = _timeout_of(template, timeout)
    timed_out = False
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for t in threads:
        t.join(timeout=10)
    exit_code = proc.returncode
    if exit_code is not None and exit_code < 0:
        exit_code = 128 - exit_code  # what Kubernetes reports for a signal
    stdout, stderr = "".join(out), "".join(errs)
    if timed_out:
        err = _exec_error("Timeout", f"task active timeout [{limit}s] expired", USER)
        return AttemptResult("TIMED_OUT", attempt, None, err, None, exit_code, stdout, stderr, paths, argv)
    phase, outputs, err, cerr, futures = _classify(template, paths, exit_code, stderr)
    return AttemptResult(phase, attempt, outputs, err, cerr, exit_code, stdout, stderr, paths, argv, futures)


def run_task_template(
    template: tasks_pb2.TaskTemplate,
    inputs: literals_pb2.LiteralMap,
    workdir: str | os.PathLike[str],
    payload_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    attempt: int = 0,
    timeout: float | None = None,
    *,
    retries: int | None = None,
    secrets: Mapping[tuple[str, str], str] | None = None,
    execution: tuple[str, str, str] | None = None,
    node_id: str = "n0",
    data_dir: str | os.PathLike[str] | None = None,
    echo: Callable[[str], None] | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> PropellerResult:
    """Run a node for ``template`` to completion: attempts with retries (§1.7), then dynamic sub-nodes.

    ``retries`` defaults to ``template.metadata.retries.retries`` (user-error budget); SYSTEM errors use
    propeller's separate budget of 3. ``attempt`` is the number of the first attempt.
    """
    execution = execution or ("flytesnacks", "development", "f" + uuid.uuid4().hex[:19])
    user_budget = template.metadata.retries.retries if retries is None else retries
    user_failures = system_failures = 0
    attempts: list[AttemptResult] = []
    n = attempt
    while True:
        res = run_attempt(
            template,
            inputs,
            workdir,
            payload_dir=payload_dir,
            env=env,
            secrets=secrets,
            attempt=n,
            timeout=timeout,
            execution=execution,
            node_id=node_id,
            data_dir=data_dir,
            echo=echo,
            on_start=on_start,
        )
        attempts.append(res)
        retryable = res.phase in ("RETRYABLE_FAILURE", "TIMED_OUT")
        if retryable and res.error is not None:
            if res.error.kind == SYSTEM:
                system_failures += 1
                again = system_failures <= SYSTEM_RETRY_BUDGET
            else:
                user_failures += 1
                again = user_failures <= user_budget
            if again:
                n += 1
                continue
        break
    last = attempts[-1]
    result = PropellerResult(
        phase={"SUCCEEDED": "SUCCEEDED", "DYNAMIC": "SUCCEEDED", "TIMED_OUT": "TIMED_OUT"}.get(
            last.phase, "FAILED"
        ),
        outputs=last.outputs,
        error=last.error,
        exit_code=last.exit_code,
        stdout=last.stdout,
        stderr=last.stderr,
        paths=last.paths,
        attempts=attempts,
    )
    if last.phase == "DYNAMIC":
        assert last.futures is not None
        _run_dynamic(
            result, last.futures, inputs, Path(workdir), payload_dir, env, execution, node_id, echo, secrets
        )
    return result


# ------------------------------------------------------------------------------------------ dynamic


def _attr(lit: literals_pb2.Literal, path) -> literals_pb2.Literal:  # type: ignore[no-untyped-def]
    for step in path:
        key = step.string_value if step.WhichOneof("value") == "string_value" else step.int_value
        if lit.HasField("collection"):
            lit = lit.collection.literals[int(key)]
        elif lit.HasField("map"):
            lit = lit.map.literals[str(key)]
        elif lit.scalar.HasField("binary"):
            import msgpack

            value = msgpack.unpackb(lit.scalar.binary.value, strict_map_key=False)
            for s in path[list(path).index(step) :]:
                value = value[s.string_value if s.WhichOneof("value") == "string_value" else s.int_value]
            return _from_plain(value)
        else:
            raise RenderFailure(f"cannot resolve attribute {key!r} of {lit}")
    return lit


def _from_plain(value: object) -> literals_pb2.Literal:
    p = literals_pb2.Primitive
    if isinstance(value, bool):
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=p(boolean=value)))
    if isinstance(value, int):
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=p(integer=value)))
    if isinstance(value, float):
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=p(float_value=value)))
    if isinstance(value, str):
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=p(string_value=value)))
    import msgpack

    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=msgpack.dumps(value), tag="msgpack"))
    )


def _bind(
    bd: literals_pb2.BindingData, outputs: Mapping[str, literals_pb2.LiteralMap]
) -> literals_pb2.Literal:
    kind = bd.WhichOneof("value")
    if kind == "scalar":
        lit = literals_pb2.Literal(scalar=bd.scalar)
    elif kind == "collection":
        lit = literals_pb2.Literal(
            collection=literals_pb2.LiteralCollection(
                literals=[_bind(b, outputs) for b in bd.collection.bindings]
            )
        )
    elif kind == "map":
        lit = literals_pb2.Literal(
            map=literals_pb2.LiteralMap(literals={k: _bind(b, outputs) for k, b in bd.map.bindings.items()})
        )
    elif kind == "promise":
        ref: types_pb2.OutputReference = bd.promise
        lit = _attr(outputs[ref.node_id].literals[ref.var], ref.attr_path)
    elif kind == "offloaded_metadata":
        lit = literals_pb2.Literal(offloaded_metadata=bd.offloaded_metadata)
    else:
        raise RenderFailure(f"empty binding {bd}")
    if bd.HasField("union"):
        lit = literals_pb2.Literal(
            scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=lit, type=bd.union.targetType))
        )
    return lit


def _order(nodes: list[workflow_pb2.Node]) -> list[workflow_pb2.Node]:
    def refs(bd: literals_pb2.BindingData) -> set[str]:
        kind = bd.WhichOneof("value")
        if kind == "promise":
            return {bd.promise.node_id}
        if kind == "collection":
            return (
                set().union(*(refs(b) for b in bd.collection.bindings)) if bd.collection.bindings else set()
            )
        if kind == "map":
            return set().union(*(refs(b) for b in bd.map.bindings.values())) if bd.map.bindings else set()
        return set()

    ids = {n.id for n in nodes}
    deps = {
        n.id: ({*n.upstream_node_ids} | set().union(*(refs(b.binding) for b in n.inputs))) & ids
        for n in nodes
    }
    done: list[workflow_pb2.Node] = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if deps[n.id] <= {d.id for d in done}]
        if not ready:
            raise RenderFailure(f"dynamic job spec has a dependency cycle among {[n.id for n in pending]}")
        done.extend(ready)
        pending = [n for n in pending if n not in ready]
    return done


def _run_dynamic(
    parent: PropellerResult,
    spec: dynamic_job_pb2.DynamicJobSpec,
    parent_inputs: literals_pb2.LiteralMap,
    workdir: Path,
    payload_dir: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    execution: tuple[str, str, str],
    parent_id: str,
    echo: Callable[[str], None] | None,
    secrets: Mapping[tuple[str, str], str] | None = None,
) -> None:
    tasks = {(t.id.project, t.id.domain, t.id.name, t.id.version): t for t in spec.tasks}
    outputs: dict[str, literals_pb2.LiteralMap] = {"start-node": parent_inputs}
    for node in _order(list(spec.nodes)):
        if node.WhichOneof("target") != "task_node":
            parent.phase = "FAILED"
            parent.error = _exec_error(
                "UnsupportedNode", f"node {node.id} is a {node.WhichOneof('target')}", SYSTEM
            )
            return
        ref = node.task_node.reference_id
        template = tasks[(ref.project, ref.domain, ref.name, ref.version)]
        node_inputs = literals_pb2.LiteralMap(
            literals={b.var: _bind(b.binding, outputs) for b in node.inputs}
        )
        retries = node.metadata.retries.retries if node.metadata.HasField("retries") else None
        timeout = (
            node.metadata.timeout.ToTimedelta().total_seconds() if node.metadata.HasField("timeout") else None
        )
        sub = run_task_template(
            template,
            node_inputs,
            workdir,
            payload_dir,
            env,
            timeout=timeout or None,
            retries=retries,
            secrets=secrets,
            execution=execution,
            node_id=f"{parent_id}-{node.id}",
            data_dir=parent.paths.output_prefix / node.id / "data",
            echo=echo,
        )
        parent.sub_nodes[node.id] = sub
        if sub.phase != "SUCCEEDED":
            parent.phase = "FAILED"
            parent.error = sub.error
            return
        outputs[node.id] = sub.outputs or literals_pb2.LiteralMap()
    parent.outputs = literals_pb2.LiteralMap(
        literals={b.var: _bind(b.binding, outputs) for b in spec.outputs}
    )
    parent.paths.outputs.write_bytes(parent.outputs.SerializeToString())


def wait_for(path: Path, timeout: float = 30.0) -> bool:
    """Poll until ``path`` exists (helper for kill-timing tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.01)
    return False
