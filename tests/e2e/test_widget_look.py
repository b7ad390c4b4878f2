"""What only a browser shows: both themes' colours, the form's layout, the log scrolled to its end, and
the widget in Notebook 7 as well as in JupyterLab."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    CONTRAST,
    JupyterLab,
    open_notebook,
    run_all_cells,
    save_screenshot,
    set_theme,
)

pytestmark = pytest.mark.e2e

TASK_CELL = '''%%flyte_task --pickle-untyped
class Model:
    def __init__(self, scale):
        self.scale = scale

def fit(
    model: Model,
    a_parameter_name_much_longer_than_the_label_column: int,
    tags: list[str] = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
    n: int = 1,
) -> int:
    """Fit.

    :param model: a class without a Flyte type, so it travels as a pickle
    """
    for i in range(300):
        print(f"line {i}")
    return n'''

MODEL_CELL = "model = Model(2)"

AA = 4.5  # WCAG AA for normal text


def _widget(page: Any, lab: JupyterLab, name: str) -> Any:
    nb = lab.add_notebook(name, ["%load_ext flyte_nb", TASK_CELL, MODEL_CELL])
    page.set_viewport_size({"width": 1400, "height": 2200})  # the whole widget in one screenshot
    open_notebook(page, lab, nb)
    run_all_cells(page)
    widget = page.locator(".flyte-nb-task-widget").first
    widget.locator("button:has-text('Run in kernel')").wait_for()
    return widget


def _field(widget: Any, name: str, tag: str = "input") -> Any:
    return widget.locator(f".flyte-nb-field:has(code:text-is('{name}')) {tag}").first


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_warning_cells_and_template_read_well_in_both_themes(
    jupyterlab: JupyterLab, page: Any, theme: str
) -> None:
    widget = _widget(page, jupyterlab, f"look_{theme}.ipynb")
    set_theme(page, theme)
    pickled = widget.locator(".flyte-nb-pickled").first
    assert pickled.evaluate(CONTRAST) >= AA, "the pickled-variable warning must be readable"
    widget.get_by_text("Template", exact=True).click()
    placeholder = widget.locator(".flyte-nb-template span:text-is('{{.input}}')").first
    placeholder.wait_for()
    assert placeholder.evaluate(CONTRAST) >= AA, "the template's {{.input}} placeholder must be readable"
    key = widget.locator(".flyte-nb-template span:text-is('container')").first
    assert key.evaluate(CONTRAST) >= AA
    copy = widget.locator("button.flyte-nb-copy-button")
    assert copy.evaluate(CONTRAST) >= AA
    assert copy.evaluate("(b) => getComputedStyle(b).borderRadius") == "2px"  # styled, not the browser's
    # a disabled Cancel is not the bright warning colour of an active one
    cancel = widget.locator("button:has-text('Cancel')")
    assert cancel.is_disabled()
    assert "mod-warning" not in (cancel.get_attribute("class") or "")
    widget.scroll_into_view_if_needed()
    save_screenshot(widget, f"task-widget-{theme}.png")


def test_the_form_keeps_one_label_column_and_the_log_opens_at_its_end(
    jupyterlab: JupyterLab, page: Any
) -> None:
    widget = _widget(page, jupyterlab, "layout.ipynb")
    labels = widget.locator(".flyte-nb-field-label")
    editors = widget.locator(".flyte-nb-field > :nth-child(2)")
    lefts = {round(editors.nth(i).bounding_box()["x"]) for i in range(editors.count())}
    assert len(lefts) == 1, f"inputs jump sideways: {lefts}"
    for i in range(labels.count()):  # long names wrap inside their column, never over the input
        label, editor = labels.nth(i).bounding_box(), editors.nth(i).bounding_box()
        assert label["x"] + label["width"] <= editor["x"] + 0.5
        content = labels.nth(i).evaluate("(e) => e.scrollWidth <= e.clientWidth + 1")
        assert content, "a label is clipped"
    # the long default (10 words) takes a line or two in the interface table, not one line per word
    default = widget.locator("table.flyte-nb-interface tr:has(code:text-is('tags')) td:nth-child(5) code")
    line = float(default.evaluate("(e) => parseFloat(getComputedStyle(e).lineHeight) || 18"))
    assert default.bounding_box()["height"] < 3 * line  # word by word would be ten lines

    # required fields start empty; run with the notebook's model and a value for the long name
    assert _field(widget, "a_parameter_name_much_longer_than_the_label_column").input_value() == ""
    _field(widget, "model", "textarea").fill("model")
    _field(widget, "a_parameter_name_much_longer_than_the_label_column").fill("2.7")
    widget.locator("button:has-text('Run in kernel')").click()
    message = widget.locator(".flyte-nb-field-message:has-text('expected int')")
    message.wait_for()
    status = widget.locator(".flyte-nb-status")
    assert "expected int" not in status.inner_text()  # the message shows once, next to its field
    _field(widget, "a_parameter_name_much_longer_than_the_label_column").fill("3")
    widget.locator("button:has-text('Run in kernel')").click()
    widget.locator(".flyte-nb-result:has-text('bound to')").wait_for()

    box = widget.locator(".flyte-nb-log-box")
    last = box.locator("text=line 299")
    last.wait_for()
    shown, inside = last.bounding_box(), box.bounding_box()
    assert inside["y"] <= shown["y"], "the log opens at its end"
    assert shown["y"] + shown["height"] <= inside["y"] + inside["height"] + 1, "the log opens at its end"
    assert "100 earlier lines not shown" in widget.locator(".flyte-nb-logs").inner_text()
    widget.locator("button:has-text('Show the full log')").click()
    box.locator("text=line 0").first.wait_for()


def test_the_widget_runs_in_notebook_7(notebook7: JupyterLab, page: Any) -> None:
    nb = notebook7.add_notebook(
        "nb7.ipynb",
        ["%load_ext flyte_nb", "%%flyte_task\ndef add(a: int, b: int = 3) -> int:\n    return a + b"],
    )
    open_notebook(page, notebook7, nb)
    run_all_cells(page)
    widget = page.locator(".flyte-nb-task-widget").first
    widget.locator("button:has-text('Run in kernel')").wait_for()
    assert "a" in widget.locator("table.flyte-nb-interface").inner_text()
    _field(widget, "a").fill("39")
    widget.locator("button:has-text('Run in kernel')").click()
    result = widget.locator(".flyte-nb-result:has-text('bound to')")
    result.wait_for()
    assert "42" in result.inner_text()
    save_screenshot(widget, "task-widget-notebook7.png")
