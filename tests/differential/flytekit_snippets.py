"""Task code as flytekit users write it: the snippets the differential table runs under both libraries.

Each snippet is the source of a small module written for flytekit 1.16. ``main()`` calls its tasks and
returns a JSON-able value; a snippet with ``container`` instead names a task that is run as a cluster
runs it (its template's command through ``tests/propeller.py``, with retries and the secrets webhook).
:func:`for_flyte_nb` swaps the imports (``flytekit`` → ``flyte_nb``, flytekit's models → the flyteidl
messages of the same name) and nothing else.

Snippets marked ``needs`` use names another change adds to flyte_nb (``FlyteFile``, ``FlyteDirectory``,
``StructuredDataset``, ``kwtypes``); they are skipped until flyte_nb exports those names, and then run
like the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CANARY", "SNIPPETS", "Snippet", "for_flyte_nb"]

CANARY = "s3cret-canary-9d8e7f"  # every secret value; scanned for in every output

SWAPS = (
    ("from flytekit.extend import", "from flyte_nb import"),
    ("from flytekit.deck import", "from flyte_nb import"),
    ("from flytekit.core.hash import", "from flyte_nb import"),
    ("from flytekit.exceptions.user import", "from flyte_nb import"),
    ("from flytekit.types.file import", "from flyte_nb import"),
    ("from flytekit.types.directory import", "from flyte_nb import"),
    ("from flytekit.types.structured import", "from flyte_nb import"),
    ("from flytekit.models.literals import", "from flyteidl.core.literals_pb2 import"),
    ("from flytekit.models.types import", "from flyteidl.core.types_pb2 import"),
    ("from flytekit import", "from flyte_nb import"),
    ("import flytekit\n", "import flyte_nb as flytekit\n"),
)


def for_flyte_nb(source: str) -> str:
    """``source`` with its flytekit imports swapped for flyte_nb's (the only change a user makes)."""
    for theirs, ours in SWAPS:
        source = source.replace(theirs, ours)
    return source


@dataclass
class Snippet:
    """One table row.

    Attributes
    ----------
    source:
        The flytekit module (``main()`` returns the outcome, unless ``container`` is set).
    env:
        Environment variables for the run (secret values are :data:`CANARY`).
    secret_files:
        ``group/key`` -> content, written under a fresh ``FLYTE_SECRETS_DEFAULT_DIR``.
    raises:
        The run must fail in both libraries, with an exception of this builtin class (``Exception``: any).
    container:
        Run this task as a cluster would (through the propeller harness) instead of ``main()``.
    inputs:
        Its inputs (ints and strs).
    cluster_secrets:
        The cluster's secret store for a container run, ``(group, key) -> value``.
    compare_deck:
        Compare the tab names of the ``deck.html`` the container run wrote.
    needs:
        flyte_nb names the snippet uses that another change adds.
    """

    source: str
    env: dict[str, str] = field(default_factory=dict)
    secret_files: dict[str, str] = field(default_factory=dict)
    raises: type[BaseException] | None = None
    container: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    cluster_secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    compare_deck: bool = False
    needs: tuple[str, ...] = ()


SNIPPETS: dict[str, Snippet] = {}


def snippet(name: str, source: str, **kw: Any) -> None:
    SNIPPETS[name] = Snippet(source=source.strip() + "\n", **kw)


# ------------------------------------------------------------------------------------------------ images

