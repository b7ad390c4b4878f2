"""The run ledger: every run of a notebook's tasks, kept in a small SQLite file beside the notebook.

One file per directory, ``.flyte_nb_runs.sqlite`` (``$FLYTE_NB_RUN_LEDGER`` names another file, or
``off`` disables recording), shared by every notebook and kernel working there, so runs outlive the
kernel that started them: ``%flyte_runs`` lists them after a restart and re-attaches to remote ones.

Each row holds the task name and version, the mode (``kernel``, ``process``, ``remote``), when it
started, how long it took, its phase, a short input summary, the execution id and console link of a
remote run, and the error summary of a failed one (:mod:`flyte_nb.core.runs` makes those summaries safe
to store: no secrets, no large values). Nothing else: no tokens, no outputs.

Several kernels write at once: the database runs in WAL mode (readers never block the writer) with a
busy timeout (writers queue for each other instead of failing), every write is one short transaction,
and each operation opens its own connection, so threads (widget runs) and processes never share one.
A ledger that cannot be written (read-only directory, full disk) logs one warning and records nothing;
it never fails a run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from flyte_nb.core.phases import TERMINAL_PHASES
from flyte_nb.core.runs import RemoteRun, RunStart

__all__ = ["LEDGER_ENV", "LEDGER_FILENAME", "RunLedger", "RunRecord", "ledger_path"]

_log = logging.getLogger(__name__)

LEDGER_FILENAME = ".flyte_nb_runs.sqlite"
LEDGER_ENV = "FLYTE_NB_RUN_LEDGER"
_OFF = {"off", "0", "false", "no", "none", ""}
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another kernel's transaction
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    notebook    TEXT NOT NULL DEFAULT '',
    task        TEXT NOT NULL,
    version     TEXT NOT NULL DEFAULT '',
    mode        TEXT NOT NULL,
    started_at  REAL NOT NULL,
    duration    REAL,
    phase       TEXT NOT NULL,
    inputs      TEXT NOT NULL DEFAULT '',
    endpoint    TEXT NOT NULL DEFAULT '',
    project     TEXT NOT NULL DEFAULT '',
    domain      TEXT NOT NULL DEFAULT '',
    execution   TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    host        TEXT NOT NULL DEFAULT '',
    pid         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task, started_at);
CREATE INDEX IF NOT EXISTS runs_by_execution ON runs (execution, endpoint, project, domain);
"""

_COLUMNS = (
    "id, notebook, task, version, mode, started_at, duration, phase, inputs, endpoint, project, domain, "
    "execution, url, error, host, pid"
)


def ledger_path(directory: str | os.PathLike[str]) -> Path | None:
    """The ledger file for notebooks in ``directory``: ``$FLYTE_NB_RUN_LEDGER`` when set (``None`` when
    it says ``off``), else ``<directory>/.flyte_nb_runs.sqlite``."""
    configured = os.environ.get(LEDGER_ENV)
    if configured is not None:
        return None if configured.strip().lower() in _OFF else Path(configured).expanduser()
    return Path(directory) / LEDGER_FILENAME


@dataclass(frozen=True)
class RunRecord:
    """One row of the ledger.

    Attributes
    ----------
    id:
        The run's number in this ledger (what ``%flyte_runs --attach`` takes).
    notebook:
        The notebook that started it (``""`` when the kernel did not know its notebook).
    task, version, mode:
        Task name, task version (content hash), and ``kernel`` / ``process`` / ``remote``.
    started_at, duration:
        Start (Unix time) and length in seconds (``None`` while running).
    phase:
        ``RUNNING``, ``SUCCEEDED``, ``FAILED``… (remote runs: the phase last seen).
    inputs, error:
        The input summary, and the error summary of a failed run.
    endpoint, project, domain, execution, url:
        Where a remote run lives (empty for local runs).
    host, pid:
        The machine and process of the kernel that ran it (to tell a run whose kernel died).
    """

    id: int
    notebook: str
    task: str
    version: str
    mode: str
    started_at: float
    duration: float | None
    phase: str
    inputs: str
    endpoint: str
    project: str
    domain: str
    execution: str
    url: str
    error: str
    host: str
    pid: int

    @property
    def is_remote(self) -> bool:
        """True for a run on a Flyte cluster (it can be re-attached)."""
        return bool(self.execution)

    @property
    def remote(self) -> RemoteRun | None:
        """Where the remote run lives, or ``None`` for a local run."""
        if not self.execution:
            return None
        return RemoteRun(self.endpoint, self.project, self.domain, self.execution, self.url)


