"""The ``%%flyte_task``, ``%flyte_tasks`` and ``%flyte_remote`` magics.

All kernel state lives on the :class:`FlyteMagics` instance the extension registers (see
:func:`flyte_nb.notebook.extension.current_magics`): the tasks defined in this kernel, the default remote,
the shared result cache, and the run history. The core (task definition, serialization) is imported on
first use, so ``%load_ext flyte_nb`` stays cheap.
"""

from __future__ import annotations

import ast
import logging
import sys
import types
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from flyte_nb.errors import ConfigError, FlyteTypeError, RemoteError, ResolverError, TaskDefinitionError
from flyte_nb.notebook.magic_args import argument, magic_arguments, one_line, parse_argstring
from flyte_nb.notebook.magic_options import VarSpec, eval_type, parse_var_specs, task_options

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from flyte_nb.core.execution import LocalCache
    from flyte_nb.core.options import TaskOptions
    from flyte_nb.notebook.protocols import RemoteRunner, SignInCode

__all__ = ["FlyteMagics", "TaskRecord"]

_log = logging.getLogger(__name__)


@dataclass
class TaskRecord:
    """A task defined in this kernel by ``%%flyte_task``.

    Attributes
    ----------
    task:
        The task object (also bound in the notebook namespace under its function name).
    cell:
        The cell that defined it last, ``"In[N]"``.
    kind:
        ``"function"`` or ``"cell body"``.
    """

    task: Any
    cell: str
    kind: str


