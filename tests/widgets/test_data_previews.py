"""Files, directories and datasets in results: name, size and a bounded preview; remote data read only
when the user asks, and only its start."""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
from IPython.utils.capture import capture_output

import flyte_nb as fnb
from flyte_nb.core.storage import BaseStore, LocalStore
from flyte_nb.notebook.extension import current_magics
from flyte_nb.notebook.widgets import ResultView, TaskWidget, _preview
from flyte_nb.notebook.widgets._preview import make_preview, preview_html, preview_text
from flyte_nb.notebook.widgets.data_preview import DataPreview
from tests.widgets.conftest import wait_until

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Spy:
    """Counts the bytes the preview reads from the files it opens."""

    def __init__(self) -> None:
        self.read = 0

    def open(self, path: str, mode: str = "r") -> _Counting:
        return _Counting(open(path, mode), self)


class _Counting:
    def __init__(self, handle: Any, spy: Spy) -> None:
        self.handle, self.spy = handle, spy

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.handle.close()

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.handle.read(n)
        self.spy.read += len(data)
        return data

    def __getattr__(self, name: str) -> Any:  # seek, tell, seekable
        return getattr(self.handle, name)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    counting = Spy()
    monkeypatch.setattr(_preview, "open", counting.open, raising=False)
    return counting


# -- files ----------------------------------------------------------------------------------------------
def test_a_csv_file_shows_its_name_size_and_first_rows_as_a_table(tmp_path: pathlib.Path) -> None:
    csv = tmp_path / "scores.csv"
    csv.write_text("id,score,label\n" + "".join(f"{i},{i / 10},x{i}\n" for i in range(25)))
    preview = make_preview(fnb.FlyteFile(str(csv)))
    assert preview.name == "scores.csv"
    assert preview.facts[:3] == [f"{csv.stat().st_size} B", "CSV", "3 columns, 25 rows"]
    page = preview_html(preview)
    assert page.count("<tr>") == 1 + 10  # the header and the first 10 rows
    assert "<th" in page
    assert ">label</th>" in page
    assert ">x9</td>" in page
    assert ">x10</td>" not in page
    assert "The first 10 rows of 25." in page
    assert str(tmp_path) not in page  # the path is in the value's repr, not in a shared page
    assert preview_text(preview).splitlines()[1] == "  id | score | label"


def test_a_huge_file_is_previewed_from_its_head(tmp_path: pathlib.Path, spy: Spy) -> None:
    big = tmp_path / "huge.csv"
    with big.open("w") as fh:
        fh.write("n,square\n" + "".join(f"{i},{i * i}\n" for i in range(20_000)))
        fh.truncate(1_000_000_000)  # sparse: a 1 GB file that costs nothing to make
    preview = make_preview(fnb.FlyteFile(str(big)))
    assert preview.facts[0] == "1.0 GB"
    assert preview.facts[2] == "2 columns"  # rows not counted: only the head was read
    assert spy.read <= _preview.HEAD_BYTES
    assert "<td" in preview.html
    assert ">81</td>" in preview.html
    assert preview.note == "The first 10 rows."


