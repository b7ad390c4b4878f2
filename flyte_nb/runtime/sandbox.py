"""``SandboxExecutor``: run a task in the kernel, in a fresh process as a cluster would, or remotely.

=========  ===========================================================================================
mode       what happens
=========  ===========================================================================================
kernel     ``sandbox_execute`` in this process: inputs → literals → the task → literals → outputs.
process    the task's own container command (``flyte-nb-execute …``), rendered with propeller's rules
           and run by this interpreter in a fresh process, with ``inputs.pb`` / ``outputs.pb`` files
           laid out as on a cluster (:mod:`flyte_nb.runtime.process`). The output streams into the
           caller while it runs; ``retries`` and ``timeout`` behave as on a cluster, and the
           sub-tasks of a dynamic task run at once, up to ``max_parallelism`` processes.
remote     ``remote.submit(task, **inputs).wait()`` on a Flyte cluster: the :class:`flyte_nb.Remote` passed
           in, or in a notebook with the flyte_nb extension the remote the kernel is configured with
           (``%flyte_remote``, ``FLYTE_*`` variables, ``~/.flyte/config.yaml``).
=========  ===========================================================================================

Every mode returns what calling the task returns, fills Python defaults in on the client side (Flyte
itself ignores them), and raises :class:`~flyte_nb.TaskExecutionError` with the task's own traceback
when the task fails. In a notebook with the flyte_nb extension, every run is recorded in the notebook's
run ledger (:mod:`flyte_nb.core.ledger`; ``%flyte_runs`` lists them).
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyte_nb.core import execution, session
from flyte_nb.core.context import ExecutionParameters, FlyteContext
from flyte_nb.core.runs import recorded_run
from flyte_nb.core.storage import MemoryStore, local_path
from flyte_nb.errors import ConfigError
from flyte_nb.runtime.entrypoint import classify
from flyte_nb.runtime.error_document import error_document, kind_name, to_task_execution_error
from flyte_nb.runtime.scheduler import check_parallelism
from flyte_nb.runtime.storage import UriStore

if TYPE_CHECKING:
    from flyte_nb.core.interface import PythonInterface
    from flyte_nb.core.session import Submitter
    from flyte_nb.core.settings import SerializationSettings
    from flyte_nb.core.task import Task
    from flyte_nb.runtime.scheduler import NodeProgress

__all__ = ["SandboxExecutor"]

MODES = ("kernel", "process", "remote")
_KEEP: Any = object()  # "not given" for with_overrides, where None is a value


def _stdout(text: str) -> None:
    sys.stdout.write(text)  # looked up per call: the kernel swaps sys.stdout per cell
    sys.stdout.flush()


def _stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


class SandboxExecutor:
    """Runs tasks in the kernel, in a fresh process, or on a Flyte cluster.

    Parameters
    ----------
    mode:
        ``"kernel"``, ``"process"`` or ``"remote"`` (see the module docstring).
    remote:
        The :class:`flyte_nb.Remote` (any :class:`~flyte_nb.core.session.Submitter`) for
        ``mode="remote"``. ``None`` uses the remote the notebook's kernel is configured with (the flyte_nb
        extension supplies it); outside such a notebook, pass one: ``remote=fnb.Remote()``.
    retries:
        Overrides the task's ``retries`` (RECOVERABLE failures are retried this many times).
    timeout:
        Seconds an attempt may run (``process``; overrides the task's ``timeout``) or the whole wait
        (``remote``). Python code in the kernel cannot be stopped safely, so ``kernel`` ignores it.
    stdout, stderr:
        Where the task process's output goes while it runs (``process``); by default this process's
        ``sys.stdout`` / ``sys.stderr``, i.e. the running cell.
    settings:
        :class:`~flyte_nb.SerializationSettings` the template is compiled with (``process``).
    env:
        Extra environment variables for the task process (``process``).
    keep_files:
        Keep the execution directory of a ``process`` run (its path is in :attr:`last_run_dir`).
    on_retry:
        Called as ``on_retry(attempt, code)`` when a RECOVERABLE failure is about to be retried, with the
        0-based number of the attempt that starts next and the failed attempt's error code (``kernel``
        and ``process``), so progress views can show the attempt without parsing log text.
    max_parallelism:
        How many task processes a ``process`` run may have at once: the sub-tasks of a dynamic task
        (and of nested ones) whose inputs are ready run concurrently up to this bound, as Flyte's
        ``max_parallelism`` bounds an execution's nodes. ``None``: the number of cores. Override it for
        one run with :meth:`with_overrides`.
    on_node:
        Called with a :class:`~flyte_nb.runtime.scheduler.NodeProgress` (node, phase, attempt, and
        ``done``/``total`` node counts) when a sub-task of a dynamic ``process`` run starts, is retried
        or ends. Sub-tasks' output lines arrive prefixed with their node id (``[n3] …``).
    """

    def __init__(
        self,
        mode: str = "kernel",
        remote: Submitter | None = None,
        *,
        retries: int | None = None,
        timeout: float | None = None,
        stdout: Callable[[str], None] | None = None,
        stderr: Callable[[str], None] | None = None,
        settings: SerializationSettings | None = None,
        env: Mapping[str, str] | None = None,
        keep_files: bool = False,
        on_retry: Callable[[int, str], None] | None = None,
        max_parallelism: int | None = None,
        on_node: Callable[[NodeProgress], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(
                f"SandboxExecutor mode: expected one of {', '.join(map(repr, MODES))}, got {mode!r} "
                f"({type(mode).__name__})."
            )
        if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
            raise ConfigError(f"SandboxExecutor retries: expected a non-negative int, got {retries!r}.")
        self.mode = mode
        self.remote = remote
        self.retries = retries
        self.timeout = timeout
        self.stdout = stdout or _stdout
        self.stderr = stderr or _stderr
        self.settings = settings
        self.env = dict(env or {})
        self.keep_files = keep_files
        self.on_retry = on_retry
        self.max_parallelism = check_parallelism(max_parallelism, "SandboxExecutor")
        self.on_node = on_node
        self.last_run_dir: Path | None = None
        #: The decks of the last ``kernel`` or ``process`` run, as one HTML page (``None`` without decks).
        self.last_deck: str | None = None
        self._runner: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SandboxExecutor(mode={self.mode!r})"

    def with_overrides(
        self,
        *,
        max_parallelism: int | None = _KEEP,
        retries: int | None = _KEEP,
        timeout: float | None = _KEEP,
    ) -> SandboxExecutor:
        """A copy of this executor with some settings replaced, for one run or a few.

        ``fnb.SandboxExecutor("process").with_overrides(max_parallelism=4).run(fan_out, n=16)`` runs
        at most 4 sub-task processes at once, whatever the executor's own setting.
        """
        return SandboxExecutor(
            self.mode,
            self.remote,
            retries=self.retries if retries is _KEEP else retries,
            timeout=self.timeout if timeout is _KEEP else timeout,
            stdout=self.stdout,
            stderr=self.stderr,
            settings=self.settings,
            env=self.env,
            keep_files=self.keep_files,
            on_retry=self.on_retry,
            max_parallelism=self.max_parallelism if max_parallelism is _KEEP else max_parallelism,
            on_node=self.on_node,
        )

    # ----------------------------------------------------------------------------------------- API

    def run(self, task: Task, /, **inputs: Any) -> Any:
        """Run ``task`` on ``inputs`` and return its native outputs, like calling it.

        Raises
        ------
        TaskInputError
            Missing, unknown or ill-typed inputs (before anything runs).
        TaskExecutionError
            The task failed; ``traceback_text`` holds its own traceback.
        TaskTimeoutError
            The task ran past its timeout (``process``).
        """
        if self.mode == "remote":
            return self._run_remote(task, inputs)  # recorded by the remote's submit, with its execution id
        iface = task.require_python_interface()
        execution.check_input_names(task.name, iface.inputs, iface.defaults, list(inputs))
        values = {**{k: v for k, v in iface.defaults.items() if k in iface.inputs}, **inputs}
        in_order = {k: values[k] for k in iface.inputs if k in values}
        with recorded_run(task, self.mode, in_order):  # in the notebook's run ledger, when there is one
            if self.mode == "kernel":
                from flyte_nb.core import figures

                with figures.contained():  # figures the task opens stay with it, as in its container
                    return self._run_kernel(task, iface, values)
            return self._run_process(task, iface, values)

    def cancel(self) -> None:
        """Stop the task process of a running ``process`` run (it raises ``TaskExecutionError``)."""
        with self._lock:
            runner = self._runner
        if runner is not None:
            runner.cancel()

    # --------------------------------------------------------------------------------------- kernel

    def _run_kernel(self, task: Task, iface: PythonInterface, values: dict[str, Any]) -> Any:
        from flyte_nb.core.checkpoint import MemoryCheckpoint

        store = MemoryStore()
        inputs = execution.inputs_to_literal_map(task.name, iface.inputs, values, store)
        budget = self.retries if self.retries is not None else task.metadata.retries
        attempt = 0
        checkpoint = MemoryCheckpoint()
        while True:
            params = ExecutionParameters(attempt_number=attempt, checkpointer=checkpoint)
            ctx = FlyteContext(store=store, execution_params=params)
            try:
                outputs = task.sandbox_execute(ctx, inputs)
            except Exception as exc:
                self.last_deck = _deck_of(task, params)
                # the next attempt restores what this one saved, as propeller's --prev-checkpoint does
                checkpoint = MemoryCheckpoint(previous=checkpoint.files)
                doc = error_document(classify(exc, task)).error
                if kind_name(doc.kind) == "RECOVERABLE" and attempt < budget:
                    self.stderr(f"[flyte_nb] attempt {attempt} failed with {doc.code}; retrying.\n")
                    attempt += 1
                    if self.on_retry is not None:
                        self.on_retry(attempt, doc.code)
                    continue
                raise to_task_execution_error(doc, task_name=task.name, attempts=attempt + 1) from exc
            self.last_deck = _deck_of(task, params)
            return execution.literal_map_to_outputs(task.name, iface, outputs, store)

    # -------------------------------------------------------------------------------------- process

    def _run_process(self, task: Task, iface: PythonInterface, values: dict[str, Any]) -> Any:
        from flyte_nb.core.serialize import serialize_task
        from flyte_nb.core.settings import SerializationSettings
        from flyte_nb.runtime.process import ProcessRunner
        from flyte_nb.runtime.runtime_packages import sandbox_environment
        from flyte_nb.runtime.secrets_webhook import secret_environment

        root = Path(tempfile.mkdtemp(prefix="flyte-nb-sandbox-"))
        self.last_run_dir = root
        keep_raw = False
        try:
            store = UriStore(str(root / "raw" / "inputs"))
            inputs = execution.inputs_to_literal_map(task.name, iface.inputs, values, store)
            payload_dir = root / "payload"
            payload_dir.mkdir()
            resolver = getattr(task, "task_resolver", None)
            payload = resolver.payload(task) if resolver is not None else None
            if payload is not None:
                (payload_dir / payload.filename).write_bytes(payload.data)
            settings = (self.settings or SerializationSettings()).with_(payload_uri=None)
            template = serialize_task(task, settings)
            name = "s" + uuid.uuid4().hex[:12]
            runner = ProcessRunner(
                root,
                payload_dir=payload_dir,
                # secrets as Flyte's webhook presents them; runtime packages checked, not installed
                env={**secret_environment([template]), **sandbox_environment([template]), **self.env},
                stdout=self.stdout,
                stderr=self.stderr,
                retries=self.retries,
                timeout=self.timeout,
                on_retry=self.on_retry,
                execution=(template.id.project, template.id.domain, name),
                max_parallelism=self.max_parallelism,
                on_node=self.on_node,
            )
            with self._lock:
                self._runner = runner
            node = "n0"
            data_dir = root / "metadata" / node / "data"
            try:
                outputs = runner.run_node(template, inputs, node, data_dir)
            finally:
                self.last_deck = _deck_file(data_dir)
            native = execution.literal_map_to_outputs(task.name, iface, outputs, UriStore(str(root / "raw")))
            keep_raw = _holds_data_under(native, str(root / "raw"))
            return native
        finally:
            with self._lock:
                self._runner = None
            if not self.keep_files:
                _remove_run(root, keep_raw)

    # --------------------------------------------------------------------------------------- remote

    def _run_remote(self, task: Task, inputs: dict[str, Any]) -> Any:
        remote = self.remote
        if remote is None:
            # The network layer sits above this one: the kernel supplies its configured remote.
            notebook = session.current()
            remote = notebook.default_submitter() if notebook is not None else None
            if remote is None:
                raise ConfigError(
                    "SandboxExecutor(mode='remote'): expected a remote to submit to, got none: no remote= was "
                    "passed and no Flyte remote is configured in this kernel. Pass "
                    "remote=fnb.Remote(endpoint, project, domain), or in a notebook set one with "
                    "%flyte_remote ENDPOINT --project P --domain D (or FLYTE_PLATFORM_URL)."
                )
        return remote.submit(task, **inputs).wait(timeout=self.timeout)


def _holds_data_under(value: Any, raw: str, depth: int = 0) -> bool:
    """True when ``value`` holds a file, directory or dataset handle on data under ``raw``, at any
    depth (outputs are tuples, lists, dicts, dataclasses, pydantic models). Values decoded eagerly
    (pickles, arrays, DataFrames) hold none: their raw data is not needed after the run."""
    handle = getattr(value, "_literal_uri", None)
    literal = getattr(value, "_literal_sd", None)
    where = handle if isinstance(handle, str) else getattr(literal, "uri", None)
    if isinstance(where, str):
        return (local_path(where) or where).startswith(raw)
    if depth > 20:
        return False
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    elif dataclasses.is_dataclass(value) or hasattr(value, "model_fields"):
        items = vars(value).values()
    else:
        return False
    return any(_holds_data_under(item, raw, depth + 1) for item in items)


def _remove_run(root: Path, keep_raw: bool) -> None:
    """Remove a process run's directory; raw data its outputs still point to stays until exit.

    File, directory and dataset outputs are handles on that data (their paths are inside it), so it
    must outlive the run; it is removed when the interpreter exits, never while a handle may use it.
    """
    if not keep_raw:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.name != "raw":
            shutil.rmtree(child, ignore_errors=True)
    atexit.register(shutil.rmtree, root, True)


def _deck_of(task: Task, params: ExecutionParameters) -> str | None:
    """The rendered decks of a kernel run (``None`` when the task does not write decks)."""
    if not getattr(task, "enable_deck", False):
        return None
    from flyte_nb.core.decks import render_decks

    return render_decks(params.decks)


def _deck_file(data_dir: Path) -> str | None:
    """The ``deck.html`` of a process run's last attempt, if it wrote one."""
    attempts = [p for p in data_dir.glob("*") if p.name.isdigit()]
    if not attempts:
        return None
    deck = max(attempts, key=lambda p: int(p.name)) / "deck.html"
    return deck.read_text(encoding="utf-8") if deck.is_file() else None
