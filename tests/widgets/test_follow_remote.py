"""Task widgets follow the kernel's remote: ``%flyte_remote`` after a task is displayed enables Submit."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from flyte_nb.notebook.extension import current_magics
from flyte_nb.notebook.widgets import TaskWidget
from tests.notebook.ipshell import shell_fixture
from tests.widgets import tasks


@pytest.fixture
def ip() -> Iterator[Any]:
    yield from shell_fixture()


def test_flyte_remote_after_display_enables_submit(ip: Any) -> None:
    panel = TaskWidget(tasks.add, namespace={}).run_panel
    assert panel.buttons["remote"].disabled
    assert "No Flyte remote is configured" in panel.reason.value

    ip.run_line_magic("flyte_remote", "127.0.0.1:30080 --project p --domain d --insecure")
    assert not panel.buttons["remote"].disabled
    assert panel.remote_reason == ""
    assert panel.reason.value == ""
    assert panel.remote is current_magics(ip).remote

    ip.run_line_magic("flyte_remote", "--project q")  # a changed remote replaces the old one
    assert panel.remote is current_magics(ip).remote
    assert panel.remote.project == "q"


def test_a_widget_given_its_own_remote_keeps_it(ip: Any) -> None:
    own: Any = object()
    panel = TaskWidget(tasks.add, remote=own, namespace={}).run_panel
    ip.run_line_magic("flyte_remote", "127.0.0.1:30080 --insecure")
    assert panel.remote is own


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


def test_closed_widgets_are_not_kept_alive_by_the_kernel(ip: Any) -> None:
    magics = current_magics(ip)
    widget = TaskWidget(tasks.add, namespace={})
    panel = weakref.ref(widget.run_panel)
    _close_tree(widget)
    del widget
    gc.collect()
    assert panel() is None  # the kernel's list of widgets to tell does not keep a closed one alive
    ip.run_line_magic("flyte_remote", "127.0.0.1:30080 --insecure")
    assert all(ref() is not None for ref in magics._remote_watchers)  # and forgets it
