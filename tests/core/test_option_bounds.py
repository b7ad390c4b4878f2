"""retries and timeout are bounded at definition, as Flyte stores them, instead of failing as a raw
protobuf or timedelta error when the template is serialized."""

from __future__ import annotations

import datetime

import pytest

import flyte_nb as fnb
from flyte_nb.core.settings import MAX_RETRIES, MAX_TIMEOUT_SECONDS
from flyte_nb.errors import TaskDefinitionError


def _define(**options: object) -> fnb.PythonFunctionTask:
    @fnb.task(**options)  # type: ignore[call-overload]
    def f(a: int) -> int:
        return a

    return f  # type: ignore[no-any-return]


@pytest.mark.parametrize("retries", [2**40, 2**32, 2**32 - 1])
def test_retries_beyond_what_flyte_stores_are_refused_when_defined(retries: int) -> None:
    with pytest.raises(TaskDefinitionError) as info:
        _define(retries=retries)
    assert str(info.value).startswith(f"Task 'f' retries: expected at most {MAX_RETRIES:,}, got {retries:,}.")
    assert "32-bit" in str(info.value)


def test_the_largest_retries_flyte_can_count_serializes() -> None:
    template = fnb.serialize_task(_define(retries=MAX_RETRIES))
    assert template.metadata.retries.retries == 2**32 - 2


@pytest.mark.parametrize(
    "timeout",
    [
        float("nan"),
        float("inf"),
        1e400,
        -5,
        MAX_TIMEOUT_SECONDS + 1,
        datetime.timedelta(days=-1),
        datetime.timedelta(days=999_999_999),
    ],
)
def test_timeouts_flyte_cannot_store_are_refused_when_defined(timeout: object) -> None:
    with pytest.raises(TaskDefinitionError) as info:
        _define(timeout=timeout)
    assert str(info.value).startswith(
        f"Task 'f' timeout: expected a duration from 0 to {MAX_TIMEOUT_SECONDS:,} s"
    )
    assert f"got {timeout!r}" in str(info.value)


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        (600, 600),
        (0.5, 0.5),
        (datetime.timedelta(minutes=10), 600),
        (MAX_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS),
    ],
)
def test_timeouts_in_range_serialize(timeout: object, seconds: float) -> None:
    template = fnb.serialize_task(_define(timeout=timeout))
    assert template.metadata.timeout.ToTimedelta().total_seconds() == seconds
