"""Submit to Flyte shows each phase of the execution as FlyteAdmin reports it (real stand-in, real polls)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flyte_nb.notebook.widgets import TaskWidget
from tests.remote.conftest import make_remote
from tests.standin import StandIn
from tests.widgets import tasks
from tests.widgets.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_the_panel_shows_every_phase_as_it_happens(tmp_path: Path, namespace: dict[str, Any]) -> None:
    # each phase lasts over a second: more than the longest pause of a young run (0.5 s)
    server = StandIn(tmp_path / "standin", extra_pythonpath=[str(ROOT)], queue_delay=1.2).start()
    remote = make_remote(server)
    try:
        w = TaskWidget(tasks.slow, remote=remote, namespace=namespace)
        w.form.fields["seconds"].editor.value = "1.5"
        phases: list[str] = []
        w.run_panel.observe(lambda change: phases.append(change["new"]), "phase")
        w.run_panel.run("remote")
        assert w.run_panel.wait(60) == 1
        wait_until(lambda: not w.run_panel.running, what="the panel to finish")
        handle = w.run_panel.handle
        assert handle is not None
        reported = server.propeller.phases[handle.execution.name]
        assert reported == ["UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "SUCCEEDED"]
        shown = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
        # before the first answer the panel shows its own phase (SUBMITTING); from then on the cluster's,
        # every one of them (its UNDEFINED shows as QUEUED: the execution exists and waits to start;
        # SUCCEEDING lasts a moment and may fall between two polls)
        assert "UNDEFINED" not in shown
        cluster = shown[shown.index("QUEUED") :]
        assert [p for p in cluster if p != "SUCCEEDING"] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    finally:
        remote.close()
        server.stop()
