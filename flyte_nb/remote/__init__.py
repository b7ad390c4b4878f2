"""Submitting tasks to a Flyte cluster (FlyteAdmin over gRPC) and watching their executions.

``Remote`` reads the configuration flytekit users already have (``FLYTE_*`` variables, flytectl's
``~/.flyte/config.yaml``), uploads the task's code through the data proxy, registers the task and
launches it; ``RemoteExecution`` follows the run and returns its outputs. ``Remote.execution(name)``
re-attaches to any execution (flytekit's too) and decodes it from its registered interface
(``RegisteredTask``); user logins (``Pkce`` in a browser, ``DeviceFlow``) are cached between kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flyte_nb.remote.auth import ClientCredentials, DeviceCode, DeviceFlow, ExternalCommand, StaticToken
from flyte_nb.remote.config import RemoteConfig, load_config
from flyte_nb.remote.executions import RemoteExecution
from flyte_nb.remote.remote import Remote, SubmitProgress

__all__ = [
    "ClientCredentials",
    "DeviceCode",
    "DeviceFlow",
    "ExternalCommand",
    "Pkce",
    "RegisteredTask",
    "Remote",
    "RemoteConfig",
    "RemoteExecution",
    "StaticToken",
    "SubmitProgress",
    "load_config",
]

if TYPE_CHECKING:
    from flyte_nb.remote.pkce import Pkce
    from flyte_nb.remote.registered import RegisteredTask


def __getattr__(name: str) -> Any:
    # Loaded on first use: the browser sign-in and the task machinery a RegisteredTask needs are not
    # needed to submit a task.
    if name == "Pkce":
        from flyte_nb.remote.pkce import Pkce

        return Pkce
    if name == "RegisteredTask":
        from flyte_nb.remote.registered import RegisteredTask

        return RegisteredTask
    raise AttributeError(f"module 'flyte_nb.remote' has no attribute {name!r}")
