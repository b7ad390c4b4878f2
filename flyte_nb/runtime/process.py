"""Running a ``TaskTemplate`` in a fresh Python process, laid out and judged as propeller would.

:class:`ProcessRunner` is the engine of ``SandboxExecutor(mode="process")``. For one node it

1. writes ``inputs.pb`` into ``<root>/<node>/data/`` (propeller's node data directory);
2. for each attempt, renders the template's ``command`` + ``args`` with propeller's rules
   (:mod:`flyte_nb.runtime.render`), with ``<data>/<attempt>`` as output prefix and a fresh raw output
   prefix, and runs it with this interpreter's ``flyte-nb-execute`` in a per-attempt working directory
   that holds the task's payload (the container's cwd);
3. streams the process's stdout/stderr to callbacks while it runs, and kills it past the timeout;
4. decides the attempt's outcome as PROTOCOL §1.6 says (exit code, then ``futures.pb``, ``error.pb``,
   ``outputs.pb``), retries RECOVERABLE failures within the task's ``retries`` (SYSTEM ones within
   propeller's separate budget of 3), and runs a dynamic task's sub-nodes the same way.
"""

from __future__ import annotations

import codecs
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flyteidl.core import dynamic_job_pb2, errors_pb2, execution_pb2, literals_pb2, tasks_pb2
from google.protobuf.message import DecodeError

from flyte_nb.core.bindings import START_NODE, order_nodes, resolve_binding
from flyte_nb.errors import TaskExecutionError, TaskInputError
from flyte_nb.runtime.error_document import to_task_execution_error
from flyte_nb.runtime.render import RenderParams, render_all

__all__ = ["ProcessRunner", "entrypoint_command"]

SYSTEM_RETRIES = 3  # propeller's max-node-retries-system-failures default
MAX_OUTPUTS_BYTES = 2 * 1024 * 1024  # flytestdlib storage.limits.maxDownloadMBs default
Write = Callable[[str], None]


def entrypoint_command(argv: list[str]) -> list[str]:
    """``argv`` with a bare program name resolved to this interpreter's console script.

    A kernel started from a virtualenv without activating it does not have the venv's ``bin`` on
    ``PATH``; the script next to ``sys.executable`` is the one that belongs to this interpreter. Without
    one, ``flyte-nb-execute`` falls back to ``python -m flyte_nb.runtime.entrypoint``.
    """
    if not argv or os.sep in argv[0]:
        return argv
    sibling = Path(sys.executable).parent / argv[0]
    if sibling.exists():
        return [str(sibling), *argv[1:]]
    if argv[0] == "flyte-nb-execute":
        return [sys.executable, "-m", "flyte_nb.runtime.entrypoint", *argv[1:]]
    return argv


@dataclass
class _Attempt:
    """The outcome of one attempt: exactly one of ``outputs`` / ``futures`` / ``error`` is set."""

    outputs: literals_pb2.LiteralMap | None = None
    futures: dynamic_job_pb2.DynamicJobSpec | None = None
    error: errors_pb2.ContainerError | None = None
    timed_out: bool = False


def _system_error(code: str, message: str, *, recoverable: bool = True) -> errors_pb2.ContainerError:
    return errors_pb2.ContainerError(
        code=code,
        message=message,
        kind=errors_pb2.ContainerError.RECOVERABLE
        if recoverable
        else errors_pb2.ContainerError.NON_RECOVERABLE,
        origin=execution_pb2.ExecutionError.SYSTEM,
    )


def _pump(stream: IO[bytes], write: Write, tail: list[str]) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = os.read(stream.fileno(), 65536)
        text = decoder.decode(chunk, final=not chunk)
        if text:
            tail.append(text)
            del tail[:-200]
            write(text)
        if not chunk:
            break
    stream.close()


