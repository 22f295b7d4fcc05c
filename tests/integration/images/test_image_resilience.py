"""Interrupted uploads, builds and pushes: nothing corrupt is left, a retry completes."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from shipway.images import oci
from shipway.images.build import build
from shipway.images.build import layers as L
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.images.transfer import push
from shipway.model.errors import RegistryError

pytestmark = pytest.mark.integration


class CutOnce(httpx.BaseTransport):
    """The real HTTP transport, except that the Nth PATCH fails with a network error."""

    def __init__(self, nth: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.nth, self.patches = nth, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == self.nth:
                raise httpx.WriteError("connection reset by peer (simulated)")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_chunked_upload_resumes_after_a_network_error(registry) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(250_000)
    digest = oci.sha256_digest(data)
    transport = CutOnce(nth=2)
    with RegistryClient(registry.host, transport=transport) as client:
        client.upload_blob("resume/app", digest, data, chunk_size=100_000)
        assert client.get_blob("resume/app", digest) == data
    assert transport.patches == 4  # three chunks, one of them sent twice


def _context(tmp: Path, base_ref: str) -> Path:
    ctx = tmp / "ctx"
    ctx.mkdir()
    (ctx / "big.bin").write_bytes(os.urandom(2_000_000))
    (ctx / "small.txt").write_text("small\n")
    (ctx / "Dockerfile").write_text(f"FROM {base_ref}\nCOPY big.bin /big.bin\nCOPY small.txt /\n")
    return ctx


def test_interrupted_build_leaves_no_corrupt_cache(
    base_ref: str, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _context(tmp_path, base_ref)
    reference = build(ctx, store=Store(tmp_path / "reference")).digest
    real_write = L.write_tar

    def dying_write(entries: list[L.Entry], owner: L.Owner, out: object) -> None:
        compressing = getattr(out, "then", None) is not None  # write_layer, not tar_digest
        if compressing and any(e.name == "big.bin" for e in entries):
            out.write(b"\0" * 100_000)  # type: ignore[attr-defined]
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing the layer
        real_write(entries, owner, out)  # type: ignore[arg-type]

    monkeypatch.setattr(L, "write_tar", dying_write)
    with pytest.raises(KeyboardInterrupt):
        build(ctx, tags=["example.local/app:1"], store=store)
    monkeypatch.setattr(L, "write_tar", real_write)
    leftovers = [p.name for p in store.layout.blob_dir.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    assert "example.local/app:1" not in store.layout.tags()
    for kind in ("stat", "diff"):
        for entry in (
            (store.cache_dir / kind).glob("*") if (store.cache_dir / kind).exists() else []
        ):
            assert not entry.name.startswith(".tmp")
    assert build(ctx, tags=["example.local/app:1"], store=store).digest == reference


def test_interrupted_push_is_completed_by_a_retry(
    registry,
    base_ref: str,
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    ctx = _context(tmp_path, base_ref)
    res = build(ctx, store=store)
    real_upload = RegistryClient.upload_blob
    calls = []

    def failing_upload(
        self: RegistryClient, repository: str, digest: str, data: object, **kw: object
    ) -> None:
        calls.append(digest)
        if len(calls) == 2:
            raise RegistryError("registry failed with HTTP 503 after 5 attempts", status=503)
        real_upload(self, repository, digest, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(RegistryClient, "upload_blob", failing_upload)
    with RegistryClient(registry.host) as client, pytest.raises(RegistryError):
        push(store, res.digest, client, "resilience/app", ["1"])
    monkeypatch.setattr(RegistryClient, "upload_blob", real_upload)
    with RegistryClient(registry.host) as client:
        assert client.head_manifest("resilience/app", "1") is None  # no manifest without blobs
        stats = push(store, res.digest, client, "resilience/app", ["1"])
        assert client.head_manifest("resilience/app", "1") == res.digest
    assert calls[0] in stats.existing  # uploaded before the failure: not sent again
    assert calls[1] in stats.uploaded
