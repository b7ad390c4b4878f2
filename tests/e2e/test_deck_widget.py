"""A task's deck in a real browser: after *Run in kernel* the deck page shows inline, its tabs working."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import JupyterLab, open_notebook, run_all_cells, save_screenshot

pytestmark = pytest.mark.e2e

DECK_CELL = """%%flyte_task --enable-deck --deck-fields input,output
from flyte_nb import Deck


def report(n: int) -> int:
    Deck("summary", f"<h2 id='headline'>{n} rows processed</h2>")
    return n * 2"""


def test_the_deck_of_a_kernel_run_shows_in_the_widget(jupyterlab: JupyterLab, page: Any) -> None:
    nb = jupyterlab.add_notebook("deck_check.ipynb", ["%load_ext flyte_nb", DECK_CELL])
    open_notebook(page, jupyterlab, nb)
    run_all_cells(page)
    widget = page.locator(".flyte-nb-task-widget").first
    widget.locator("button:has-text('Run in kernel')").wait_for()
    widget.locator(".flyte-nb-field:has(code:text-is('n')) input").first.fill("21")
    widget.locator(".flyte-nb-field:has(code:text-is('n')) input").first.press("Tab")
    widget.locator("button:has-text('Run in kernel')").click()
    widget.locator(".flyte-nb-result:has-text('bound to')").wait_for(timeout=30_000)
    widget.locator("iframe.flyte-nb-deck").wait_for(timeout=10_000)
    deck = page.frame_locator("iframe.flyte-nb-deck")
    assert deck.locator("#headline").inner_text() == "21 rows processed"  # the first tab is shown
    assert deck.locator("#flyte-frame-tabs li").all_inner_texts() == ["summary", "Input", "Output"]
    deck.locator("#flyte-frame-tabs li", has_text="Output").click()  # the deck's own script switches tabs
    assert "42" in deck.locator("#flyte-frame-container > div.active").inner_text()
    assert not deck.locator("#headline").is_visible()
    save_screenshot(widget, "deck-widget.png")
