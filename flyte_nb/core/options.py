"""``TaskOptions``: every keyword a task is defined with, as one validated value.

``@task(...)`` / ``@dynamic(...)`` (typed keywords: :class:`TaskKeywords`), ``%%flyte_task``'s options and
``PythonFunctionTask(...)``'s keyword arguments all become one :class:`TaskOptions`, checked in one place
(:meth:`TaskOptions.__post_init__`), so the three ways of defining a task cannot drift apart.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypedDict

from flyteidl.admin import description_entity_pb2
from flyteidl.core import security_pb2, tasks_pb2

from flyte_nb.core.settings import Resources, TaskMetadata
from flyte_nb.errors import TaskDefinitionError, UnexpectedKeywordError

if TYPE_CHECKING:
    from flyte_nb.core.image_spec import ImageSpec
    from flyte_nb.core.resolver import TaskResolverMixin
    from flyte_nb.core.secrets import Secret

__all__ = ["ConstructorKeywords", "TaskKeywords", "TaskOptions", "check_keywords"]


class TaskKeywords(TypedDict, total=False):
    """The keywords of :func:`flyte_nb.task` and :func:`flyte_nb.dynamic` (see ``task``'s docstring)."""

    name: str | None
    cache: bool
    cache_version: str
    cache_serialize: bool
    cache_ignore_input_vars: Iterable[str]
    retries: int
    interruptible: bool | None
    deprecated: str
    timeout: datetime.timedelta | int | float | None
    container_image: str | ImageSpec | None
    environment: Mapping[str, str] | None
    requests: Resources | None
    limits: Resources | None
    accelerator: str | tasks_pb2.GPUAccelerator | None
    pod_template_name: str | None
    pickle_untyped: bool
    task_resolver: TaskResolverMixin | None
    docs: description_entity_pb2.DescriptionEntity | None
    node_dependency_hints: Iterable[Any] | None
    secret_requests: Iterable[Secret] | None
    enable_deck: bool | None
    deck_fields: Iterable[Any] | None


class ConstructorKeywords(TypedDict, total=False):
    """The keyword arguments ``PythonFunctionTask(...)`` passes on, as flytekit's does."""

    name: str | None
    metadata: TaskMetadata | None
    container_image: str | ImageSpec | None
    environment: Mapping[str, str] | None
    requests: Resources | None
    limits: Resources | None
    accelerator: str | tasks_pb2.GPUAccelerator | None
    security_ctx: security_pb2.SecurityContext | None
    docs: description_entity_pb2.DescriptionEntity | None
    task_type_version: int
    secret_requests: Iterable[Secret] | None
    enable_deck: bool | None
    deck_fields: Iterable[Any] | None
    options: TaskOptions


# Keywords of @task that are TaskMetadata fields.
_METADATA_KEYWORDS = (
    "cache",
    "cache_version",
    "cache_serialize",
    "cache_ignore_input_vars",
    "retries",
    "interruptible",
    "deprecated",
    "timeout",
    "pod_template_name",
)


@dataclass(frozen=True)
class TaskOptions:
    """How a task is defined, apart from its function (flytekit spreads this over many keywords).

    Attributes
    ----------
    name:
        The task name; ``None`` derives it from the function.
    metadata:
        Caching, retries, timeout… (:class:`~flyte_nb.core.settings.TaskMetadata`).
    container_image, environment, requests, limits, accelerator:
        The container the task runs in (image reference, ``ImageConfig`` name or
        :class:`~flyte_nb.ImageSpec`; environment variables; :class:`~flyte_nb.core.settings.Resources`;
        GPU type).
    pickle_untyped:
        Accept unannotated parameters (and a missing return annotation) as pickled ``typing.Any``.
    task_resolver:
        How a container finds the task; ``None`` picks one from where the function is defined.
    docs:
        The ``admin.DescriptionEntity`` registered with the task; ``None`` builds it from the docstring.
    node_dependency_hints:
        Tasks a dynamic body may call, declared up front.
    security_ctx, task_type_version:
        ``TaskTemplate.security_context`` and ``task_type_version``.
    secret_requests:
        The :class:`~flyte_nb.Secret` s the task reads; they make ``security_ctx`` as flytekit does.
    enable_deck, deck_fields:
        Write decks (``deck.html``; ``metadata.generates_deck``), and which default decks
        (:class:`~flyte_nb.core.decks.DeckField`; flytekit's five by default).
    """

    name: str | None = None
    metadata: TaskMetadata = field(default_factory=TaskMetadata)
    container_image: str | ImageSpec | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    requests: Resources | None = None
    limits: Resources | None = None
    accelerator: str | tasks_pb2.GPUAccelerator | None = None
    pickle_untyped: bool = False
    task_resolver: TaskResolverMixin | None = None
    docs: description_entity_pb2.DescriptionEntity | None = None
    node_dependency_hints: tuple[Any, ...] | None = None
    security_ctx: security_pb2.SecurityContext | None = None
    task_type_version: int = 0
    secret_requests: tuple[Secret, ...] = ()
    enable_deck: bool = False
    deck_fields: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise TaskDefinitionError(
                f"name: expected a non-empty str, got {self.name!r} ({type(self.name).__name__})."
            )
        if not isinstance(self.metadata, TaskMetadata):
            raise TaskDefinitionError(
                f"metadata: expected flyte_nb.TaskMetadata, got {self.metadata!r} "
                f"({type(self.metadata).__name__})."
            )
        environment = dict(self.environment or {})
        bad = {k: v for k, v in environment.items() if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise TaskDefinitionError(
                f"environment: expected str keys and values, got {bad!r}. "
                "Convert them, e.g. environment={'N': str(n)}."
            )
        object.__setattr__(self, "environment", environment)
        if self.node_dependency_hints is not None:
            object.__setattr__(self, "node_dependency_hints", tuple(self.node_dependency_hints))
        _check_resources(self.requests, self.limits)
        self._check_secrets()
        self._check_decks()
        self._check_image()

    def _check_image(self) -> None:
        image = self.container_image
        if image is None or isinstance(image, str):
            return
        from flyte_nb.core.image_spec import ImageSpec

        if not isinstance(image, ImageSpec):
            raise TaskDefinitionError(
                f"container_image: expected an image reference (str) or an ImageSpec, got {image!r} "
                f"({type(image).__name__})."
            )
        from flyte_nb.errors import ImageSpecError

        try:
            image.preflight()  # a spec pinning another Python is refused at definition, not on the cluster
        except ImageSpecError as exc:
            raise TaskDefinitionError(f"container_image: {exc}") from None

    def _check_decks(self) -> None:
        from flyte_nb.core.decks import DEFAULT_DECK_FIELDS, deck_fields_from

        if not isinstance(self.enable_deck, bool):
            raise TaskDefinitionError(
                f"enable_deck: expected True or False, got {self.enable_deck!r} ({type(self.enable_deck).__name__})."
            )
        fields_ = DEFAULT_DECK_FIELDS if self.deck_fields is None else deck_fields_from(self.deck_fields)
        object.__setattr__(self, "deck_fields", fields_)
        if self.enable_deck and not self.metadata.generates_deck:
            # flytekit sets it when serializing a task with decks: propeller then always links deck.html
            object.__setattr__(self, "metadata", replace(self.metadata, generates_deck=True))

    def _check_secrets(self) -> None:
        if not self.secret_requests:
            object.__setattr__(self, "secret_requests", ())
            return
        from flyte_nb.core.secrets import security_context_for

        secrets = tuple(self.secret_requests)
        object.__setattr__(self, "secret_requests", secrets)
        made = security_context_for(secrets)
        if self.security_ctx is not None and self.security_ctx != made:
            raise TaskDefinitionError(
                "secret_requests and security_ctx both describe the task's security context; pass one of them "
                "(secret_requests=[Secret(...)] is the usual one)."
            )
        object.__setattr__(self, "security_ctx", made)

    @classmethod
    def from_keywords(cls, keywords: TaskKeywords) -> TaskOptions:
        """The options ``@task(**keywords)`` describes.

        Raises
        ------
        TaskDefinitionError
            An unknown keyword, or a value that cannot work (the message names it and the fix).
        """
        check_keywords("task()", keywords, TaskKeywords)
        kw: dict[str, Any] = dict(keywords)
        meta: dict[str, Any] = {k: kw.pop(k) for k in _METADATA_KEYWORDS if k in kw}
        if meta.get("cache_ignore_input_vars") is None:
            meta.pop("cache_ignore_input_vars", None)
        else:
            meta["cache_ignore_input_vars"] = tuple(meta["cache_ignore_input_vars"])
        if meta.get("deprecated") is None:
            meta.pop("deprecated", None)
        kw["name"] = kw.get("name") or None
        if kw.get("environment") is None:
            kw.pop("environment", None)
        kw["pickle_untyped"] = bool(kw.get("pickle_untyped", False))
        kw["secret_requests"] = tuple(kw.get("secret_requests") or ())
        kw["enable_deck"] = bool(kw.get("enable_deck") or False)
        return cls(metadata=TaskMetadata(**meta), **kw)

    @classmethod
    def from_constructor(
        cls,
        keywords: ConstructorKeywords,
        *,
        pickle_untyped: bool,
        task_resolver: TaskResolverMixin | None,
        node_dependency_hints: Iterable[Any] | None,
    ) -> TaskOptions:
        """The options ``PythonFunctionTask(..., **keywords)`` describes (flytekit's constructor)."""
        kw: dict[str, Any] = {k: v for k, v in keywords.items() if v is not None}
        given = kw.pop("options", None)
        if given is not None:
            if kw or pickle_untyped or task_resolver is not None or node_dependency_hints is not None:
                raise TaskDefinitionError(
                    "options= already holds every task keyword; pass either options= or the keywords "
                    f"{sorted(kw) or ''}, not both."
                )
            if not isinstance(given, TaskOptions):
                raise TaskDefinitionError(
                    f"options: expected flyte_nb TaskOptions, got {given!r} ({type(given).__name__})."
                )
            return given
        check_keywords("PythonFunctionTask()", kw, ConstructorKeywords)
        return cls(
            pickle_untyped=pickle_untyped,
            task_resolver=task_resolver,
            node_dependency_hints=tuple(node_dependency_hints) if node_dependency_hints else None,
            **kw,
        )

    def with_(self, **changes: Any) -> TaskOptions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def keywords(self) -> dict[str, Any]:
        """The fields as a dict (for reprs and tests)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_keywords(where: str, given: Mapping[str, Any], accepted: type) -> None:
    """Refuse keywords that ``accepted`` (a ``TypedDict``) does not list, naming the closest one.

    Raises
    ------
    UnexpectedKeywordError
        A keyword is unknown (a ``TypeError``, as Python raises for a misspelt keyword argument).
    """
    import difflib

    names = sorted(accepted.__annotations__)
    unknown = sorted(set(given) - set(names))
    if not unknown:
        return
    hints = [
        f"{u!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, names, 1)) else repr(u)
        for u in unknown
    ]
    raise UnexpectedKeywordError(
        f"{where} got unexpected keyword argument(s) {', '.join(hints)}. It accepts: {', '.join(names)}."
    )


def _check_resources(requests: Resources | None, limits: Resources | None) -> None:
    """Each side parses (:meth:`Resources.quantities`), requests fit their limits, GPUs are whole and equal."""
    parsed: dict[str, dict[str, Any]] = {}
    for label, res in (("requests", requests), ("limits", limits)):
        if res is None:
            parsed[label] = {}
            continue
        if not isinstance(res, Resources):
            raise TaskDefinitionError(
                f"{label}: expected flyte_nb.Resources, got {res!r} ({type(res).__name__}). "
                f"Pass e.g. {label}=Resources(cpu='1', mem='2Gi')."
            )
        try:
            parsed[label] = res.quantities()
        except TaskDefinitionError as exc:
            raise TaskDefinitionError(f"{label} {exc}") from None
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            raise TaskDefinitionError(
                f"{name}: the request ({getattr(requests, name)!r}) is larger than the limit "
                f"({getattr(limits, name)!r}). Lower the request or raise the limit."
            )
    gpus = [p["gpu"] for p in parsed.values() if "gpu" in p]
    if len(gpus) == 2 and gpus[0] != gpus[1]:
        raise TaskDefinitionError(
            f"gpu: request ({gpus[0]}) and limit ({gpus[1]}) must be equal (Kubernetes does not overcommit "
            "GPUs). Give the same number, or only one of them."
        )
