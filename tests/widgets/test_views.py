"""Static views (what nbconvert, GitHub and terminals show) and the display entry point."""

from __future__ import annotations

import json
import re
import types

import pytest

from flyte_nb.notebook import views
from flyte_nb.notebook.widgets import _render as r
from tests.widgets import tasks


def test_interface_rows_show_types_defaults_descriptions_and_pickled_reason() -> None:
    rows = {row.name: row for row in r.interface_rows(tasks.everything)}
    assert [n for n, row in rows.items() if row.role == "input"][:3] == ["n", "x", "s"]
    assert rows["n"].default == "required"
    assert rows["x"].default == "0.5"
    assert rows["xs"].python_type == "list[int]"
    assert rows["xs"].flyte_type == "list[int]"
    assert rows["color"].flyte_type == "enum(red, green)"
    assert rows["maybe"].python_type == "Optional[int]"
    assert rows["p"].python_type == "tests.widgets.tasks.Point"  # a name that exists, not "tests.Point"
    assert rows["o0"].role == "output"
    assert rows["o0"].python_type == "str"
    # only the class without a Flyte type is pickled, and the row says why
    assert [n for n, row in rows.items() if row.pickled] == ["m"]
    assert "pickle" in rows["m"].pickled
    assert "Model" in rows["m"].flyte_type

    add_rows = {row.name: row for row in r.interface_rows(tasks.add)}
    assert add_rows["a"].description == "the first number"
    assert add_rows["o0"].description == "their sum"


def test_task_html_has_interface_template_and_payload_sections() -> None:
    page = views.task_html(tasks.add)
    assert 'class="flyte-nb-interface"' in page
    assert "the first number" in page
    assert (
        'min-width:20em;overflow-wrap:anywhere"><code>2.5</code>' in page
    )  # a default never wraps word by word
    assert "<summary>Template</summary>" in page
    assert "<summary>Payload</summary>" in page
    assert "flyte-nb-execute" in page  # the container command is part of the template
    assert "cpu=1, mem=1Gi" in page  # resources from the facts table
    pickled_page = views.task_html(tasks.everything)
    assert pickled_page.count("⚠ pickled") == 1


def test_task_text_is_a_readable_repr() -> None:
    text = views.task_text(tasks.add)
    assert text.splitlines()[0] == "PythonFunctionTask tests.widgets.tasks.add"
    assert "input  a: int  [int]  # the first number" in text
    assert "output o0: float  [float]" in text
    assert re.search(r"version \S+, image \S+", text)


def test_template_facts_and_yaml_follow_the_compiled_template() -> None:
    template = r.task_template(tasks.add)
    facts = dict(r.template_facts(template))
    assert facts["retries"] == "2"
    assert facts["cache"].startswith("on (cache_version 7")
    assert facts["timeout"] == "0:10:00"
    assert facts["version"] == template.id.version
    assert facts["command"].startswith("flyte-nb-execute --inputs")
    source = r.template_source(template, "yaml")
    assert "- flyte-nb-execute" in source
    assert "retries:\n" in source
    # Valid YAML that reads back as the template ({{.input}} placeholders quoted, not flow mappings).
    import yaml

    assert yaml.safe_load(source) == r.template_document(template)
    assert "- '{{.input}}'" in source
    assert json.loads(r.template_source(template, "json")) == r.template_document(template)
    assert "<span" in r.highlight(source)  # pygments coloured it


def test_views_never_fail_when_the_template_cannot_be_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(task: object, settings: object = None) -> None:
        raise RuntimeError("image registry unreachable")

    monkeypatch.setattr("flyte_nb.core.serialize.serialize_task", broken)
    page = views.task_html(tasks.add)
    assert 'class="flyte-nb-interface"' in page  # the rest still renders
    assert "image registry unreachable" in page
    assert "template unavailable: RuntimeError: image registry unreachable" in views.task_text(tasks.add)


def test_error_views_show_code_kind_and_the_tasks_traceback() -> None:
    from flyte_nb.errors import TaskExecutionError

    exc = TaskExecutionError(
        "Task 'fail' failed",
        task_name="fail",
        code="USER:ValueError",
        traceback_text="Traceback...\nValueError: n must be negative",
        kind="NON_RECOVERABLE",
    )
    page = r.error_html(exc)
    assert "USER:ValueError" in page
    assert "NON_RECOVERABLE" in page
    assert "n must be negative" in page
    assert r.error_text(exc).splitlines()[:2] == [
        "Task 'fail' failed",
        "  task: fail, code: USER:ValueError, kind: NON_RECOVERABLE, origin: USER",
    ]


def test_display_task_outside_a_kernel_prints_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert not views.widgets_available()
    views.display_task(tasks.add)
    assert capsys.readouterr().out.startswith("PythonFunctionTask tests.widgets.tasks.add")


