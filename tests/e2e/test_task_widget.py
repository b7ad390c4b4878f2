"""The task widget in a real browser: JupyterLab 4 + ipywidgets 8, Debian's Chromium, Playwright.

Only what a browser shows is checked here (the widget renders, the form syncs, clicks reach the kernel,
results come back to the page); the widget logic itself is covered by tests/widgets without a browser.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, JupyterLab, open_notebook, run_all_cells, save_screenshot

pytestmark = pytest.mark.e2e

QUICKSTART = ROOT / "notebooks" / "quickstart.ipynb"

TASK_CELL = '''%%flyte_task --retries 1
def add(a: int, xs: list[int] = [1, 2]) -> int:
    """Add a number to a list's sum.

    :param a: the number to add
    """
    print(f"adding {a} to {xs}")
    return a + sum(xs)'''


NAP_CELL = """%%flyte_task
def nap(seconds: float) -> int:
    import time
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    return 1"""

# Runs code in the notebook's kernel from the page and returns what it printed: it only returns
# while the kernel is answering requests.
EXECUTE_IN_KERNEL = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const future = kernel.requestExecute({code});
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') { out += msg.content.text; } };
  const timeout = new Promise((resolve) => setTimeout(() => resolve('TIMEOUT'), 10000));
  return (await Promise.race([future.done, timeout])) === 'TIMEOUT' ? 'kernel did not answer' : out;
}"""


def _field_input(scope: Any, name: str, tag: str = "input") -> Any:
    return scope.locator(f".flyte-nb-field:has(code:text-is('{name}')) {tag}").first


def test_quickstart_runs_in_kernel_and_in_process_from_the_form(jupyterlab: JupyterLab, page: Any) -> None:
    shutil.copy(QUICKSTART, jupyterlab.root / "quickstart.ipynb")
    open_notebook(page, jupyterlab, "quickstart.ipynb")
    run_all_cells(page)
    widget = page.locator(".flyte-nb-task-widget").first  # word_counts, from its %%flyte_task cell
    widget.locator("button:has-text('Run in kernel')").wait_for()
    widget.scroll_into_view_if_needed()

    # the interface table, with the docstring descriptions and the default
    table = widget.locator("table.flyte-nb-interface")
    assert "the text to count words in" in table.inner_text()
    assert "dict[str, int]" in table.inner_text()
    # the template, once its section is opened: highlighted YAML with the container command
    widget.get_by_text("Template", exact=True).click()
    template = widget.locator(".flyte-nb-template")
    template.wait_for()
    assert "flyte-nb-execute" in template.inner_text()
    assert template.locator("span[style*='color']").count() > 5  # pygments colours survived the page
    widget.get_by_text("Template", exact=True).click()  # closed again: a compact screenshot

    _field_input(widget, "text").fill("the cat saw a dog and the cat")
    widget.locator("button:has-text('Run in kernel')").click()
    result = widget.locator(".flyte-nb-result")
    result.locator("text=bound to").wait_for()
    assert "word_counts_result" in result.inner_text()
    assert "'cat': 2" in result.inner_text()
    widget.locator("button:has-text('Cancel'):disabled").wait_for()  # the run is over
    save_screenshot(widget, "task-widget.png")

    _field_input(widget, "min_length").fill("4")
    _field_input(widget, "min_length").press("Tab")  # number boxes sync on blur
    widget.locator("button:has-text('Run in process')").click()
    result.locator("text=(run in process)").wait_for(timeout=60_000)
    # computed by flyte-nb-execute in a fresh process: only words of 4+ letters are left
    assert "{}" in result.inner_text()
    assert "SUCCEEDED" in widget.locator(".flyte-nb-status").inner_text()


def test_validation_copy_submit_and_a_responsive_kernel(jupyterlab: JupyterLab, page: Any) -> None:
    nb = jupyterlab.add_notebook("widget_checks.ipynb", ["%load_ext flyte_nb", TASK_CELL, NAP_CELL])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_notebook(page, jupyterlab, nb)
    run_all_cells(page)
    widget = page.locator(".flyte-nb-task-widget").first
    widget.locator("button:has-text('Run in kernel')").wait_for()

    submit = widget.locator("button:has-text('Submit to Flyte')")
    assert submit.is_disabled()
    assert "No Flyte remote is configured" in widget.inner_text()

    # a bad value: the message appears next to the field and nothing runs
    _field_input(page, "xs", "textarea").fill("[1, oops]")
    widget.locator("button:has-text('Run in kernel')").click()
    message = widget.locator(".flyte-nb-field:has(code:text-is('xs')) .flyte-nb-field-message")
    message.locator("text=NameError").wait_for()
    assert "input 'xs'" in message.inner_text()
    assert widget.locator(".flyte-nb-result").inner_text().strip() == ""

    # fixed, it runs; the task's print() shows in its own panel, not in whichever cell runs next
    _field_input(widget, "xs", "textarea").fill("[1, 2]")
    _field_input(widget, "a").fill("40")
    _field_input(widget, "a").press("Tab")
    widget.locator("button:has-text('Run in kernel')").click()
    widget.locator(".flyte-nb-result:has-text('bound to')").wait_for()
    assert "43" in widget.locator(".flyte-nb-result").inner_text()
    assert "adding 40 to [1, 2]" in widget.locator(".flyte-nb-log").inner_text()
    assert message.inner_text().strip() == ""

    # the copy button puts the template on the clipboard
    widget.get_by_text("Template", exact=True).click()
    widget.locator("button.flyte-nb-copy-button").click()
    widget.locator("button.flyte-nb-copy-button:has-text('Copied')").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("id:\n")
    assert "flyte-nb-execute" in copied

    # a long run happens off the kernel's main thread: the kernel keeps answering, and Cancel stops it
    nap = page.locator(".flyte-nb-task-widget").nth(1)
    _field_input(nap, "seconds").fill("60")
    _field_input(nap, "seconds").press("Tab")
    nap.locator("button:has-text('Run in kernel')").click()
    nap.locator(".flyte-nb-status:has-text('RUNNING')").wait_for()
    assert page.evaluate(EXECUTE_IN_KERNEL, "print(6 * 7)") == "42\n"
    nap.locator("button:has-text('Cancel')").click()
    nap.locator(".flyte-nb-result:has-text('Cancelled')").wait_for(timeout=5_000)
    assert "nap_result" not in page.evaluate(EXECUTE_IN_KERNEL, "print(sorted(globals()))")
