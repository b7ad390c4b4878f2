"""A CSV file, a directory of three files and a 100k-row DataFrame through the kernel and the process
sandbox: the same results, and the bytes where each mode puts them."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest

import flyte_nb as fnb
from flyte_nb.core.storage import LocalStore
from flyte_nb.errors import TaskInputError
from tests.runtime import tasks_data as t

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

MODES = ["kernel", "process"]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # the process sandbox puts the caller's working directory on the task's PYTHONPATH
    monkeypatch.chdir(pathlib.Path(__file__).resolve().parents[2])


def _run(mode: str, task: Any, **inputs: Any) -> Any:
    return fnb.SandboxExecutor(mode, stdout=lambda s: None, stderr=lambda s: None).run(task, **inputs)


@pytest.mark.parametrize("mode", MODES)
def test_a_csv_file(mode: str, csv: pathlib.Path) -> None:
    rows, header, doubled = _run(mode, t.summarize_csv, f=str(csv))
    assert (rows, header) == (3, "id,score")
    assert isinstance(doubled, fnb.FlyteFile)
    assert doubled.extension() == "csv"
    text = pathlib.Path(doubled).read_text()
    assert text.splitlines()[1:] == csv.read_text().splitlines()[1:] * 2
    if mode == "kernel":
        assert "/sandbox" not in doubled.path  # the task's own file, in place
    else:  # uploaded under the run's raw output prefix, as propeller lays it out: raw/<node>/<attempt>/<hex32>/
        parts = pathlib.Path(doubled.path).parts
        assert parts[-5:-2] == ("raw", "n0", "0")
        assert parts[-1] == "doubled.csv"


@pytest.mark.parametrize("mode", MODES)
def test_an_input_file_is_read_in_place_in_the_kernel_and_copied_once_for_a_process(
    mode: str, csv: pathlib.Path
) -> None:
    out = _run(mode, t.same_file, f=str(csv))
    assert pathlib.Path(out).read_text() == csv.read_text()
    if mode == "kernel":
        assert out.path == str(csv)  # no copy at all
    else:
        # one copy: the input's upload under the run's raw prefix, handed back unchanged
        assert pathlib.Path(out.path).parts[-4:-2] == ("raw", "inputs")
        assert os.stat(out.path).st_ino != os.stat(csv).st_ino


@pytest.mark.parametrize("mode", MODES)
def test_a_directory_of_three_files(mode: str, folder: pathlib.Path) -> None:
    names, total, copy = _run(mode, t.list_directory, d=str(folder))
    assert names == ["a.txt", "b.txt", "sub/c.txt"]
    assert total == len("alpha") + len("beta") + len("gamma")
    got = {str(p.relative_to(copy.path)): p.read_text() for p in pathlib.Path(copy).rglob("*") if p.is_file()}
    assert got == {"a.txt": "ALPHA", "b.txt": "BETA", "sub/c.txt": "GAMMA"}


@pytest.mark.parametrize("mode", MODES)
def test_a_100k_row_dataframe_with_declared_columns(mode: str) -> None:
    n = 100_000
    df = pd.DataFrame(
        {"id": np.arange(n), "score": np.arange(n) / n, "label": ["row"] * n, "extra": np.zeros(n)}
    )
    out = _run(mode, t.top_half, df=df)
    assert list(out.columns) == ["id", "score"]
    assert len(out) == n // 2
    assert out["id"].tolist() == list(range(n // 2, n))


@pytest.mark.parametrize("mode", MODES)
def test_a_dataset_literal_made_outside_the_run(mode: str, tmp_path: pathlib.Path) -> None:
    df = pd.DataFrame({"a": range(10)})
    lit = fnb.TypeEngine.to_literal(df, pd.DataFrame, store=LocalStore(str(tmp_path)))
    sd = fnb.TypeEngine.to_python_value(lit, fnb.StructuredDataset)
    assert _run(mode, t.dataset_rows, sd=sd) == 10


def test_process_outputs_keep_their_raw_data_and_the_rest_is_removed(csv: pathlib.Path) -> None:
    ex = fnb.SandboxExecutor("process", stdout=lambda s: None, stderr=lambda s: None)
    out = ex.run(t.same_file, f=str(csv))
    assert ex.last_run_dir is not None
    assert sorted(p.name for p in ex.last_run_dir.iterdir()) == ["raw"]
    assert pathlib.Path(out).is_file()
    ex.run(t.file_size, f=str(csv))  # an int output: nothing to keep
    assert not ex.last_run_dir.exists()


def test_bad_inputs_are_refused_before_the_process_starts(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TaskInputError, match=r"input 'f': expected an existing file, got .*missing\.csv"):
        _run("process", t.summarize_csv, f=str(tmp_path / "missing.csv"))


@pytest.mark.parametrize(
    ("task", "var", "value", "expected"),
    [
        pytest.param(t.pickled_len, "x", {"a", "b"}, 2, id="pickle"),
        pytest.param(t.array_sum, "x", np.arange(5), 10, id="numpy"),
        pytest.param(t.dataset_rows, "sd", "frame", 4, id="dataframe"),
        pytest.param(t.file_size, "f", "file", 3, id="file"),
        pytest.param(t.list_directory, "d", "dir", None, id="directory"),
    ],
)
def test_literals_made_by_to_literal_run_in_the_container(
    tmp_path: pathlib.Path, image_env: dict[str, str], task: Any, var: str, value: Any, expected: Any
) -> None:
    """inputs.pb holding literals written by ``TypeEngine.to_literal`` (its default local store) runs
    through ``flyte-nb-execute`` as propeller runs it."""
    from flyteidl.core import literals_pb2

    from flyte_nb.core.serialize import serialize_task
    from tests import propeller

    if isinstance(value, str) and value == "frame":
        value = fnb.TypeEngine.to_python_value(
            fnb.TypeEngine.to_literal(pd.DataFrame({"a": range(4)}), pd.DataFrame), fnb.StructuredDataset
        )
    elif isinstance(value, str) and value == "file":
        (tmp_path / "abc.txt").write_text("abc")
        value = str(tmp_path / "abc.txt")
    elif isinstance(value, str) and value == "dir":
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "one.txt").write_text("1")
        value = str(tmp_path / "d")
    literal = fnb.TypeEngine.to_literal(value, task.python_interface.inputs[var])
    inputs = literals_pb2.LiteralMap(literals={var: literal})
    result = propeller.run_task_template(serialize_task(task), inputs, tmp_path / "bucket", None, image_env)
    assert result.phase == "SUCCEEDED", result
    outputs = literals_pb2.LiteralMap.FromString(result.paths.outputs.read_bytes())
    got = fnb.TypeEngine.literal_map_to_python(outputs, task.python_interface.outputs)
    if expected is None:
        assert got["names"] == ["one.txt"]
    else:
        assert got["o0"] == expected


def test_process_outputs_decoded_whole_keep_nothing_on_disk(csv: pathlib.Path) -> None:
    ex = fnb.SandboxExecutor("process", stdout=lambda s: None, stderr=lambda s: None)
    out = ex.run(t.top_half, df=pd.DataFrame({"id": [1, 2], "score": [0.1, 0.9], "label": ["a", "b"]}))
    assert out["id"].tolist() == [2]
    assert ex.last_run_dir is not None
    assert not ex.last_run_dir.exists()  # the DataFrame was read: its parquet file is not kept
    _names, _, copy = ex.run(t.list_directory, d=str(csv.parent))
    assert ex.last_run_dir.exists()  # the directory output is a handle on the run's raw data
    assert pathlib.Path(copy).is_dir()
