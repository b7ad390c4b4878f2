"""Command-line normalisation, storage backends and the error-document mapping."""

from __future__ import annotations

import builtins
import pathlib
import sys
from typing import Any

import pytest
from flyteidl.core import errors_pb2, execution_pb2

from flyte_nb.errors import (
    InternalError,
    PayloadDigestError,
    RecoverableError,
    StorageError,
    TaskExecutionError,
    TaskInputError,
    TaskOutputError,
    TaskTimeoutError,
)
from flyte_nb.runtime import storage
from flyte_nb.runtime.cli import UsageError, parse_args
from flyte_nb.runtime.entrypoint import classify
from flyte_nb.runtime.error_document import error_document, format_user_traceback, to_task_execution_error
from tests.runtime import tasks_mod as m

BASE = ["--inputs", "in.pb", "--output-prefix", "out", "--resolver", "pkg.resolver"]


@pytest.mark.parametrize("value", ["", '""', "{{.prevCheckpointPrefix}}", "{{ .PrevCheckpointPrefix }}"])
def test_absent_previous_checkpoint_spellings_become_none(value: str) -> None:
    args = parse_args(
        [*BASE, "--prev-checkpoint", value, "--raw-output-data-prefix", "{{.rawOutputDataPrefix}}", "--", "a"]
    )
    assert args.prev_checkpoint is None
    assert args.raw_output_data_prefix is None


def test_loader_args_are_passed_through_unparsed() -> None:
    args = parse_args(
        [*BASE, "--checkpoint-path", "s3://c", "--", "task-module", "--inputs", "task-name", "x"]
    )
    assert args.loader_args == ["task-module", "--inputs", "task-name", "x"]
    assert (args.checkpoint_path, args.resolver) == ("s3://c", "pkg.resolver")


def test_unrendered_inputs_location_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--output-prefix must be a path or URI"):
        parse_args(["--inputs", "x", "--output-prefix", "{{.outputPrefix}}", "--resolver", "r", "--", "a"])


# ---- storage ---------------------------------------------------------------------------------------


