"""``%flyte_runs``: the runs of this notebook, from its run ledger, across kernel restarts.

The ledger (:mod:`flyte_nb.core.ledger`) is the SQLite file beside the notebook that every run writes
to: widget runs, ``SandboxExecutor`` runs in any mode, ``Remote.submit``. ``%flyte_runs`` lists them
newest first; ``--attach`` re-attaches to a remote one, returning its ``RemoteExecution``, which the
notebook shows live (phase, link, then outputs or error) and whose ``.outputs`` / ``.inputs`` decode;
``--clear`` forgets.
"""

from __future__ import annotations

import datetime
import html
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from flyte_nb.errors import ConfigError, FlyteNbError
from flyte_nb.notebook.magic_args import argument, magic_arguments, parse_argstring

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from flyte_nb.core.ledger import RunLedger, RunRecord
    from flyte_nb.core.task import Task
    from flyte_nb.notebook.magic import FlyteMagics
    from flyte_nb.notebook.protocols import Execution, RemoteRunner

__all__ = ["FlyteRunsMagics", "format_duration", "runs_html", "runs_text"]

MODES = ("kernel", "process", "remote")


@magics_class
class FlyteRunsMagics(Magics):
    """The ``%flyte_runs`` magic, reading the ledger of the notebook session ``magics`` holds."""

    def __init__(self, shell: InteractiveShell, magics: FlyteMagics) -> None:
        super().__init__(shell)
        self.flyte = magics

    @magic_arguments()
    @argument(
        "--task", metavar="NAME", help="Only runs of this task (its name, or a module task's short name)."
    )
    @argument(
        "--phase", metavar="PHASE[,PHASE]", help="Only runs that ended (or are) in these phases, e.g. FAILED."
    )
    @argument("--mode", choices=MODES, help="Only runs in this mode.")
    @argument("--limit", type=int, default=20, help="How many runs to list at most (default 20).")
    @argument(
        "--all", action="store_true", help="Runs of every notebook in this directory, not just this one."
    )
    @argument(
        "--refresh",
        action="store_true",
        help="Ask the cluster for the phase of remote runs not finished yet.",
    )
    @argument(
        "--attach",
        metavar="RUN",
        help="Re-attach to a remote run: its number in the list, or its execution name.",
    )
    @argument(
        "--clear",
        action="store_true",
        help="Forget this notebook's runs (with --all, every run in the ledger).",
    )
    @line_magic
    def flyte_runs(self, line: str = "") -> Any:
        """List this notebook's runs (newest first), re-attach to a remote one, or forget them.

        Runs are recorded in ``.flyte_nb_runs.sqlite`` beside the notebook, so they survive kernel
        restarts: every widget run, ``SandboxExecutor(...).run`` and ``Remote.submit`` (plain calls such
        as ``add(1)`` are not runs). ``ex = %flyte_runs --attach 12`` returns remote run 12's execution:
        shown live, with ``ex.outputs`` and ``ex.inputs`` as Python values.
        """
        args = parse_argstring(self.flyte_runs, line)
        ledger = self.flyte.session.ledger
        if ledger is None:
            raise UsageError(
                "Runs are not recorded in this kernel ($FLYTE_NB_RUN_LEDGER is off). Unset it (or point it at a "
                "file) to record and list runs."
            )
        if args.attach:
            return self._attach(ledger, args.attach)
        notebook = None if args.all or not ledger.notebook else ledger.notebook
        if args.clear:
            forgotten = ledger.clear(notebook=notebook)
            whose = f"of {notebook} " if notebook else ""
            print(f"Forgot {forgotten} run{'s' if forgotten != 1 else ''} {whose}in {ledger.path}.")
            return None
        if args.limit < 1:
            raise UsageError(f"%flyte_runs --limit: expected a positive number, got {args.limit}.")
        phases = [p.strip().upper() for p in (args.phase or "").split(",") if p.strip()] or None
        query = {"task": args.task, "phase": phases, "mode": args.mode, "notebook": notebook}
        if args.refresh:
            self._refresh(ledger.runs(**query, limit=args.limit))
        runs = ledger.runs(**query, limit=args.limit)
        from IPython.display import display

        display({"text/plain": runs_text(runs), "text/html": runs_html(runs)}, raw=True)  # type: ignore[no-untyped-call]
        return None

    # ---- re-attaching ----------------------------------------------------------------------------------

    def _attach(self, ledger: RunLedger, key: str) -> Execution:
        record = ledger.get(key)
        if record is None:
            raise UsageError(
                f"No run {key!r} in {ledger.path}: expected a run number or an execution name that %flyte_runs "
                "lists."
            )
        if not record.is_remote:
            raise UsageError(
                f"Run {record.id} ({record.task}) ran in the {record.mode}: only remote runs can be re-attached (their "
                "outputs live on the cluster; a local run's outputs went with its kernel). Run it again."
            )
        remote = self._remote_for(record)
        try:
            return remote.execution(
                record.execution, self._task_for(record, remote), project=record.project, domain=record.domain
            )
        except FlyteNbError as exc:
            raise UsageError(
                f"Cannot re-attach to {record.execution}: {' '.join(str(exc).split())}"
            ) from None

    def _remote_for(self, record: RunRecord) -> RemoteRunner:
        hint = f"%flyte_remote {record.endpoint} --project {record.project} --domain {record.domain}"
        try:
            remote = self.flyte.remote
        except (ConfigError, FlyteNbError) as exc:
            raise UsageError(f"The configured remote does not work ({exc}). Connect with {hint}.") from None
        if remote is None:
            raise UsageError(
                f"Run {record.id} ran on {record.endpoint}, and no Flyte remote is configured in this kernel. Connect "
                f"first: {hint} (add --insecure for a plaintext endpoint)."
            )
        if remote.config.endpoint != record.endpoint:
            raise UsageError(
                f"Run {record.id} ran on {record.endpoint}, but this kernel's remote is {remote.config.endpoint}. "
                f"Connect to it first: {hint} (add --insecure for a plaintext endpoint)."
            )
        return remote

    def _task_for(self, record: RunRecord, remote: RemoteRunner) -> Task | None:
        """The notebook's own task, when it is the version that ran (exact types); else ``None``."""
        from flyte_nb.core.serialize import task_version
        from flyte_nb.core.task import Task

        for value in list(self.shell.user_ns.values()) if self.shell is not None else []:
            if isinstance(value, Task) and value.name == record.task:
                try:
                    same = task_version(value, remote.settings()) == record.version
                except FlyteNbError:
                    same = False  # it cannot be compiled now: decode from the registered interface
                return value if same else None
        return None

    def _refresh(self, runs: list[RunRecord]) -> None:
        """Ask the cluster about remote runs not finished when last seen (updating the ledger)."""
        from flyte_nb.core.phases import TERMINAL_PHASES

        pending = [r for r in runs if r.is_remote and r.phase not in TERMINAL_PHASES]
        if not pending:
            return
        remote = self.flyte.remote
        for record in pending:
            if remote is None or remote.config.endpoint != record.endpoint:
                continue  # another cluster: it keeps its last seen phase
            try:
                remote.execution(record.execution, None, project=record.project, domain=record.domain)
            except FlyteNbError as exc:
                print(f"Run {record.id} ({record.execution}): {exc}")


