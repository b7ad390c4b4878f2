"""The process sandbox's stand-in for Flyte's secrets webhook.

On a cluster, the webhook reads ``TaskTemplate.security_context.secrets`` and injects each requested
secret into the pod (``_FSEC_<GROUP>_<KEY>``, ``FLYTE_SECRETS_ENV_PREFIX``, ``FLYTE_SECRETS_DEFAULT_DIR``);
a task sees the secrets it asked for and no others. :func:`secret_environment` does the same for a
process run: it reads each requested secret in this kernel (its ``_FSEC_…`` or plain variable, or its
file under the local secrets directory, :class:`~flyte_nb.core.secrets.SecretsManager`) and hands it to
the task process in the variable the webhook would set, while the kernel's other secret variables are
withheld. Values travel only in the child's environment: never in a file, a log or an error.

A secret requested with ``mount_requirement=FILE`` is also presented as its variable (the task's
``secrets.get`` reads variables before files), since writing the value to disk is not an option here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from flyteidl.core import security_pb2, tasks_pb2

from flyte_nb.core.secrets import (
    DEFAULT_DIR_VAR,
    DEFAULT_ENV_PREFIX,
    ENV_PREFIX_VAR,
    FILE_PREFIX_VAR,
    SecretsManager,
)
from flyte_nb.errors import SecretNotFoundError

__all__ = ["WEBHOOK_DIR", "requested_secrets", "secret_environment", "webhook_env_var"]

WEBHOOK_DIR = "/etc/flyte/secrets"  # where the webhook mounts secret files in a pod


def webhook_env_var(secret: security_pb2.Secret) -> str:
    """The variable the webhook injects a secret as: ``_FSEC_<GROUP>_<KEY>``, upper-cased."""
    return f"{DEFAULT_ENV_PREFIX}{secret.group}_{secret.key}".upper()


def requested_secrets(templates: Iterable[tasks_pb2.TaskTemplate]) -> list[security_pb2.Secret]:
    """Every secret the templates request, once each (by group, version and key)."""
    seen: dict[tuple[str, str, str], security_pb2.Secret] = {}
    for template in templates:
        for s in template.security_context.secrets:
            seen.setdefault((s.group, s.group_version, s.key), s)
    return list(seen.values())


def secret_environment(templates: Iterable[tasks_pb2.TaskTemplate]) -> dict[str, str | None]:
    """The environment changes the webhook would make for ``templates``, with values read in this kernel.

    ``None`` means "remove": the kernel's own secret variables are not inherited by the task.

    Raises
    ------
    SecretNotFoundError
        A requested secret is not available in this kernel; the message names, for each, the variable
        to set or the file to write.
    """
    manager = SecretsManager()
    kernel_prefix = manager.env_prefix
    env: dict[str, str | None] = {
        name: None
        for name in os.environ
        if name.startswith((DEFAULT_ENV_PREFIX, kernel_prefix or DEFAULT_ENV_PREFIX))
    }
    env[ENV_PREFIX_VAR] = DEFAULT_ENV_PREFIX
    env[DEFAULT_DIR_VAR] = WEBHOOK_DIR
    env[FILE_PREFIX_VAR] = None
    missing: list[str] = []
    for secret in requested_secrets(templates):
        group, key, version = secret.group, secret.key or None, secret.group_version or None
        if not manager.find(group, key, version):
            names = " or ".join(manager.candidates(group, key, version))
            missing.append(
                f"{group}/{key or ''}: set {names} in this kernel, or write it to "
                f"{manager.get_secrets_file(group, key, version)}"
            )
            continue
        value = str(manager.get(group, key, version))
        env[webhook_env_var(secret)] = value
        if secret.env_var and secret.mount_requirement != security_pb2.Secret.MountType.FILE:
            env[secret.env_var] = value
    if missing:
        raise SecretNotFoundError(
            "The task requests secrets this kernel does not have, so the process sandbox cannot present them "
            "as Flyte would: " + "; ".join(missing) + "."
        )
    return env
