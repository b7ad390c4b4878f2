"""File and directory inputs in the form: a path field with an upload button, errors at the field, and
uploads staged in temporary files that live as long as the widget (and every run using them)."""

from __future__ import annotations

import dataclasses
import pathlib

import flyte_nb as fnb
from flyte_nb.core import uris
from flyte_nb.core.types.engine import default_store
from flyte_nb.notebook.widgets import InputForm


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
    form.fields["f"].editor.value = f'"{csv}"'
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
