"""Reading a user's text file (a workflow, a resource, an event payload) within bounds.

``read_text`` refuses a file over the size limit before reading it (from its
``stat``), and bytes that are not UTF-8 with their line and column, both as
``InputError`` naming the file; a missing or unreadable file is an
``InputError`` too. Touches only the file it is given.
"""

from __future__ import annotations

from pathlib import Path

from shipway.model import bounded
from shipway.model.errors import InputError


def read_text(path: Path | str, shown: str | None = None) -> str:
    """The UTF-8 text of ``path``; ``shown`` is the name errors use (default the path)."""
    path = Path(path)
    name = shown or str(path)
    limit = bounded.max_file_bytes()
    try:
        size = path.stat().st_size
        if size > limit:
            raise bounded.size_error(size, limit, name)
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    return bounded.read_bytes_limited(data, name)
