"""Property: python → literal → bytes → literal → python is the identity, for nested types."""

# The typing.Optional spelling builds the nested types at runtime.
# ruff: noqa: UP045
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flyte_nb.core.storage import MemoryStore
from flyte_nb.core.types import TypeEngine
from tests.core.types.conftest import roundtrip

UTC = dt.timezone.utc


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Record:
    n: int
    name: str
    scores: list[float]
    tags: dict[str, int]
    parent: Optional[str] = None
    when: Optional[dt.datetime] = None


TypeAndValues = tuple[Any, st.SearchStrategy[Any]]

LEAVES: list[TypeAndValues] = [
    (int, st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    (float, st.floats(allow_nan=False)),
    (str, st.text(max_size=8)),
    (bool, st.booleans()),
    (dt.datetime, st.datetimes(timezones=st.just(UTC))),
    (dt.date, st.dates()),
    (dt.timedelta, st.timedeltas(min_value=dt.timedelta(days=-(10**6)), max_value=dt.timedelta(days=10**6))),
    (Color, st.sampled_from(Color)),
    (Any, st.one_of(st.integers(), st.text(max_size=4), st.frozensets(st.integers(), max_size=3))),
    (
        dict,
        st.dictionaries(
            st.text(max_size=4),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(-(2**63), 2**64 - 1)
                | st.floats(allow_nan=False)
                | st.text(max_size=4),
                lambda inner: (
                    st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
                ),
                max_leaves=6,
            ),
            max_size=3,
        ),
    ),
    (
        Record,
        st.builds(
            Record,
            n=st.integers(-(2**63), 2**63 - 1),
            name=st.text(max_size=5),
            scores=st.lists(st.floats(allow_nan=False), max_size=3),
            tags=st.dictionaries(st.text(max_size=3), st.integers(-(2**31), 2**31), max_size=3),
            parent=st.none() | st.text(max_size=3),
            when=st.none() | st.datetimes(timezones=st.just(UTC)),
        ),
    ),
]


def _extend(children: st.SearchStrategy[TypeAndValues]) -> st.SearchStrategy[TypeAndValues]:
    return st.one_of(
        children.map(lambda c: (list[c[0]], st.lists(c[1], max_size=3))),  # type: ignore[name-defined]
        children.map(lambda c: (dict[str, c[0]], st.dictionaries(st.text(max_size=4), c[1], max_size=3))),  # type: ignore[name-defined]
        children.map(lambda c: (Optional[c[0]], st.none() | c[1])),
    )


NESTED = st.recursive(st.sampled_from(LEAVES), _extend, max_leaves=4)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_nested_values_survive_the_wire(data: st.DataObject) -> None:
    python_type, values = data.draw(NESTED, label="type")
    value = data.draw(values, label="value")
    store = MemoryStore()
    out = roundtrip(value, python_type, store)
    assert out == value
    assert type(out) is type(value)
    # The LiteralType is a well-formed message that survives the wire too.
    lt = TypeEngine.to_literal_type(python_type)
    assert type(lt).FromString(lt.SerializeToString()) == lt