class RunLedger:
    """The runs recorded in one SQLite file (a :class:`~flyte_nb.core.runs.RunRecorder`).

    Parameters
    ----------
    path:
        The database file (created with its table on first write).
    notebook:
        The name of the notebook this kernel runs, stored with each run it records (``""``: unknown).
    """

    def __init__(self, path: str | os.PathLike[str], notebook: str = "") -> None:
        self.path = Path(path)
        self.notebook = notebook
        self._ready = False
        self._warned = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RunLedger({str(self.path)!r})"

    # ---- connections ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            if not self._ready:
                self._prepare(con)
            yield con
        finally:
            con.close()

    def _prepare(self, con: sqlite3.Connection) -> None:
        with self._lock:
            _use_wal(con)
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
            self._ready = True

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taken at once, so two kernels queue instead of deadlocking)."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                _rollback(con)
                raise
            con.execute("COMMIT")

    def _failed(self, what: str, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            _log.warning(
                "flyte_nb: could not %s the run ledger %s (%s); runs are not recorded", what, self.path, exc
            )

    # ---- recording (RunRecorder) ---------------------------------------------------------------------

    def run_started(self, start: RunStart, remote: RemoteRun | None = None) -> int | None:
        """Record a starting run; return its id (``None`` when the ledger cannot be written)."""
        where = remote or RemoteRun("", "", "", "", "")
        phase = "QUEUED" if remote is not None else "RUNNING"
        try:
            with self._write() as con:
                cursor = con.execute(
                    "INSERT INTO runs (notebook, task, version, mode, started_at, phase, inputs, endpoint, "
                    "project, domain, execution, url, host, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        self.notebook,
                        start.task,
                        start.version,
                        start.mode,
                        start.started_at,
                        phase,
                        start.inputs,
                        where.endpoint,
                        where.project,
                        where.domain,
                        where.name,
                        where.url,
                        _host(),
                        os.getpid(),
                    ),
                )
                return cursor.lastrowid
        except (sqlite3.Error, OSError) as exc:
            self._failed("write", exc)
            return None

    def run_finished(self, run_id: int, phase: str, duration: float, error: str = "") -> None:
        """Record the end of run ``run_id``."""
        try:
            with self._write() as con:
                con.execute(
                    "UPDATE runs SET phase=?, duration=?, error=? WHERE id=?",
                    (phase, duration, error, run_id),
                )
        except (sqlite3.Error, OSError) as exc:
            self._failed("write", exc)

    def remote_phase(
        self, remote: RemoteRun, phase: str, duration: float | None = None, error: str = ""
    ) -> None:
        """Record the phase execution ``remote`` was seen in (rows of other executions are untouched)."""
        try:
            with self._write() as con:
                con.execute(
                    "UPDATE runs SET phase=?, error=?, duration=CASE WHEN ? IS NOT NULL THEN ? "
                    "WHEN ? THEN ? - started_at ELSE duration END "
                    "WHERE execution=? AND endpoint=? AND project=? AND domain=? AND phase<>?",
                    (
                        phase,
                        error,
                        duration,
                        duration,
                        phase in TERMINAL_PHASES,
                        time.time(),
                        remote.name,
                        remote.endpoint,
                        remote.project,
                        remote.domain,
                        phase,
                    ),
                )
        except (sqlite3.Error, OSError) as exc:
            self._failed("write", exc)

    # ---- reading -------------------------------------------------------------------------------------

    def runs(
        self,
        *,
        task: str | None = None,
        phase: str | Sequence[str] | None = None,
        mode: str | None = None,
        notebook: str | None = None,
        limit: int | None = 50,
    ) -> list[RunRecord]:
        """Recorded runs, newest first, optionally only those of ``task`` (name or short name), in
        ``phase`` (one or several), run in ``mode``, or started by ``notebook``.

        Raises
        ------
        sqlite3.Error
            The file exists but cannot be read (a listing shows the problem; recording never raises).
        """
        if not self.path.exists():
            return []
        clauses, params = self._filters(task, phase, mode, notebook)
        query = f"SELECT {_COLUMNS} FROM runs"
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._connect() as con:
            rows = con.execute(query, params).fetchall()
        return [self._settled(RunRecord(*row)) for row in rows]

    @staticmethod
    def _filters(
        task: str | None, phase: str | Sequence[str] | None, mode: str | None, notebook: str | None
    ) -> tuple[list[str], list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if task:
            # A task defined in a notebook is named like its function; one from a module is `mod.fn`.
            clauses.append("(task = ? OR task LIKE ? ESCAPE '\\')")
            params += [task, "%." + task.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")]
        if phase:
            phases = [phase] if isinstance(phase, str) else list(phase)
            clauses.append(f"phase IN ({','.join('?' * len(phases))})")
            params += [p.upper() for p in phases]
        if mode:
            clauses.append("mode = ?")
            params.append(mode)
        if notebook is not None:
            clauses.append("notebook = ?")
            params.append(notebook)
        return clauses, params

    def get(self, key: int | str) -> RunRecord | None:
        """The run with id ``key``, or the newest run of execution ``key`` (a remote execution name)."""
        if not self.path.exists():
            return None
        with self._connect() as con:
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                row = con.execute(f"SELECT {_COLUMNS} FROM runs WHERE id=?", (int(key),)).fetchone()
            else:
                row = con.execute(
                    f"SELECT {_COLUMNS} FROM runs WHERE execution=? ORDER BY started_at DESC LIMIT 1", (key,)
                ).fetchone()
        return self._settled(RunRecord(*row)) if row is not None else None

    def clear(self, *, notebook: str | None = None) -> int:
        """Forget the runs of ``notebook`` (every run when ``None``); return how many were forgotten."""
        if not self.path.exists():
            return 0
        with self._write() as con:
            if notebook is None:
                cursor = con.execute("DELETE FROM runs")
            else:
                cursor = con.execute("DELETE FROM runs WHERE notebook=?", (notebook,))
            return cursor.rowcount

    @staticmethod
    def _settled(record: RunRecord) -> RunRecord:
        """A local run still RUNNING whose kernel has exited ended with it: show it as ABORTED."""
        if record.is_remote or record.phase != "RUNNING" or record.host != _host():
            return record
        if record.pid == os.getpid() or _alive(record.pid):
            return record
        from dataclasses import replace

        return replace(record, phase="ABORTED", error=record.error or "the kernel ended during the run")


def _rollback(con: sqlite3.Connection) -> None:
    """Undo the open transaction, if there still is one, without hiding the exception being handled.

    SQLite ends a transaction itself after some errors, and a Cancel of a widget run raises inside the
    run's thread wherever it is, a ledger write included: a failing ROLLBACK would then replace that
    interrupt with "cannot rollback - no transaction is active", which the ledger reports as a warning,
    and the cancelled task would run on.
    """
    if con.in_transaction:
        with contextlib.suppress(sqlite3.Error):  # the connection closes next, which also rolls back
            con.execute("ROLLBACK")


def _use_wal(con: sqlite3.Connection) -> None:
    """Put the file in WAL mode (readers go on while another kernel writes).

    It is a property of the file: the first kernel sets it for all. Switching needs the file to itself,
    and SQLite reports a concurrent switch as "locked" at once instead of waiting its busy timeout, so
    this waits here. (Where WAL is refused, e.g. some network filesystems, SQLite keeps its rollback
    journal and file locks, which is still safe for several writers.)
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while not _try_wal(con, deadline):
        time.sleep(0.02)


def _try_wal(con: sqlite3.Connection, deadline: float) -> bool:
    """Switch to WAL if needed; ``False`` when another connection holds the file (try again)."""
    try:
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) or time.monotonic() > deadline:
            raise
        return False
    return True


def _host() -> str:
    import socket

    return socket.gethostname()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True  # cannot tell (e.g. Windows): do not claim it died
    return True