def test_text_files_show_their_first_lines_and_binary_files_say_why_not(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("".join(f"line {i} <b>\n" for i in range(100)))
    preview = make_preview(fnb.FlyteFile(str(log)))
    assert "line 19 &lt;b&gt;" in preview.html
    assert "line 20" not in preview.html
    assert preview.note == "The first 20 lines."
    assert "100 lines" in preview.facts
    blob = tmp_path / "weights"
    blob.write_bytes(bytes(range(256)) * 10)
    binary = make_preview(fnb.FlyteFile(str(blob)))
    assert binary.facts[:2] == ["2.6 kB", "no extension"]
    assert binary.note == "Binary data: no preview."
    assert binary.html == ""


def test_images_show_inline_scaled_down_and_large_ones_are_not_inlined(tmp_path: pathlib.Path) -> None:
    png = tmp_path / "plot.png"
    png.write_bytes(PNG_1x1)
    preview = make_preview(fnb.FlyteFile(str(png)))
    assert preview.html.startswith('<img class="flyte-nb-preview-image" src="data:image/png;base64,')
    assert "max-height:320px" in preview.html
    unnamed = tmp_path / "figure"  # no extension: recognised by its first bytes
    unnamed.write_bytes(PNG_1x1)
    assert "data:image/png;base64," in make_preview(fnb.FlyteFile(str(unnamed))).html
    huge = tmp_path / "scan.jpg"
    with huge.open("wb") as fh:
        fh.write(b"\xff\xd8\xff")
        fh.truncate(50_000_000)
    large = make_preview(fnb.FlyteFile(str(huge)))
    assert large.html == ""
    assert large.note == "An image larger than 2.0 MB: not shown inline."


# -- directories ----------------------------------------------------------------------------------------
def test_a_directory_shows_its_counts_total_size_and_first_entries(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "docs"
    for i in range(40):
        (root / f"part{i // 10}").mkdir(parents=True, exist_ok=True)
        (root / f"part{i // 10}" / f"f{i:02}.txt").write_text("x" * i)
    (root / "README").write_text("hello")
    preview = make_preview(fnb.FlyteDirectory(str(root)))
    assert preview.name == "docs/"
    assert preview.facts == ["41 files", "4 subdirectories", f"{sum(range(40)) + 5} B"]
    assert preview.html.count("<tr>") == 1 + 30
    assert ">README</td>" in preview.html
    assert ">part0/f00.txt</td>" in preview.html
    assert preview.note == "The first 30 files."


def test_a_huge_directory_is_counted_up_to_a_bound(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_preview, "WALK_LIMIT", 50)
    for i in range(80):
        (tmp_path / f"{i:03}").write_text("")
    preview = make_preview(fnb.FlyteDirectory(str(tmp_path)))
    assert preview.facts[0] == "at least 51 files"


# -- datasets -------------------------------------------------------------------------------------------
Scores = Annotated[pd.DataFrame, fnb.kwtypes(id=int, score=float)]


@fnb.task
def scores(n: int) -> Annotated[fnb.StructuredDataset, fnb.kwtypes(id=int, score=float)]:
    df = pd.DataFrame({"id": range(n), "score": [i / n for i in range(n)], "label": ["a"] * n})
    return fnb.StructuredDataset(dataframe=df)


def test_a_dataset_shows_its_schema_row_count_and_first_rows(namespace: dict[str, Any]) -> None:
    w = TaskWidget(scores, namespace=namespace)
    w.form.fields["n"].editor.value = "1000"
    w.run_panel.buttons["kernel"].click()
    w.run_panel.wait(30)
    wait_until(lambda: w.run_panel.result.status == "outputs", what="the outputs")
    preview = w.run_panel.result.previews["o0"]
    assert preview.state == "shown"  # the run's data is in this kernel: shown at once
    assert preview.preview.facts == ["parquet", "declared columns id, score", "1,000 rows"]
    page = preview.body.value
    assert ">id</td>" in page
    assert ">int64</td>" in page
    assert ">label</td>" not in page.split("</table>", 2)[1]  # the rows: declared columns only
    assert "The first 10 rows of 1,000." in page
    assert preview.button.layout.display == "none"


def test_a_dataframe_dataset_and_a_csv_dataset_preview_too(tmp_path: pathlib.Path) -> None:
    in_memory = make_preview(fnb.StructuredDataset(dataframe=pd.DataFrame({"a": [1, 2, 3]})))
    assert in_memory.facts == ["a DataFrame in memory", "3 rows"]
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / ".csv").write_text("a,b\n1,x\n2,y\n")
    on_disk = make_preview(fnb.StructuredDataset(uri=str(tmp_path / "ds"), file_format="csv"))
    assert on_disk.error == ""
    assert on_disk.facts == ["csv", "2 rows"]
    assert ">y</td>" in on_disk.html


# -- remote data: read only when asked --------------------------------------------------------------------
class FarStore(LocalStore):
    """Local files standing in for a bucket: nothing is local, every read is counted (as through a data
    proxy's signed URLs)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    def is_local(self, uri: str) -> bool:
        return False

    def open(self, uri: str, mode: str = "rb") -> Any:
        self.opened.append(uri)
        return BaseStore.open(self, uri, mode)


def _remote(value: Any, python_type: Any, store: FarStore) -> Any:
    literal = fnb.TypeEngine.to_literal(value, python_type, store=LocalStore(str(store.raw_prefix)))
    return fnb.TypeEngine.to_python_value(literal, python_type, store=store)


def test_remote_data_shows_a_download_button_and_is_read_only_on_click(tmp_path: pathlib.Path) -> None:
    (tmp_path / "s.csv").write_text("id,score\n1,0.5\n2,0.9\n")
    store = FarStore()
    remote_file = _remote(str(tmp_path / "s.csv"), fnb.FlyteFile, store)
    assert remote_file.remote_source
    view = ResultView()
    view.show_outputs(["o0"], remote_file)
    preview = view.previews["o0"]
    assert preview.state == "not downloaded"
    assert store.opened == []  # showing the result read nothing
    assert "not downloaded" in preview.body.value
    assert remote_file.remote_source in preview.body.value  # where it is
    assert preview.button.layout.display == ""
    preview.button.click()
    assert preview.join(30)
    assert preview.state == "shown"
    assert store.opened == [remote_file.remote_source]
    assert ">0.9</td>" in preview.body.value
    assert preview.button.layout.display == "none"
    assert not remote_file.downloaded  # streamed: no local copy was made


def test_remote_datasets_and_directories_too(tmp_path: pathlib.Path) -> None:
    store = FarStore()
    sd = _remote(fnb.StructuredDataset(dataframe=pd.DataFrame({"a": [1, 2]})), fnb.StructuredDataset, store)
    preview = DataPreview(sd)
    assert preview.state == "not downloaded"
    assert store.opened == []
    preview.load()
    assert preview.join(30)
    assert preview.preview.facts[-1] == "2 rows"
    assert len(store.opened) == 1
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("alpha")
    directory = _remote(str(tmp_path / "d"), fnb.FlyteDirectory, store)
    listing = DataPreview(directory)
    assert listing.state == "not downloaded"
    listing.load()
    assert listing.join(30)
    assert listing.preview.facts == ["1 file"]
    assert ">a.txt</td>" in listing.body.value
    assert not directory.downloaded


def test_a_remote_read_that_fails_says_why_and_can_be_tried_again() -> None:
    preview = DataPreview(fnb.FlyteFile("s3://no-such-bucket-for-flyte-nb-tests/k.csv"))
    preview.load()
    assert preview.join(60)
    assert preview.state == "error"
    assert "No preview: StorageError: " in preview.body.value
    assert "s3://no-such-bucket-for-flyte-nb-tests/k.csv" in preview.body.value
    assert preview.button.description == "Try again"
    assert preview.button.layout.display == ""


# -- where widgets do not render ------------------------------------------------------------------------
def test_displayed_in_a_cell_a_file_shows_its_preview_and_keeps_its_repr(tmp_path: pathlib.Path) -> None:
    (tmp_path / "s.csv").write_text("id\n1\n")
    shell = InteractiveShell.instance()
    if current_magics(shell) is None:  # the views are registered by the extension (kept: shared shell)
        shell.run_line_magic("load_ext", "flyte_nb")
    with capture_output() as captured:
        display(fnb.FlyteFile(str(tmp_path / "s.csv")))
        display([fnb.FlyteFile(str(tmp_path / "s.csv"))])  # inside a list: the repr, as before
        display(fnb.FlyteDirectory("s3://bucket/prefix/"))
    one, listed, remote = (o.data for o in captured.outputs)
    assert one["text/plain"] == repr(fnb.FlyteFile(str(tmp_path / "s.csv")))
    assert 'class="flyte-nb-preview flyte-nb-preview-file"' in one["text/html"]
    assert "text/html" not in listed
    assert "In remote storage: not listed." in remote["text/html"]


def test_the_static_execution_view_previews_data_outputs_without_downloading(tmp_path: pathlib.Path) -> None:
    from flyte_nb.notebook.views import _outputs_html

    (tmp_path / "s.csv").write_text("id\n1\n")
    page = _outputs_html(["f", "n"], (fnb.FlyteFile(str(tmp_path / "s.csv")), 3))
    assert "<b><code>f</code></b>" in page
    assert "<pre>3</pre>" in page
    assert 'class="flyte-nb-preview flyte-nb-preview-file"' in page
    assert ">1</td>" in page
    assert "not downloaded" in _outputs_html(["o0"], fnb.FlyteFile("s3://bucket/k.csv"))
    assert _outputs_html(["o0"], 3) == "<pre>3</pre>"
