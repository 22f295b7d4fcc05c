"""Read-only questions about images: inspect a reference, list a repository's tags.

Works on registry references and on ``oci:DIR[:TAG]`` layouts alike (and on
images built locally, found in the store by their full name).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from shipway.images import oci
from shipway.images.layout import Layout
from shipway.images.reference import parse, parse_repository
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.model.errors import NotFoundError, RegistryError


def inspect(
    ref_text: str, *, insecure: bool | None = None, store: Store | None = None
) -> dict[str, Any]:
    """Digest, media type, manifest and config of an image (linux/amd64 of an index)."""
    ref = parse(ref_text)
    if ref.oci_dir is not None:
        lay = Layout(Path(ref.oci_dir))
        return _inspect_layout(lay, ref.tag or lay.only(), str(ref))
    with RegistryClient(ref.registry, insecure=insecure) as client:
        try:
            index_digest, mt, body = client.get_manifest(ref.repository, ref.reference)
        except RegistryError as exc:
            if store is not None:
                with contextlib.suppress(NotFoundError):
                    return _inspect_layout(store.layout, str(ref), str(ref))
            if exc.status == 404:  # a missing tag or repository: not found (exit 3)
                raise NotFoundError(exc.message, subject=exc.subject) from exc
            raise
        doc = oci.json_object(body, str(ref), "manifest")
        out: dict[str, Any] = {"name": str(ref), "digest": index_digest, "mediaType": mt}
        if mt in oci.INDEX_TYPES or "manifests" in doc:
            out["index"] = doc
            child = oci.pick_platform(doc)
            if child is None:
                out["manifest"], out["config"] = None, None
                return out
            _, mt, body = client.get_manifest(ref.repository, child)
            doc = oci.json_object(body, str(ref), "manifest")
            out["platformDigest"] = child
        out["manifest"] = doc
        blob = client.get_blob(ref.repository, doc["config"]["digest"])
        out["config"] = oci.json_object(blob, str(ref), "image config")
    return out


def _inspect_layout(layout: Layout, name: str, shown: str) -> dict[str, Any]:
    desc = layout.resolve(name)
    digest = str(desc["digest"])
    doc = layout.read_json(digest)
    out: dict[str, Any] = {"name": shown, "digest": digest, "mediaType": desc.get("mediaType")}
    if "manifests" in doc:
        out["index"] = doc
        child = oci.pick_platform(doc)
        if child is None:
            return out
        doc = layout.read_json(child)
        out["platformDigest"] = child
    out["manifest"] = doc
    out["config"] = layout.read_json(doc["config"]["digest"])
    return out


def tags(repo_text: str, *, insecure: bool | None = None) -> list[str]:
    """The tags of a repository (or of an ``oci:DIR`` layout)."""
    ref = parse(repo_text, default_tag=None)
    if ref.oci_dir is not None:
        return sorted(Layout(Path(ref.oci_dir)).tags())
    ref = parse_repository(repo_text)
    with RegistryClient(ref.registry, insecure=insecure) as client:
        return client.list_tags(ref.repository)
