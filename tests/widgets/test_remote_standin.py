"""Submit to Flyte against the FlyteAdmin stand-in: the real client, upload, registration and polling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flyte_nb.notebook.widgets import ExecutionView, TaskWidget
from flyte_nb.notebook.widgets._preview import HEAD_BYTES, size_text
from tests.remote.conftest import make_remote
from tests.standin import StandIn
from tests.widgets import tasks
from tests.widgets.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Any]:
    server = StandIn(tmp_path / "standin", extra_pythonpath=[str(ROOT)]).start()
    client = make_remote(server)
    yield client
    client.close()
    server.stop()


def test_submit_runs_on_the_cluster_and_binds_the_outputs(remote: Any, namespace: dict[str, Any]) -> None:
    w = TaskWidget(tasks.add, remote=remote, namespace=namespace)
    w.form.fields["a"].editor.value = "4"
    w.run_panel.buttons["remote"].click()
    assert w.run_panel.wait(60) == 6.5
    wait_until(lambda: w.run_panel.result.status == "outputs")
    handle = w.run_panel.handle
    assert handle is not None
    assert w.run_panel.url == handle.execution.url
    assert "/console/projects/" in w.run_panel.status.value
    assert namespace["add_result"] == 6.5

    view = ExecutionView(handle.execution)  # what display(execution) shows
    view.join(30)
    assert view.phase == "SUCCEEDED"
    assert view.execution_id.endswith(handle.execution.id.name)
    assert view.result.output.outputs[0]["data"]["text/plain"] == "6.5"


def test_display_of_a_remote_execution_shows_the_live_view(
    remote: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    from flyte_nb.notebook import views

    monkeypatch.setattr(views, "widgets_available", lambda: True)  # as in a Jupyter kernel

    shell = InteractiveShell.instance()
    from flyte_nb.notebook.extension import current_magics

    if current_magics(shell) is None:  # the views are registered by the extension
        shell.run_line_magic("load_ext", "flyte_nb")
    shown: list[dict[str, Any]] = []
    original = shell.display_pub.publish
    shell.display_pub.publish = lambda data, **kw: shown.append(data)  # type: ignore[method-assign]
    try:
        execution = remote.submit(tasks.add, a=1)
        display(execution)
    finally:
        shell.display_pub.publish = original  # type: ignore[method-assign]
    assert len(shown) == 1
    bundle = shown[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle, "the live ExecutionView widget"
    assert execution.id.name in bundle["text/plain"]
    assert "open in the Flyte console" in bundle["text/html"], "static view for nbconvert"
    assert execution.wait(60) == 3.5


def test_a_device_flow_sign_in_started_by_submit_shows_in_the_run_panel(
    tmp_path: Path, namespace: dict[str, Any]
) -> None:
    # A button click is not a cell: what the remote's own prompt displays would appear nowhere, and the
    # run would wait for an approval nobody was asked for. The panel shows the link and code instead.
    from flyte_nb.remote import DeviceFlow

    with StandIn(tmp_path / "standin", auth=True, extra_pythonpath=[str(ROOT)]) as server:
        assert server.oauth is not None
        server.oauth.auto_approve_after = None  # nobody approves until the test does
        cell_prompts: list[Any] = []

        def own_prompt(code: Any) -> None:
            cell_prompts.append(code)

        remote = make_remote(server, auth=DeviceFlow(prompt=own_prompt))
        w = TaskWidget(tasks.add, remote=remote, namespace=namespace)
        w.form.fields["a"].editor.value = "1"
        w.run_panel.buttons["remote"].click()
        wait_until(lambda: "flyte-nb-login" in w.run_panel.status.value, what="the sign-in prompt")
        handle = w.run_panel.handle
        assert handle is not None
        code = handle.login
        assert f"user_code={code.user_code}" in w.run_panel.status.value
        assert code.user_code in w.run_panel.status.value
        assert w.run_panel.phase == "SUBMITTING"  # signing in, before anything is queued
        with server.oauth.lock:
            (grant,) = server.oauth.devices.values()
            grant.approved = True  # the user approves in their browser
        assert w.run_panel.wait(60) == 3.5
        wait_until(lambda: not w.run_panel.running)
        assert "flyte-nb-login" not in w.run_panel.status.value
        assert cell_prompts == []
        # A sign-in started from a cell (not from a widget run) still uses the remote's own prompt.
        server.oauth.expire_all()
        server.oauth.refresh_tokens.clear()
        server.oauth.auto_approve_after = 1
        assert remote.submit(tasks.add, a=2).wait(60) == 4.5
        assert len(cell_prompts) == 1
        assert handle.login is None


def test_retries_on_the_cluster_show_as_attempts(
    remote: Any, namespace: dict[str, Any], tmp_path: Path
) -> None:
    w = TaskWidget(tasks.flaky, remote=remote, namespace=namespace)
    markers = tmp_path / "markers"
    markers.mkdir()
    w.form.fields["marker_dir"].editor.value = str(markers)
    w.run_panel.buttons["remote"].click()
    assert w.run_panel.wait(60) == 2  # the third attempt (0-based 2) succeeded
    wait_until(lambda: not w.run_panel.running)
    handle = w.run_panel.handle
    assert handle is not None
    assert handle.execution.attempt == 3
    assert w.run_panel.attempt == 3
    assert "attempt 3" in w.run_panel.status.value
    assert sorted(p.name for p in markers.iterdir()) == ["attempt-0", "attempt-1", "attempt-2"]


def test_a_file_output_of_a_remote_run_is_downloaded_only_for_its_preview(
    tmp_path: Path, namespace: dict[str, Any]
) -> None:
    with StandIn(tmp_path / "standin", extra_pythonpath=[str(ROOT)]) as server:
        remote = make_remote(server)
        try:
            w = TaskWidget(tasks.table_file, remote=remote, namespace=namespace)
            w.form.fields["rows"].editor.value = "20000"
            w.run_panel.buttons["remote"].click()
            table = w.run_panel.wait(60)
            wait_until(lambda: w.run_panel.result.status == "outputs", what="the outputs")
            preview = w.run_panel.result.previews["o0"]
            assert preview.state == "not downloaded"
            assert table.remote_source in preview.body.value
            assert not [g for g in server.bucket.gets if g.endswith("table.csv")]  # nothing read yet
            preview.button.click()
            assert preview.join(60)
            assert preview.state == "shown", preview.body.value
            assert ">9</td><td" in preview.body.value  # 3 squared, in the first rows
            assert preview.preview.facts[:2] == [size_text(table_size(20000)), "CSV"]
            assert len([g for g in server.bucket.gets if g.endswith("table.csv")]) == 1
            assert server.bucket.served_bytes("table.csv") <= HEAD_BYTES  # its start, not all of it
            assert not table.downloaded
        finally:
            remote.close()


def table_size(rows: int) -> int:
    return len("n,square\n" + "".join(f"{i},{i * i}\n" for i in range(rows)))


def test_a_dataset_output_of_a_remote_run_previews_from_its_parquet_footer_and_first_rows(
    tmp_path: Path, namespace: dict[str, Any]
) -> None:
    with StandIn(tmp_path / "standin", extra_pythonpath=[str(ROOT)]) as server:
        remote = make_remote(server)
        try:
            w = TaskWidget(tasks.table_dataset, remote=remote, namespace=namespace)
            w.form.fields["rows"].editor.value = "1000000"
            w.run_panel.buttons["remote"].click()
            w.run_panel.wait(60)
            wait_until(lambda: w.run_panel.result.status == "outputs", what="the outputs")
            preview = w.run_panel.result.previews["o0"]
            assert preview.state == "not downloaded"
            assert not [g for g in server.bucket.gets if g.endswith("/00000")]
            preview.button.click()
            assert preview.join(60)
            assert preview.state == "shown", preview.body.value
            assert preview.preview.facts == ["parquet", "1,000,000 rows"]
            assert ">81</td>" in preview.body.value  # 9 squared, in the first rows
            stored = next(p for p in (server.bucket.root).rglob("00000"))
            # the footer and the first pages of each column, not the whole (single row group) file
            assert server.bucket.served_bytes("/00000") < stored.stat().st_size / 3
        finally:
            remote.close()
