"""Compiling a task into the flyteidl ``TaskTemplate`` FlyteAdmin accepts (and its ``TaskSpec``).

The template follows flytekit 1.16's ``get_serializable`` output field by field (id, ``python-task``
type, metadata with ``retries`` always present and the runtime set to flyte_nb's version, the interface,
the container with the ``flyte-nb-execute`` args, resources and environment, extended resources for
an accelerator, an empty config). The differences from flytekit are intended: the command, the
runtime version, the default image and (in a notebook) the resolver.

Without an explicit ``settings.version`` the version is a content hash of the template (version and
container args left out, so it does not depend on itself or on where a payload is stored) plus the
resolver's ``content_hash`` of the code: an unchanged task keeps its version, a changed one gets a new
one, which is what FlyteAdmin's idempotent ``CreateTask`` needs.
"""

from __future__ import annotations

import base64
import hashlib

from flyteidl.admin import description_entity_pb2, task_pb2
from flyteidl.core import identifier_pb2, tasks_pb2
from google.protobuf import json_format, struct_pb2

from flyte_nb.core.settings import SerializationSettings
from flyte_nb.core.task import Task

__all__ = ["serialize_task", "task_spec", "task_version"]

VERSION_LENGTH = 22  # 132 bits of sha256, URL-safe base64 without padding


def _template(task: Task, settings: SerializationSettings, version: str) -> tasks_pb2.TaskTemplate:
    template = tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK,
            project=settings.project,
            domain=settings.domain,
            name=task.name,
            version=version,
        ),
        type=task.task_type,
        metadata=task.metadata.to_flyte_idl(),
        interface=task.interface,
        task_type_version=task.task_type_version,
    )
    container = task.get_container(settings)
    pod = task.get_k8s_pod(settings)
    sql = task.get_sql(settings)
    if container is not None:
        template.container.CopyFrom(container)
    elif pod is not None:
        template.k8s_pod.CopyFrom(pod)
    elif sql is not None:
        template.sql.CopyFrom(sql)
    custom = task.get_custom(settings)
    if custom is not None:
        template.custom.CopyFrom(json_format.ParseDict(custom, struct_pb2.Struct()))
    for k, v in (task.get_config(settings) or {}).items():
        template.config[k] = v
    extended = task.get_extended_resources(settings)
    if extended is not None:
        template.extended_resources.CopyFrom(extended)
    if task.security_context is not None:
        template.security_context.CopyFrom(task.security_context)
    return template


def _resolver_hash(task: Task) -> str:
    resolver = getattr(task, "task_resolver", None)
    if resolver is None:
        return ""
    return str(resolver.content_hash(task))


def task_version(task: Task, settings: SerializationSettings | None = None) -> str:
    """The content-hash version of ``task`` (URL-safe, 22 characters).

    It covers the template without its version and container args, plus the resolver's
    ``content_hash(task)`` (the code itself): stable across re-runs of an unchanged definition.
    """
    settings = settings or SerializationSettings()
    template = _template(task, settings, version="")
    if template.HasField("container"):
        del template.container.args[:]
    digest = hashlib.sha256(template.SerializeToString(deterministic=True))
    digest.update(b"\0" + _resolver_hash(task).encode())
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")[:VERSION_LENGTH]


def serialize_task(task: Task, settings: SerializationSettings | None = None) -> tasks_pb2.TaskTemplate:
    """Compile ``task`` into the ``TaskTemplate`` FlyteAdmin accepts.

    Parameters
    ----------
    task:
        Any :class:`~flyte_nb.core.task.Task` (usually a ``PythonFunctionTask``).
    settings:
        Project, domain, version, image and environment; ``None`` for the defaults.
    """
    settings = settings or SerializationSettings()
    version = settings.version or task_version(task, settings)
    return _template(task, settings, version)


def task_spec(task: Task, settings: SerializationSettings | None = None) -> task_pb2.TaskSpec:
    """The ``admin.TaskSpec`` to register: the template plus the description from the docstring."""
    spec = task_pb2.TaskSpec(template=serialize_task(task, settings))
    docs = task.docs
    if docs is not None:
        spec.description.CopyFrom(docs)
    else:
        spec.description.CopyFrom(
            description_entity_pb2.DescriptionEntity(
                long_description=description_entity_pb2.Description(
                    format=description_entity_pb2.DESCRIPTION_FORMAT_RST
                )
            )
        )
    return spec
