"""The layer cache: stat fingerprints and diff_ids mapped to stored layer blobs.

Two small JSON maps under ``<dir>``: ``stat/<key>`` → layer (the fast path: no
file is read) and ``diff/<diff_id hex>`` → layer (content seen before: no gzip).
An entry is used only when its blob is still in the layout. Writes are temp +
rename, so an interrupted build leaves no corrupt entry. Touches only ``<dir>``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from shipway.images.build.layers import Layer
from shipway.images.layout import Layout


class LayerCache:
    def __init__(self, root: Path, layout: Layout, *, read: bool = True) -> None:
        self.root = root
        self.layout = layout
        self.read = read  # False: --no-cache (entries are still written)

    def get(self, kind: str, key: str) -> Layer | None:
        if not self.read:
            return None
        f = self.root / kind / key
        try:
            data = json.loads(f.read_text())
            layer = Layer(data["digest"], data["diff_id"], int(data["size"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return layer if self.layout.has(layer.digest) else None

    def put(self, kind: str, key: str, layer: Layer) -> None:
        d = self.root / kind
        d.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=d, prefix=".tmp-")
        with os.fdopen(fd, "w") as fh:
            json.dump({"digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size}, fh)
        os.replace(name, d / key)

    def by_stat(self, key: str) -> Layer | None:
        return self.get("stat", key)

    def by_diff_id(self, diff_id: str) -> Layer | None:
        return self.get("diff", diff_id.removeprefix("sha256:"))

    def remember(self, layer: Layer, stat_key: str | None = None) -> None:
        self.put("diff", layer.diff_id.removeprefix("sha256:"), layer)
        if stat_key:
            self.put("stat", stat_key, layer)
