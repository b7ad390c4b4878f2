"""What a file, a directory or a dataset looks like in a result — as plain data, HTML and text, without
ipywidgets (the static views use it too).

* a **file**: its name, its size, and a preview — the first lines of text, the first rows of a CSV file
  as a table, an image inline (scaled down to fit) — or why there is none (binary data, an image too
  large to inline);
* a **directory**: how many files and subdirectories it holds, their total size, and its first entries;
* a **dataset**: its column schema (declared and stored), its size when the format tells, and its first
  rows.

Only the start of anything is read: ``HEAD_BYTES`` of a file (an image up to ``IMAGE_BYTES``), a
dataset's first rows, a directory's first ``WALK_LIMIT`` entries. Data already in this process or on
this machine's disk is previewed at once; data in remote storage only when asked (``fetch=True``: the
widget's *Download preview* button), so showing a result never downloads anything by itself.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import os
from dataclasses import dataclass, field
from typing import IO, Any

from flyte_nb.core import uris
from flyte_nb.errors import FlyteNbError
from flyte_nb.notebook.widgets import _render as r
from flyte_nb.notebook.widgets._coerce import loaded_class

__all__ = [
    "Preview",
    "count",
    "is_previewable",
    "make_preview",
    "needs_download",
    "preview_html",
    "preview_text",
]

HEAD_BYTES = 64 * 1024  # bytes of a file read for a text or CSV preview
IMAGE_BYTES = 2_000_000  # largest image shown inline
TEXT_LINES = 20
TEXT_LINE_CHARS = 300
TABLE_ROWS = 10
TABLE_COLUMNS = 20
CELL_CHARS = 60
LIST_ENTRIES = 30  # directory entries listed
WALK_LIMIT = 10_000  # directory entries counted before giving "at least"

_IMAGES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "svg": "image/svg+xml",  # as an <img>, an SVG's scripts never run
}
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
_TABLES = {"csv": ",", "tsv": "\t"}


@dataclass
class Preview:
    """What a result shows for a file, a directory or a dataset."""

    kind: str  # "file", "directory" or "dataset"
    name: str
    facts: list[str] = field(default_factory=list)  # "52 B", "CSV", "3 files"…
    source: str = ""  # the remote URI (local paths are not shown: the value's repr has them)
    loaded: bool = True  # False: in remote storage and not fetched
    html: str = ""  # the body
    text: str = ""
    note: str = ""  # what was left out
    error: str = ""


def _kind_of(value: Any) -> str | None:
    for kind, module, name in (
        ("file", "flyte_nb.core.types.file", "FlyteFile"),
        ("directory", "flyte_nb.core.types.directory", "FlyteDirectory"),
        ("dataset", "flyte_nb.core.types.structured_dataset", "StructuredDataset"),
    ):
        cls = loaded_class(module, name)
        if cls is not None and isinstance(value, cls):
            return kind
    return None


def is_previewable(value: Any) -> bool:
    """True for a ``FlyteFile``, ``FlyteDirectory`` or ``StructuredDataset``."""
    return _kind_of(value) is not None


def _remote_source(value: Any) -> str | None:
    """Where a file or directory handle reads from when that is remote storage (a run's in-memory data
    is not: it is read at once, as a local file is)."""
    source = getattr(value, "remote_source", None)
    return source if source and uris.scheme(source) != "memory" else None


def needs_download(value: Any) -> bool:
    """True when previewing ``value`` means reading from remote storage."""
    kind = _kind_of(value)
    if kind == "dataset":
        from flyte_nb.core.types.structured_dataset import dataset_is_remote

        return dataset_is_remote(value)
    return kind is not None and _remote_source(value) is not None


def count(n: int, noun: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def size_text(n: int) -> str:
    """``52 B``, ``1.2 kB``, ``3.4 MB`` (decimal units)."""
    if n < 1000:
        return f"{n} B"
    value, unit = n / 1000, "kB"
    for bigger in ("MB", "GB", "TB"):
        if value < 999.95:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}"


def make_preview(value: Any, *, fetch: bool = False) -> Preview:
    """The preview of a file, directory or dataset; remote data is read only when ``fetch``. Never raises:
    a failure to read is the preview's :attr:`Preview.error`."""
    kind = _kind_of(value)
    if kind is None:
        raise FlyteNbError(f"expected a FlyteFile, FlyteDirectory or StructuredDataset, got {type(value)!r}")
    builder = {"file": _file, "directory": _directory, "dataset": _dataset}[kind]
    preview = Preview(kind, "")
    remote = needs_download(value)
    try:
        builder(value, preview, read=fetch or not remote)
    except (OSError, FlyteNbError, ValueError, ImportError) as exc:
        # OSError covers StorageError; ValueError/ImportError: a reader (pandas, pyarrow) refusing the data
        preview.error = f"{type(exc).__name__}: {exc}"
    preview.loaded = not remote or fetch
    return preview


