"""The task widget shows a run's deck inline, and what an ImageSpec became (no browser)."""

from __future__ import annotations

from typing import Any

import pytest

import flyte_nb as fnb
from flyte_nb.notebook import executor
from flyte_nb.notebook.views import task_html
from flyte_nb.notebook.widgets import DeckView, TaskWidget
from tests.core import flytekit_tasks as t
from tests.widgets.conftest import wait_until


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[DeckView]:
    """Every DeckView the run panel creates (recorded as they are made)."""
    from flyte_nb.notebook.widgets import deck

    made: list[DeckView] = []

    class Recorded(DeckView):
        def __init__(self, page: str = "", **kwargs: Any) -> None:
            super().__init__(page, **kwargs)
            made.append(self)

    monkeypatch.setattr(deck, "DeckView", Recorded)
    return made


def _deck_views(panel: Any, shown: list[DeckView]) -> list[DeckView]:
    """The recorded DeckViews that are displayed in the panel's result output."""
    ids = [
        o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for o in panel.result.output.outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    return [v for v in shown if v.model_id in ids]


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_a_run_of_a_task_with_decks_shows_the_deck_below_its_result(
    mode: executor.Mode, namespace: dict[str, Any], shown: list[DeckView]
) -> None:
    w = TaskWidget(t.with_decks, namespace=namespace)
    w.form.fields["a"].editor.value = "4"
    w.run_panel.run(mode)
    assert w.run_panel.wait(60) == 8
    wait_until(lambda: not w.run_panel.running, what="the run to be shown")
    (view,) = _deck_views(w.run_panel, shown)
    assert "<li>mine</li>" in view.page
    assert "<li>Input</li>" in view.page
    assert 'sandbox="allow-scripts"' in view.frame.value  # the deck's script runs in its own frame
    assert "<b>hello deck</b>" not in view.frame.value  # escaped into srcdoc, not the notebook's DOM


def test_a_failed_run_still_shows_the_decks_it_made(namespace: dict[str, Any], shown: list[DeckView]) -> None:
    w = TaskWidget(t.deck_then_fail, namespace=namespace)
    w.form.fields["a"].editor.value = "1"
    w.run_panel.run("kernel")
    with pytest.raises(fnb.TaskExecutionError):
        w.run_panel.wait(60)
    wait_until(lambda: not w.run_panel.running)
    (view,) = _deck_views(w.run_panel, shown)
    assert "made before the failure" in view.page


def test_a_task_without_decks_shows_none(namespace: dict[str, Any], shown: list[DeckView]) -> None:
    w = TaskWidget(t.context_info, namespace=namespace)
    w.run_panel.run("kernel")
    w.run_panel.wait(60)
    wait_until(lambda: not w.run_panel.running)
    assert _deck_views(w.run_panel, shown) == []


def test_the_template_view_says_what_an_image_spec_became() -> None:
    spec = fnb.ImageSpec(registry="ghcr.io/me", packages=["pandas"])

    def f(a: int) -> int:
        return a

    task = fnb.task(container_image=spec)(f)
    facts = TaskWidget(task).template.facts.value
    assert spec.completed().image_name() in facts
    assert f"flyte_nb added packages flyte-nb=={fnb.__version__}, python_version" in facts
    assert "flyte_nb added" in task_html(task)
    assert "ImageSpec" not in TaskWidget(t.context_info).template.facts.value
