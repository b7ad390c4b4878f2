"""``flyte-nb-execute``: Flyte's container task contract, implemented for flyte_nb tasks.

What propeller expects of a container (PROTOCOL §1.4-1.6), step by step:

1. read ``inputs.pb`` (a ``LiteralMap``; an empty file is an empty map; offloaded literals are fetched);
2. load the task through ``--resolver`` and the loader args after ``--``;
3. run ``dispatch_execute`` in a ``TASK_EXECUTION`` context whose store writes large values under
   ``--raw-output-data-prefix`` and whose :class:`~flyte_nb.ExecutionParameters` come from the
   ``FLYTE_INTERNAL_*`` variables propeller sets;
4. write ``outputs.pb``, ``futures.pb`` (a dynamic task's ``DynamicJobSpec``) or ``error.pb`` under
   ``--output-prefix`` (see :mod:`flyte_nb.runtime.error_document` for the error mapping), last, and
   atomically, so a killed process never leaves a readable partial file;
5. exit 0 — also when the task failed, because propeller reads ``error.pb`` only after a successful
   exit. Every way the process can still act on ends this way: an exception, ``sys.exit(n)``, an interrupt
   or another ``BaseException`` from the task, and a failure of the entrypoint itself (inputs that cannot
   be read, a malformed ``_F_L_MIN_SIZE_MB``, a bug). Only a malformed command line (exit 2, said on
   stderr: it may not even name an output prefix) and results that cannot be written at all, not even as
   an ``error.pb`` (exit 1), exit non-zero, and
   ``FLYTE_FAIL_ON_ERROR=true`` makes a task failure exit 1, as in flytekit.

Run by hand (no ``FLYTE_INTERNAL_EXECUTION_ID`` in the environment, so no propeller to read it), a
failed run also prints one line on stderr saying where the error document went and what it says.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flyteidl.core import dynamic_job_pb2, literals_pb2
from google.protobuf.message import DecodeError

from flyte_nb.core.context import ExecutionMode, ExecutionParameters, FlyteContext, FlyteContextManager
from flyte_nb.errors import (
    ConfigError,
    FlyteTypeError,
    InternalError,
    RecoverableError,
    StorageError,
    TaskInputError,
    TaskOutputError,
)
from flyte_nb.runtime import storage
from flyte_nb.runtime.cli import ExecuteArgs, UsageError, help_text, parse_args, wants_help
from flyte_nb.runtime.error_document import (
    RECOVERABLE,
    SYSTEM,
    ErrorInfo,
    base_exception_error,
    error_document,
    is_internal_frame,
    system_error,
    user_error,
)

if TYPE_CHECKING:
    from flyte_nb.core.resolver import TaskResolverMixin
    from flyte_nb.core.task import Task

__all__ = ["ERROR_FILE", "FUTURES_FILE", "OUTPUTS_FILE", "main", "run"]

OUTPUTS_FILE = "outputs.pb"
ERROR_FILE = "error.pb"
FUTURES_FILE = "futures.pb"

_MB = 1024 * 1024
#: Offloaded literals hold values, not further offloaded literals; a longer chain is a broken input.
_MAX_OFFLOAD_HOPS = 8


@dataclass(frozen=True)
class Results:
    """The files one run leaves under the output prefix, in the order they must be written."""

    files: list[tuple[str, bytes]]
    failed: bool
    error: ErrorInfo | None = None


def _env(*names: str, default: str = "") -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


def execution_params(args: ExecuteArgs, raw_prefix: str, working_dir: str) -> ExecutionParameters:
    """The :class:`ExecutionParameters` of this run, from propeller's environment (PROTOCOL §1.8)."""
    from flyteidl.core import identifier_pb2

    attempt = _env("FLYTE_ATTEMPT_NUMBER", default="0")
    project = _env("FLYTE_INTERNAL_EXECUTION_PROJECT", "_F_PRJ", default="local")
    domain = _env("FLYTE_INTERNAL_EXECUTION_DOMAIN", "_F_DM", default="local")
    return ExecutionParameters(
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(
            project=project, domain=domain, name=_env("FLYTE_INTERNAL_EXECUTION_ID", "_F_NM", default="local")
        ),
        project=project,
        domain=domain,
        task_name=_env("FLYTE_INTERNAL_TASK_NAME", "_F_TK_NM"),
        task_version=_env("FLYTE_INTERNAL_TASK_VERSION", "_F_TK_V"),
        attempt_number=int(attempt) if attempt.isdigit() else 0,
        execution_date=datetime.datetime.now(datetime.timezone.utc),
        working_directory=working_dir,
        raw_output_prefix=raw_prefix,
        checkpoint_path=args.checkpoint_path,
        prev_checkpoint=args.prev_checkpoint,
        execution_url=os.environ.get("FLYTE_EXECUTION_URL") or None,
        output_metadata_prefix=args.output_prefix,
        extra={
            "task_project": _env("FLYTE_INTERNAL_TASK_PROJECT", "_F_TK_PRJ"),
            "task_domain": _env("FLYTE_INTERNAL_TASK_DOMAIN", "_F_TK_DM"),
            "workflow": _env("FLYTE_INTERNAL_EXECUTION_WORKFLOW", "_F_WF"),
        },
    )