# -- files ----------------------------------------------------------------------------------------------
def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name.lstrip(".") else ""


def _size_of(fh: IO[bytes]) -> int | None:
    size = getattr(fh, "size", None)
    if isinstance(size, int):
        return size
    if fh.seekable():
        here = fh.tell()
        end = fh.seek(0, io.SEEK_END)
        fh.seek(here)
        return int(end)
    return None


def _file(value: Any, preview: Preview, *, read: bool) -> None:
    source = _remote_source(value)
    where = source or str(value.path)
    preview.name = where.rstrip("/").rsplit("/", 1)[-1] or where
    preview.source = source or ""
    ext = _extension(preview.name)
    preview.facts.append(ext.upper() if ext else "no extension")
    if not read:
        preview.note = "In remote storage: not downloaded."
        return
    limit = IMAGE_BYTES + 1 if ext in _IMAGES else HEAD_BYTES
    local = None if source or getattr(value, "remote_source", None) else uris.local_path(where)
    with open(local, "rb") if local is not None else value.open("rb") as fh:
        head = fh.read(limit)  # first: a remote file's size comes with it
        size = _size_of(fh)
    if size is None and len(head) < limit:
        size = len(head)
    preview.facts.insert(0, size_text(size) if size is not None else "size unknown")
    _file_body(preview, head, ext, complete=size is not None and len(head) >= size)


def _file_body(preview: Preview, head: bytes, ext: str, *, complete: bool) -> None:
    mime = _IMAGES.get(ext) or next((m for magic, m in _MAGIC.items() if head.startswith(magic)), None)
    if mime is not None:
        if not complete or len(head) > IMAGE_BYTES:
            preview.note = f"An image larger than {size_text(IMAGE_BYTES)}: not shown inline."
            return
        data = base64.b64encode(head).decode()
        preview.html = (
            f'<img class="flyte-nb-preview-image" src="data:{mime};base64,{data}" alt="{r.escape(preview.name)}" '
            'style="max-width:min(100%, 480px);max-height:320px;object-fit:contain">'
        )
        preview.text = f"({mime} image)"
        return
    text = _decode(head, complete=complete)
    if text is None:
        preview.note = "Binary data: no preview."
        return
    lines = text.splitlines()
    if not complete and lines and not text.endswith(("\n", "\r")):
        lines.pop()  # the last line read was cut short
    if ext in _TABLES:
        _table(preview, lines, _TABLES[ext], complete=complete)
    else:
        _text(preview, lines, complete=complete)


def _decode(head: bytes, *, complete: bool) -> str | None:
    """``head`` as text, or ``None`` for binary data (a cut multi-byte character at the end is fine)."""
    if b"\0" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not complete and exc.start >= len(head) - 3:
            return head[: exc.start].decode("utf-8", errors="replace")
        return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(preview: Preview, lines: list[str], *, complete: bool) -> None:
    shown = [_cut(line, TEXT_LINE_CHARS) for line in lines[:TEXT_LINES]]
    preview.facts.append(count(len(lines), "line") if complete else "text")
    if len(lines) > TEXT_LINES or not complete:
        preview.note = f"The first {len(shown)} lines."
    body = "\n".join(shown)
    preview.html = (
        f'<pre class="flyte-nb-preview-text" style="margin:4px 0;max-height:24em;overflow:auto;'
        f'white-space:pre-wrap;overflow-wrap:anywhere">{r.escape(body)}</pre>'
    )
    preview.text = body