@magics_class
class FlyteMagics(Magics):
    """The flyte_nb magics and the kernel state they keep.

    Attributes
    ----------
    tasks:
        Task name → :class:`TaskRecord` for every task ``%%flyte_task`` defined in this kernel.
    remote_config:
        The keywords of the last ``%flyte_remote`` (endpoint, project, domain, insecure).
    history:
        Runs started from the notebook (appended by the widgets' executor), oldest first.
    """

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell)
        self.tasks: dict[str, TaskRecord] = {}
        self.remote_config: dict[str, Any] = {}
        self.history: list[Any] = []
        self._remote: RemoteRunner | None = None
        self._remote_watchers: list[weakref.WeakMethod[Callable[[], None]]] = []
        self._cache: LocalCache | None = None
        from flyte_nb.notebook.session import KernelSession

        self.session = KernelSession(self)

    # ---- state ---------------------------------------------------------------------------------------

    @property
    def _ip(self) -> Any:
        """The shell (always set: the extension registers the magics on one).

        Typed ``Any`` on purpose: IPython annotates few of the members used here (``compile``,
        ``history_manager``…), so strict checking would need a cast at every use.
        """
        return self.shell

    @property
    def cache(self) -> LocalCache:
        """The kernel-wide result cache every ``%%flyte_task`` task shares (``task.local_cache``)."""
        if self._cache is None:
            from flyte_nb.core.execution import LocalCache

            self._cache = LocalCache()
        return self._cache

    @property
    def remote(self) -> RemoteRunner | None:
        """The default :class:`flyte_nb.Remote`, or ``None``.

        Set with ``%flyte_remote``; without it, the configuration flytekit users already have
        (``FLYTE_PLATFORM_URL``, ``~/.flyte/config.yaml``…) is used when there is one.
        """
        if self._remote is None:
            from flyte_nb.remote import Remote

            try:
                self._remote = Remote(**self.remote_config, device_prompt=_show_device_code)
            except ConfigError:
                if self.remote_config:
                    raise
                return None  # no endpoint anywhere: no default remote
        return self._remote

    @remote.setter
    def remote(self, value: RemoteRunner | None) -> None:
        self._remote = value
        self._remote_changed()

    def watch_remote(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (a bound method, held weakly) whenever the remote is set or changed, so that
        task widgets displayed earlier follow ``%flyte_remote``."""
        self._remote_watchers.append(weakref.WeakMethod(callback))

    def _remote_changed(self) -> None:
        alive = []
        for ref in self._remote_watchers:
            callback = ref()
            if callback is None:
                continue  # its widget is gone
            alive.append(ref)
            try:
                callback()
            except Exception:  # noqa: BLE001 - one broken widget must not stop %flyte_remote; the log has it
                _log.exception("a widget failed to follow the new remote")
        self._remote_watchers = alive

    # ---- %%flyte_task ----------------------------------------------------------------------------------

    @magic_arguments("%flyte_task")  # a cell magic: its usage line reads %%flyte_task
    @argument(
        "task_name",
        nargs="?",
        metavar="NAME",
        help="Cell-body task: the task name (the cell body becomes the task). For a cell with "
        "several functions, the same as --name.",
    )
    @argument("--name", help="Which function of the cell becomes the task (needed when it defines several).")
    @argument(
        "--inputs",
        nargs="*",
        metavar="VAR[:TYPE]",
        help="Cell-body task inputs, read from the notebook namespace when the task is called. A "
        "missing TYPE is inferred from the current value.",
    )
    @argument(
        "--outputs",
        nargs="*",
        metavar="VAR[:TYPE]",
        help="Cell-body task outputs, assigned back into the notebook namespace after a call.",
    )
    @argument(
        "--cache", action="store_true", help="Cache results (Flyte discoverable; memoised in the kernel)."
    )
    @argument("--cache-version", help="Cache version (implies --cache); change it to invalidate the cache.")
    @argument(
        "--cache-ignore-input-vars",
        nargs="+",
        metavar="VAR",
        help="Inputs left out of the cache key (implies --cache).",
    )
    @argument(
        "--cache-serialize",
        action="store_true",
        help="Run identical cached executions one at a time (implies --cache).",
    )
    @argument("--retries", type=int, default=0, help="Retries on recoverable failures (default 0).")
    @argument("--timeout", help="Timeout: seconds, or a duration such as 30s, 10m, 1h, 1h30m.")
    @argument(
        "--image",
        help="Container image: a reference (ghcr.io/me/img:1), or the name of a notebook variable holding an "
        "ImageSpec (--image spec), whose completed image is used.",
    )
    @argument(
        "--secret",
        action="append",
        metavar="GROUP/KEY[:env|:file]",
        help="A secret the task reads with current_context().secrets.get(GROUP, KEY) (repeat for several).",
    )
    @argument(
        "--enable-deck",
        action="store_true",
        help="Write decks (deck.html; shown in the widget after a run): input, output, source code…",
    )
    @argument(
        "--deck-fields",
        metavar="input,output,…",
        help="Which default decks (implies --enable-deck): input, output, source_code, timeline, dependencies.",
    )
    @argument(
        "--requests", metavar="cpu=1,mem=2Gi", help="Resource requests: cpu, mem, gpu, ephemeral_storage."
    )
    @argument("--limits", metavar="cpu=2,mem=4Gi", help="Resource limits: cpu, mem, gpu, ephemeral_storage.")
    @argument("--accelerator", help="GPU type, e.g. nvidia-tesla-t4.")
    @argument(
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="Environment variable of the task's container (repeat for several).",
    )
    @argument(
        "--pickle-untyped",
        action="store_true",
        help="Accept unannotated inputs/outputs; their values travel as Python pickles.",
    )
    @argument("--dynamic", action="store_true", help="Make a dynamic task (its body builds a workflow).")
    @argument("--interruptible", action="store_true", help="Allow the task to run on spot/preemptible nodes.")
    @argument("--deprecated", metavar="MSG", help="Mark the task deprecated with this message.")
    @argument("--pod-template-name", metavar="NAME", help="Name of a cluster PodTemplate to start from.")
    @argument("--no-widget", action="store_true", help="Do not display the task after defining it.")
    @cell_magic
    def flyte_task(self, line: str, cell: str) -> None:
        """Turn the function this cell defines into a Flyte task.

        The cell runs in the notebook namespace. If it defines one function, that function becomes a
        ``PythonFunctionTask`` under the same name; with several, ``--name`` picks one (the others stay
        plain functions). Re-running the cell redefines the task. Options mirror ``@task`` keywords::

            %%flyte_task --cache --retries 2 --requests cpu=1,mem=2Gi
            def train(n: int) -> float:
                ...

        With no function in the cell, the cell body itself becomes the task: its inputs are read from
        the notebook when it is called, and its outputs are assigned back::

            %%flyte_task total --inputs xs:list[int] --outputs s:int
            s = sum(xs)

        Then ``total()`` runs it (``s`` is set), and ``total(xs=[1, 2])`` passes inputs explicitly.
        """
        args = parse_argstring(self.flyte_task, line)
        options = task_options(args, self._ip.user_ns)
        if args.name and args.task_name and args.name != args.task_name:
            raise UsageError(
                f"Two names given: NAME {args.task_name!r} and --name {args.name!r}. Give only one."
            )
        source = self._ip.transform_cell(cell)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise UsageError(_syntax_message(exc)) from None
        functions = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        pick = args.name or args.task_name
        if functions:
            if args.inputs is not None or args.outputs is not None:
                raise UsageError(
                    f"--inputs/--outputs describe a cell-body task, but this cell defines {_names(functions)}; "
                    "the function's signature is the interface. Remove --inputs/--outputs."
                )
            task = self._function_task(cell, functions, pick, args, options)
            kind = "function"
        else:
            if not pick:
                raise UsageError(
                    "This cell defines no function. Put the task in a def, or make the cell body a task "
                    "by naming it: %%flyte_task NAME --inputs a b --outputs c"
                )
            if args.name and not args.task_name:
                # --name picks one of the cell's functions; without any, the cell would silently become
                # a cell-body task named like the (never assigned) function, e.g. for `f = lambda x: x`.
                raise UsageError(
                    f"--name {args.name!r}: this cell defines no function (def) to pick. Write the task as a "
                    f"def, or make the cell body the task: %%flyte_task {args.name} --inputs … --outputs …"
                )
            task = self._cell_body_task(cell, tree, pick, args, options)
            kind = "cell body"
        task.local_cache = self.cache
        python_name = task.task_function.__name__
        self._ip.user_ns[python_name] = task
        self.tasks[task.name] = TaskRecord(task, f"In[{self._current_cell()}]", kind)
        if not args.no_widget:
            from IPython.display import display

            cast(Any, display)(task)

    def _current_cell(self) -> int:
        """The number of the cell being run (``In[N]``): the latest input stored in the history."""
        history = getattr(self._ip.history_manager, "input_hist_parsed", None)
        if isinstance(history, list) and len(history) > 1:
            return len(history) - 1
        return int(self._ip.execution_count)

    def _run(self, cell: str, target: str) -> None:
        """Run the cell in the notebook namespace, compiled under the cell's own ``In[N]``.

        (Not a nested ``run_cell``: that would file the code under the *next* execution count.)
        """
        compiler = self._ip.compile
        source = self._ip.transform_cell(cell)
        filename = compiler.cache(source, self._current_cell(), raw_code=cell)
        try:
            code = compiler(compiler.ast_parse(source, filename=filename), filename, "exec")
            exec(code, self._ip.user_global_ns, self._ip.user_ns)
        except Exception as exc:  # noqa: BLE001 - the user's cell may raise anything; shown as a cell's error
            # Show the user's frames only (from the cell on), as for a plain cell.
            self._ip.showtraceback(
                (type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None), tb_offset=0
            )
            raise UsageError(
                f"The cell raised {type(exc).__name__} (shown above), so {target!r} is not a task. "
                "Fix the error and run the cell again."
            ) from None

    def _function_task(
        self, cell: str, functions: list[str], pick: str | None, args: Any, options: TaskOptions
    ) -> Any:
        if pick and pick not in functions:
            raise UsageError(
                f"--name {pick!r} is not defined in this cell (it defines {_names(functions)}). "
                "Use one of those names."
            )
        if not pick and len(set(functions)) > 1:
            raise UsageError(
                f"This cell defines several functions ({_names(functions)}). Pick the task with --name, "
                f"e.g. %%flyte_task --name {functions[-1]}"
            )
        target = pick or functions[0]
        self._run(cell, target)
        fn = self._ip.user_ns.get(target)
        from flyte_nb.core.task import Task

        if isinstance(fn, Task):
            raise UsageError(
                f"{target!r} is already a task (decorated with @task or @dynamic in the cell). Remove the "
                "decorator or the %%flyte_task line: one of them is enough."
            )
        if not isinstance(fn, types.FunctionType):
            raise UsageError(
                f"After running the cell, {target!r} is a {type(fn).__name__}, not the function the cell "
                "defines (a later line rebinds it?). Keep the def as the last binding of that name."
            )
        from flyte_nb.core.function_task import PythonFunctionTask

        return _construct(PythonFunctionTask, fn, args, options)

    def _cell_body_task(self, cell: str, tree: ast.Module, name: str, args: Any, options: TaskOptions) -> Any:
        from flyte_nb.notebook import magic_cell

        if not name.isidentifier():
            raise UsageError(f"Task name {name!r} must be a Python identifier (e.g. prepare_data).")
        inputs = parse_var_specs("--inputs", args.inputs)
        outputs = parse_var_specs("--outputs", args.outputs)
        assigned = magic_cell.assigned_names(tree.body)
        missing = [o.name for o in outputs if o.name not in assigned]
        if missing:
            raise UsageError(
                f"--outputs {' '.join(missing)}: the cell body never assigns {_names(missing)}. Assign "
                "it in the cell, or remove it from --outputs."
            )
        pickle_untyped = bool(args.pickle_untyped)
        annotations = {s.name: self._var_type("--inputs", s, pickle_untyped) for s in inputs}
        if outputs:
            fields = [(s.name, self._var_type("--outputs", s, pickle_untyped)) for s in outputs]
            annotations["return"] = magic_cell.output_type(name, fields)
        else:
            annotations["return"] = (
                None  # no --outputs: no outputs (not one pickled o0 under --pickle-untyped)
            )
        compiler = self._ip.compile
        filename = compiler.cache(self._ip.transform_cell(cell), self._current_cell(), raw_code=cell)
        fn = magic_cell.build_function(
            name,
            tree,
            [s.name for s in inputs],
            [s.name for s in outputs],
            filename,
            self._ip.user_ns,
            getattr(compiler, "flags", 0),
        )
        fn.__annotations__ = annotations
        from flyte_nb.core.cell_body import CellBodyTask

        return _construct(CellBodyTask, fn, args, options)

    def _var_type(self, option: str, spec: VarSpec, pickle_untyped: bool) -> Any:
        if spec.type_expr is not None:
            return eval_type(option, spec, self._ip.user_ns)
        from typing import Any as AnyType

        from flyte_nb.notebook.magic_cell import infer_type

        ns = self._ip.user_ns
        inferred = infer_type(ns[spec.name]) if spec.name in ns else None
        if inferred is not None and _typable(inferred):
            return inferred
        if pickle_untyped:
            return AnyType
        if spec.name in ns:
            raise UsageError(
                f"{option} {spec.name}: cannot infer a Flyte type from its current value "
                f"({type(ns[spec.name]).__name__}). Write {spec.name}:TYPE, or pass --pickle-untyped to send "
                "it as a pickle."
            )
        raise UsageError(
            f"{option} {spec.name}: no type given, and {spec.name} is not defined yet to infer one from. "
            f"Write {spec.name}:TYPE (e.g. {spec.name}:int), define {spec.name} first, or pass --pickle-untyped."
        )

    # ---- %flyte_tasks -------------------------------------------------------------------------------

    @line_magic
    def flyte_tasks(self, line: str = "") -> None:
        """List the tasks defined in this kernel (with %%flyte_task, or with @task/@dynamic in the
        notebook namespace): name, kind, version, defining cell."""
        if line.strip():
            raise UsageError(f"%flyte_tasks takes no arguments, got {line.strip()!r}.")
        records = {**self.tasks, **self._decorated_tasks()}
        if not records:
            print("No tasks defined yet. Define one with %%flyte_task on top of a cell with a function.")
            return
        from flyte_nb.core.serialize import serialize_task

        rows = [("name", "kind", "version", "defined in")]
        for name, record in records.items():
            try:
                version = serialize_task(record.task).id.version
            except (ResolverError, TaskDefinitionError) as exc:  # e.g. an unpicklable global: say so
                version = f"(cannot serialize: {type(exc).__name__})"
            rows.append((name, record.kind, version, record.cell))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def _decorated_tasks(self) -> dict[str, TaskRecord]:
        """Tasks the notebook defined with ``@task``/``@dynamic`` (bound in its namespace, not via the magic)."""
        core = sys.modules.get("flyte_nb.core.function_task")
        if core is None:  # no task was ever made in this process
            return {}
        from flyte_nb.core.manifest import CellLocator

        cells = CellLocator(self.session)
        found: dict[str, TaskRecord] = {}
        for value in list(self._ip.user_ns.values()):
            if not isinstance(value, core.PythonFunctionTask) or value.name in self.tasks:
                continue
            fn = value.task_function
            if getattr(fn, "__module__", None) != "__main__":
                continue  # imported from a module: not defined in this kernel
            dynamic = value.execution_mode is core.PythonFunctionTask.ExecutionBehavior.DYNAMIC
            found[value.name] = TaskRecord(
                value, cells.for_code(getattr(fn, "__code__", None)), "@dynamic" if dynamic else "@task"
            )
        return found

    # ---- %flyte_remote ------------------------------------------------------------------------------

    @magic_arguments()
    @argument(
        "endpoint", nargs="?", help="FlyteAdmin endpoint, e.g. localhost:30080 or dns:///flyte.example.com."
    )
    @argument("--project", help="Project to register and run in.")
    @argument("--domain", help="Domain to register and run in (e.g. development).")
    @argument("--insecure", action="store_true", help="Connect without TLS.")
    @argument(
        "--logout",
        action="store_true",
        help="Sign out: forget the remote's login, including the one cached for later kernels.",
    )
    @line_magic
    def flyte_remote(self, line: str = "") -> None:
        """Show or set the Flyte cluster that "run on cluster" uses in this kernel.

        Without arguments, shows the current setting. With an ENDPOINT, replaces it; with only
        ``--project``/``--domain``, changes those of the current remote. Unset values come from the
        environment and ``~/.flyte/config.yaml`` (see :class:`flyte_nb.Remote`).
        """
        args = parse_argstring(self.flyte_remote, line)
        if args.logout:
            self._logout(args)
            return
        if line.strip():
            config = {
                "endpoint": args.endpoint,
                "project": args.project,
                "domain": args.domain,
                "insecure": True if args.insecure else None,
            }
            given = {k: v for k, v in config.items() if v is not None}
            # A new ENDPOINT starts over (its TLS setting must not carry over to another server);
            # --project/--domain alone change those of the current remote.
            self.remote_config = given if args.endpoint else {**self.remote_config, **given}
            self._remote = None
            try:
                self.remote  # noqa: B018 - builds the client now, so bad settings fail here
            except (ConfigError, RemoteError) as exc:
                raise UsageError(one_line(exc)) from None
            finally:
                self._remote_changed()  # widgets shown earlier follow (also to say the new one is broken)
        print(self._describe_remote())

    def _logout(self, args: Any) -> None:
        if args.endpoint or args.project or args.domain or args.insecure:
            raise UsageError(
                "%flyte_remote --logout takes no other options: it signs out of the current remote."
            )
        try:
            remote = self.remote
        except (ConfigError, RemoteError) as exc:
            raise UsageError(one_line(exc)) from None
        if remote is None:
            raise UsageError(
                "%flyte_remote --logout: no remote is configured, so there is no login to forget."
            )
        remote.logout()
        print(
            f"Signed out of {remote.config.endpoint}: its login is forgotten here and in the login cache; the next "
            "call that needs credentials asks you to sign in again."
        )

    def _describe_remote(self) -> str:
        try:
            remote = self.remote
        except (ConfigError, RemoteError) as exc:
            return f"The remote settings do not work: {one_line(exc)}"
        if remote is not None:
            return f"Remote: {remote!r}"
        return (
            "No remote configured: %flyte_remote ENDPOINT --project P --domain D sets one (or set "
            "FLYTE_PLATFORM_URL / ~/.flyte/config.yaml as for flytekit)."
        )


def _show_device_code(code: SignInCode) -> None:
    """A sign-in: the device flow's link and code, or the browser sign-in's link (a link a user can click)."""
    import html

    from IPython.display import HTML, display

    link = f"<a href='{html.escape(code.link)}' target='_blank'>"
    if not code.user_code:  # a browser sign-in: the page was opened in the browser, when it could be
        text = (
            f"<div>Sign in to Flyte in the browser window that just opened (or {link}open the sign-in page</a>). "
            "This cell continues once you have signed in.</div>"
        )
    else:
        text = (
            f"<div>To sign in to Flyte, open {link}{html.escape(code.verification_uri)}</a> and enter the code "
            f"<b><code>{html.escape(code.user_code)}</code></b>. This cell continues once you have approved it.</div>"
        )
    display(HTML(text))  # type: ignore[no-untyped-call]


def _names(names: list[str]) -> str:
    return ", ".join(dict.fromkeys(names))


def _syntax_message(exc: SyntaxError) -> str:
    text = (exc.text or "").strip()
    where = f"line {exc.lineno} of the cell" if exc.lineno else "the cell"
    return f"{type(exc).__name__} in {where}: {exc.msg}" + (f": {text}" if text else "")


def _typable(t: Any) -> bool:
    from flyte_nb.core.types import TypeEngine

    try:
        TypeEngine.validate_annotation(t)
        TypeEngine.to_literal_type(t)
    except FlyteTypeError:
        return False
    return not TypeEngine.is_pickled(t)


def _construct(cls: type, fn: Callable[..., Any], args: Any, options: TaskOptions) -> Any:
    """A task of class ``cls`` (a ``PythonFunctionTask``) running ``fn`` with the magic's options."""
    from flyte_nb.core.function_task import PythonFunctionTask
    from flyte_nb.errors import FlyteTypeError, TaskDefinitionError

    mode = PythonFunctionTask.ExecutionBehavior
    try:
        return cls(None, fn, execution_mode=mode.DYNAMIC if args.dynamic else mode.DEFAULT, options=options)
    except (TaskDefinitionError, FlyteTypeError) as exc:  # a function that cannot be a task, said in one line
        raise UsageError(one_line(exc)) from None