snippet(
    "image_name",
    """
from flytekit import ImageSpec

spec = ImageSpec(registry="ghcr.io/flyteorg", packages=["pandas==2.2", "numpy"], apt_packages=["git"])

def main():
    return [spec.image_name(), spec.tag, spec.id]
""",
)
snippet(
    "image_task_runs_locally",
    """
import sys
from flytekit import ImageSpec, task

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
image = ImageSpec(name="analysis", registry="localhost:30000", packages=["pandas"], python_version=PY)

@task(container_image=image)
def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)

def main():
    return mean(xs=[1.0, 2.0, 4.5])
""",
)
snippet(
    "image_builders",
    """
from flytekit import ImageSpec

base = ImageSpec(name="base", packages=["requests"])
spec = base.with_packages(["polars"]).with_apt_packages("curl").with_commands(["echo ok"])

def main():
    return [base.image_name(), spec.image_name(), spec.packages, spec.apt_packages]
""",
)
snippet(
    "image_from_env",
    """
from flytekit import ImageSpec

def main():
    spec = ImageSpec.from_env(pinned_packages=["msgpack"], registry="ghcr.io/me")
    return [spec.image_name(), spec.python_version, spec.packages]
""",
)
snippet(
    "image_tag_format_and_platform",
    """
from flytekit import ImageSpec

spec = ImageSpec(name="Trainer", platform="linux/arm64", tag_format="{spec_hash}-gpu", env={"MODE": "train"})

def main():
    return [spec.name, spec.platform, spec.image_name()]
""",
)
snippet(
    "image_nested_base",
    """
from flytekit import ImageSpec

base = ImageSpec(name="base", registry="localhost:30000", packages=["torch"])
child = ImageSpec(name="child", registry="localhost:30000", base_image=base, packages=["lightning"])

def main():
    return [child.image_name(), child.id]
""",
)
snippet(
    "image_is_container",
    """
from flytekit import ImageSpec, task

spec = ImageSpec(packages=["pandas"])
AT_IMPORT = spec.is_container()

@task(container_image=spec)
def inside() -> bool:
    return spec.is_container()

def main():
    return [AT_IMPORT, inside()]
""",
)

# ----------------------------------------------------------------------------------------------- context

snippet(
    "context_ids",
    """
import flytekit
from flytekit import task

@task
def ids() -> list[str]:
    ctx = flytekit.current_context()
    e, t = ctx.execution_id, ctx.task_id
    return [e.project, e.domain, e.name, t.project, t.domain, t.name, t.version]

def main():
    return ids()
""",
)
snippet(
    "context_working_directory",
    """
import os
from flytekit import current_context, task

@task
def scratch(text: str) -> str:
    path = os.path.join(current_context().working_directory, "note.txt")
    with open(path, "w") as fh:
        fh.write(text)
    with open(path) as fh:
        return fh.read() + str(os.path.isdir(current_context().working_directory))

def main():
    return scratch(text="hello ")
""",
)
snippet(
    "context_logging",
    """
from flytekit import current_context, task

@task
def logs(n: int) -> int:
    current_context().logging.info("processing %d items", n)
    return n + 1

def main():
    return logs(n=41)
""",
)
snippet(
    "context_execution_date",
    """
import datetime
from flytekit import current_context, task

@task
def when() -> bool:
    d = current_context().execution_date
    return isinstance(d, datetime.datetime)

def main():
    return when()
""",
)
snippet(
    "checkpoint_first_attempt",
    """
from flytekit import current_context, task

@task(retries=3)
def first() -> str:
    cp = current_context().checkpoint
    before = cp.read()
    cp.write(b"progress")
    return repr([cp.prev_exists(), before, cp.read()])

def main():
    return first()
""",
)
snippet(
    "checkpoint_retry_bytes",
    """
from flytekit import current_context, task
from flytekit.exceptions.user import FlyteRecoverableException

@task(retries=2)
def train(epochs: int) -> str:
    cp = current_context().checkpoint
    prev = cp.read()
    start = int(prev.decode()) if prev else 0
    if start == 0:
        cp.write(str(epochs // 2).encode())
        raise FlyteRecoverableException("preempted")
    return f"resumed at epoch {start} of {epochs}"
""",
    container="train",
    inputs={"epochs": 10},
)
snippet(
    "checkpoint_retry_directory",
    """
import os
from flytekit import current_context, task
from flytekit.exceptions.user import FlyteRecoverableException

@task(retries=1)
def stages() -> list[str]:
    cp = current_context().checkpoint
    restored = cp.restore()
    if restored is None:
        work = os.path.join(current_context().working_directory, "state")
        os.makedirs(work)
        for name in ("model.bin", "optimizer.bin"):
            with open(os.path.join(work, name), "w") as fh:
                fh.write(name)
        cp.save(work)
        raise FlyteRecoverableException("node drained")
    return sorted(os.listdir(restored))
""",
    container="stages",
)

# ----------------------------------------------------------------------------------------------- secrets

