"""Pruning the local store keeps tagged images and the cache, drops the rest."""

from __future__ import annotations

import os
from pathlib import Path

from shipway.images import gc
from shipway.images.build import build
from shipway.images.store import Store


def _ctx(tmp_path: Path, content: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "f.txt").write_text(content)
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f.txt /\n")
    return ctx


def _age_all(store: Store) -> None:
    for f in store.layout.blob_dir.iterdir():
        os.utime(f, (1, 1))


def test_prune_keeps_tagged_and_cached_then_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    kept = build(_ctx(tmp_path, "one"), tags=["example.local/app:1"], store=store)
    untagged = build(_ctx(tmp_path, "two"), store=store)
    _age_all(store)
    first = gc.prune(store)
    assert first.blobs_removed == 2  # the untagged manifest and config; its layer is cached
    assert store.layout.has(kept.digest) and not store.layout.has(untagged.digest)
    second = gc.prune(store, cache=False)
    assert second.blobs_removed == 1 and second.cache_entries_removed > 0
    assert store.layout.has(kept.digest)
    again = build(_ctx(tmp_path, "one"), tags=["example.local/app:1"], store=store)
    assert again.digest == kept.digest


def test_prune_spares_fresh_blobs(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    res = build(_ctx(tmp_path, "fresh"), store=store)
    assert gc.prune(store, cache=False).blobs_removed == 0
    assert store.layout.has(res.digest)
