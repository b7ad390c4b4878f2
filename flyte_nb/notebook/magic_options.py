"""Parsing ``%%flyte_task`` option values into ``@task`` keywords (each misuse: a one-line ``UsageError``)."""

from __future__ import annotations

import ast
import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from flyte_nb.core.options import TaskOptions

__all__ = [
    "VarSpec",
    "parse_deck_fields",
    "parse_env",
    "parse_resources",
    "parse_secrets",
    "parse_timeout",
    "parse_var_specs",
    "resolve_image",
    "task_options",
]

_TIMEOUT = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
_RESOURCE_KEYS = {
    "cpu": "cpu",
    "mem": "mem",
    "memory": "mem",
    "gpu": "gpu",
    "ephemeral_storage": "ephemeral_storage",
    "ephemeral-storage": "ephemeral_storage",
    "storage": "ephemeral_storage",
}


def parse_timeout(text: str) -> datetime.timedelta:
    """``"600"`` (seconds), ``"10m"``, ``"1h"``, ``"30s"``, ``"1h30m"`` → ``timedelta``."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        match = _TIMEOUT.fullmatch(value)
        if not value or match is None:
            raise UsageError(
                f"--timeout: expected seconds or a duration like 10m, 1h, 30s or 1h30m, got {text!r}."
            ) from None
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    from flyte_nb.core.settings import MAX_TIMEOUT_SECONDS

    if not 0 < seconds <= MAX_TIMEOUT_SECONDS:  # NaN and infinity fail it too
        raise UsageError(
            f"--timeout: expected a positive duration of at most {MAX_TIMEOUT_SECONDS:,} s (10,000 years), got "
            f"{text!r}. Use e.g. --timeout 10m."
        )
    return datetime.timedelta(seconds=seconds)


def parse_resources(option: str, text: str) -> Any:
    """``"cpu=1,mem=2Gi"`` → ``Resources(cpu="1", mem="2Gi")``."""
    from flyte_nb.core.settings import Resources, parse_quantity
    from flyte_nb.errors import TaskDefinitionError

    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        field = _RESOURCE_KEYS.get(key.strip().lower())
        if not sep or field is None or not value.strip():
            raise UsageError(
                f"{option}: expected KEY=VALUE pairs with KEY in cpu, mem, gpu, ephemeral_storage "
                f"(e.g. {option} cpu=1,mem=2Gi), got {part!r}."
            )
        try:
            parse_quantity(value.strip())
        except TaskDefinitionError:
            raise UsageError(
                f"{option} {key.strip()}: expected a Kubernetes quantity such as 500m, 2, 4Gi, got {value.strip()!r}."
            ) from None
        values[field] = value.strip()
    if not values:
        raise UsageError(f"{option}: expected e.g. {option} cpu=1,mem=2Gi, got {text!r}.")
    return Resources(**values)


def parse_env(items: Sequence[str] | None) -> dict[str, str]:
    """``["A=1", "B=x"]`` → ``{"A": "1", "B": "x"}``."""
    env: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env: expected KEY=VALUE, got {item!r}. Repeat --env for each variable.")
        env[key] = value
    return env


_MOUNTS = {"any": "ANY", "env": "ENV_VAR", "env_var": "ENV_VAR", "file": "FILE"}


def parse_secrets(items: Sequence[str] | None) -> list[Any]:
    """``["db/password", "api/token:env"]`` → ``[Secret("db", "password"), Secret("api", "token", ENV_VAR)]``."""
    from flyte_nb.core.secrets import Secret
    from flyte_nb.errors import TaskDefinitionError

    secrets = []
    for item in items or ():
        ref, _, mount = item.partition(":")
        group, _, key = ref.partition("/")
        mount_type = _MOUNTS.get(mount.strip().lower() or "any")
        if not group.strip() or mount_type is None or ("/" in ref and not key.strip()):
            raise UsageError(
                f"--secret: expected GROUP/KEY, optionally with :env or :file (e.g. --secret db/password), "
                f"got {item!r}."
            )
        try:
            secrets.append(
                Secret(
                    group=group.strip(),
                    key=key.strip() or None,
                    mount_requirement=Secret.MountType[mount_type],
                )
            )
        except TaskDefinitionError as exc:
            raise UsageError(f"--secret {item!r}: {exc}") from None
    return secrets


def parse_deck_fields(text: str | None) -> tuple[Any, ...] | None:
    """``"input,output"`` → the deck fields (``None`` keeps flytekit's default five)."""
    if text is None:
        return None
    from flyte_nb.core.decks import deck_fields_from
    from flyte_nb.errors import TaskDefinitionError

    names = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return deck_fields_from(names)
    except TaskDefinitionError:
        raise UsageError(
            f"--deck-fields: expected a comma-separated list of input, output, source_code, timeline, "
            f"dependencies, got {text!r}."
        ) from None


def resolve_image(text: str | None, namespace: Mapping[str, Any] | None) -> Any:
    """``--image``'s value: a notebook variable holding an ``ImageSpec`` (``--image spec``), else the
    image reference as written."""
    if not text:
        return None
    value = (namespace or {}).get(text) if text.isidentifier() else None
    from flyte_nb.core.image_spec import ImageSpec

    if isinstance(value, ImageSpec):
        return value
    return text


@dataclass(frozen=True)
class VarSpec:
    """One ``--inputs``/``--outputs`` entry: ``a:int`` (name and type expression) or just ``a``."""

    name: str
    type_expr: str | None


def parse_var_specs(option: str, items: Sequence[str] | None) -> list[VarSpec]:
    """``["a:int", "b", "c:list[int]"]`` → specs (names must be identifiers, each given once)."""
    specs: list[VarSpec] = []
    for item in items or ():
        name, sep, type_expr = item.partition(":")
        name = name.strip()
        if not name.isidentifier() or (sep and not type_expr.strip()):
            spaced = (
                ""
                if name.isidentifier() and not any(c in item for c in "[],")
                else (" A type with spaces must be quoted, e.g. 'a:dict[str, int]'.")
            )
            raise UsageError(
                f"{option}: expected NAME or NAME:TYPE (e.g. {option} a:int b), got {item!r}.{spaced}"
            )
        if any(s.name == name for s in specs):
            raise UsageError(f"{option}: {name!r} is listed twice. List each variable once.")
        specs.append(VarSpec(name, type_expr.strip() or None))
    return specs


def eval_type(option: str, spec: VarSpec, namespace: Mapping[str, Any]) -> Any:
    """Evaluate ``spec.type_expr`` in the notebook namespace (``int``, ``list[int]``, ``pd.DataFrame``…)."""
    assert spec.type_expr is not None
    try:
        ast.parse(spec.type_expr, mode="eval")
        return eval(spec.type_expr, dict(namespace))
    except Exception as exc:  # noqa: BLE001 - the user's expression may raise anything; said in one line
        raise UsageError(
            f"{option} {spec.name}: the type {spec.type_expr!r} cannot be evaluated in the notebook "
            f"({type(exc).__name__}: {exc}). Import or define the type first, e.g. {spec.name}:int."
        ) from None


def task_options(args: Any, namespace: Mapping[str, Any] | None = None) -> TaskOptions:
    """The :class:`~flyte_nb.core.options.TaskOptions` parsed ``%%flyte_task`` options describe.

    ``namespace`` is the notebook's: ``--image NAME`` uses the ``ImageSpec`` a variable of that name holds.

    Raises
    ------
    UsageError
        An option value that cannot work, in one line (the same checks ``@task(...)`` makes).
    """
    from flyte_nb.core.options import TaskKeywords, TaskOptions
    from flyte_nb.errors import TaskDefinitionError

    if args.retries < 0:
        raise UsageError(f"--retries: expected a non-negative number, got {args.retries}.")
    # --name / NAME pick the function (or name the cell-body function): the task is named after it.
    kw: TaskKeywords = {
        "cache": bool(
            args.cache or args.cache_version or args.cache_serialize or args.cache_ignore_input_vars
        ),
        "cache_version": args.cache_version or "",
        "cache_serialize": bool(args.cache_serialize),
        "cache_ignore_input_vars": tuple(args.cache_ignore_input_vars or ()),
        "retries": args.retries,
        "pickle_untyped": bool(args.pickle_untyped),
        "interruptible": True if args.interruptible else None,
        "deprecated": args.deprecated or "",
        "timeout": parse_timeout(args.timeout) if args.timeout is not None else None,
        "container_image": resolve_image(args.image, namespace),
        "requests": parse_resources("--requests", args.requests) if args.requests else None,
        "limits": parse_resources("--limits", args.limits) if args.limits else None,
        "accelerator": args.accelerator or None,
        "environment": parse_env(args.env),
        "pod_template_name": args.pod_template_name or None,
        "secret_requests": parse_secrets(args.secret),
        "enable_deck": bool(args.enable_deck or args.deck_fields is not None),
        "deck_fields": parse_deck_fields(args.deck_fields),
    }
    try:
        return TaskOptions.from_keywords(kw)
    except TaskDefinitionError as exc:
        raise UsageError(" ".join(str(exc).split())) from None
