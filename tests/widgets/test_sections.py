"""The interface, template and payload widgets."""

from __future__ import annotations

import json

import flyte_nb as fnb
from flyte_nb.notebook.widgets import InterfaceView, PayloadView, TaskWidget, TemplateView
from tests.widgets import tasks


def test_interface_view_marks_pickled_variables() -> None:
    view = InterfaceView(tasks.scale)
    assert view.task_name == "tests.widgets.tasks.scale"
    assert list(view.pickled) == ["m"]
    assert "pickle" in view.pickled["m"]
    assert view.table.value.count("⚠ pickled") == 1


def test_template_view_switches_format_and_copies_what_it_shows() -> None:
    view = TemplateView(tasks.add)
    assert view.fmt == "yaml"
    assert view.source.startswith("id:\n")
    assert 'class="flyte-nb-copy-source"' in view.code.value
    assert "flyte-nb-execute" in view.code.value
    view.format_toggle.value = "json"
    assert view.fmt == "json"
    assert json.loads(view.source) == view.document
    assert view.version == view.document["id"]["version"]
    assert "retries" in view.facts.value


def test_payload_view_of_a_notebook_task_shows_size_digest_and_manifest() -> None:
    cell = {"__name__": "__main__"}  # as if typed in a notebook cell
    exec("factor = 3\ndef triple(x: int) -> int:\n    return x * factor\n", cell)
    nb_task = fnb.task(cell["triple"])
    view = PayloadView(nb_task)
    assert view.error == ""
    assert view.size > 0
    assert len(view.sha256) == 64
    assert view.sha256[:16] in view.body.value
    assert "factor" in view.body.value  # the captured global is listed in the manifest


def test_payload_view_of_a_module_task_needs_no_payload() -> None:
    view = PayloadView(tasks.add)
    assert view.size == 0
    assert "no payload" in view.body.value


def test_task_widget_assembles_every_part() -> None:
    w = TaskWidget(tasks.add, namespace={})
    assert w.task_name == "tests.widgets.tasks.add"
    assert w.children == (w.children[0], w.interface, w.sections, w.children[3], w.form, w.run_panel)
    assert type(w.children[3]).__name__ == "RecentRuns"  # hidden until the task has runs
    assert w.sections.titles == ("Template", "Payload")
    assert w.template.version in w.children[0].value


def test_dynamic_tasks_are_marked_and_compile_their_workflow_for_the_form_inputs() -> None:
    from flyte_nb.notebook import views
    from flyte_nb.notebook.widgets import TaskWidget

    w = TaskWidget(tasks.fan_out, namespace={})
    assert "dynamic" in w.children[0].value
    assert w.workflow is not None
    assert w.sections.titles[-1].startswith("Workflow (dynamic")
    assert "PythonFunctionTask tests.widgets.tasks.fan_out (dynamic)" in views.task_html(tasks.fan_out)
    assert w.workflow.compile() is None  # the required input is empty: nothing compiled
    assert "fix the inputs" in w.workflow.body.value
    w.form.fields["xs"].editor.value = "[1, 2, 3]"
    spec = w.workflow.compile()
    assert spec is not None
    assert w.workflow.nodes == len(spec.nodes) == 3
    page = w.workflow.body.value
    assert "<b>3 nodes</b>, 1 task template" in page
    assert page.count("<code>tests.widgets.tasks.double</code>") == 3
    assert "DynamicJobSpec" in page
    assert "minSuccesses" in page  # the spec itself, as YAML


def test_a_dynamic_body_the_cluster_would_refuse_shows_why() -> None:
    from flyte_nb.notebook.widgets import TaskWidget

    w = TaskWidget(tasks.misuse, namespace={})
    w.form.fields["n"].editor.value = "1"
    assert w.workflow is not None
    assert w.workflow.compile() is None
    assert "flyte-nb-error" in w.workflow.body.value
    assert "promise" in w.workflow.error.lower()


def test_plain_tasks_have_no_workflow_section() -> None:
    from flyte_nb.notebook.widgets import TaskWidget

    w = TaskWidget(tasks.add, namespace={})
    assert w.workflow is None
    assert "dynamic" not in w.children[0].value