def _serialization_settings(params: ExecutionParameters) -> Any:
    """Settings a dynamic task compiles its sub-tasks against: the parent's project/domain/version."""
    from flyte_nb.core.settings import SerializationSettings

    return SerializationSettings(
        project=params.extra.get("task_project") or params.project,
        domain=params.extra.get("task_domain") or params.domain,
        version=params.task_version or None,
    )


# ---- loading --------------------------------------------------------------------------------------


def load_resolver(location: str) -> TaskResolverMixin:
    """Import the resolver instance at dotted path ``location`` (``package.module.attribute``)."""
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # notebook payloads and local modules sit in the working directory
    module_name, _, attr = location.rpartition(".")
    if not module_name:
        raise ImportError(
            f"--resolver must be a dotted path like 'package.module.resolver', got {location!r}."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"--resolver {location!r}: cannot import module {module_name!r} ({exc}). The image must have "
            "the package that defines the resolver installed (flyte_nb itself for flyte_nb's resolvers)."
        ) from exc
    try:
        resolver: TaskResolverMixin = getattr(module, attr)
    except AttributeError:
        raise ImportError(
            f"--resolver {location!r}: module {module_name!r} has no attribute {attr!r}. "
            "Check the task's container args and the flyte_nb version in the image."
        ) from None
    return resolver


def load_task(args: ExecuteArgs) -> Task:
    """The task named by the resolver and loader args."""
    return load_resolver(args.resolver).load_task(list(args.loader_args))


# ---- inputs ---------------------------------------------------------------------------------------


def _resolve_offloaded(lit: literals_pb2.Literal, chain: tuple[str, ...] = ()) -> literals_pb2.Literal:
    which = lit.WhichOneof("value")
    if which == "offloaded_metadata":
        uri = lit.offloaded_metadata.uri
        if uri in chain or len(chain) >= _MAX_OFFLOAD_HOPS:
            path = " -> ".join((*chain, uri))
            raise TaskInputError(
                f"inputs.pb: expected each offloaded literal to hold a value, got a chain that "
                f"{'points back at itself' if uri in chain else f'goes on for more than {_MAX_OFFLOAD_HOPS} hops'}"
                f" ({path}). The inputs were not written by Flyte for this task; rerun it from its client."
            )
        full = literals_pb2.Literal()
        full.ParseFromString(storage.read_bytes(uri))
        return _resolve_offloaded(full, (*chain, uri))
    if which == "collection":
        for i, sub in enumerate(lit.collection.literals):
            lit.collection.literals[i].CopyFrom(_resolve_offloaded(sub, chain))
    elif which == "map":
        for key in list(lit.map.literals):
            lit.map.literals[key].CopyFrom(_resolve_offloaded(lit.map.literals[key], chain))
    return lit


def read_inputs(uri: str) -> literals_pb2.LiteralMap:
    """The ``LiteralMap`` at ``uri`` with offloaded literals fetched (an empty file is an empty map)."""
    data = storage.read_bytes(uri)
    lm = literals_pb2.LiteralMap()
    lm.ParseFromString(data)
    for key in list(lm.literals):
        lm.literals[key].CopyFrom(_resolve_offloaded(lm.literals[key]))
    return lm


# ---- classification -------------------------------------------------------------------------------


