"""Moving images between registries and OCI layouts: pull, push, copy.

``pull`` brings a manifest, its config and layers into a layout (only blobs it
lacks; one HEAD when the image is already there). ``push`` sends only what the
registry lacks: one HEAD of the manifest first, then a HEAD per blob, a
cross-repository mount when the blob is known in another repository of the
same registry, and an upload otherwise. Manifests are written after their
blobs, so an interrupted transfer never leaves a manifest pointing at nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.images import oci
from shipway.images.reference import Reference
from shipway.images.reference import parse as parse_ref
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.model.errors import NotFoundError, RegistryError

Log = Callable[[str], None]
CHUNKED_ABOVE = 64 << 20


@dataclass
class PushStats:
    bytes_uploaded: int = 0
    requests: int = 0
    uploaded: list[str] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def _quiet(_: str) -> None:
    return None


def pull(
    client: RegistryClient,
    ref: Reference,
    store: Store,
    *,
    on_line: Log = _quiet,
    all_platforms: bool = False,
) -> tuple[str, dict[str, Any]]:
    """Bring ``ref`` into the store; ``(manifest digest, manifest)``.

    An index resolves to its linux/amd64 image, unless ``all_platforms``: then
    every image of the index and the index itself are stored (what ``copy`` does).
    """
    layout = store.layout
    if ref.digest and layout.has(ref.digest) and not all_platforms:
        return ref.digest, layout.read_json(ref.digest)
    digest, mt, body = client.get_manifest(ref.repository, ref.reference)
    doc = json.loads(body)
    if mt in oci.INDEX_TYPES or "manifests" in doc:
        if all_platforms:
            for child in doc["manifests"]:
                _pull_image(client, ref, store, child["digest"], on_line)
            layout.put(body)
            return digest, doc
        child_digest = oci.pick_platform(doc)
        if child_digest is None:
            raise RegistryError("no linux/amd64 image in the index", subject=str(ref))
        return _pull_image(client, ref, store, child_digest, on_line)
    return _store_image(client, ref, store, digest, body, on_line)


def _pull_image(
    client: RegistryClient, ref: Reference, store: Store, digest: str, on_line: Log
) -> tuple[str, dict[str, Any]]:
    if store.layout.has(digest):
        return digest, store.layout.read_json(digest)
    _, _, body = client.get_manifest(ref.repository, digest)
    return _store_image(client, ref, store, digest, body, on_line)


def _store_image(
    client: RegistryClient, ref: Reference, store: Store, digest: str, body: bytes, on_line: Log
) -> tuple[str, dict[str, Any]]:
    """Download the blobs a manifest lacks, then store the manifest (last)."""
    doc: dict[str, Any] = json.loads(body)
    layout = store.layout
    if not layout.has(digest):
        for desc in oci.blobs_of(doc):
            d = desc["digest"]
            if not layout.has(d):
                on_line(f"pulling {d[:19]} ({desc.get('size', 0)} bytes) from {ref.name}")
                client.download_blob(ref.repository, d, layout.path(d))
            store.note_source(d, client.host, ref.repository)
        layout.put(body)
    return digest, doc


def resolve_pull(
    client: RegistryClient, ref: Reference, store: Store, *, on_line: Log = _quiet
) -> tuple[str, dict[str, Any]]:
    """Like ``pull`` but a HEAD first: nothing else is fetched when the image is stored."""
    if not ref.digest:
        head = client.head_manifest(ref.repository, ref.reference)
        if head and store.layout.has(head):
            doc = store.layout.read_json(head)
            if "manifests" not in doc:
                return head, doc
    return pull(client, ref, store, on_line=on_line)


def push(
    store: Store,
    manifest_digest: str,
    client: RegistryClient,
    repository: str,
    tags: list[str],
    *,
    on_line: Log = _quiet,
    chunk_size: int | None = None,
) -> PushStats:
    """Push a stored manifest (image or index) and its blobs; tag it with ``tags``."""
    stats = PushStats()
    before_req, before_bytes = client.requests, client.bytes_uploaded
    body = store.layout.read(manifest_digest)
    doc = json.loads(body)
    mt = oci.media_type_of(body, None)
    if client.head_manifest(repository, manifest_digest) is None:
        if "manifests" in doc:
            for child in doc["manifests"]:
                sub = push(store, child["digest"], client, repository, [], on_line=on_line)
                _merge(stats, sub)
        for desc in oci.blobs_of(doc):
            _push_blob(store, client, repository, desc, stats, on_line, chunk_size)
        for ref in tags or [manifest_digest]:  # a tag PUT stores the digest too
            client.put_manifest(repository, ref, body, mt)
    else:
        for tag in tags:  # re-push: only tags that point elsewhere are rewritten
            if client.head_manifest(repository, tag) != manifest_digest:
                client.put_manifest(repository, tag, body, mt)
    for desc in oci.blobs_of(doc):
        store.note_source(desc["digest"], client.host, repository)
    stats.requests += client.requests - before_req
    stats.bytes_uploaded += client.bytes_uploaded - before_bytes
    return stats


def _merge(stats: PushStats, sub: PushStats) -> None:
    stats.uploaded += sub.uploaded
    stats.mounted += sub.mounted
    stats.existing += sub.existing


def _push_blob(
    store: Store,
    client: RegistryClient,
    repository: str,
    desc: dict[str, Any],
    stats: PushStats,
    on_line: Log,
    chunk_size: int | None,
) -> None:
    digest, size = desc["digest"], int(desc.get("size", 0))
    if client.blob_exists(repository, digest):
        stats.existing.append(digest)
        return
    prefix = client.host + "/"
    for source in store.sources(digest):
        other = source[len(prefix) :]
        if (
            source.startswith(prefix)
            and other != repository
            and client.mount_blob(repository, digest, other)
        ):
            on_line(f"mounted {digest[:19]} from {source}")
            stats.mounted.append(digest)
            return
    on_line(f"uploading {digest[:19]} ({size} bytes) to {client.host}/{repository}")
    path = store.layout.path(digest)
    if chunk_size is None and size > CHUNKED_ABOVE:
        chunk_size = 16 << 20
    client.upload_blob(repository, digest, path, chunk_size=chunk_size)
    stats.uploaded.append(digest)


def client_for(ref: Reference, insecure: bool | None = None) -> RegistryClient:
    return RegistryClient(ref.registry, insecure=insecure)


@dataclass
class CopyResult:
    source: str
    destination: str
    digest: str
    pushed: str | None = None
    bytes_uploaded: int = 0
    requests: int = 0


def _store_for(ref: Reference, default: Store) -> Store:
    return Store.for_layout(Path(ref.oci_dir), default.root) if ref.oci_dir else default


def resolve_local(store: Store, ref: Reference) -> str:
    """The manifest digest a local name (``oci:DIR:TAG`` or a built tag) points at."""
    if ref.digest and store.layout.has(ref.digest):
        return ref.digest
    if ref.oci_dir and not ref.tag:
        return store.layout.only()  # oci:DIR: the layout's one image
    name = str(ref.tag) if ref.oci_dir else str(ref)
    return str(store.layout.resolve(name)["digest"])


def copy(
    src: str,
    dst: str,
    *,
    insecure: bool | None = None,
    on_line: Log = _quiet,
    store: Store | None = None,
    local_first: bool = False,
) -> CopyResult:
    """Copy an image (a whole index too) between registries, OCI layouts and the store.

    ``local_first``: a source name tagged in the local store (a build) is taken
    from there (what ``push`` wants); otherwise the registry is the truth. Within
    one registry nothing is downloaded: blobs are mounted, manifests re-put.
    """
    base = store or Store()
    s_ref, d_ref = parse_ref(src), parse_ref(dst)
    if (
        not local_first
        and not s_ref.oci_dir
        and not d_ref.oci_dir
        and s_ref.registry == d_ref.registry
    ):
        return _copy_in_registry(s_ref, d_ref, insecure, on_line)
    if s_ref.oci_dir:
        s_store = _store_for(s_ref, base)
        digest = resolve_local(s_store, s_ref)
    else:
        s_store = _store_for(d_ref, base) if d_ref.oci_dir else base
        digest = ""
        if local_first:
            with contextlib.suppress(NotFoundError):
                digest = resolve_local(base, s_ref)
                s_store = base
        if not digest:
            with client_for(s_ref, insecure) as client:
                digest, _ = pull(client, s_ref, s_store, on_line=on_line, all_platforms=True)
    result = CopyResult(str(s_ref), str(d_ref), digest)
    if d_ref.oci_dir:
        d_store = _store_for(d_ref, base)
        copy_blobs(s_store, d_store, digest)
        d_store.layout.tag(d_ref.tag or "latest", _descriptor(d_store, digest))
        return result
    with client_for(d_ref, insecure) as client:
        tags = [d_ref.tag] if d_ref.tag and not d_ref.digest else []
        stats = push(s_store, digest, client, d_ref.repository, tags, on_line=on_line)
    result.pushed = d_ref.pinned(digest)
    result.bytes_uploaded, result.requests = stats.bytes_uploaded, stats.requests
    return result


def _copy_in_registry(
    s_ref: Reference, d_ref: Reference, insecure: bool | None, on_line: Log
) -> CopyResult:
    with client_for(s_ref, insecure) as client:
        before = client.requests
        digest = _mount_manifest(
            client, s_ref.repository, s_ref.reference, d_ref.repository, on_line
        )
        if d_ref.tag and not d_ref.digest:
            _, mt, body = client.get_manifest(d_ref.repository, digest)
            if client.head_manifest(d_ref.repository, d_ref.tag) != digest:
                client.put_manifest(d_ref.repository, d_ref.tag, body, mt)
        result = CopyResult(str(s_ref), str(d_ref), digest, pushed=d_ref.pinned(digest))
        result.requests = client.requests - before
    return result


def _mount_manifest(
    client: RegistryClient, src_repo: str, reference: str, dst_repo: str, on_line: Log
) -> str:
    """Make ``src_repo:reference`` exist in ``dst_repo`` by mounts; returns its digest."""
    digest, mt, body = client.get_manifest(src_repo, reference)
    if client.head_manifest(dst_repo, digest) is not None:
        return digest
    doc = json.loads(body)
    for child in doc.get("manifests", []):
        _mount_manifest(client, src_repo, child["digest"], dst_repo, on_line)
    for desc in oci.blobs_of(doc):
        d = desc["digest"]
        if not client.blob_exists(dst_repo, d) and not client.mount_blob(dst_repo, d, src_repo):
            raise RegistryError(
                f"the registry would not mount {d} from {src_repo}",
                subject=f"{client.host}/{dst_repo}",
            )
        on_line(f"mounted {d[:19]} into {client.host}/{dst_repo}")
    client.put_manifest(dst_repo, digest, body, mt)
    return digest


def _descriptor(store: Store, digest: str) -> dict[str, Any]:
    body = store.layout.read(digest)
    return {"mediaType": oci.media_type_of(body, None), "digest": digest, "size": len(body)}


def copy_blobs(src: Store, dst: Store, digest: str) -> None:
    if src.layout.root == dst.layout.root:
        return
    doc = src.layout.read_json(digest)
    for child in doc.get("manifests", []):
        copy_blobs(src, dst, child["digest"])
    for desc in oci.blobs_of(doc):
        if not dst.layout.has(desc["digest"]):
            with dst.layout.writer() as w, open(src.layout.path(desc["digest"]), "rb") as fh:
                shutil.copyfileobj(fh, w)
                w.commit(desc["digest"])
    dst.layout.put(src.layout.read(digest))
