"""Payloads that must not be loaded are refused before unpickling, with messages that say what to do."""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import sys
from typing import Any

import pytest

from flyte_nb.core.notebook_resolver import (
    PayloadHeader,
    decode_payload,
    encode_payload,
    notebook_task_resolver,
)
from flyte_nb.errors import PayloadDigestError, PythonVersionMismatchError, ResolverError
from tests.notebook.ipshell import cell


@pytest.fixture
def stored(ip: Any, tmp_path: pathlib.Path) -> tuple[pathlib.Path, str]:
    cell(ip, "from flyte_nb import task\n@task\ndef inc(x: int) -> int:\n    return x + 1")
    payload = notebook_task_resolver.payload(ip.user_ns["inc"])
    path = tmp_path / payload.filename
    path.write_bytes(payload.data)
    return path, payload.sha256


def test_untouched_payload_loads(stored: tuple[pathlib.Path, str]) -> None:
    path, digest = stored
    task = notebook_task_resolver.load_task(["payload", str(path), "sha256", digest, "task-name", "inc"])
    assert task(x=1) == 2


def test_tampered_payload_is_refused_with_both_digests(stored: tuple[pathlib.Path, str]) -> None:
    path, digest = stored
    header, pickled = decode_payload(path.read_bytes(), str(path))
    path.write_bytes(encode_payload(header, pickled.replace(b"inc", b"dec")))
    actual = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(PayloadDigestError) as info:
        notebook_task_resolver.load_task(["payload", path.as_uri(), "sha256", digest])

    message = str(info.value)
    assert f"expected sha256 {digest}, got {actual}" in message
    assert "Re-register the task" in message


def test_other_python_minor_is_refused_naming_both_versions_and_the_fix(tmp_path: pathlib.Path) -> None:
    other = f"{sys.version_info.major}.{sys.version_info.minor + 1}.0"
    here = ".".join(map(str, sys.version_info[:2]))
    header = PayloadHeader(format=1, python=other, cloudpickle="3.1.2", flyte_nb="0.1.0", task="inc")
    # Not a pickle at all: the check must happen on the header, before anything is unpickled.
    data = encode_payload(header, b"this is not a pickle")
    path = tmp_path / "inc.pkl.gz"
    path.write_bytes(data)

    with pytest.raises(PythonVersionMismatchError) as info:
        notebook_task_resolver.load_task(["payload", str(path), "sha256", hashlib.sha256(data).hexdigest()])

    message = str(info.value)
    assert f"pickled by Python {other}" in message
    assert f"this is Python {'.'.join(map(str, sys.version_info[:3]))}" in message
    assert f"image with Python {other.rsplit('.', 1)[0]}" in message
    assert f"from a Python {here} kernel" in message


def test_a_file_that_is_not_a_flyte_nb_payload_is_named(tmp_path: pathlib.Path) -> None:
    data = gzip.compress(b"some flytekit pickle")
    path = tmp_path / "pkl.gz"
    path.write_bytes(data)
    with pytest.raises(ResolverError, match="expected a flyte_nb payload"):
        notebook_task_resolver.load_task(["payload", str(path), "sha256", hashlib.sha256(data).hexdigest()])


def test_missing_payload_file_says_where_it_looked(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nowhere.pkl.gz"
    with pytest.raises(ResolverError, match=r"could not read it from .*nowhere\.pkl\.gz"):
        notebook_task_resolver.load_task(["payload", str(missing), "sha256", "0" * 64])


@pytest.mark.parametrize("args", [["payload", "x.pkl.gz"], ["task-module", "m", "task-name", "n"]])
def test_malformed_loader_args_show_the_expected_form(args: list[str]) -> None:
    with pytest.raises(ResolverError, match=r"expected loader args `payload <uri or path> sha256"):
        notebook_task_resolver.load_task(args)