snippet(
    "secret_from_webhook_variable",
    """
from flytekit import Secret, current_context, task

@task(secret_requests=[Secret(group="db", key="password")])
def connect(host: str) -> str:
    password = current_context().secrets.get("db", "password")
    return f"{host}:{len(password)}"

def main():
    return connect(host="pg")
""",
    env={"_FSEC_DB_PASSWORD": CANARY},
)
snippet(
    "secret_from_plain_variable_locally",
    """
from flytekit import Secret, current_context, task

@task(secret_requests=[Secret(group="api", key="token")])
def call() -> int:
    return len(current_context().secrets.get("api", "token"))

def main():
    return call()
""",
    env={"API_TOKEN": CANARY},
)
snippet(
    "secret_attribute_access",
    """
from flytekit import Secret, current_context, task

@task(secret_requests=[Secret(group="aws", key="key_id")])
def creds() -> int:
    return len(current_context().secrets.aws.key_id)

def main():
    return creds()
""",
    env={"_FSEC_AWS_KEY_ID": CANARY},
)
snippet(
    "secret_from_file",
    """
from flytekit import Secret, current_context, task

@task(secret_requests=[Secret(group="certs", key="ca", mount_requirement=Secret.MountType.FILE)])
def ca_length() -> int:
    return len(current_context().secrets.get("certs", "ca"))

def main():
    return ca_length()
""",
    secret_files={"certs/ca": CANARY + "\n"},
)
snippet(
    "secret_missing_is_a_value_error",
    """
from flytekit import Secret, current_context, task

@task(secret_requests=[Secret(group="db", key="password")])
def needs_it() -> int:
    return len(current_context().secrets.get("db", "password"))

def main():
    return needs_it()
""",
    raises=ValueError,
)
snippet(
    "secret_missing_caught",
    """
from flytekit import current_context, task

@task
def optional_secret() -> str:
    try:
        return current_context().secrets.get("feature", "flag")
    except ValueError:
        return "default"

def main():
    return optional_secret()
""",
)
snippet(
    "secret_names",
    """
from flytekit import current_context, task

@task
def where() -> list[str]:
    s = current_context().secrets
    return [s.get_secrets_env_var("db", "password"), s.get_secrets_env_var("g", "k", "v2")]

def main():
    return where()
""",
)
snippet(
    "secret_env_var_mount",
    """
from flytekit import Secret, task

TOKEN = Secret(group="api", key="token", mount_requirement=Secret.MountType.ENV_VAR, env_var="API_KEY")

@task(secret_requests=[TOKEN])
def described() -> list[str]:
    return [TOKEN.group, TOKEN.key, TOKEN.mount_requirement.name, TOKEN.env_var]

def main():
    return described()
""",
)
snippet(
    "secret_in_a_container",
    """
from flytekit import Secret, current_context, task

@task(secret_requests=[Secret(group="warehouse", key="password")])
def query(table: str) -> str:
    password = current_context().secrets.get("warehouse", "password")
    return f"select * from {table} ({len(password)})"
""",
    container="query",
    inputs={"table": "sales"},
    cluster_secrets={("warehouse", "password"): CANARY},
)

# ------------------------------------------------------------------------------------------------- decks

snippet(
    "deck_names_during_the_run",
    """
from flytekit import Deck, current_context, task

@task(enable_deck=True)
def report(n: int) -> list[str]:
    Deck("summary", f"<h1>{n} rows</h1>")
    return [d.name for d in current_context().decks]

def main():
    return report(n=3)
""",
)
snippet(
    "deck_default_deck",
    """
from flytekit import current_context, task

@task(enable_deck=True)
def notes() -> list[str]:
    current_context().default_deck.append("<p>note</p>")
    return [d.name for d in current_context().decks]

def main():
    return notes()
""",
)
snippet(
    "deck_append_and_html",
    """
from flytekit import Deck, task

@task(enable_deck=True)
def page() -> str:
    deck = Deck("charts", "<svg/>")
    same = deck.append("<p>legend</p>")
    return f"{same is deck} {deck.name} {deck.html}"

def main():
    return page()
""",
)
snippet(
    "deck_fields_without_timeline",
    """
from flytekit import Deck, current_context, task
from flytekit.deck import DeckField

@task(enable_deck=True, deck_fields=(DeckField.INPUT, DeckField.OUTPUT))
def io_only(a: int) -> list[str]:
    Deck("mine", "x")
    return [d.name for d in current_context().decks]

def main():
    return io_only(a=1)
""",
)
snippet(
    "deck_field_values",
    """
from flytekit.deck import DeckField

def main():
    return [f.value for f in DeckField] + [DeckField("Input").name]
""",
)
snippet(
    "deck_in_a_container",
    """
from flytekit import Deck, task

@task(enable_deck=True)
def profile(n: int) -> int:
    Deck("profile", f"<b>{n}</b>")
    return n * n
""",
    container="profile",
    inputs={"n": 7},
    compare_deck=True,
)
snippet(
    "deck_disabled_still_collects",
    """
from flytekit import Deck, current_context, task

@task
def quiet() -> list[str]:
    Deck("ignored", "<p>not written</p>")
    return [d.name for d in current_context().decks]

def main():
    return quiet()
""",
)

