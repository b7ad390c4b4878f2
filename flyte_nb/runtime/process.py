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

A dynamic task's sub-nodes run as propeller runs them (:mod:`flyte_nb.runtime.scheduler`): every node
whose upstream nodes are done starts at once, at most ``max_parallelism`` task processes run at a time
in the whole run (nested dynamic tasks included), and the first node that fails for good stops the run:
the processes still running are killed (they write their results atomically, so nothing is left
half-written) and the run raises that node's error. Sub-nodes' output lines arrive whole, each
prefixed with the node's id (``[n3] …``); the dynamic task's own output is passed on unchanged.
"""

from __future__ import annotations

import codecs
import functools
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

from flyte_nb.core.bindings import START_NODE, dependencies, resolve_binding
from flyte_nb.errors import TaskExecutionError, TaskInputError
from flyte_nb.runtime import storage
from flyte_nb.runtime.error_document import to_task_execution_error
from flyte_nb.runtime.nodelog import LinePrefixer
from flyte_nb.runtime.render import RenderParams, render_all
from flyte_nb.runtime.scheduler import NodeProgress, Slots, default_parallelism, run_graph

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


@dataclass
class _Node:
    """One node of the run: where its files go and where its output is written."""

    id: str  # unique in the run; names its data, raw and working directories
    label: str  # the id users see in output prefixes and progress ("" for the run's own node)
    out: Write
    err: Write


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
        Called with the task's output text as it arrives (sub-nodes' as whole lines, prefixed ``[n3] ``).
        Calls may come from several threads, one at a time.
    retries, timeout:
        Override the template's ``metadata.retries`` / ``metadata.timeout`` (seconds) when not ``None``.
    execution:
        ``(project, domain, name)`` of the execution, exported as ``FLYTE_INTERNAL_EXECUTION_*``.
    on_retry:
        Called as ``on_retry(attempt, code)`` before a RECOVERABLE failure of the run's own node is
        retried (0-based number of the attempt that starts next, and the failed attempt's error code);
        sub-nodes' retries are reported through ``on_node``.
    max_parallelism:
        How many task processes may run at once (``None``: the number of cores), as Flyte's
        ``max_parallelism`` bounds the nodes of an execution.
    on_node:
        Called with a :class:`~flyte_nb.runtime.scheduler.NodeProgress` whenever a sub-node of a
        dynamic task starts, is retried or ends.
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
        max_parallelism: int | None = None,
        on_node: Callable[[NodeProgress], None] | None = None,
    ) -> None:
        self.root = root
        self.payload_dir = payload_dir
        self.env = dict(env or {})
        self.stdout, self.stderr = stdout, stderr
        self.retries, self.timeout = retries, timeout
        self.execution = execution
        self.on_retry = on_retry
        self.on_node = on_node
        self._slots = Slots(max_parallelism or default_parallelism())
        self._lock = threading.Lock()  # guards the fields below
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._cancelled = False
        self._failure: BaseException | None = None  # the first node failure: it stops the whole run
        self._done = self._total = 0
        self._write_lock = threading.Lock()  # one writer at a time, so node lines never interleave

    # ------------------------------------------------------------------------------------- control

    def cancel(self) -> None:
        """Kill the running task processes (if any); the run then raises ``TaskExecutionError``."""
        with self._lock:
            self._cancelled = True
        self._stop_all()

    def _fail_run(self, error: BaseException) -> None:
        """A node failed for good: remember the first such error and stop every other node."""
        with self._lock:
            if self._failure is None:
                self._failure = error
        self._stop_all()

    def _stop_all(self) -> None:
        self._slots.stop()
        with self._lock:
            for proc in self._procs:
                if proc.poll() is None:
                    _kill_group(proc)

    @property
    def _stopping(self) -> bool:
        return self._cancelled or self._failure is not None

    # ------------------------------------------------------------------------------------- nodes

    def run_node(
        self,
        template: tasks_pb2.TaskTemplate,
        inputs: literals_pb2.LiteralMap,
        node_id: str,
        data_dir: Path,
        *,
        label: str = "",
    ) -> literals_pb2.LiteralMap:
        """Run a node to completion (retries, dynamic sub-nodes) and return its outputs.

        ``label`` is the node's id as users see it: ``""`` for the run's own node, whose output is
        passed on unchanged, else the prefix of its output lines and the id in progress reports.

        Raises
        ------
        TaskExecutionError
            The node failed; carries the task's traceback text and the ``ContainerError`` fields.
        TaskTimeoutError
            The last attempt ran past the timeout.
        """
        node = self._node(node_id, label)
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "inputs.pb").write_bytes(inputs.SerializeToString())
        user_budget = self.retries if self.retries is not None else template.metadata.retries.retries
        user_failures = system_failures = 0
        attempt = 0
        while True:
            outcome = self._run_attempt(template, inputs, node, data_dir, attempt)
            if outcome.error is None:
                break
            retryable = outcome.error.kind == errors_pb2.ContainerError.RECOVERABLE and not self._stopping
            if outcome.error.origin == execution_pb2.ExecutionError.SYSTEM:
                system_failures += 1
                again = retryable and system_failures <= SYSTEM_RETRIES
            else:
                user_failures += 1
                again = retryable and user_failures <= user_budget
            if not again:
                aborted = outcome.error.code == "Aborted"
                self._report(node, template, "ABORTED" if aborted else "FAILED", attempt)
                raise to_task_execution_error(
                    outcome.error, task_name=template.id.name, attempts=attempt + 1, timeout=outcome.timed_out
                )
            node.err(f"[flyte_nb] attempt {attempt} failed with {outcome.error.code}; retrying.\n")
            self._report(node, template, "RETRYING", attempt)
            attempt += 1
            if self.on_retry is not None and not node.label:
                self.on_retry(attempt, outcome.error.code)
        if outcome.futures is not None:
            result = self._run_dynamic(outcome.futures, inputs, node, data_dir / str(attempt))
        else:
            assert outcome.outputs is not None
            result = outcome.outputs
        self._report(node, template, "SUCCEEDED", attempt, finished=True)
        return result

    def _node(self, node_id: str, label: str) -> _Node:
        if not label:
            return _Node(node_id, label, self._write_out, self._write_err)
        prefix = f"[{label}] "
        return _Node(
            node_id,
            label,
            LinePrefixer(prefix, self.stdout, self._write_lock),
            LinePrefixer(prefix, self.stderr, self._write_lock),
        )

    def _write_out(self, text: str) -> None:
        with self._write_lock:
            self.stdout(text)

    def _write_err(self, text: str) -> None:
        with self._write_lock:
            self.stderr(text)

    def _report(
        self,
        node: _Node,
        template: tasks_pb2.TaskTemplate,
        phase: str,
        attempt: int,
        *,
        finished: bool = False,
    ) -> None:
        if not node.label:
            return  # the run's own node is the run: its progress is the caller's to show
        with self._lock:
            self._done += finished
            progress = NodeProgress(node.label, template.id.name, phase, attempt + 1, self._done, self._total)
        if self.on_node is not None:
            self.on_node(progress)

    def _run_dynamic(
        self,
        spec: dynamic_job_pb2.DynamicJobSpec,
        inputs: literals_pb2.LiteralMap,
        parent: _Node,
        out_dir: Path,
    ) -> literals_pb2.LiteralMap:
        templates = {(t.id.project, t.id.domain, t.id.name, t.id.version): t for t in spec.tasks}
        nodes = {node.id: node for node in spec.nodes}
        for node in spec.nodes:
            target = node.WhichOneof("target")
            if target != "task_node":
                raise TaskExecutionError(
                    f"Dynamic task {parent.id!r}: node {node.id!r} is a {target}; the process sandbox runs "
                    "task nodes only. Call tasks (not workflows or branches) inside the dynamic body.",
                    task_name=parent.id,
                    code="SYSTEM:UnsupportedNode",
                    origin="SYSTEM",
                )
        with self._lock:
            self._total += len(nodes)

        def run_one(node_id: str, upstream: Mapping[str, literals_pb2.LiteralMap]) -> literals_pb2.LiteralMap:
            node = nodes[node_id]
            ref = node.task_node.reference_id
            available = {START_NODE: inputs, **upstream}
            node_inputs = literals_pb2.LiteralMap()
            for b in node.inputs:
                node_inputs.literals[b.var].CopyFrom(resolve_binding(b.binding, available))
            label = f"{parent.label}-{node.id}" if parent.label else node.id
            return self.run_node(
                templates[(ref.project, ref.domain, ref.name, ref.version)],
                node_inputs,
                f"{parent.id}-{node.id}",
                out_dir / node.id / "data",
                label=label,
            )

        try:
            outputs = run_graph(
                dependencies(spec.nodes), run_one, limit=self._slots.limit, on_failure=self._fail_run
            )
        except BaseException as exc:
            cause = self._failure
            if cause is None or cause is exc:
                raise
            raise cause from None  # another node failed first; this error is only its consequence
        available = {START_NODE: inputs, **outputs}
        result = literals_pb2.LiteralMap()
        for b in spec.outputs:
            result.literals[b.var].CopyFrom(resolve_binding(b.binding, available))
        # what propeller records for the dynamic node, written whole
        storage.write_bytes_atomic(str(out_dir / "outputs.pb"), result.SerializeToString())
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
        node: _Node,
        data_dir: Path,
        attempt: int,
    ) -> _Attempt:
        params, workdir = self._params(node.id, data_dir, attempt)
        prepared = self._prepare(template, inputs, params, workdir)
        if isinstance(prepared, _Attempt):
            return prepared
        timeout = self.timeout
        if timeout is None and template.metadata.HasField("timeout"):
            timeout = template.metadata.timeout.ToTimedelta().total_seconds() or None
        env = self._environment(template, attempt)
        started = functools.partial(self._report, node, template, "RUNNING", attempt)
        exit_code, timed_out, tail = self._spawn(prepared, workdir, env, timeout, node, started)
        if self._stopping:
            why = "was cancelled" if self._cancelled else "was stopped because another node of the run failed"
            return _Attempt(
                error=_system_error("Aborted", f"Task {template.id.name!r} {why}.", recoverable=False)
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
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        timeout: float | None,
        node: _Node,
        started: Callable[[], None],
    ) -> tuple[int, bool, str]:
        if not self._slots.acquire():  # the run was stopped while this node waited for its turn
            return -signal.SIGKILL, False, ""
        try:
            started()
            return self._spawn_in_slot(argv, cwd, env, timeout, node)
        finally:
            self._slots.release()

    def _spawn_in_slot(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float | None, node: _Node
    ) -> tuple[int, bool, str]:
        with self._lock:
            if self._stopping:
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
            self._procs.add(proc)
        tails: tuple[list[str], list[str]] = ([], [])
        assert proc.stdout is not None
        assert proc.stderr is not None
        pumps = [
            threading.Thread(target=_pump, args=(proc.stdout, node.out, tails[0]), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, node.err, tails[1]), daemon=True),
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
        except BaseException:  # interrupted (KeyboardInterrupt in a cell): the process must not outlive us
            _kill_group(proc)
            raise
        finally:
            with self._lock:
                self._procs.discard(proc)
            for t in pumps:
                t.join(timeout=5)
            for write in (node.out, node.err):
                if isinstance(write, LinePrefixer):
                    write.close()
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
