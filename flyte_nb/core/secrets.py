"""Secrets: ``Secret`` requests in the template, and reading them the way Flyte's secrets webhook presents them.

A task asks for secrets with ``@task(secret_requests=[Secret(group="db", key="password")])``. The request
goes into ``TaskTemplate.security_context.secrets`` exactly as flytekit writes it; on a cluster, Flyte's
secrets webhook then injects each one into the pod as the environment variable ``_FSEC_<GROUP>_<KEY>``
(upper-cased) or as a file under its secrets directory, and sets ``FLYTE_SECRETS_ENV_PREFIX`` /
``FLYTE_SECRETS_DEFAULT_DIR`` to say where.

Inside the task, ``flyte_nb.current_context().secrets.get("db", "password")`` reads it with flytekit's
rules (:class:`SecretsManager`): the ``<prefix><GROUP>_<KEY>`` variable first, then the file
``<dir>/<group>/<prefix file><key>``. Outside a cluster (in the kernel) the variable without the prefix
(``DB_PASSWORD``) is accepted too, as flytekit does locally. The process sandbox presents secrets as the
webhook does (:mod:`flyte_nb.runtime.secrets_webhook`).

A secret's value is never stored on any flyte_nb object, never put in a repr, an error or a log: only
its group and key are.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flyteidl.core import security_pb2

from flyte_nb.errors import SecretNotFoundError, TaskDefinitionError

__all__ = ["Secret", "SecretsManager", "security_context_for"]

ENV_PREFIX_VAR = "FLYTE_SECRETS_ENV_PREFIX"
DEFAULT_DIR_VAR = "FLYTE_SECRETS_DEFAULT_DIR"
FILE_PREFIX_VAR = "FLYTE_SECRETS_FILE_PREFIX"
DEFAULT_ENV_PREFIX = "_FSEC_"
DEFAULT_DIR = os.path.join(os.sep, "etc", "secrets")  # flytekit's default; the webhook sets its own

_ENV_VAR_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass
class Secret:
    """A secret a task needs at run time (flytekit's ``Secret``).

    Parameters
    ----------
    group:
        The secret's name in the secret store (for Kubernetes secrets: the ``Secret`` object's name).
    key:
        The item inside the group (for Kubernetes secrets: the key in the ``Secret``'s data).
    group_version:
        An optional version of the group.
    mount_requirement:
        How the secret should be presented: ``Secret.MountType.ANY`` (the platform decides),
        ``ENV_VAR`` or ``FILE``.
    env_var:
        Also present the secret under this environment variable name.
    """

    class MountType(enum.Enum):
        """How a secret is mounted into the task's container."""

        ANY = security_pb2.Secret.MountType.ANY
        ENV_VAR = security_pb2.Secret.MountType.ENV_VAR
        FILE = security_pb2.Secret.MountType.FILE

    group: str | None = None
    key: str | None = None
    group_version: str | None = None
    mount_requirement: MountType = MountType.ANY
    env_var: str | None = None

    def __post_init__(self) -> None:
        for name in ("group", "key", "group_version", "env_var"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TaskDefinitionError(
                    f"Secret {name}: expected a str, got {value!r} ({type(value).__name__}). "
                    "Pass e.g. Secret(group='db', key='password')."
                )
        if not self.group:
            raise TaskDefinitionError(
                f"Secret: expected a group, got {self.group!r}. Flyte finds a secret by its group (and key): "
                "pass e.g. Secret(group='db', key='password')."
            )
        if not isinstance(self.mount_requirement, Secret.MountType):
            raise TaskDefinitionError(
                f"Secret mount_requirement: expected Secret.MountType.ANY, ENV_VAR or FILE, got "
                f"{self.mount_requirement!r} ({type(self.mount_requirement).__name__})."
            )
        if self.env_var is not None and not _ENV_VAR_NAME.match(self.env_var):
            raise TaskDefinitionError(
                f"Secret env_var: expected an environment variable name (upper case, digits, _), got "
                f"{self.env_var!r}. Use e.g. env_var='DB_PASSWORD'."
            )

    def to_flyte_idl(self) -> security_pb2.Secret:
        """The flyteidl ``Secret`` (unset fields stay unset, as flytekit writes them)."""
        return security_pb2.Secret(
            group=self.group,
            group_version=self.group_version,
            key=self.key,
            mount_requirement=self.mount_requirement.value,
            env_var=self.env_var,
        )

    @classmethod
    def from_flyte_idl(cls, pb: security_pb2.Secret) -> Secret:
        """The ``Secret`` of a flyteidl message (empty strings become ``None``)."""
        return cls(
            group=pb.group or None,
            key=pb.key or None,
            group_version=pb.group_version or None,
            mount_requirement=Secret.MountType(pb.mount_requirement),
            env_var=pb.env_var or None,
        )

    @property
    def label(self) -> str:
        """``group/key`` (or just ``group``): how views and errors name the secret."""
        return f"{self.group}/{self.key}" if self.key else str(self.group)


def security_context_for(secrets: Iterable[Any]) -> security_pb2.SecurityContext | None:
    """The ``SecurityContext`` flytekit writes for ``secret_requests`` (``None`` for none).

    Raises
    ------
    TaskDefinitionError
        An item is not a :class:`Secret`.
    """
    items = list(secrets)
    bad = [s for s in items if not isinstance(s, Secret)]
    if bad:
        raise TaskDefinitionError(
            f"secret_requests: expected flyte_nb.Secret items, got {bad[0]!r} ({type(bad[0]).__name__}). "
            "Pass e.g. secret_requests=[Secret(group='db', key='password')]."
        )
    if not items:
        return None
    return security_pb2.SecurityContext(secrets=[s.to_flyte_idl() for s in items])


def _in_container() -> bool:
    from flyte_nb.core.context import ExecutionMode, FlyteContextManager

    return FlyteContextManager.current_context().mode is ExecutionMode.TASK_EXECUTION


class SecretsManager:
    """Reads secrets as flytekit's ``SecretsManager`` does (environment variable, then file).

    The settings come from the environment each time they are needed, as the webhook sets them:
    ``FLYTE_SECRETS_ENV_PREFIX`` (default ``_FSEC_``), ``FLYTE_SECRETS_DEFAULT_DIR`` (default
    ``/etc/secrets``) and ``FLYTE_SECRETS_FILE_PREFIX`` (default empty). Attribute access works too:
    ``secrets.db.password`` is ``secrets.get("db", "password")``.
    """

    class _GroupSecrets:
        """``secrets.<group>.<key>``."""

        def __init__(self, group: str, manager: SecretsManager) -> None:
            self._group = group
            self._manager = manager

        def __getattr__(self, key: str) -> str:
            return str(self._manager.get(self._group, key))

        def __repr__(self) -> str:
            return f"<secrets of group {self._group!r}>"

    @property
    def env_prefix(self) -> str:
        """The prefix of secret environment variables (``_FSEC_`` unless the webhook says otherwise)."""
        return os.environ.get(ENV_PREFIX_VAR, DEFAULT_ENV_PREFIX).strip()

    @property
    def default_dir(self) -> str:
        """The directory secret files are under."""
        return os.environ.get(DEFAULT_DIR_VAR, DEFAULT_DIR).strip()

    @property
    def file_prefix(self) -> str:
        """The prefix of secret file names."""
        return os.environ.get(FILE_PREFIX_VAR, "").strip()

    def __getattr__(self, group: str) -> SecretsManager._GroupSecrets:
        if group.startswith("_"):
            raise AttributeError(group)
        return SecretsManager._GroupSecrets(group, self)

    def __repr__(self) -> str:
        return (
            f"SecretsManager(env_prefix={self.env_prefix!r}, default_dir={self.default_dir!r}, "
            f"file_prefix={self.file_prefix!r})"
        )

    def get_secrets_env_var(
        self, group: str | None = None, key: str | None = None, group_version: str | None = None
    ) -> str:
        """The environment variable a secret is read from: ``<prefix><GROUP>[_<VERSION>]_<KEY>``."""
        return self._env_var(group, key, group_version, self.env_prefix)

    @staticmethod
    def _env_var(group: str | None, key: str | None, group_version: str | None, prefix: str) -> str:
        parts = [p.upper() for p in (group, group_version, key) if p]
        return prefix + "_".join(parts)

    def get_secrets_file(
        self, group: str | None = None, key: str | None = None, group_version: str | None = None
    ) -> str:
        """The file a secret is read from: ``<dir>/<group>[/<version>]/<file prefix><key>`` (lower case)."""
        parts = [p.lower() for p in (group, group_version, key) if p]
        if not parts:
            raise SecretNotFoundError(
                "expected a secret group (and key), got neither. Pass get('db', 'password')."
            )
        parts[-1] = f"{self.file_prefix}{parts[-1]}"
        return os.path.join(self.default_dir, *parts)

    def candidates(
        self, group: str | None = None, key: str | None = None, group_version: str | None = None
    ) -> list[str]:
        """The environment variables looked at, in order (the unprefixed one only outside a cluster)."""
        names = [self.get_secrets_env_var(group, key, group_version)]
        if not _in_container():
            names.append(self._env_var(group, key, group_version, ""))
        return names

    def find(
        self, group: str | None = None, key: str | None = None, group_version: str | None = None
    ) -> bool:
        """Whether the secret can be read here (without reading it)."""
        if any(os.environ.get(name) is not None for name in self.candidates(group, key, group_version)):
            return True
        return os.path.exists(self.get_secrets_file(group, key, group_version))

    def get(
        self,
        group: str | None = None,
        key: str | None = None,
        group_version: str | None = None,
        encode_mode: str = "r",
    ) -> str | bytes:
        """The secret's value (stripped), from its environment variable or its file.

        Parameters
        ----------
        encode_mode:
            ``"r"`` reads a file as text, ``"rb"`` as bytes.

        Raises
        ------
        SecretNotFoundError
            Neither the variable nor the file exists; the message names both (never a value).
        """
        names = self.candidates(group, key, group_version)
        for name in names:
            value = os.environ.get(name)
            if value is not None:
                return value.strip()
        path = self.get_secrets_file(group, key, group_version)
        if os.path.exists(path):
            with open(path, encode_mode) as fh:
                content: str | bytes = fh.read()
            return content.strip()
        raise SecretNotFoundError(self._missing_message(group, key, names, path))

    @staticmethod
    def _missing_message(group: str | None, key: str | None, names: list[str], path: str) -> str:
        label = f"group={group!r}, key={key!r}"
        where = " or ".join(names)
        if _in_container():
            return (
                f"Secret {label} was not found: expected the environment variable {where} or the file {path}. "
                f"Request it on the task with secret_requests=[Secret(group={group!r}, key={key!r})], and check "
                "that the cluster's secret store has it."
            )
        return (
            f"Secret {label} was not found: set the environment variable {where} in this kernel, or write "
            f"the value to the file {path} (FLYTE_SECRETS_DEFAULT_DIR sets the directory). On a cluster, "
            f"request it with secret_requests=[Secret(group={group!r}, key={key!r})]."
        )