# ----------------------------------------------------------------------------------------- named outputs

snippet(
    "named_default_outputs",
    """
from typing import Tuple
from flytekit import task

@task
def split(text: str) -> Tuple[str, int]:
    return text.upper(), len(text)

def main():
    res = split(text="abc")
    return [res.o0, res.o1, type(res).__name__, list(res._fields), repr(res)]
""",
)
snippet(
    "named_tuple_fields",
    """
from typing import NamedTuple
from flytekit import task

class Stats(NamedTuple):
    mean: float
    count: int

@task
def stats(xs: list[float]) -> Stats:
    return Stats(sum(xs) / len(xs), len(xs))

def main():
    res = stats(xs=[1.0, 3.0])
    return [res.mean, res.count, type(res).__name__, repr(res)]
""",
)
snippet(
    "named_unpacking",
    """
from flytekit import task

@task
def minmax(xs: list[int]) -> tuple[int, int]:
    return min(xs), max(xs)

def main():
    lo, hi = minmax(xs=[4, 1, 9])
    return [lo, hi]
""",
)
snippet(
    "named_single_field",
    """
from typing import NamedTuple
from flytekit import task

Result = NamedTuple("Result", [("value", int)])

@task
def only(n: int) -> Result:
    return Result(n * 3)

def main():
    res = only(n=2)
    return [res.value, res[0], repr(res)]
""",
)
snippet(
    "named_chained",
    """
from flytekit import task

@task
def parts(n: int) -> tuple[int, str]:
    return n, str(n)

@task
def join(a: int, b: str) -> str:
    return f"{a}-{b}"

def main():
    res = parts(n=5)
    return join(a=res.o0, b=res.o1)
""",
)

# --------------------------------------------------------------------------------------------- iterators

snippet(
    "iterator_generator",
    """
from typing import Iterator
from flytekit import task

@task
def squares(n: int) -> Iterator[int]:
    for i in range(n):
        yield i * i

def main():
    it = squares(n=4)
    return [len(it), list(it), list(it)]
""",
)
snippet(
    "iterator_yield_from",
    """
from typing import Iterator
from flytekit import task

@task
def words(text: str) -> Iterator[str]:
    yield from text.split()

def main():
    return list(words(text="to be or not"))
""",
)
snippet(
    "iterator_returned",
    """
from typing import Iterator
from flytekit import task

@task
def evens(n: int) -> Iterator[int]:
    return iter(range(0, n, 2))

def main():
    return list(evens(n=7))
""",
)
snippet(
    "iterator_input",
    """
from typing import Iterator
from flytekit import task

@task
def total(xs: Iterator[int]) -> int:
    return sum(xs)

@task
def count(n: int) -> Iterator[int]:
    yield from range(n)

def main():
    return [total(xs=iter([1, 2, 3])), total(xs=count(n=5))]
""",
)
snippet(
    "iterator_of_lists",
    """
from typing import Iterator, List
from flytekit import task

@task
def batches(n: int, size: int) -> Iterator[List[int]]:
    for start in range(0, n, size):
        yield list(range(start, min(start + size, n)))

def main():
    return list(batches(n=5, size=2))
""",
)
snippet(
    "iterator_wrong_annotation_fails",
    """
from flytekit import task

@task
def gen(n: int) -> int:
    yield n

def main():
    return gen(n=1)
""",
    raises=Exception,  # flytekit fails when it runs; flyte_nb when the task is defined
)
snippet(
    "iterator_in_a_container",
    """
from typing import Iterator
from flytekit import task

@task
def fib(n: int) -> Iterator[int]:
    a, b = 0, 1
    for _ in range(n):
        yield a
        a, b = b, a + b
""",
    container="fib",
    inputs={"n": 8},
)