# ---- rendering ------------------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h03m``; ``""`` when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _when(record: RunRecord) -> str:
    return datetime.datetime.fromtimestamp(record.started_at).strftime("%Y-%m-%d %H:%M:%S")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_HEADER = ("run", "started", "task", "mode", "phase", "took", "inputs", "execution / error")


def _cells(record: RunRecord) -> tuple[str, ...]:
    last = record.execution if record.is_remote else ""
    if record.error:
        last = f"{last}  {record.error}".strip()
    return (
        str(record.id),
        _when(record),
        record.task.rsplit(".", 1)[-1],
        record.mode,
        record.phase,
        format_duration(record.duration),
        record.inputs,
        last,
    )


def runs_text(runs: list[RunRecord]) -> str:
    """The runs as a plain-text table (newest first), with how to re-attach."""
    if not runs:
        return "No runs recorded yet. Runs from the task widget, SandboxExecutor(...).run and Remote.submit are listed here."
    rows = [_HEADER, *(_cells(r) for r in runs)]
    limits = (6, 19, 24, 7, 10, 8, 40, 60)
    rows = [tuple(_clip(c, w) for c, w in zip(row, limits, strict=True)) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if any(r.is_remote for r in runs):
        lines.append("Re-attach to a remote run: ex = %flyte_runs --attach RUN (then ex.outputs, ex.inputs).")
    return "\n".join(lines)


def runs_html(runs: list[RunRecord]) -> str:
    """The runs as an HTML table, with console links for remote runs."""
    if not runs:
        return f"<div>{html.escape(runs_text(runs))}</div>"
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in _HEADER)
    body = []
    for record in runs:
        cells = [html.escape(c) for c in _cells(record)]
        cells[2] = f"<code title='{html.escape(record.task)} {html.escape(record.version)}'>{cells[2]}</code>"
        if record.is_remote and record.url:
            link = f"<a href='{html.escape(record.url)}' target='_blank' rel='noopener'>{html.escape(record.execution)}</a>"
            cells[7] = link + (f" {html.escape(record.error)}" if record.error else "")
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = ""
    if any(r.is_remote for r in runs):
        note = "<div>Re-attach to a remote run: <code>ex = %flyte_runs --attach RUN</code> (then <code>ex.outputs</code>).</div>"
    return f"<table class='flyte-nb-runs'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"
