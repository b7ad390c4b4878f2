"""``%%flyte_task`` and friends, driven through a real IPython shell."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from flyte_nb.core.function_task import PythonFunctionTask
from flyte_nb.core.serialize import serialize_task
from flyte_nb.notebook.extension import current_magics
from tests.notebook.ipshell import cell


def test_function_cell_becomes_a_task_with_the_options(ip: Any) -> None:
    cell(
        ip,
        "%%flyte_task --retries 2 --timeout 10m --requests cpu=1,mem=2Gi --limits mem=4Gi --env A=1 "
        "--env B=x=y --cache --cache-version v2 --cache-serialize --interruptible --image repo/img:1 "
        "--accelerator nvidia-tesla-t4 --deprecated 'use add2' --no-widget\n"
        "OFFSET = 5\n"
        "def add(a: int, b: int = 2) -> int:\n"
        "    return a + b + OFFSET\n",
    )
    task = ip.user_ns["add"]
    assert isinstance(task, PythonFunctionTask)
    assert task(a=1) == 8
    assert ip.user_ns["OFFSET"] == 5  # the cell ran in the notebook namespace

    template = serialize_task(task)
    assert template.id.name == "add"
    assert template.metadata.retries.retries == 2
    assert template.metadata.timeout.ToTimedelta() == datetime.timedelta(minutes=10)
    assert (template.metadata.discoverable, template.metadata.discovery_version) == (True, "v2")
    assert template.metadata.interruptible is True
    assert template.metadata.cache_serializable is True
    assert template.metadata.deprecated_error_message == "use add2"
    assert template.extended_resources.gpu_accelerator.device == "nvidia-tesla-t4"
    assert template.container.image == "repo/img:1"
    assert {e.key: e.value for e in template.container.env}.items() >= {"A": "1", "B": "x=y"}.items()
    requests = {r.name: r.value for r in template.container.resources.requests}
    limits = {r.name: r.value for r in template.container.resources.limits}
    assert (len(requests), len(limits)) == (2, 1)
    assert sorted(requests.values()) == ["1", "2Gi"]
    assert list(limits.values()) == ["4Gi"]


def test_several_functions_and_name_picks_one(ip: Any) -> None:
    cell(
        ip,
        "%%flyte_task --name second --no-widget\ndef first(x: int) -> int:\n    return x\n"
        "def second(x: int) -> int:\n    return first(x) * 2\n",
    )
    assert isinstance(ip.user_ns["second"], PythonFunctionTask)
    assert not isinstance(ip.user_ns["first"], PythonFunctionTask)
    assert ip.user_ns["second"](x=4) == 8


def test_rerunning_the_cell_redefines_the_task_and_shares_the_kernel_cache(ip: Any) -> None:
    source = "%%flyte_task --cache --no-widget\ndef f(x: int) -> int:\n    return x + {n}\n"
    cell(ip, source.format(n=1))
    first = ip.user_ns["f"]
    cell(ip, source.format(n=2))
    second = ip.user_ns["f"]
    assert second is not first
    assert second(x=1) == 3
    magics = current_magics(ip)
    assert magics is not None
    assert first.local_cache is second.local_cache is magics.cache
    assert list(magics.tasks) == ["f"]
    assert magics.tasks["f"].task is second


def test_pickle_untyped_accepts_unannotated_parameters(ip: Any) -> None:
    cell(ip, "%%flyte_task --pickle-untyped --no-widget\ndef g(x, n: int):\n    return [x] * n\n")
    task = ip.user_ns["g"]
    assert task(x={"k": 1}, n=2) == [{"k": 1}, {"k": 1}]
    assert set(task.python_interface.pickled) == {"x", "o0"}


def test_dynamic_option_makes_a_dynamic_task(ip: Any) -> None:
    cell(ip, "%%flyte_task --dynamic --no-widget\ndef fan(n: int) -> int:\n    return n\n")
    assert ip.user_ns["fan"].execution_mode is PythonFunctionTask.ExecutionBehavior.DYNAMIC


def test_cell_body_task_reads_inputs_and_assigns_outputs(ip: Any) -> None:
    cell(ip, "xs = [1, 2, 3]\nscale = 2")
    cell(
        ip,
        "%%flyte_task summarise --inputs xs scale:int --outputs total:int mean:float --no-widget\n"
        "total = sum(xs) * scale\nmean = total / len(xs)\n",
    )
    task = ip.user_ns["summarise"]
    assert task.python_interface.inputs == {"xs": list[int], "scale": int}
    assert list(task.python_interface.outputs) == ["total", "mean"]
    assert "total" not in ip.user_ns  # defining the task does not run the body

    cell(ip, "result = summarise()")
    assert (ip.user_ns["total"], ip.user_ns["mean"]) == (12, 4.0)
    cell(ip, "summarise(xs=[10], scale=1)")
    assert (ip.user_ns["total"], ip.user_ns["mean"]) == (10, 10.0)


def test_quoted_cell_body_types_may_contain_spaces(ip: Any) -> None:
    cell(
        ip,
        "%%flyte_task tally --no-widget --inputs 'counts:dict[str, int]' --outputs \"total: int\"\n"
        "total = sum(counts.values())\n",
    )
    assert ip.user_ns["tally"].python_interface.inputs == {"counts": dict[str, int]}
    assert ip.user_ns["tally"](counts={"a": 2, "b": 3}).total == 5


def test_single_output_cell_body_task_assigns_the_value_and_compiles_to_a_plain_task(ip: Any) -> None:
    cell(ip, "%%flyte_task body --inputs a:int --outputs b:int --no-widget\nb = a * 3\n")
    cell(ip, "a = 4")
    cell(ip, "body()")
    assert ip.user_ns["b"] == 12
    template = serialize_task(ip.user_ns["body"])
    assert set(template.interface.inputs.variables) == {"a"}
    assert set(template.interface.outputs.variables) == {"b"}
    assert ip.user_ns["body"].execute(a=2) == 6


def test_cell_body_task_without_outputs_has_none_even_under_pickle_untyped(ip: Any) -> None:
    cell(ip, "class Box:\n    pass\nbox = Box()")
    cell(
        ip, "%%flyte_task show --no-widget --pickle-untyped --inputs box\nprint('got', type(box).__name__)\n"
    )
    task = ip.user_ns["show"]
    assert task.python_interface.outputs == {}
    with capture_output() as shown:
        cell(ip, "show()")
    assert "got Box" in shown.stdout


def _usage_error(ip: Any, line: str, body: str) -> str:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("flyte_task", line, body)
    message = str(info.value)
    assert "\n" not in message, "UsageError messages are one line"
    return message


FN = "def f(x: int) -> int:\n    return x\n"


@pytest.mark.parametrize(
    ("line", "body", "expected"),
    [
        ("--bogus", FN, "unrecognized arguments: --bogus"),
        (
            "--requests cpu=lots",
            FN,
            "--requests cpu: expected a Kubernetes quantity such as 500m, 2, 4Gi, got 'lots'",
        ),
        ("--limits gpus=1", FN, "--limits: expected KEY=VALUE pairs with KEY in cpu, mem, gpu"),
        ("--timeout soon", FN, "--timeout: expected seconds or a duration like 10m"),
        ("--env NOVALUE", FN, "--env: expected KEY=VALUE, got 'NOVALUE'"),
        ("--retries many", FN, "argument --retries: invalid int value"),
        ("--name g", FN, "--name 'g' is not defined in this cell (it defines f)"),
        ("", FN + "def h(): pass\n", "This cell defines several functions (f, h). Pick the task with --name"),
        ("", "def f(x:\n    pass\n", "SyntaxError in line 1 of the cell: '(' was never closed"),
        ("", "def f(x):\n    return x\n", "Task 'f' input 'x': expected a type annotation"),
        ("", "y = 1\n", "This cell defines no function"),
        ("--name lam", "lam = lambda x: x\n", "--name 'lam': this cell defines no function (def) to pick"),
        ("c --outputs z:int", "y = 1\n", "--outputs z: the cell body never assigns z"),
        (
            "c --inputs not_defined_anywhere --outputs y:int",
            "y = 1\n",
            "no type given, and not_defined_anywhere",
        ),
        ("--inputs a:int", FN, "--inputs/--outputs describe a cell-body task"),
        ("c --inputs a:NoSuchType", "y = 1\n", "the type 'NoSuchType' cannot be evaluated"),
        (
            "c --inputs a:dict[str, int]",
            "y = 1\n",
            "got 'int]'. A type with spaces must be quoted, e.g. 'a:dict[str, int]'",
        ),
    ],
)
def test_misuse_is_a_one_line_usage_error(ip: Any, line: str, body: str, expected: str) -> None:
    assert expected in _usage_error(ip, line, body)


def test_quoted_option_values_keep_their_spaces(ip: Any) -> None:
    cell(
        ip,
        "%%flyte_task --no-widget --env GREETING='hello world' --env \"PATH_X=a b\" "
        '--deprecated "use f2 instead"\n' + FN,
    )
    template = serialize_task(ip.user_ns["f"])
    assert {e.key: e.value for e in template.container.env}.items() >= {
        "GREETING": "hello world",
        "PATH_X": "a b",
    }.items()
    assert template.metadata.deprecated_error_message == "use f2 instead"


@pytest.mark.parametrize(
    ("magic", "line", "expected"),
    [
        (
            "flyte_task",
            "--bogus",
            "%%flyte_task: unrecognized arguments: --bogus. Run %%flyte_task? for the options.",
        ),
        ("flyte_task", "--retries many", "Run %%flyte_task? for the options"),
        (
            "flyte_task",
            "--env 'A=1",
            '%%flyte_task: cannot split "--env \'A=1" into options (No closing quotation)',
        ),
        (
            "flyte_remote",
            "--bogus",
            "%flyte_remote: unrecognized arguments: --bogus. Run %flyte_remote? for the",
        ),
    ],
)
def test_option_parse_errors_name_the_magic_and_point_to_its_help(
    ip: Any, magic: str, line: str, expected: str
) -> None:
    run = (
        (lambda: ip.run_cell_magic(magic, line, FN))
        if magic == "flyte_task"
        else (lambda: ip.run_line_magic(magic, line))
    )
    with pytest.raises(UsageError) as info:
        run()
    assert "\n" not in str(info.value)
    assert expected in str(info.value)


def test_help_usage_line_spells_the_cell_magic() -> None:
    from flyte_nb.notebook.magic import FlyteMagics

    assert "%%flyte_task [--name NAME]" in FlyteMagics.flyte_task.__doc__


def test_error_inside_the_cell_is_shown_and_the_task_not_defined(ip: Any) -> None:
    with capture_output() as captured:
        message = _usage_error(ip, "", FN + "raise RuntimeError('cell broke')\n")
    assert "The cell raised RuntimeError (shown above), so 'f' is not a task" in message
    assert "cell broke" in captured.stdout + captured.stderr


def test_task_is_displayed_unless_no_widget(ip: Any) -> None:
    with capture_output() as shown:
        cell(ip, "%%flyte_task\n" + FN)
    with capture_output() as hidden:
        cell(ip, "%%flyte_task --no-widget\n" + FN)
    assert "f" in shown.stdout + "".join(str(o.data) for o in shown.outputs)
    assert hidden.stdout == ""
    assert hidden.outputs == []


def test_flyte_tasks_lists_name_kind_version_and_cell(ip: Any) -> None:
    cell(ip, "%%flyte_task --no-widget\n" + FN)
    defined_in = f"In[{ip.execution_count - 1}]"
    version = serialize_task(ip.user_ns["f"]).id.version
    with capture_output() as captured:
        ip.run_line_magic("flyte_tasks", "")
    header, row = captured.stdout.strip().splitlines()
    assert header.split() == ["name", "kind", "version", "defined", "in"]
    assert row.split() == ["f", "function", version, defined_in]


def test_flyte_tasks_lists_decorated_notebook_tasks_too(ip: Any) -> None:
    cell(
        ip,
        "import flyte_nb as fnb\nfrom tests.core.tasks_for_tests import add\n"
        "@fnb.task\ndef g(x: int) -> int:\n    return x\n"
        "@fnb.dynamic\ndef fan(n: int) -> list[int]:\n    return [g(x=i) for i in range(n)]\n",
    )
    defined_in = f"In[{ip.execution_count - 1}]"
    with capture_output() as captured:
        ip.run_line_magic("flyte_tasks", "")
    rows = {line.split()[0]: line.split() for line in captured.stdout.strip().splitlines()[1:]}
    assert rows["g"] == ["g", "@task", serialize_task(ip.user_ns["g"]).id.version, defined_in]
    assert rows["fan"][1] == "@dynamic"
    assert "add" not in rows  # tasks imported from modules were not defined in this kernel


def test_flyte_remote_stores_the_default_remote(ip: Any) -> None:
    magics = current_magics(ip)
    assert magics is not None
    with capture_output() as captured:
        ip.run_line_magic("flyte_remote", "localhost:30080 --project demo --domain staging --insecure")
    assert magics.remote_config == {
        "endpoint": "localhost:30080",
        "project": "demo",
        "domain": "staging",
        "insecure": True,
    }
    remote = magics.remote
    assert remote is not None
    assert (remote.project, remote.domain) == ("demo", "staging")
    assert "localhost:30080" in captured.stdout
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        ip.run_line_magic("flyte_remote", "--bogus")


def test_flyte_remote_project_alone_keeps_the_endpoint_and_a_new_endpoint_starts_over(ip: Any) -> None:
    magics = current_magics(ip)
    assert magics is not None
    with capture_output():
        ip.run_line_magic("flyte_remote", "localhost:30080 --project demo --insecure")
        ip.run_line_magic("flyte_remote", "--domain staging")
    assert magics.remote_config == {
        "endpoint": "localhost:30080",
        "project": "demo",
        "domain": "staging",
        "insecure": True,
    }
    assert (magics.remote.project, magics.remote.domain) == ("demo", "staging")
    with capture_output():
        ip.run_line_magic("flyte_remote", "flyte.example.com:443 --project prod")
    assert magics.remote_config == {"endpoint": "flyte.example.com:443", "project": "prod"}  # TLS again


def test_help_documents_every_option() -> None:
    from flyte_nb.notebook.magic import FlyteMagics

    doc = FlyteMagics.flyte_task.__doc__
    for option in (
        "--name",
        "--cache",
        "--cache-version",
        "--cache-serialize",
        "--retries",
        "--timeout",
        "--image",
        "--requests",
        "--limits",
        "--accelerator",
        "--env",
        "--pickle-untyped",
        "--dynamic",
        "--interruptible",
        "--deprecated",
        "--no-widget",
        "--inputs",
        "--outputs",
    ):
        assert option in doc, option


def test_without_flyte_remote_the_environment_configuration_is_used(ip: Any, monkeypatch: Any) -> None:
    magics = current_magics(ip)
    assert magics is not None
    monkeypatch.setattr(magics, "remote_config", {})
    monkeypatch.setattr(magics, "_remote", None)
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.delenv("FLYTECTL_CONFIG", raising=False)
    monkeypatch.delenv("FLYTE_PLATFORM_URL", raising=False)
    assert magics.remote is None
    with capture_output() as captured:
        ip.run_line_magic("flyte_remote", "")
    assert "No remote configured" in captured.stdout

    monkeypatch.setenv("FLYTE_PLATFORM_URL", "flyte.example.com:443")
    assert magics.remote.config.endpoint == "flyte.example.com:443"


def test_device_flow_login_is_shown_as_a_link_in_the_notebook(ip: Any) -> None:
    from flyte_nb.notebook.magic import _show_device_code
    from flyte_nb.remote import DeviceCode

    code = DeviceCode(
        verification_uri="https://idp.example.com/device",
        user_code="ABCD-EFGH",
        verification_uri_complete="https://idp.example.com/device?user_code=ABCD-EFGH",
        expires_in=600,
    )
    with capture_output() as captured:
        _show_device_code(code)
    (shown,) = captured.outputs
    html = shown.data["text/html"]
    assert "href='https://idp.example.com/device?user_code=ABCD-EFGH'" in html
    assert "ABCD-EFGH" in html


def test_flyte_remote_builds_its_remote_with_the_notebook_device_prompt(ip: Any) -> None:
    from flyte_nb.notebook.magic import _show_device_code

    magics = current_magics(ip)
    assert magics is not None
    with capture_output():
        ip.run_line_magic("flyte_remote", "localhost:30080 --insecure")
    # flytekit's default mode: a browser sign-in on the user's machine, else the device flow, if asked
    authenticator = magics.remote.client.authenticator
    assert type(authenticator).__name__ == "Pkce"
    assert authenticator.prompt is _show_device_code


@pytest.mark.parametrize(
    ("definition", "call", "user_line"),
    [
        (
            "%%flyte_task --no-widget\ndef boom(a: int) -> int:\n    raise ValueError('bad a')\n",
            "boom(a=1)",
            "raise ValueError('bad a')",
        ),
        (
            "%%flyte_task --no-widget --cache\ndef boom(a: int) -> int:\n    raise ValueError('bad a')\n",
            "boom(a=1)",
            "raise ValueError('bad a')",
        ),
        (
            "%%flyte_task --no-widget --dynamic\ndef boom(a: int) -> list[int]:\n    raise ValueError('bad a')\n",
            "boom(a=1)",
            "raise ValueError('bad a')",
        ),
        ("a = 1\n", "%%flyte_task boom --no-widget --inputs a --outputs b:int\nb = a // 0\n", "b = a // 0"),
    ],
)
def test_a_failing_task_shows_the_users_frames_not_ours(
    ip: Any, definition: str, call: str, user_line: str
) -> None:
    cell(ip, definition)
    if call.startswith("%%"):  # cell-body task: define it, then run it
        cell(ip, call)
        call = "boom()"
    with capture_output() as shown:
        result = ip.run_cell(call, store_history=True)
    assert result.error_in_exec is not None
    text = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout + shown.stderr)  # without the colours
    assert user_line in text
    assert "skipping hidden" in text
    assert "flyte_nb" not in text.replace("flyte_nb.notebook", "")


def test_magic_options_and_task_keywords_make_the_same_task_options(ip: Any) -> None:
    """The magic and @task build one TaskOptions value: every task keyword has its option."""
    import flyte_nb as fnb

    cell(
        ip,
        "%%flyte_task --cache-ignore-input-vars seed --pod-template-name gpu-pod --retries 1 --no-widget\n"
        "def score(x: int, seed: int = 0) -> int:\n    return x\n",
    )
    from_magic = ip.user_ns["score"]
    from_decorator = fnb.task(
        cache=True, cache_ignore_input_vars=["seed"], pod_template_name="gpu-pod", retries=1
    )(from_magic.task_function)
    assert from_magic.options == from_decorator.options
    template = serialize_task(from_magic)
    assert list(template.metadata.cache_ignore_input_vars) == ["seed"]
    assert template.metadata.discoverable  # --cache-ignore-input-vars implies --cache
    assert template.metadata.pod_template_name == "gpu-pod"


def test_magic_cache_ignore_input_vars_naming_no_input_is_one_line(ip: Any) -> None:
    with pytest.raises(UsageError, match=r"cache_ignore_input_vars: \['sed'\] are not inputs of the task"):
        cell(
            ip,
            "%%flyte_task --cache-ignore-input-vars sed --no-widget\ndef h(x: int, seed: int = 0) -> int:\n    return x\n",
        )


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "99999999999999h", "315576000001"])
def test_a_timeout_that_flyte_cannot_store_is_a_usage_error(ip: Any, value: str) -> None:
    message = _usage_error(ip, f"--timeout {value}", FN)
    assert message.startswith("--timeout: expected a positive duration of at most 315,576,000,000 s")
    assert f"got {value!r}" in message


def test_retries_flyte_cannot_store_are_a_usage_error(ip: Any) -> None:
    message = _usage_error(ip, f"--retries {2**40}", FN)
    assert "retries: expected at most 4,294,967,294, got 1,099,511,627,776." in message