class ProcessRunner:
    """Runs task templates as propeller would, under the local directory ``root``.

    Parameters
    ----------
    root:
        The directory standing in for the blob store (inputs, outputs, raw data, working dirs).
    payload_dir:
        Files copied into every attempt's working directory (the task's resolver payload).
    env:
        Extra environment variables for the task process (on top of this process's environment, the
        template's ``env`` and propeller's ``FLYTE_INTERNAL_*``); ``None`` withholds a variable.
    stdout, stderr:
        Called with the task's output text as it arrives.
    retries, timeout:
        Override the template's ``metadata.retries`` / ``metadata.timeout`` (seconds) when not ``None``.
    execution:
        ``(project, domain, name)`` of the execution, exported as ``FLYTE_INTERNAL_EXECUTION_*``.
    on_retry:
        Called as ``on_retry(attempt, code)`` before a RECOVERABLE failure is retried (0-based number of
        the attempt that starts next, and the failed attempt's error code).
    """

    def __init__(
        self,
        root: Path,
        *,
        payload_dir: Path | None = None,
        env: Mapping[str, str | None] | None = None,
        stdout: Write,
        stderr: Write,
        retries: int | None = None,
        timeout: float | None = None,
        execution: tuple[str, str, str] = ("local", "local", "sandbox"),
        on_retry: Callable[[int, str], None] | None = None,
    ) -> None:
        self.root = root
        self.payload_dir = payload_dir
        self.env = dict(env or {})
        self.stdout, self.stderr = stdout, stderr
        self.retries, self.timeout = retries, timeout
        self.execution = execution
        self.on_retry = on_retry
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    # ------------------------------------------------------------------------------------- control

    def cancel(self) -> None:
        """Kill the running task process (if any); the run then raises ``TaskExecutionError``."""
        with self._lock:
            self._cancelled = True
            if self._proc is not None and self._proc.poll() is None:
                _kill_group(self._proc)

    # ------------------------------------------------------------------------------------- nodes

    def run_node(
        self, template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap, node_id: str, data_dir: Path
    ) -> literals_pb2.LiteralMap:
        """Run a node to completion (retries, dynamic sub-nodes) and return its outputs.

        Raises
        ------
        TaskExecutionError
            The node failed; carries the task's traceback text and the ``ContainerError`` fields.
        TaskTimeoutError
            The last attempt ran past the timeout.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "inputs.pb").write_bytes(inputs.SerializeToString())
        user_budget = self.retries if self.retries is not None else template.metadata.retries.retries
        user_failures = system_failures = 0
        attempt = 0
        while True:
            outcome = self._run_attempt(template, inputs, node_id, data_dir, attempt)
            if outcome.error is None:
                break
            retryable = outcome.error.kind == errors_pb2.ContainerError.RECOVERABLE and not self._cancelled
            if outcome.error.origin == execution_pb2.ExecutionError.SYSTEM:
                system_failures += 1
                again = retryable and system_failures <= SYSTEM_RETRIES
            else:
                user_failures += 1
                again = retryable and user_failures <= user_budget
            if not again:
                raise to_task_execution_error(
                    outcome.error, task_name=template.id.name, attempts=attempt + 1, timeout=outcome.timed_out
                )
            self.stderr(f"[flyte_nb] attempt {attempt} failed with {outcome.error.code}; retrying.\n")
            attempt += 1
            if self.on_retry is not None:
                self.on_retry(attempt, outcome.error.code)
        if outcome.futures is not None:
            return self._run_dynamic(outcome.futures, inputs, node_id, data_dir / str(attempt))
        assert outcome.outputs is not None
        return outcome.outputs

    def _run_dynamic(
        self,
        spec: dynamic_job_pb2.DynamicJobSpec,
        inputs: literals_pb2.LiteralMap,
        parent: str,
        out_dir: Path,
    ) -> literals_pb2.LiteralMap:
        templates = {(t.id.project, t.id.domain, t.id.name, t.id.version): t for t in spec.tasks}
        outputs: dict[str, literals_pb2.LiteralMap] = {START_NODE: inputs}
        for node in order_nodes(spec.nodes):
            target = node.WhichOneof("target")
            if target != "task_node":
                raise TaskExecutionError(
                    f"Dynamic task {parent!r}: node {node.id!r} is a {target}; the process sandbox runs "
                    "task nodes only. Call tasks (not workflows or branches) inside the dynamic body.",
                    task_name=parent,
                    code="SYSTEM:UnsupportedNode",
                    origin="SYSTEM",
                )
            ref = node.task_node.reference_id
            template = templates[(ref.project, ref.domain, ref.name, ref.version)]
            node_inputs = literals_pb2.LiteralMap()
            for b in node.inputs:
                node_inputs.literals[b.var].CopyFrom(resolve_binding(b.binding, outputs))
            outputs[node.id] = self.run_node(
                template, node_inputs, f"{parent}-{node.id}", out_dir / node.id / "data"
            )
        result = literals_pb2.LiteralMap()
        for b in spec.outputs:
            result.literals[b.var].CopyFrom(resolve_binding(b.binding, outputs))
        (out_dir / "outputs.pb").write_bytes(result.SerializeToString())  # what propeller records
        return result

    # ------------------------------------------------------------------------------------ attempts

    def _params(self, node_id: str, data_dir: Path, attempt: int) -> tuple[RenderParams, Path]:
        def raw(n: int) -> Path:
            return self.root / "raw" / node_id / str(n)

        prev = str(raw(attempt - 1) / "_flytecheckpoints") if attempt > 0 else ""
        params = RenderParams(
            input_path=str(data_dir / "inputs.pb"),
            input_prefix=str(data_dir),
            output_prefix=str(data_dir / str(attempt)),
            raw_output_prefix=str(raw(attempt)),
            checkpoint_prefix=str(raw(attempt) / "_flytecheckpoints"),
            prev_checkpoint_prefix=prev,
            generated_name=f"{self.execution[2]}-{node_id}-{attempt}",
            task_template_path=str(data_dir / "task.pb"),
            namespace=f"{self.execution[0]}-{self.execution[1]}",
        )
        return params, self.root / "work" / f"{node_id}-{attempt}"

    def _environment(self, template: tasks_pb2.TaskTemplate, attempt: int) -> dict[str, str]:
        env = dict(os.environ)
        # The kernel's working directory is where a user's own modules live; the image would have them.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"  # stream prints as they happen, as container logs do
        env.update({kv.key: kv.value for kv in template.container.env})
        project, domain, name = self.execution
        env.update(
            {
                "FLYTE_INTERNAL_EXECUTION_ID": name,
                "FLYTE_INTERNAL_EXECUTION_PROJECT": project,
                "FLYTE_INTERNAL_EXECUTION_DOMAIN": domain,
                "FLYTE_INTERNAL_TASK_PROJECT": template.id.project,
                "FLYTE_INTERNAL_TASK_DOMAIN": template.id.domain,
                "FLYTE_INTERNAL_TASK_NAME": template.id.name,
                "FLYTE_INTERNAL_TASK_VERSION": template.id.version,
                "FLYTE_ATTEMPT_NUMBER": str(attempt),
            }
        )
        for key, value in self.env.items():  # None withholds a variable of this process from the task
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def _prepare(
        self,
        template: tasks_pb2.TaskTemplate,
        inputs: literals_pb2.LiteralMap,
        params: RenderParams,
        workdir: Path,
    ) -> list[str] | _Attempt:
        container = template.container
        try:
            argv = render_all([*container.command, *container.args], params, inputs)
        except TaskInputError as exc:  # propeller fails the node before starting a pod
            return _Attempt(error=_system_error("BadTaskSpecification", str(exc), recoverable=False))
        if not argv:
            return _Attempt(
                error=_system_error(
                    "BadTaskSpecification",
                    f"Task {template.id.name!r} has no container command; only container tasks can run in a process.",
                    recoverable=False,
                )
            )
        Path(params.task_template_path).write_bytes(template.SerializeToString())  # {{.TaskTemplatePath}}
        Path(params.output_prefix).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        if self.payload_dir is not None:
            for item in self.payload_dir.iterdir():
                shutil.copy2(item, workdir / item.name)
        return entrypoint_command(argv)

    def _run_attempt(
        self,
        template: tasks_pb2.TaskTemplate,
        inputs: literals_pb2.LiteralMap,
        node_id: str,
        data_dir: Path,
        attempt: int,
    ) -> _Attempt:
        params, workdir = self._params(node_id, data_dir, attempt)
        prepared = self._prepare(template, inputs, params, workdir)
        if isinstance(prepared, _Attempt):
            return prepared
        timeout = self.timeout
        if timeout is None and template.metadata.HasField("timeout"):
            timeout = template.metadata.timeout.ToTimedelta().total_seconds() or None
        exit_code, timed_out, tail = self._spawn(
            prepared, workdir, self._environment(template, attempt), timeout
        )
        if self._cancelled:
            return _Attempt(
                error=_system_error("Aborted", f"Task {template.id.name!r} was cancelled.", recoverable=False)
            )
        if timed_out:
            err = errors_pb2.ContainerError(
                code="Timeout",
                message=f"Task {template.id.name!r} ran past its timeout of {timeout:g}s and was stopped.",
                kind=errors_pb2.ContainerError.RECOVERABLE,
                # USER: the task's own timeout, counted against its retries as on a cluster
                origin=execution_pb2.ExecutionError.USER,
            )
            return _Attempt(error=err, timed_out=True)
        return _judge(template, Path(params.output_prefix), exit_code, tail)

    def _spawn(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float | None
    ) -> tuple[int, bool, str]:
        with self._lock:
            if self._cancelled:
                return -signal.SIGKILL, False, ""
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            self._proc = proc
        tails: tuple[list[str], list[str]] = ([], [])
        assert proc.stdout is not None
        assert proc.stderr is not None
        pumps = [
            threading.Thread(target=_pump, args=(proc.stdout, self.stdout, tails[0]), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, self.stderr, tails[1]), daemon=True),
        ]
        for t in pumps:
            t.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        finally:
            with self._lock:
                self._proc = None
        for t in pumps:
            t.join(timeout=5)
        return proc.returncode, timed_out, "".join(tails[1])[-4000:]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _judge(template: tasks_pb2.TaskTemplate, out_dir: Path, exit_code: int, stderr_tail: str) -> _Attempt:
    """PROTOCOL §1.6: the exit code first, then ``futures.pb``, ``error.pb`` and ``outputs.pb``."""
    name = template.id.name
    if exit_code != 0:
        killed = exit_code < 0
        how = f"was killed by signal {-exit_code}" if killed else f"exited with code {exit_code}"
        return _Attempt(
            error=_system_error(
                "Interrupted" if killed else "RetryableFailure",
                f"The process running task {name!r} {how} before reporting a result "
                f"(Flyte treats this as a retryable failure). Its last output:\n{stderr_tail}",
            )
        )
    try:
        if (out_dir / "futures.pb").exists():
            spec = dynamic_job_pb2.DynamicJobSpec()
            spec.ParseFromString((out_dir / "futures.pb").read_bytes())
            return _Attempt(futures=spec)
        if (out_dir / "error.pb").exists():
            doc = errors_pb2.ErrorDocument()
            doc.ParseFromString((out_dir / "error.pb").read_bytes())
            if not doc.HasField("error"):
                return _Attempt(
                    error=_system_error("ErrorFileBadFormat", f"{out_dir / 'error.pb'} holds no error.")
                )
            return _Attempt(error=doc.error)
        if not template.interface.outputs.variables:
            return _Attempt(outputs=literals_pb2.LiteralMap())
        if not (out_dir / "outputs.pb").exists():
            return _Attempt(
                error=_system_error("OutputsNotFound", f"Task {name!r} wrote no outputs.pb in {out_dir}.")
            )
        data = (out_dir / "outputs.pb").read_bytes()
        if len(data) > MAX_OUTPUTS_BYTES:
            return _Attempt(
                error=_system_error(
                    "OutputSizeExceeded",
                    f"Task {name!r} wrote an outputs.pb of {len(data) / 2**20:.1f} MB; a Flyte cluster refuses more "
                    "than 2 MB by default. Return large values as arrays, dataframes or pickled objects, which "
                    "travel as raw data, not inside outputs.pb.",
                    recoverable=False,
                )
            )
        outputs = literals_pb2.LiteralMap()
        outputs.ParseFromString(data)
    except DecodeError as exc:
        return _Attempt(
            error=_system_error("ErrorFileBadFormat", f"A result file of task {name!r} is corrupt: {exc}.")
        )
    return _Attempt(outputs=outputs)
