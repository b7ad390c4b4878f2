"""Cell-body tasks in the widget behave like calling them: inputs from the notebook, outputs back into it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flyte_nb.notebook.widgets import TaskWidget
from tests.notebook.ipshell import cell, shell_fixture
from tests.widgets.conftest import wait_until


@pytest.fixture
def ip() -> Iterator[Any]:
    yield from shell_fixture()


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_the_form_reads_the_notebook_variables_and_the_run_assigns_them_back(ip: Any, mode: str) -> None:
    cell(ip, "xs = [1, 2, 3]\nscale = 10")
    cell(
        ip,
        "%%flyte_task total --inputs xs:list[int] scale:int --outputs s:int n:int --no-widget\n"
        "s = sum(xs) * scale\nn = len(xs)",
    )
    w = TaskWidget(ip.user_ns["total"], namespace=ip.user_ns)
    fields = w.form.fields
    assert fields["xs"].editor.value == "[1, 2, 3]"
    assert fields["scale"].editor.value == "10"
    assert fields["xs"].filled_from == "notebook"
    assert "(from the notebook)" in fields["xs"].label.value
    fields["scale"].editor.value = "2"
    w.run_panel.run(mode)  # type: ignore[arg-type]
    assert tuple(w.run_panel.wait(60)) == (12, 3)
    wait_until(lambda: not w.run_panel.running)
    assert (ip.user_ns["s"], ip.user_ns["n"]) == (12, 3)  # as total() assigns them
    assert "total_result" not in ip.user_ns
    assert w.run_panel.result_name == "s, n"
    assert 'bound to <code class="flyte-nb-result-name">s, n</code>' in w.run_panel.result.header.value


def test_an_input_the_notebook_has_not_defined_starts_empty(ip: Any) -> None:
    cell(ip, "%%flyte_task double --inputs k:int --outputs d:int --no-widget\nd = 2 * k")
    w = TaskWidget(ip.user_ns["double"], namespace=ip.user_ns)
    assert w.form.fields["k"].editor.value == ""
    assert w.form.fields["k"].filled_from == ""
    w.form.fields["k"].editor.value = "4"
    assert w.run_panel.run("kernel") is not None
    assert tuple(w.run_panel.wait(30)) == (8,)  # what double(k=4) returns
    wait_until(lambda: not w.run_panel.running)
    assert ip.user_ns["d"] == 8
