"""Reclaiming space in the local store: ``prune`` removes what nothing needs.

A blob is kept when a tagged manifest (or an index's child) refers to it, or,
unless ``cache=False``, when the layer cache points at it. Blobs younger than
``grace`` seconds are always kept (an ongoing build writes blobs before it tags
them); unpacked stage roots are always removed (they are remade on demand),
and with ``cache=False`` RUN's kept commit layout too. Images in buildah's own
storage are left to ``buildah rmi``.
Touches only files under the store's root.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from shipway.images import oci
from shipway.images.store import Store


@dataclass
class PruneResult:
    blobs_removed: int = 0
    bytes_freed: int = 0
    cache_entries_removed: int = 0


def _reachable(store: Store) -> set[str]:
    keep: set[str] = set()
    todo = [str(m["digest"]) for m in store.layout.index().get("manifests", [])]
    while todo:
        digest = todo.pop()
        if digest in keep or not store.layout.has(digest):
            continue
        keep.add(digest)
        try:
            doc = store.layout.read_json(digest)
        except ValueError:
            continue
        todo += [m["digest"] for m in doc.get("manifests", [])]
        keep.update(d["digest"] for d in oci.blobs_of(doc))
    return keep


def _cached(store: Store) -> set[str]:
    out: set[str] = set()
    for f in store.cache_dir.glob("*/*"):
        try:
            out.add(str(json.loads(f.read_text())["digest"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def prune(store: Store, *, cache: bool = True, grace: float = 3600.0) -> PruneResult:
    result = PruneResult()
    keep = _reachable(store) | (_cached(store) if cache else set())
    now = time.time()
    if not cache and store.cache_dir.exists():
        result.cache_entries_removed = sum(1 for _ in store.cache_dir.glob("*/*"))
        shutil.rmtree(store.cache_dir)
    if not cache:  # RUN's kept commit layout (uncompressed base layers)
        shutil.rmtree(store.root / "buildah-out", ignore_errors=True)
    if store.layout.blob_dir.exists():
        for f in store.layout.blob_dir.iterdir():
            st = f.stat()
            if now - st.st_mtime < grace or f"sha256:{f.name}" in keep:
                continue
            f.unlink()
            result.blobs_removed += 1
            result.bytes_freed += st.st_size
    shutil.rmtree(store.root / "rootfs", ignore_errors=True)
    return result


def store_size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