def test_display_task_in_a_kernel_sends_widget_with_static_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, object]] = []
    monkeypatch.setattr(views, "widgets_available", lambda: True)
    shell = types.SimpleNamespace(user_ns={})
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: sent.append(obj))
    views.display_task(tasks.add)
    (bundle,) = sent
    assert "application/vnd.jupyter.widget-view+json" in bundle  # JupyterLab renders the widget…
    assert 'class="flyte-nb-interface"' in str(bundle["text/html"])  # …nbconvert/GitHub the table
    assert str(bundle["text/plain"]).startswith("PythonFunctionTask")


def test_a_deliberate_flyte_nb_error_shows_its_message_without_our_frames() -> None:
    from flyte_nb.errors import ResolverError

    try:
        raise ResolverError(
            "Task 'reserve' captures a lock in global 'inventory'. Pass it as an input instead."
        )
    except ResolverError as exc:
        page, text = r.error_html(exc), r.error_text(exc)
    assert "captures a lock in global &#x27;inventory&#x27;" in page
    assert "Traceback" not in page
    assert "flyte-nb-traceback" not in page
    assert "Traceback" not in text


def test_an_unexpected_error_keeps_its_traceback_for_a_bug_report() -> None:
    try:
        raise KeyError("surprise")
    except KeyError as exc:
        page = r.error_html(exc)
    assert "flyte-nb-traceback" in page
    assert "Traceback (most recent call last)" in page


def test_template_maps_read_in_the_same_order_every_time() -> None:
    from flyteidl.core import tasks_pb2

    template = r.task_template(tasks.everything)
    names = list(template.interface.inputs.variables)
    shuffled = tasks_pb2.TaskTemplate()
    shuffled.CopyFrom(template)
    shuffled.interface.inputs.variables.clear()
    for name in reversed(names):  # insertion order differs; the view must not
        shuffled.interface.inputs.variables[name].CopyFrom(template.interface.inputs.variables[name])
    doc = r.template_document(shuffled)
    assert list(doc["interface"]["inputs"]["variables"]) == sorted(names)
    assert r.template_source(shuffled) == r.template_source(template)


def test_classes_exported_by_their_package_show_its_short_name() -> None:
    import email.message

    assert json.JSONDecoder.__module__ == "json.decoder"
    assert r.python_type_name(json.JSONDecoder) == "json.JSONDecoder"
    assert r.python_type_name(email.message.Message) == "email.message.Message"  # not exported by email


def test_colours_come_from_the_theme_with_fallbacks_for_static_pages() -> None:
    page = views.task_html(tasks.everything)
    # every colour is a theme variable (its fallback after the comma), or the plain fallback a
    # color-mix() falls back from
    colours = re.findall(r"(?:color|background):([^;\"]+)", page)
    assert colours
    for colour in colours:
        assert colour.startswith(("var(--jp-", "color-mix(in srgb, var(--jp-", "#fff3cd")), colour
    # the pickled cell tints the page's own background and keeps the theme's text colour
    (pickled_cell,) = re.findall(r'<td style="([^"]*)">[^<]*<br><span class="flyte-nb-pickled"', page)
    assert "color-mix(in srgb, var(--jp-warn-color1" in pickled_cell
    assert ";color:" not in pickled_cell


def test_template_highlighting_uses_the_theme_code_colours() -> None:
    html = r.highlight("args:\n- '{{.input}}'\n- 3\n")
    assert '<span style="color:var(--jp-mirror-editor-string-color, #ba2121)">{{.input}}</span>' in html
    assert 'var(--jp-mirror-editor-property-color, #05a)">args</span>' in html
    assert re.sub(r"<[^>]+>", "", html).replace("&#x27;", "'") == "args:\n- '{{.input}}'\n- 3"


def test_the_static_view_says_what_a_live_notebook_shows() -> None:
    page = views.task_html(tasks.add)
    assert "This is the static view." in page
    assert "<b>Run in kernel</b>" in page
    assert "<b>Submit to Flyte</b>" in page


def test_the_copy_button_is_styled_like_the_widgets() -> None:
    from flyte_nb.notebook.widgets.template import copy_button_html

    button = copy_button_html("text")
    assert 'style="font:inherit;' in button
    assert "background:var(--jp-layout-color2, #eee)" in button
    assert "border:1px solid var(--jp-border-color1, #bdbdbd)" in button


def test_an_empty_manifest_says_so() -> None:
    from flyte_nb.core.manifest import Manifest

    empty = Manifest("t", ())
    assert "Nothing else is captured" in empty._repr_html_()
    assert "<th>" not in empty._repr_html_()
    assert "Nothing else is captured" in empty.to_text()