def _table(preview: Preview, lines: list[str], delimiter: str, *, complete: bool) -> None:
    rows = list(csv.reader(lines, delimiter=delimiter))
    header, data = (rows[0], rows[1:]) if rows else ([], [])
    preview.facts.append(count(len(header), "column") + (f", {count(len(data), 'row')}" if complete else ""))
    shown = data[:TABLE_ROWS]
    if len(data) > TABLE_ROWS or not complete:
        preview.note = f"The first {len(shown)} rows" + (f" of {len(data):,}." if complete else ".")
    preview.html = table_html(header, shown)
    preview.text = "\n".join(" | ".join(row[:TABLE_COLUMNS]) for row in [header, *shown])


def table_html(header: list[str], rows: list[list[str]]) -> str:
    """A bounded table: ``TABLE_COLUMNS`` columns at most, each cell cut to ``CELL_CHARS``."""
    cut = len(header) > TABLE_COLUMNS
    head = "".join(
        f'<th style="{r.CELL}">{r.escape(_cut(h, CELL_CHARS))}</th>' for h in header[:TABLE_COLUMNS]
    )
    more = f'<th style="{r.CELL};color:{r.MUTED}">…</th>' if cut else ""
    body = "".join(
        "<tr>"
        + "".join(f'<td style="{r.CELL}">{r.escape(_cut(c, CELL_CHARS))}</td>' for c in row[:TABLE_COLUMNS])
        + (f'<td style="{r.CELL};color:{r.MUTED}">…</td>' if cut else "")
        + "</tr>"
        for row in rows
    )
    return (
        '<div style="overflow-x:auto"><table class="flyte-nb-preview-table" style="border-collapse:collapse;'
        f'margin:4px 0;font-size:90%"><thead><tr>{head}{more}</tr></thead><tbody>{body}</tbody></table></div>'
    )


# -- directories ----------------------------------------------------------------------------------------
def _directory(value: Any, preview: Preview, *, read: bool) -> None:
    source = _remote_source(value)
    where = source or getattr(value, "remote_source", None) or str(value.path)
    preview.name = (where.rstrip("/").rsplit("/", 1)[-1] or where) + "/"
    preview.source = source or ""
    if not read:
        preview.note = "In remote storage: not listed."
        return
    local = uris.local_path(where) if getattr(value, "remote_source", None) is None else None
    if local is not None:
        entries, dirs, total, complete = _walk(local)
    else:  # listed through the store the handle reads with (sizes are not known without reading)
        listed = list(itertools.islice((rel for _base, rel in value.crawl()), WALK_LIMIT + 1))
        complete = len(listed) <= WALK_LIMIT
        entries = [(rel, None) for rel in listed[:WALK_LIMIT]]
        dirs = len({rel.rsplit("/", 1)[0] for rel, _ in entries if "/" in rel})
        total = None
    more = "" if complete else "at least "
    preview.facts.append(f"{more}{len(entries):,} file{'s' if len(entries) != 1 else ''}")
    if dirs:
        preview.facts.append(f"{more}{dirs:,} subdirector{'ies' if dirs != 1 else 'y'}")
    if total is not None:
        preview.facts.append(f"{more}{size_text(total)}")
    shown = entries[:LIST_ENTRIES]
    if len(entries) > len(shown):
        preview.note = f"The first {len(shown)} files."
    rows = [[rel, size_text(size) if size is not None else ""] for rel, size in shown]
    preview.html = table_html(["file", "size"], rows) if rows else f'<i style="color:{r.MUTED}">empty</i>'
    preview.text = "\n".join(f"{rel}  {size}".rstrip() for rel, size in rows) or "(empty)"


