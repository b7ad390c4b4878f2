"""File and directory inputs in the form: a path field with an upload button, errors at the field, and
uploads staged in temporary files that live as long as the widget (and every run using them)."""

from __future__ import annotations

import dataclasses
import datetime
import os
import pathlib
import subprocess
import sys
import threading
import types
import typing

import ipywidgets as widgets
import pytest

import flyte_nb as fnb
from flyte_nb.core import uris
from flyte_nb.core.types.engine import default_store
from flyte_nb.notebook import uploads
from flyte_nb.notebook.uploads import STAGING
from flyte_nb.notebook.widgets import InputForm, TaskWidget, data_input
from flyte_nb.notebook.widgets.data_input import PathEditor
from tests.widgets.conftest import wait_until


@dataclasses.dataclass
class Job:
    data: fnb.FlyteFile
    n: int = 1


@fnb.task
def read_job(f: fnb.FlyteFile, job: Job) -> int:
    return job.n


def _stored_files() -> list[str]:
    return uris.list_files(default_store().raw_prefix)


def test_checking_a_typed_path_never_copies_the_file(tmp_path: pathlib.Path) -> None:
    csv = tmp_path / "big.csv"
    csv.write_text("a\n1\n")
    before = _stored_files()
    form = InputForm(read_job)
    form.fields["f"].editor.value = str(csv)
    form.fields["job"].editor.value = f'{{"data": "{csv}"}}'
    values = form.collect()
    assert form.errors == {}
    assert values is not None
    assert str(values["f"]) == str(csv)
    # the engine's checks ran (a missing file is refused below), but nothing was copied to do them
    assert _stored_files() == before
    form.fields["job"].editor.value = f'{{"data": "{tmp_path / "missing.csv"}"}}'
    assert form.collect() is None
    assert "field 'data': expected an existing file" in form.errors["job"]
    assert _stored_files() == before


# -- editors --------------------------------------------------------------------------------------------
CsvFile = fnb.FlyteFile["csv"]


@fnb.task
def files(
    f: fnb.FlyteFile,
    csv: CsvFile,
    d: fnb.FlyteDirectory,
    p: os.PathLike,
    maybe: typing.Optional[fnb.FlyteFile] = None,  # noqa: UP045 - as users write it
) -> int:
    return 0


@fnb.task
def count_lines(f: CsvFile) -> int:
    with open(f) as fh:
        return sum(1 for _ in fh)


@fnb.task
def list_dir(d: fnb.FlyteDirectory) -> list[str]:
    return sorted(os.listdir(d))


