"""Reading and writing the files a task exchanges with Flyte: local paths, ``file://`` and fsspec URIs.

Propeller hands the container URIs (``--inputs``, ``--output-prefix``, ``--raw-output-data-prefix``) in
whatever blob store the cluster uses. Local paths and ``file://`` URIs always work. Any other scheme
(``s3://``, ``gs://``, ``abfs://``…) goes through fsspec, imported on first use; when fsspec or the
scheme's implementation is missing, the error names the extra to install (``pip install 'flyte-nb[s3]'``).
The scheme handling itself is :mod:`flyte_nb.core.uris`, shared with every other place a literal's URI
is read; this module adds the store a container run writes its raw data through.

Writes are *atomic*: a local file is written to a temporary name in the same directory and renamed into
place, and an object store receives one whole-object PUT. A reader therefore never sees half of an
``outputs.pb``, even when the writer is killed mid-write. What a killed writer leaves behind is its
temporary ``.<name>.<8 hex>.part`` file; :func:`remove_partial_writes` removes those, and
``flyte-nb-execute`` calls it on its attempt's directories before it runs.
"""

from __future__ import annotations

import os
import tempfile

from flyte_nb.core.storage import BaseStore
from flyte_nb.core.uris import exists, join, read_bytes, remove_partial_writes, write_bytes_atomic

__all__ = [
    "UriStore",
    "exists",
    "join",
    "read_bytes",
    "remove_partial_writes",
    "store_for",
    "write_bytes_atomic",
]


class UriStore(BaseStore):
    """A :class:`~flyte_nb.core.storage.BaseStore` writing under any prefix this process can reach.

    New raw data is written under ``raw_prefix``; reads accept any local path or URI, because inputs may
    point at data another execution wrote elsewhere. Local file values are uploaded under the prefix,
    as in a container on a cluster.
    """

    def __init__(self, raw_prefix: str) -> None:
        self._prefix = raw_prefix

    @property
    def raw_prefix(self) -> str:
        """The prefix new raw data is written under."""
        return self._prefix

    def new_uri(self, name: str = "") -> str:
        """A fresh URI ``<raw_prefix>/<32 hex>[/<name>]``; nothing is written yet."""
        return join(self._prefix, os.urandom(16).hex(), name)

    def __repr__(self) -> str:
        return f"UriStore({self._prefix!r})"


def store_for(raw_prefix: str | None) -> UriStore:
    """The raw-data store for a task run whose raw output prefix is ``raw_prefix``.

    ``None`` (no prefix given) means a new local temporary directory, which is *not* removed: values
    written there are referenced by the outputs the run leaves behind.
    """
    if raw_prefix is None:
        raw_prefix = tempfile.mkdtemp(prefix="flyte-nb-raw-")
    return UriStore(raw_prefix)