def _walk(root: str) -> tuple[list[tuple[str, int | None]], int, int, bool]:
    """Files (relative path, size), subdirectory count, total size, and whether the walk saw it all."""
    entries: list[tuple[str, int | None]] = []
    dirs = total = 0
    for path, subdirs, names in os.walk(root):
        subdirs.sort()
        dirs += len(subdirs)
        for name in sorted(names):
            full = os.path.join(path, name)
            try:
                size = os.path.getsize(full)
            except OSError:  # removed meanwhile, or a dangling link
                size = None
            total += size or 0
            entries.append((os.path.relpath(full, root).replace(os.sep, "/"), size))
            if len(entries) + dirs > WALK_LIMIT:
                return entries, dirs, total, False
    return entries, dirs, total, True


# -- datasets -------------------------------------------------------------------------------------------
def _dataset(value: Any, preview: Preview, *, read: bool) -> None:
    from flyte_nb.core.types.structured_dataset import dataset_head

    literal = value.literal
    uri = literal.uri if literal is not None else (value.uri or "")
    fmt = value.file_format or (
        literal.metadata.structured_dataset_type.format if literal is not None else ""
    )
    preview.source = uri if uri and needs_download(value) else ""
    preview.facts.append("a DataFrame in memory" if value.dataframe is not None else fmt or "parquet")
    declared = [c.name for c in value.metadata.structured_dataset_type.columns] if value.metadata else []
    if declared:
        preview.facts.append(f"declared columns {', '.join(declared)}")
    if not read:
        preview.note = "In remote storage: not downloaded."
        return
    head = dataset_head(value, TABLE_ROWS)
    if head.total_rows is not None:
        preview.facts.append(count(head.total_rows, "row"))
    if head.files is not None and head.files > 1:
        preview.facts.append(f"{head.files} files")
    schema = table_html(["column", "type"], [[n, t] for n, t in head.columns])
    frame = head.frame
    header = [str(c) for c in frame.columns]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    preview.html = (
        f'<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">{schema}'
        f"{table_html(header, rows)}</div>"
    )
    if head.total_rows is None or head.total_rows > len(rows):
        preview.note = f"The first {len(rows)} rows" + (
            f" of {head.total_rows:,}." if head.total_rows is not None else "."
        )
    preview.text = "\n".join(
        [
            "columns: " + ", ".join(f"{n} ({t})" for n, t in head.columns),
            *(" | ".join(row[:TABLE_COLUMNS]) for row in [header, *rows]),
        ]
    )


# -- rendering ------------------------------------------------------------------------------------------


def preview_html(preview: Preview) -> str:
    """The preview as HTML (the theme's colours; bounded size)."""
    facts = " · ".join(r.escape(f) for f in preview.facts)
    parts = [
        f'<div class="flyte-nb-preview flyte-nb-preview-{preview.kind}" style="border:1px solid {r.BORDER};'
        'border-radius:4px;padding:4px 8px;margin:2px 0;max-width:100%;overflow:hidden">',
        f'<div><span style="color:{r.MUTED}">{preview.kind}</span> '
        + (f'<b class="flyte-nb-preview-name">{r.escape(preview.name)}</b>' if preview.name else "")
        + (f' <span style="color:{r.MUTED}">· {facts}</span>' if facts else "")
        + "</div>",
    ]
    if preview.source:
        parts.append(
            f'<div style="color:{r.MUTED};overflow-wrap:anywhere"><code>{r.escape(preview.source)}</code></div>'
        )
    if preview.error:
        parts.append(
            f'<div class="flyte-nb-preview-error" style="color:{r.ERROR_FG};white-space:pre-wrap">'
            f"No preview: {r.escape(preview.error)}</div>"
        )
    parts.append(preview.html)
    if preview.note:
        parts.append(
            f'<div class="flyte-nb-preview-note" style="color:{r.MUTED}">{r.escape(preview.note)}</div>'
        )
    parts.append("</div>")
    return "".join(parts)


def preview_text(preview: Preview) -> str:
    """The preview as plain text."""
    head = f"{preview.kind} {preview.name}".rstrip() + (
        f" · {' · '.join(preview.facts)}" if preview.facts else ""
    )
    lines = [head]
    if preview.source:
        lines.append(f"  {preview.source}")
    if preview.error:
        lines.append(f"  No preview: {preview.error}")
    lines += [f"  {line}" for line in preview.text.splitlines()]
    if preview.note:
        lines.append(f"  {preview.note}")
    return "\n".join(lines)