def test_local_and_file_uris_round_trip(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "deep" / "dir" / "x.pb"
    storage.write_bytes_atomic(f"file://{target}", b"abc")
    assert storage.read_bytes(str(target)) == b"abc"
    assert storage.exists(f"file://{target}")
    assert [p.name for p in target.parent.iterdir()] == ["x.pb"]  # no temporary file left behind


def test_missing_local_file_names_the_uri(tmp_path: pathlib.Path) -> None:
    with pytest.raises(StorageError, match=r"Could not read .*nope\.pb"):
        storage.read_bytes(str(tmp_path / "nope.pb"))


def test_fsspec_schemes_work_when_installed() -> None:
    uri = "memory://flyte-nb-test/raw/x.bin"
    store = storage.store_for("memory://flyte-nb-test/raw")
    store.write_bytes(uri, b"payload")
    assert store.read_bytes(uri) == b"payload"
    assert storage.exists(uri)
    assert store.new_uri("f.npy").startswith("memory://flyte-nb-test/raw/")


@pytest.mark.parametrize(
    ("uri", "extra", "blocked"),
    [
        ("s3://bucket/key", "s3", "s3fs"),
        ("gs://bucket/key", "gcs", "gcsfs"),
        ("abfs://c/key", "abfs", "adlfs"),
    ],
)
def test_missing_backend_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, uri: str, extra: str, blocked: str
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in (blocked, "fsspec"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "fsspec", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(StorageError, match=rf"pip install 'flyte-nb\[{extra}\]'"):
        storage.read_bytes(uri)


class NoCredentials(Exception):
    """What an object store's client raises without credentials (botocore's is no OSError either)."""


def test_object_store_errors_that_are_no_oserror_become_storage_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NoCredentials("Unable to locate credentials")

    for method in ("cat_file", "pipe_file", "exists"):
        monkeypatch.setattr(MemoryFileSystem, method, refuse)
    uri = "memory://flyte-nb-test/inputs.pb"
    for verb, call in (
        ("read", lambda: storage.read_bytes(uri)),
        ("write", lambda: storage.write_bytes_atomic(uri, b"x")),
        ("check", lambda: storage.exists(uri)),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert str(info.value) == (
            f"Could not {verb} {uri!r}: NoCredentials: Unable to locate credentials. "
            "Check the URI and the storage credentials."
        )

    # flyte-nb-execute reports it in error.pb (a SYSTEM error), instead of crashing with the client's traceback
    from flyte_nb.runtime.entrypoint import run

    results = run(
        parse_args(
            [
                "--inputs",
                uri,
                "--output-prefix",
                "out",
                "--resolver",
                "flyte_nb.core.resolver.default_task_resolver",
                "--",
                "task-module",
                "tests.runtime.tasks_mod",
                "task-name",
                "add",
            ]
        )
    )
    doc = errors_pb2.ErrorDocument()
    [(name, data)] = results.files
    doc.ParseFromString(data)
    assert (name, doc.error.code, doc.error.origin) == (
        "error.pb",
        "SYSTEM:StorageError",
        execution_pb2.ExecutionError.SYSTEM,
    )
    assert "NoCredentials: Unable to locate credentials" in doc.error.message


def test_store_without_prefix_uses_a_fresh_directory() -> None:
    store = storage.store_for(None)
    uri = store.new_uri("v.pkl")
    store.write_bytes(uri, b"1")
    assert pathlib.Path(uri).read_bytes() == b"1"


# ---- error documents -------------------------------------------------------------------------------


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def _user_failure() -> BaseException:
    try:
        m.fails.task_function(a=5)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("make", "code", "kind", "origin"),
    [
        (_user_failure, "USER:ValueError", "NON_RECOVERABLE", "USER"),
        (lambda: _raise(RecoverableError("again")), "USER:RecoverableError", "RECOVERABLE", "USER"),
        (lambda: _raise(TaskOutputError("bad return")), "USER:TaskOutputError", "NON_RECOVERABLE", "USER"),
        (lambda: _raise(TaskInputError("bad input")), "SYSTEM:TaskInputError", "NON_RECOVERABLE", "SYSTEM"),
        (lambda: _raise(InternalError("oops")), "SYSTEM:InternalError", "RECOVERABLE", "SYSTEM"),
        (
            lambda: _raise(PayloadDigestError("tampered")),
            "USER:PayloadDigestError",
            "NON_RECOVERABLE",
            "USER",
        ),
    ],
)
def test_exceptions_map_to_container_errors(make: Any, code: str, kind: str, origin: str) -> None:
    doc = error_document(classify(make(), m.fails))
    err = doc.error
    assert err.code == code
    assert errors_pb2.ContainerError.Kind.Name(err.kind) == kind
    assert execution_pb2.ExecutionError.ErrorKind.Name(err.origin) == origin


def test_user_traceback_keeps_chained_causes_and_drops_our_frames() -> None:
    try:
        try:
            m.fails.task_function(a=1)
        except ValueError as inner:
            raise KeyError("outer") from inner
    except KeyError as exc:
        text = format_user_traceback(exc)
    assert "ValueError: bad value 1" in text
    assert "The above exception was the direct cause" in text
    assert text.rstrip().endswith("KeyError: 'outer'")


def test_container_error_becomes_task_execution_error() -> None:
    err = errors_pb2.ContainerError(
        code="USER:ValueError",
        message="Traceback ...\nValueError: boom\n",
        kind=errors_pb2.ContainerError.NON_RECOVERABLE,
        origin=execution_pb2.ExecutionError.USER,
    )
    exc = to_task_execution_error(err, task_name="t", attempts=2)
    assert isinstance(exc, TaskExecutionError)
    assert not isinstance(exc, TaskTimeoutError)
    assert (exc.code, exc.kind, exc.origin, exc.task_name) == (
        "USER:ValueError",
        "NON_RECOVERABLE",
        "USER",
        "t",
    )
    assert "after 2 attempts" in str(exc)
    assert "ValueError: boom" in str(exc)
    assert isinstance(to_task_execution_error(err, task_name="t", timeout=True), TaskTimeoutError)
