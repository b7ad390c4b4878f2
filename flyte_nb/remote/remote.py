"""``Remote``: submit a task to FlyteAdmin from a notebook and get a :class:`RemoteExecution` back.

``submit`` runs the sequence a cluster needs (PROTOCOL §4.2):

1. the task's payload (the pickled notebook code, if its resolver ships one) is uploaded through the
   data proxy under a content-addressed root, once per kernel for unchanged code;
2. the template, serialized with the payload's ``native_url``, is registered with ``CreateTask`` under
   its content-hash version (``ALREADY_EXISTS`` means it is already there, which is fine);
3. every input, Python defaults included (a single-task execution has no defaults of its own), is
   converted to a literal, pickled values uploaded through the data proxy;
4. ``CreateExecution`` is sent with a name chosen once per submission, so a retry after a lost answer
   finds the execution it created instead of starting a second one.

A caller that shows progress passes ``submit`` a callback: it hears of each step as it starts
(:class:`SubmitProgress`: ``inputs``, ``upload``, ``register``, ``launch``) and of each connection retry
(``retry``), so a view can say what is happening instead of a phase the cluster has not reported yet.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn

from flyteidl.admin import execution_pb2, task_pb2
from flyteidl.core import identifier_pb2

from flyte_nb.errors import (
    ConfigError,
    NotPicklableError,
    RemoteAlreadyExistsError,
    RemoteError,
    RemoteInvalidArgumentError,
    RemoteNotFoundError,
    RemoteUnavailableError,
)
from flyte_nb.remote.auth import Authenticator, DeviceCode, authenticator_for
from flyte_nb.remote.client import AdminClient, RetryNotice
from flyte_nb.remote.config import RemoteConfig, load_config
from flyte_nb.remote.config_values import parse_text
from flyte_nb.remote.executions import RemoteExecution, record_launch
from flyte_nb.remote.http import HttpSettings
from flyte_nb.remote.upload import DataProxyStore, Uploader

if TYPE_CHECKING:
    from flyte_nb.core.image_spec import ImageSpec
    from flyte_nb.core.settings import ImageConfig, SerializationSettings
    from flyte_nb.core.task import Task
    from flyte_nb.remote.registered import RegisteredTask

__all__ = ["Remote", "SubmitProgress", "execution_name"]


@dataclass(frozen=True)
class SubmitProgress:
    """One step of :meth:`Remote.submit`, as it starts.

    Attributes
    ----------
    step:
        ``"inputs"`` (converting inputs, uploading pickled ones), ``"upload"`` (the task's code),
        ``"register"`` (``CreateTask``), ``"launch"`` (``CreateExecution``) or ``"retry"`` (FlyteAdmin did
        not answer; the call is tried again after a pause).
    message:
        The same in words, e.g. ``"retrying the connection (CreateTask: UNAVAILABLE, attempt 2 of 6)"``.
    """

    step: str
    message: str


ProgressCallback = Callable[[SubmitProgress], None]


def _retry_progress(progress: ProgressCallback) -> Callable[[RetryNotice], None]:
    def report(notice: RetryNotice) -> None:
        progress(
            SubmitProgress(
                "retry",
                f"retrying the connection ({notice.method}: {notice.code}, attempt {notice.attempt + 1} of "
                f"{notice.attempts}, next in {notice.pause:.1f}s)",
            )
        )

    return report


def execution_name(task_name: str) -> str:
    """A fresh, valid execution name: ``<task slug>-<16 random hex>`` (``^[a-z][a-z\\-0-9]*$``, ≤ 63)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", task_name.rsplit(".", 1)[-1].lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"f{slug}"
    return f"{slug[:40].rstrip('-')}-{secrets.token_hex(8)}"


def _refuse_with_client(**given: Any) -> None:
    """A ready client already fixes these: silently ignoring them would run somewhere the caller did not ask."""
    clashing = [name for name, value in given.items() if value is not None]
    if clashing:
        raise ConfigError(
            f"Remote(client=...): expected only project=, domain=, image= and env= beside a ready client, got "
            f"{', '.join(f'{name}=' for name in clashing)} too, which the client already fixes (its endpoint, TLS "
            "and credentials). Build the client with them (AdminClient(load_config(...), authenticator=...)), "
            "or drop client= and pass them to Remote."
        )


class Remote:
    """A FlyteAdmin client for notebooks.

    Parameters
    ----------
    endpoint:
        ``host:port`` of FlyteAdmin's gRPC endpoint (``dns:///`` prefixes are accepted). Default:
        ``$FLYTE_PLATFORM_URL``, then the config file's ``admin.endpoint``.
    project, domain:
        Where tasks are registered and run (default: the config's, else ``flytesnacks``/``development``).
    insecure:
        Plaintext gRPC (local sandboxes). Default: ``$FLYTE_PLATFORM_INSECURE`` / ``admin.insecure``.
    config_file:
        A flytectl YAML or flytekit INI file to read instead of the default search.
    auth:
        An :class:`~flyte_nb.remote.auth.Authenticator` (e.g. ``StaticToken("…")``) instead of the one
        the configuration describes.
    image:
        The container image (or :class:`~flyte_nb.ImageConfig`, or :class:`~flyte_nb.ImageSpec`: its
        completed image) tasks are compiled against; it must hold flyte_nb and the kernel's Python minor
        version. Default: ``$FLYTE_NB_IMAGE`` or flyte_nb's image.
    env:
        Environment variables added to every submitted task's container.
    device_prompt:
        Shows a sign-in (a device flow's link and code, or a browser sign-in's link); the notebook
        extension passes one that renders it.
    login:
        How a user signs in when the server asks (auth modes ``Pkce``/``standard``): ``"auto"`` (a
        browser when the kernel runs on the user's own machine, else the device flow), ``"browser"`` or
        ``"device"``. Default: ``$FLYTE_NB_LOGIN``, else ``"auto"``. The login is cached for the endpoint
        (OS keyring or a private file), so later kernels start signed in; :meth:`logout` forgets it.
    client:
        A ready :class:`AdminClient` (tests inject one with fake stubs). It fixes where the server is and
        how to sign in, so ``endpoint``, ``insecure``, ``config_file``, ``auth`` and ``device_prompt``
        cannot be given with it (a :class:`~flyte_nb.errors.ConfigError`); ``project`` and ``domain``
        replace the client configuration's.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        project: str | None = None,
        domain: str | None = None,
        insecure: bool | None = None,
        config_file: str | os.PathLike[str] | None = None,
        *,
        auth: Authenticator | None = None,
        image: str | ImageConfig | ImageSpec | None = None,
        env: Mapping[str, str] | None = None,
        device_prompt: Callable[[DeviceCode], None] | None = None,
        client: AdminClient | None = None,
        login: str | None = None,
    ) -> None:
        if client is not None:
            _refuse_with_client(
                endpoint=endpoint,
                insecure=insecure,
                config_file=config_file,
                auth=auth,
                device_prompt=device_prompt,
                login=login,
            )
            self.config: RemoteConfig = replace(
                client.config,
                project=(parse_text(project, "project") if project is not None else "")
                or client.config.project,
                domain=(parse_text(domain, "domain") if domain is not None else "") or client.config.domain,
            )
        else:
            self.config = load_config(endpoint, project, domain, insecure, config_file)
            client = AdminClient(
                self.config,
                authenticator=auth or authenticator_for(self.config, prompt=device_prompt, login=login),
            )
        self.client = client
        preflight = getattr(image, "preflight", None)
        if callable(preflight):
            preflight()  # an ImageSpec that cannot run this kernel's tasks is refused before any submission
        self.image = image
        self.env = dict(env or {})
        self.uploader = Uploader(client, HttpSettings.from_config(self.config))
        self._uploaded: dict[tuple[str, str, str], str] = {}  # (project, domain, sha256) -> native_url
        self._uploaded_data: dict[tuple[str, ...], str] = {}  # input files/directories by content
        self._registered: dict[bytes, RegisteredTask] = {}  # launch plan id -> its registered interface

    @property
    def project(self) -> str:
        return self.config.project

    @property
    def domain(self) -> str:
        return self.config.domain

    def __repr__(self) -> str:
        return f"Remote(endpoint={self.config.endpoint!r}, project={self.project!r}, domain={self.domain!r})"

    def __reduce__(self) -> NoReturn:
        raise NotPicklableError(
            "A Remote holds a network channel and credentials and cannot be pickled (a task that captures one "
            "by accident would ship them). Create the Remote inside the code that needs it instead."
        )

    def close(self) -> None:
        """Close the gRPC channel."""
        self.client.close()

    @contextlib.contextmanager
    def sign_in_prompts_here(self, show: Callable[[DeviceCode], None]) -> Iterator[None]:
        """Inside the block, a device-flow sign-in that calls on this thread need is shown with ``show``
        (the link and code), instead of with the remote's own prompt; other threads are unaffected."""
        with self.client.authenticator.prompts_on_this_thread(show):
            yield

    def store(self, project: str, domain: str) -> DataProxyStore:
        """The raw-data store that moves values, files and directories through this server's data proxy."""
        return DataProxyStore(self.uploader, project, domain, self._uploaded_data)

    # ---- registration ----------------------------------------------------------------------------

    def upload_payload(self, task: Task, progress: ProgressCallback | None = None) -> str | None:
        """Upload the task's payload (if its resolver ships one) and return its ``native_url``."""
        resolver = getattr(task, "task_resolver", None)
        payload = resolver.payload(task) if resolver is not None else None
        if payload is None:
            return None
        key = (self.project, self.domain, payload.sha256)
        if key not in self._uploaded:
            if progress is not None:
                progress(SubmitProgress("upload", f"uploading the task's code ({len(payload.data):,} bytes)"))
            # The root is the content's hash, so an unchanged payload keeps its URL, and with it the
            # template and the task version.
            self._uploaded[key] = self.uploader.upload(
                self.project,
                self.domain,
                payload.data,
                filename=payload.filename,
                filename_root=payload.sha256[:32],
            )
        return self._uploaded[key]

    def forget_payload(self, task: Task | None = None) -> None:
        """Forget that ``task``'s payload was uploaded (every payload, without a task), so the next
        registration uploads it again.

        Called when a container refused the stored payload (``PayloadDigestError``: it was changed or
        replaced after the upload): re-registering must store a fresh copy, not trust the memo.
        """
        resolver = getattr(task, "task_resolver", None) if task is not None else None
        payload = resolver.payload(task) if resolver is not None else None
        if payload is None:
            self._uploaded.clear()
            return
        for key in [k for k in self._uploaded if k[2] == payload.sha256]:
            del self._uploaded[key]

    def settings(self, payload_uri: str | None = None) -> SerializationSettings:
        """The serialization settings tasks are compiled with for this server."""
        from flyte_nb.core.settings import SerializationSettings

        return SerializationSettings(
            project=self.project,
            domain=self.domain,
            image=self.image,
            env=self.env or None,
            payload_uri=payload_uri,
        )

    def register(self, task: Task, progress: ProgressCallback | None = None) -> identifier_pb2.Identifier:
        """Upload the payload and register the task (idempotently); return the task's identifier.

        Raises
        ------
        RemoteInvalidArgumentError
            The server rejected the template, or this version already exists with a different template.
        """
        from flyte_nb.remote.registered import RegisteredTask

        if isinstance(task, RegisteredTask):  # fetched from this server: launch what is registered
            return task.id
        from flyte_nb.core.serialize import task_spec

        spec = task_spec(task, self.settings(self.upload_payload(task, progress)))
        tid = spec.template.id
        if progress is not None:
            progress(SubmitProgress("register", f"registering the task (version {tid.version})"))
        try:
            # Idempotent: a repeat of an identical registration answers ALREADY_EXISTS.
            self.client.create_task(task_pb2.TaskCreateRequest(id=tid, spec=spec))
        except RemoteAlreadyExistsError:
            pass  # identical template already registered: registration is idempotent
        except RemoteInvalidArgumentError as exc:
            if "different structure" in exc.details:
                raise RemoteInvalidArgumentError(
                    f"Task {tid.name!r} version {tid.version} already exists on {self.config.endpoint} with a "
                    "different template, so this one cannot be registered under that version. Give it a new "
                    f"version (SerializationSettings(version=...)) or change the task. FlyteAdmin said: {exc.details}",
                    code=exc.code,
                    details=exc.details,
                ) from exc
            raise
        return tid

    # ---- execution -------------------------------------------------------------------------------

    def _inputs(self, task: Task, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
        """The inputs with Python defaults filled in, in interface order, and their ``LiteralMap``."""
        from flyte_nb.core.execution import check_input_names, inputs_to_literal_map

        iface = task.require_python_interface()
        check_input_names(task.name, iface.inputs, iface.defaults, list(inputs))
        # A single-task execution has no defaults (admin's launch plan requires every input), so the
        # Python defaults are sent explicitly, as the task would use them when called.
        merged = {**{k: v for k, v in iface.defaults.items() if k in iface.inputs}, **inputs}
        values = {k: merged[k] for k in iface.inputs if k in merged}
        store = self.store(self.project, self.domain)
        return values, inputs_to_literal_map(task.name, iface.inputs, values, store)

    def submit(
        self, task: Task, progress: ProgressCallback | None = None, /, **inputs: Any
    ) -> RemoteExecution:
        """Register ``task`` and launch it with ``inputs``; return the running :class:`RemoteExecution`.

        Parameters
        ----------
        task:
            The task to run.
        progress:
            Called with a :class:`SubmitProgress` as each step starts and before each connection retry,
            on the calling thread. Positional, so that no task input name is taken by it.
        **inputs:
            The task's inputs (defaults are filled in).

        Raises
        ------
        TaskInputError
            Unknown or missing inputs, or a value that does not fit its type (before anything is sent).
        RemoteError
            The server refused (the subclass says why; the message keeps the server's own words).
        """
        if progress is None:
            return self._submit(task, inputs, None)
        with self.client.retries_reported_here(_retry_progress(progress)):
            return self._submit(task, inputs, progress)

    def _submit(
        self, task: Task, inputs: Mapping[str, Any], progress: ProgressCallback | None
    ) -> RemoteExecution:
        if progress is not None:
            progress(SubmitProgress("inputs", "preparing the inputs"))
        values, literal_map = self._inputs(task, inputs)
        tid = self.register(task, progress)
        eid = identifier_pb2.WorkflowExecutionIdentifier(
            project=self.project, domain=self.domain, name=execution_name(task.name)
        )
        request = execution_pb2.ExecutionCreateRequest(
            project=self.project,
            domain=self.domain,
            name=eid.name,
            spec=execution_pb2.ExecutionSpec(
                launch_plan=tid,
                metadata=execution_pb2.ExecutionMetadata(mode=execution_pb2.ExecutionMetadata.MANUAL),
            ),
            inputs=literal_map,
        )
        if progress is not None:
            progress(SubmitProgress("launch", f"launching execution {eid.name}"))
        try:
            # Idempotent by its name: a repeat answers ALREADY_EXISTS instead of starting a second run.
            self.client.create_execution(request)
        except RemoteAlreadyExistsError:
            self._claim(eid, tid)  # a retried call whose first answer was lost
        except RemoteUnavailableError as exc:
            # The call may have been handled with its answer lost; the name tells us.
            try:
                claimed = self._claim(eid, tid, missing_ok=True)
            except RemoteUnavailableError:
                raise RemoteUnavailableError(
                    f"{exc} Whether execution {eid.name} was created could not be checked either. Before "
                    f"submitting again (which would start a second run), look for it once the server answers: "
                    f"remote.execution({eid.name!r}, task), or {self.config.console_url}/console/projects/"
                    f"{eid.project}/domains/{eid.domain}/executions/{eid.name}.",
                    code=exc.code,
                    details=exc.details,
                ) from exc
            if not claimed:
                raise
        execution = RemoteExecution(self, eid, task)
        record_launch(execution, tid.version, values)
        return execution

    def _claim(
        self,
        eid: identifier_pb2.WorkflowExecutionIdentifier,
        tid: identifier_pb2.Identifier,
        *,
        missing_ok: bool = False,
    ) -> bool:
        """True when execution ``eid`` exists and runs ``tid`` (it is the one this submission created)."""
        try:
            existing = self.client.get_execution(execution_pb2.WorkflowExecutionGetRequest(id=eid))
        except RemoteNotFoundError:
            if missing_ok:
                return False
            raise
        if existing.spec.launch_plan != tid:
            raise RemoteError(
                f"Execution name {eid.name} is already used by a run of {existing.spec.launch_plan.name} "
                f"version {existing.spec.launch_plan.version}, not of {tid.name} version {tid.version}. "
                "Submit again (a new name is drawn each time).",
                code="ALREADY_EXISTS",
            )
        return True

    def execution(
        self, name: str, task: Task | None = None, *, project: str | None = None, domain: str | None = None
    ) -> RemoteExecution:
        """Re-attach to execution ``name`` — one this notebook launched, or anyone's (flytekit's too).

        Its inputs and outputs decode to Python values: with ``task``'s own types when it is given
        (exact types: your dataclass, your NamedTuple), else with types guessed from the interface
        FlyteAdmin has registered for it, as flytekit's ``FlyteRemote`` does (see
        :mod:`flyte_nb.core.guess`).

        Parameters
        ----------
        name:
            The execution name (as in its console link).
        task:
            The task it runs, to decode with exact types.
        project, domain:
            Where the execution is, when not this remote's project and domain.

        Raises
        ------
        RemoteNotFoundError
            There is no such execution.
        """
        eid = identifier_pb2.WorkflowExecutionIdentifier(
            project=project or self.project, domain=domain or self.domain, name=name
        )
        execution = RemoteExecution(self, eid, task)
        fetched = execution.refresh()
        if task is None:
            execution.task = self.registered(fetched.spec.launch_plan, missing_ok=True)
        return execution

    def executions(
        self,
        task: Task | str | None = None,
        *,
        limit: int = 10,
        phase: str | Sequence[str] | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> list[RemoteExecution]:
        """The latest executions in this project and domain, newest first (``ListExecutions``).

        Parameters
        ----------
        task:
            Only executions of this task (a task object, or its registered name). Executions of the
            version ``task`` has here decode with its own types; others with their registered interface.
        limit:
            How many at most.
        phase:
            Only executions in this phase (``"SUCCEEDED"``, ``"FAILED"``, …), or in one of several.
        project, domain:
            Where to look, when not this remote's project and domain.
        """
        from flyte_nb.remote.listing import list_executions

        return list_executions(self, task, limit=limit, phase=phase, project=project, domain=domain)

    def registered(
        self, launch_plan: identifier_pb2.Identifier, *, missing_ok: bool = False
    ) -> RegisteredTask | None:
        """The task (or launch plan) ``launch_plan`` names, as registered here (fetched once per remote).

        With ``missing_ok``, ``None`` when it is not registered (its executions then cannot be decoded).
        """
        from flyte_nb.remote.registered import fetch_registered

        key = launch_plan.SerializeToString(deterministic=True)
        if key not in self._registered:
            try:
                self._registered[key] = fetch_registered(self.client, launch_plan)
            except RemoteNotFoundError:
                if not missing_ok:
                    raise
                return None
        return self._registered[key]

    def logout(self) -> None:
        """Forget this remote's credentials: the token in memory and any cached for its endpoint (the OS
        keyring or the token file), so the next call asks for a new login."""
        self.client.authenticator.logout(self.client)
