"""Tasks over files, directories and datasets (a module: containers import them by name)."""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import Annotated, Any, NamedTuple

import numpy as np
import pandas as pd

import flyte_nb as fnb

CsvFile = fnb.FlyteFile["csv"]
Scores = Annotated[pd.DataFrame, fnb.kwtypes(id=int, score=float, label=str)]
Top = Annotated[pd.DataFrame, fnb.kwtypes(id=int, score=float)]


class CsvSummary(NamedTuple):
    rows: int
    header: str
    doubled: CsvFile


@fnb.task
def summarize_csv(f: CsvFile) -> CsvSummary:
    """Read a CSV input in place and write a new CSV output (uploaded under the raw prefix)."""
    lines = pathlib.Path(f).read_text().splitlines()
    out = pathlib.Path(tempfile.mkdtemp()) / "doubled.csv"
    out.write_text("\n".join([lines[0], *lines[1:], *lines[1:]]) + "\n")
    return CsvSummary(len(lines) - 1, lines[0], CsvFile(str(out)))


@fnb.task
def same_file(f: fnb.FlyteFile) -> fnb.FlyteFile:
    """Return the input unchanged: its URI is kept, nothing is copied."""
    return f


@fnb.task
def file_size(f: fnb.FlyteFile) -> int:
    return os.path.getsize(f)


class Listing(NamedTuple):
    names: list[str]
    total: int
    copy: fnb.FlyteDirectory


@fnb.task
def list_directory(d: fnb.FlyteDirectory) -> Listing:
    """List a directory input and return a new directory (uploaded recursively)."""
    root = pathlib.Path(d)
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    out = pathlib.Path(tempfile.mkdtemp()) / "copy"
    for name in names:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((root / name).read_text().upper())
    return Listing(names, sum(len((root / n).read_text()) for n in names), fnb.FlyteDirectory(str(out)))


@fnb.task
def top_half(df: Scores) -> Top:
    """Declared columns select on read (``extra`` never arrives) and on the way out."""
    assert list(df.columns) == ["id", "score", "label"], list(df.columns)
    return df[df.score >= df.score.median()]


@fnb.task
def dataset_rows(sd: fnb.StructuredDataset) -> int:
    return len(sd.open(pd.DataFrame).all())


@fnb.task
def array_sum(x: np.ndarray) -> int:
    return int(x.sum())


@fnb.task
def pickled_len(x: Any) -> int:
    return len(x)