def _upload(name: str, data: bytes) -> dict[str, typing.Any]:
    """One file as ipywidgets' FileUpload reports it after the browser sent it."""
    return {
        "name": name,
        "type": "",
        "size": len(data),
        "content": memoryview(data),
        "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    }


def test_file_and_directory_inputs_get_a_path_field_and_an_upload_button() -> None:
    form = InputForm(files)
    kinds = {name: field.kind for name, field in form.fields.items()}
    assert kinds == {"f": "file", "csv": "file", "d": "directory", "p": "file", "maybe": "file"}
    for field in form.fields.values():
        assert isinstance(field.editor, PathEditor)
        assert isinstance(field.editor.upload, widgets.FileUpload)
    assert form.fields["csv"].editor.upload.accept == ".csv"  # the chooser offers CSV files first
    assert form.fields["f"].editor.upload.accept == ""
    assert form.fields["d"].editor.upload.multiple  # a directory is several files
    assert not form.fields["f"].editor.upload.multiple
    assert "upload" in form.fields["f"].editor.text.placeholder
    assert form.fields["maybe"].optional
    form.fields["maybe"].none_toggle.value = True
    form.fields["maybe"].none_toggle.value = False
    form.fields["maybe"].none_toggle.value = True
    assert form.fields["maybe"].editor.upload.disabled  # None ticked: nothing to type or upload
    assert form.fields["maybe"].editor.text.disabled


def test_a_typed_path_is_used_as_typed_and_a_remote_uri_passes_through(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    form = InputForm(files)
    form.fields["f"].editor.value = f"  {tmp_path / 'a.csv'} "
    form.fields["csv"].editor.value = f'"{tmp_path / "a.csv"}"'  # a JSON string, as the field took before
    form.fields["d"].editor.value = str(tmp_path)
    form.fields["p"].editor.value = "s3://bucket/not/checked/here.bin"
    assert form.collect() == {
        "f": str(tmp_path / "a.csv"),
        "csv": str(tmp_path / "a.csv"),
        "d": str(tmp_path),
        "p": "s3://bucket/not/checked/here.bin",
        "maybe": None,
    }


@pytest.mark.parametrize(
    ("field", "typed", "expected"),
    [
        ("f", "missing.csv", "expected an existing file, got 'missing.csv', which does not exist"),
        ("f", "<dir>", "expected a file, got the directory"),
        ("d", "<dir>/a.txt", "expected a directory, got the file"),
        ("csv", "<dir>/a.txt", "expected a 'csv' file (FlyteFile['csv']), got"),
    ],
)
def test_a_path_that_cannot_work_is_refused_at_the_field_as_soon_as_it_is_typed(
    tmp_path: pathlib.Path, field: str, typed: str, expected: str
) -> None:
    (tmp_path / "a.txt").write_text("alpha")
    form = InputForm(files)
    form.fields[field].editor.value = typed.replace("<dir>", str(tmp_path))
    # no run button pressed: the message is there once typing stops
    message = form.fields[field].message
    assert message.startswith(f"Task 'tests.widgets.test_file_inputs.files' input '{field}': {expected}")
    assert "⚠" in form.fields[field].message_html.value
    form.fields[field].editor.value = ""  # cleared: no stale message
    assert form.fields[field].message == ""


def test_an_uploaded_file_is_staged_and_its_path_shown(tmp_path: pathlib.Path) -> None:
    form = InputForm(count_lines)
    field = form.fields["f"]
    field.editor.upload.value = (_upload("scores.csv", b"id,score\n1,0.5\n2,0.9\n"),)
    staged = pathlib.Path(field.editor.value)
    assert staged.name == "scores.csv"
    assert staged.read_bytes() == b"id,score\n1,0.5\n2,0.9\n"
    assert str(staged).startswith(STAGING.root + os.sep)
    assert field.editor.staged == str(staged)
    assert len(field.editor.upload.value) == 1  # the button says "Upload (1)": the field uses it
    assert field.message == ""
    assert form.collect() == {"f": str(staged)}
    # another path typed over it: the upload is let go of, and the button's count goes back to 0
    (tmp_path / "typed.csv").write_text("id\n1\n")
    field.editor.value = str(tmp_path / "typed.csv")
    assert not staged.exists()
    assert field.editor.upload.value == ()
    assert field.editor.staged == ""
    assert form.collect() == {"f": str(tmp_path / "typed.csv")}


def test_an_upload_of_the_wrong_format_is_refused_at_the_field() -> None:
    form = InputForm(count_lines)
    field = form.fields["f"]
    field.editor.upload.value = (_upload("notes.txt", b"hello"),)
    assert "expected a 'csv' file (FlyteFile['csv'])" in field.message
    assert "a 'txt' file" in field.message


def test_an_upload_that_cannot_be_staged_says_so_and_changes_nothing(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    staging = uploads.StagedUploads()
    monkeypatch.setattr(staging, "_root", types.SimpleNamespace(path=str(blocker)))
    monkeypatch.setattr(data_input, "STAGING", staging)
    form = InputForm(count_lines)
    field = form.fields["f"]
    field.editor.value = "typed.csv"
    field.editor.upload.value = (_upload("scores.csv", b"a\n"),)
    assert field.message.startswith("Task 'tests.widgets.test_file_inputs.count_lines' input 'f': ")
    assert "the upload could not be used: Could not stage the upload" in field.message
    assert field.editor.value == "typed.csv"
    assert field.editor.staged == ""
    assert field.editor.upload.value == ()  # "Upload (0)": no upload is in use
    assert list(tmp_path.iterdir()) == [blocker]  # nothing half-written


def test_uploaded_files_become_a_directory_the_task_reads(namespace: dict[str, typing.Any]) -> None:
    w = TaskWidget(list_dir, namespace=namespace)
    editor = w.form.fields["d"].editor
    editor.upload.value = (_upload("a.txt", b"alpha"), _upload("b.txt", b"beta"), _upload("a.txt", b"again"))
    assert sorted(os.listdir(editor.value)) == ["a (2).txt", "a.txt", "b.txt"]
    w.run_panel.buttons["kernel"].click()
    assert w.run_panel.wait(30) == ["a (2).txt", "a.txt", "b.txt"]


def test_a_new_upload_or_closing_the_widget_removes_the_staged_file(namespace: dict[str, typing.Any]) -> None:
    w = TaskWidget(count_lines, namespace=namespace)
    editor = w.form.fields["f"].editor
    editor.upload.value = (_upload("one.csv", b"a\n1\n"),)
    first = pathlib.Path(editor.value)
    editor.upload.value = (_upload("two.csv", b"a\n2\n"),)
    second = pathlib.Path(editor.value)
    assert not first.exists()
    assert second.exists()
    w.run_panel.buttons["kernel"].click()
    assert w.run_panel.wait(30) == 2
    w.close()  # (the run's thread may still be finishing: removed once it has)
    wait_until(lambda: not second.parent.exists(), what="the staged upload to be removed")


@fnb.task
def wait_then_read(f: fnb.FlyteFile) -> str:
    started.set()
    assert proceed.wait(30)
    with open(f) as fh:
        return fh.read()


started, proceed = threading.Event(), threading.Event()


def test_an_upload_a_run_uses_outlives_the_closed_widget_until_the_run_ends(
    namespace: dict[str, typing.Any],
) -> None:
    started.clear()
    proceed.clear()
    w = TaskWidget(wait_then_read, namespace=namespace)
    editor = w.form.fields["f"].editor
    editor.upload.value = (_upload("data.txt", b"still here"),)
    staged = pathlib.Path(editor.value)
    w.run_panel.buttons["kernel"].click()
    assert started.wait(30)
    w.close()  # while the run is reading it
    assert staged.exists()
    assert STAGING.in_use(str(staged))
    proceed.set()
    assert w.run_panel.wait(30) == "still here"
    wait_until(lambda: not staged.exists(), what="the staged upload to be removed after the run")


def test_staged_uploads_are_removed_when_the_kernel_exits() -> None:
    code = (
        "from flyte_nb.notebook.uploads import STAGING\n"
        "print(STAGING.stage_file('a.csv', b'x'))\n"
        "print(STAGING.stage_directory([('b.txt', b'y')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    paths = [pathlib.Path(line) for line in out.stdout.split()]
    assert paths[0].name == "a.csv"
    assert paths[0].parent.parent == paths[1].parent  # one staging root per kernel
    assert not paths[1].parent.exists()
