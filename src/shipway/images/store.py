"""The local image store: an OCI layout plus the builder's cache and blob provenance.

``Store(root)`` keeps ``<root>/oci`` (the OCI layout, built and pulled images),
``<root>/cache`` (layer cache) and ``<root>/sources`` (which registry
repositories are known to hold a blob, for cross-repository mounts). The
default root is ``$SHIPWAY_HOME/images``. Touches only files under its root.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from shipway import settings
from shipway.images.layout import Layout


class Store:
    def __init__(self, root: Path | None = None, layout: Layout | None = None) -> None:
        self.root = Path(root) if root else settings.load().home / "images"
        self.layout = layout or Layout(self.root / "oci")
        self.cache_dir = self.root / "cache"

    @classmethod
    def for_layout(cls, layout_dir: Path, root: Path | None = None) -> Store:
        """A store whose images live in the OCI layout ``layout_dir`` (``oci:DIR`` refs)."""
        return cls(root, Layout(layout_dir))

    def _sources_file(self, digest: str) -> Path:
        return self.root / "sources" / digest.removeprefix("sha256:")

    def sources(self, digest: str) -> list[str]:
        """``host/repository`` names known to hold ``digest``."""
        try:
            data = json.loads(self._sources_file(digest).read_text())
        except (OSError, ValueError):
            return []
        return [s for s in data if isinstance(s, str)] if isinstance(data, list) else []

    def note_source(self, digest: str, host: str, repository: str) -> None:
        name = f"{host}/{repository}"
        known = self.sources(digest)
        if name in known:
            return
        f = self._sources_file(digest)
        f.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=f.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as fh:
            json.dump([*known[-15:], name], fh)
        os.replace(tmp, f)
