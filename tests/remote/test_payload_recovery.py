"""A payload changed in the bucket after its upload is refused by the container (PayloadDigestError);
the same Remote then forgets the upload, so re-registering, as the message advises, helps."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from flyte_nb.errors import TaskExecutionError
from flyte_nb.remote import Remote
from tests.remote import tasks
from tests.standin import StandIn


def _tamper(remote: Remote) -> Path:
    (native_url,) = remote._uploaded.values()
    stored = Path(urllib.parse.unquote(native_url[len("file://") :]))
    stored.write_bytes(stored.read_bytes()[:-8] + b"tampered")
    return stored


def test_after_a_digest_failure_submitting_again_uploads_a_fresh_payload(
    remote: Remote, standin: StandIn
) -> None:
    assert remote.submit(tasks.shipped, name="ada", times=1).wait(timeout=60) == "hello ada"
    stored = _tamper(remote)

    with pytest.raises(TaskExecutionError) as info:
        remote.submit(tasks.shipped, name="bob", times=1).wait(timeout=60)
    assert info.value.code == "USER:PayloadDigestError"
    assert "Re-register the task" in str(info.value)
    assert remote._uploaded == {}  # the memo no longer claims the payload is stored

    assert remote.submit(tasks.shipped, name="cy", times=1).wait(timeout=60) == "hello cy"
    payload = tasks.shipped.task_resolver.payload(tasks.shipped)
    assert stored.read_bytes() == payload.data  # rewritten, byte for byte
    assert len([rel for rel in standin.bucket.puts if rel.endswith(".fnb.pkl.gz")]) == 2


def test_a_reattached_execution_without_its_task_forgets_every_upload(remote: Remote) -> None:
    assert remote.submit(tasks.shipped, name="ada", times=1).wait(timeout=60) == "hello ada"
    _tamper(remote)
    failed = remote.submit(tasks.shipped, name="bob", times=1)
    with pytest.raises(TaskExecutionError):
        failed.wait(timeout=60)
    remote.upload_payload(tasks.shipped)  # in the memo again
    assert remote._uploaded
    again = remote.execution(failed.name)  # no task: which payload it used is not known here
    assert again.error is not None
    assert again.error.code == "USER:PayloadDigestError"
    assert remote._uploaded == {}
