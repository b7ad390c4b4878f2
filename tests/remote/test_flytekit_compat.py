"""On the cluster (the FlyteAdmin stand-in and its propeller): secrets from the cluster's store, checkpoints
across retried attempts, decks in the bucket and named outputs, for tasks written as flytekit users write them."""

from __future__ import annotations

import pytest

from flyte_nb.errors import TaskExecutionError
from flyte_nb.remote import Remote
from tests.core import flytekit_tasks as t
from tests.core.test_named_outputs import stats, two
from tests.standin import StandIn

CANARY = "cluster-secret-5a4b3c"


def _files_with(standin: StandIn, text: str) -> list[str]:
    return [str(p) for p in standin.root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_secrets_come_from_the_clusters_store(remote: Remote, standin: StandIn) -> None:
    standin.secrets[("db", "password")] = CANARY
    standin.secrets[("api", "token")] = "token"
    assert remote.submit(t.two_secrets).wait(timeout=60) == f"{len(CANARY)}/5/5"
    assert _files_with(standin, CANARY) == []  # not in a template, a payload, inputs, outputs or logs


def test_a_secret_missing_from_the_cluster_fails_the_task_naming_it(remote: Remote, standin: StandIn) -> None:
    with pytest.raises(TaskExecutionError) as info:
        remote.submit(t.password_length).wait(timeout=60)
    assert info.value.code == "USER:SecretNotFoundError"
    assert "_FSEC_DB_PASSWORD" in str(info.value)


def test_a_retried_attempt_on_the_cluster_resumes_from_the_checkpoint(
    remote: Remote, standin: StandIn
) -> None:
    execution = remote.submit(t.resumes, n=4)
    assert execution.wait(timeout=60) == "resumed from 'done 2 of 4' on attempt 1"
    (result,) = standin.last_results.values()
    assert [a.phase for a in result.attempts] == ["RETRYABLE_FAILURE", "SUCCEEDED"]


def test_decks_land_next_to_the_outputs(remote: Remote, standin: StandIn) -> None:
    assert remote.submit(t.with_decks, a=5).wait(timeout=60) == 10
    (result,) = standin.last_results.values()
    deck = (result.paths.output_prefix / "deck.html").read_text()
    assert "<li>mine</li>" in deck
    assert "<li>Input</li>" in deck


def test_several_outputs_come_back_named(remote: Remote) -> None:
    res = remote.submit(two, a=3).wait(timeout=60)
    assert (res.o0, res.o1) == (3, "3")
    assert type(res).__name__ == "DefaultNamedTupleOutput"
    assert remote.submit(stats, a=2).wait(timeout=60).count == 2


def test_a_remote_compiles_against_an_image_spec(standin: StandIn) -> None:
    import flyte_nb as fnb
    from flyte_nb.core.image_spec import kernel_python
    from flyte_nb.errors import ImageSpecError
    from tests.remote.conftest import make_remote

    spec = fnb.ImageSpec(registry="localhost:30000", packages=["msgpack"])
    remote = make_remote(standin, image=spec)
    try:
        execution = remote.submit(t.context_info)
        execution.wait(timeout=60)
        task = standin.store.get_task(standin.store.get_execution(execution.id).spec.launch_plan)
        assert task is not None
        assert task.closure.compiled_task.template.container.image == spec.completed().image_name()
    finally:
        remote.close()
    other = "3.10" if kernel_python() != "3.10" else "3.12"
    with pytest.raises(ImageSpecError, match=f"pins Python {other}"):
        make_remote(standin, image=fnb.ImageSpec(python_version=other))