# ---------------------------------------------------------------------------------------- custom types

_MONEY = """
from flytekit import task
from flytekit.extend import TypeEngine, TypeTransformer
from flytekit.models.literals import Literal, Primitive, Scalar
from flytekit.models.types import LiteralType, SimpleType


class Money:
    def __init__(self, cents: int, currency: str) -> None:
        self.cents, self.currency = cents, currency


class MoneyTransformer(TypeTransformer[Money]):
    def __init__(self):
        super().__init__(name="money", t=Money)

    def get_literal_type(self, t):
        return LiteralType(simple=SimpleType.STRING)

    def to_literal(self, ctx, python_val, python_type, expected):
        return Literal(scalar=Scalar(primitive=Primitive(string_value=f"{python_val.cents} {python_val.currency}")))

    def to_python_value(self, ctx, lv, expected_python_type):
        cents, currency = lv.scalar.primitive.string_value.split()
        return Money(int(cents), currency)


TypeEngine.register(MoneyTransformer())
"""

snippet(
    "custom_transformer_in_tasks",
    _MONEY
    + """
@task
def convert(m: Money, rate: float) -> Money:
    return Money(int(m.cents * rate), "USD")

def main():
    out = convert(m=Money(1000, "EUR"), rate=1.1)
    return [out.cents, out.currency]
""",
)
snippet(
    "custom_transformer_interface",
    _MONEY
    + """
from typing import Optional

@task
def maybe(m: Optional[Money]) -> str:
    return "none" if m is None else m.currency

def main():
    return [maybe(m=None), maybe(m=Money(1, "JPY"))]
""",
)
snippet(
    "custom_transformer_in_a_container",
    _MONEY
    + """
@task
def price(cents: int) -> Money:
    return Money(cents, "CHF")
""",
    container="price",
    inputs={"cents": 250},
)
snippet(
    "hash_method_in_a_container",
    """
import hashlib
from typing import Annotated
from flytekit import task
from flytekit.core.hash import HashMethod


def digest(xs: list) -> str:
    return hashlib.sha256(repr(sorted(xs)).encode()).hexdigest()


@task
def sorted_copy(n: int) -> Annotated[list[int], HashMethod(digest)]:
    return list(reversed(range(n)))
""",
    container="sorted_copy",
    inputs={"n": 4},
)
snippet(
    "hash_method_value",
    """
from typing import Annotated
from flytekit import task
from flytekit.core.hash import HashMethod

@task
def tagged(n: int) -> Annotated[int, HashMethod(lambda v: f"n={v}")]:
    return n + 1

def main():
    return tagged(n=1)
""",
)

# ------------------------------------------------------------------------------- waiting for issue 11

snippet(
    "flyte_file_output",
    """
import os
from flytekit import current_context, task
from flytekit.types.file import FlyteFile

@task
def write(text: str) -> FlyteFile:
    path = os.path.join(current_context().working_directory, "out.txt")
    with open(path, "w") as fh:
        fh.write(text)
    return FlyteFile(path)

def main():
    with open(write(text="hi")) as fh:
        return fh.read()
""",
    needs=("FlyteFile",),
)
snippet(
    "flyte_directory_output",
    """
import os
from flytekit import current_context, task
from flytekit.types.directory import FlyteDirectory

@task
def make(n: int) -> FlyteDirectory:
    d = os.path.join(current_context().working_directory, "d")
    os.makedirs(d)
    for i in range(n):
        open(os.path.join(d, f"{i}.txt"), "w").close()
    return FlyteDirectory(d)

def main():
    return sorted(os.listdir(make(n=2)))
""",
    needs=("FlyteDirectory",),
)
snippet(
    "structured_dataset_columns",
    """
import pandas as pd
from typing import Annotated
from flytekit import kwtypes, task
from flytekit.types.structured import StructuredDataset

@task
def frame() -> Annotated[StructuredDataset, kwtypes(a=int)]:
    return StructuredDataset(dataframe=pd.DataFrame({"a": [1, 2]}))

def main():
    return frame().open(pd.DataFrame).all()["a"].tolist()
""",
    needs=("StructuredDataset", "kwtypes"),
)