def _has_user_frame(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if not is_internal_frame(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


def _raised_by_user(exc: BaseException, task: Task) -> bool:
    fn = getattr(task, "task_function", None)
    code = getattr(fn, "__code__", None)
    tb = exc.__traceback__
    while tb is not None:
        if code is not None and tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def classify(exc: BaseException, task: Task) -> ErrorInfo:
    """The ``error.pb`` content for an exception raised by ``dispatch_execute``."""
    if not isinstance(exc, Exception):
        return base_exception_error(exc)  # sys.exit(), an interrupt…
    if isinstance(exc, RecoverableError) or _raised_by_user(exc, task):
        return user_error(exc)
    if isinstance(exc, TaskOutputError):
        return user_error(exc)  # the function returned something its annotations do not allow
    if isinstance(exc, (TaskInputError, FlyteTypeError)):
        # The inputs could not be converted: retrying cannot help, and it is not the code's fault.
        return system_error(exc, recoverable=False, with_traceback=False)
    if isinstance(exc, (StorageError, InternalError)) or not _has_user_frame(exc):
        return system_error(exc, recoverable=True, with_traceback=True)
    return user_error(exc)


# ---- outputs --------------------------------------------------------------------------------------


def _size_mb(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):  # NaN fails too
        raise ConfigError(
            f"${name}: expected a size in megabytes (a non-negative number, e.g. 10), got {raw!r}. Propeller "
            "sets it from literal-offloading-config; fix that configuration (or unset the variable)."
        )
    return value


def offload_limits() -> tuple[float, float] | None:
    """``(min MB, max MB)`` of literal offloading from propeller's environment, or ``None`` when it is off.

    Raises
    ------
    ConfigError
        ``_F_L_MIN_SIZE_MB`` or ``_F_L_MAX_SIZE_MB`` is not a non-negative number.
    """
    min_mb = _size_mb("_F_L_MIN_SIZE_MB", None)
    max_mb = _size_mb("_F_L_MAX_SIZE_MB", 1000.0)
    return None if min_mb is None or max_mb is None else (min_mb, max_mb)


def _offload(
    lm: literals_pb2.LiteralMap, task: Task, output_prefix: str
) -> tuple[list[tuple[str, bytes]], ErrorInfo | None]:
    """flytekit's literal offloading (PROTOCOL §1.9), active only when ``_F_L_MIN_SIZE_MB`` is set."""
    limits = offload_limits()
    if limits is None:
        return [], None
    min_mb, max_mb = limits
    files: list[tuple[str, bytes]] = []
    variables = task.interface.outputs.variables
    for name in list(lm.literals):
        data = lm.literals[name].SerializeToString(deterministic=True)
        if len(data) >= max_mb * _MB:
            return [], ErrorInfo(
                "USER:OutputTooLarge",
                f"Output {name!r} is {len(data) / _MB:.1f} MB, over the {max_mb:g} MB literal limit of this "
                "cluster. Return a smaller value, or a file/array type that is stored as raw data.",
            )
        if len(data) < min_mb * _MB:
            continue
        filename = f"{name}_offloaded_metadata.pb"
        files.append((filename, data))
        meta = literals_pb2.LiteralOffloadedMetadata(
            uri=storage.join(output_prefix, filename), size_bytes=len(data)
        )
        if name in variables:
            meta.inferred_type.CopyFrom(variables[name].type)
        old_hash = lm.literals[name].hash
        lm.literals[name].Clear()
        lm.literals[name].offloaded_metadata.CopyFrom(meta)
        lm.literals[name].hash = old_hash or hashlib.sha256(data).hexdigest()
    return files, None


def _result_files(result: Any, task: Task, output_prefix: str, raw_prefix: str) -> Results:
    if isinstance(result, dynamic_job_pb2.DynamicJobSpec):
        from flyte_nb.runtime.subtasks import ship_sub_task_payloads

        try:
            ship_sub_task_payloads(task, result, raw_prefix)
        except StorageError as exc:
            return _error(system_error(exc, recoverable=True, with_traceback=False))
        except Exception as exc:  # noqa: BLE001 - building a sub-task's payload pickles user code: anything goes
            return _error(user_error(exc))
        return Results([(FUTURES_FILE, result.SerializeToString())], failed=False)
    if result is None or type(result).__name__ == "VoidPromise":
        result = literals_pb2.LiteralMap()
    if isinstance(result, literals_pb2.LiteralMap):
        extra, error = _offload(result, task, output_prefix)
        if error is not None:
            return _error(error)
        return Results([*extra, (OUTPUTS_FILE, result.SerializeToString())], failed=False)
    return _error(
        ErrorInfo(
            "UNKNOWN_OUTPUT",
            f"dispatch_execute of task {getattr(task, 'name', '?')!r} returned {type(result).__name__}; "
            "expected a LiteralMap, a DynamicJobSpec or nothing.",
            RECOVERABLE,
            SYSTEM,
        )
    )


def _error(info: ErrorInfo) -> Results:
    return Results([(ERROR_FILE, error_document(info).SerializeToString())], failed=True, error=info)


def _execute(args: ExecuteArgs, task: Task, store: storage.UriStore, working_dir: str) -> Results:
    try:
        offload_limits()  # before the task runs: a misconfigured cluster should not cost a whole run
        inputs = read_inputs(args.inputs)
    except (ConfigError, TaskInputError) as exc:
        return _error(system_error(exc, recoverable=False, with_traceback=False))
    except DecodeError as exc:
        return _error(
            ErrorInfo(
                "SYSTEM:DecodeError",
                f"--inputs {args.inputs!r} is not a serialized LiteralMap ({exc}). "
                "It must be the inputs.pb Flyte wrote for this execution.",
                origin=SYSTEM,
            )
        )
    except StorageError as exc:
        return _error(system_error(exc, recoverable=True, with_traceback=False))
    params = execution_params(args, store.raw_prefix, working_dir)
    ctx = FlyteContext(
        store=store,
        execution_params=params,
        mode=ExecutionMode.TASK_EXECUTION,
        serialization_settings=_serialization_settings(params),
    )
    if args.test:
        return Results([], failed=False)
    try:
        with FlyteContextManager.with_context(ctx):
            result = task.dispatch_execute(ctx, inputs)
    except BaseException as exc:  # noqa: BLE001 - the task may raise anything, sys.exit() too: it becomes error.pb
        return _with_deck(_error(classify(exc, task)), task, params)
    return _with_deck(_result_files(result, task, args.output_prefix, store.raw_prefix), task, params)


def _with_deck(results: Results, task: Task, params: ExecutionParameters) -> Results:
    """Add ``deck.html`` (a task with decks writes it, failed or not, as flytekit does)."""
    if not getattr(task, "enable_deck", False):
        return results
    from flyte_nb.core.decks import DECK_FILE_NAME, render_decks

    return Results(
        [(DECK_FILE_NAME, render_decks(params.decks).encode("utf-8")), *results.files], results.failed
    )


def _raw_prefix(args: ExecuteArgs) -> str:
    return args.raw_output_data_prefix or storage.join(args.output_prefix, "raw")


def run(args: ExecuteArgs) -> Results:
    """Load and run the task described by ``args``; every task failure becomes an ``error.pb``."""
    from flyte_nb.runtime import runtime_packages

    try:
        runtime_packages.install()  # an ImageSpec's runtime_packages, before the task's imports need them
    except StorageError as exc:
        return _error(system_error(exc, recoverable=True, with_traceback=False))
    try:
        task = load_task(args)
    except BaseException as exc:  # noqa: BLE001 - unpickling runs user code: any failure becomes error.pb
        return _error(user_error(exc) if isinstance(exc, Exception) else base_exception_error(exc))
    raw_prefix = _raw_prefix(args)
    working_dir = tempfile.mkdtemp(prefix="flyte-nb-work-")
    try:
        return _execute(args, task, storage.UriStore(raw_prefix), working_dir)
    finally:
        shutil.rmtree(working_dir, ignore_errors=True)


def write_results(output_prefix: str, results: Results) -> None:
    """Write each file atomically, in order (``outputs.pb`` last, after any offloaded literal)."""
    for name, data in results.files:
        storage.write_bytes_atomic(storage.join(output_prefix, name), data)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``flyte-nb-execute``; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if wants_help(argv):
        print(help_text())
        return 0
    try:
        args = parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    # A previous run of this attempt killed mid-write left its temporary files: as large as the outputs.
    storage.remove_partial_writes(args.output_prefix)
    storage.remove_partial_writes(_raw_prefix(args), recursive=True)
    try:
        results = run(args)
    except BaseException as exc:  # noqa: BLE001 - last resort: whatever escaped run() still gets its error.pb
        results = _error(
            system_error(exc, recoverable=True, with_traceback=True)
            if isinstance(exc, Exception)
            else base_exception_error(exc)
        )
    try:
        results = _write_or_report(args.output_prefix, results)
    except StorageError as exc:
        print(f"flyte-nb-execute: could not write the task's results: {exc}", file=sys.stderr)
        return 1
    if results.failed and "FLYTE_INTERNAL_EXECUTION_ID" not in os.environ:
        print(by_hand_notice(args.output_prefix, results), file=sys.stderr)
    if results.failed and os.environ.get("FLYTE_FAIL_ON_ERROR", "").lower() == "true":
        return 1
    return 0


def _write_or_report(output_prefix: str, results: Results) -> Results:
    """Write ``results``; when that fails, write an ``error.pb`` saying so (propeller reads that one).

    Raises
    ------
    StorageError
        Not even the error document could be written.
    """
    try:
        write_results(output_prefix, results)
    except StorageError as exc:
        results = _error(system_error(exc, recoverable=True, with_traceback=False))
        write_results(output_prefix, results)
    return results


def by_hand_notice(output_prefix: str, results: Results) -> str:
    """One line for a person who ran the command: where the error document is and what it says."""
    info = results.error
    assert info is not None, "a failed run always carries its error"
    lines = [line.strip() for line in info.message.splitlines() if line.strip()]
    summary = lines[-1] if lines else info.code
    if len(summary) > 300:
        summary = summary[:297] + "..."
    kind = "recoverable" if info.kind == RECOVERABLE else "non-recoverable"
    origin = "system" if info.origin == SYSTEM else "user"
    return (
        f"flyte-nb-execute: the task failed; wrote {storage.join(output_prefix, ERROR_FILE)} "
        f"({info.code}, {kind} {origin} error): {summary}"
    )


if __name__ == "__main__":
    sys.exit(main())
