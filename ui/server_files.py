"""The Benchmark page's "file on the server" source: which folder it may read, and whether it is on.

A path typed into the page is read only inside one folder (``TALE_SERVER_FILES_DIR``, by default the
app's data folder ``TALE_DATA_DIR``), only as a JSONL/JSON/CSV/TSV file, and an error never shows the
file's content. ``TALE_SERVER_FILES=off`` removes the source altogether (hosted mode turns it off).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tale_core.data.datasets import Dataset, load_server_file
from tale_core.errors import TaleError

_OFF = {"0", "off", "false", "no", "disabled"}


def enabled() -> bool:
    """Whether visitors may name a file on the server at all."""
    return (os.environ.get("TALE_SERVER_FILES") or "on").strip().lower() not in _OFF


def root() -> Path:
    """The only folder paths typed into the app may read from."""
    folder = os.environ.get("TALE_SERVER_FILES_DIR") or os.environ.get("TALE_DATA_DIR") or "data"
    return Path(folder).resolve()


def load(typed: str, **kw: Any) -> Dataset:
    """The dataset at ``typed`` inside :func:`root`; a :class:`TaleError` when off, outside or unreadable."""
    if not enabled():
        raise TaleError("Reading files on the server is switched off here: upload the file instead.")
    return load_server_file(typed, root(), **kw)
