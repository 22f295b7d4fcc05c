"""SBOMs of images: resolve a reference, walk its layers, keep the SBOM next to it.

Adapter over ``shipway.images``: a reference is an ``oci:DIR[:TAG]`` layout, a
name built or pulled into shipway's store, or a registry image (pulled into
the store first: only blobs it lacks, one HEAD when it is there). The SBOM
of a manifest digest is kept at ``<store>/sbom/<hex>.json`` (shipway's JSON),
so asking again costs one file read. Touches the image store only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shipway.images import oci
from shipway.images.layout import Layout
from shipway.images.reference import parse as parse_ref
from shipway.images.store import Store
from shipway.images.transfer import client_for, resolve_local, resolve_pull
from shipway.model.errors import InputError, NotFoundError
from shipway.security.sbom.model import Sbom
from shipway.security.sbom.purls import with_purls
from shipway.security.sbom.walk import walk

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass
class ResolvedImage:
    name: str
    digest: str  # the image manifest digest (linux/amd64 of an index)
    manifest: dict[str, Any]
    layout: Layout
    store: Store


def _platform(layout: Layout, digest: str, name: str) -> tuple[str, dict[str, Any]]:
    doc = layout.read_json(digest)
    if "manifests" in doc:
        child = oci.pick_platform(doc)
        if child is None:
            raise NotFoundError("no linux/amd64 image in the index", subject=name)
        return child, layout.read_json(child)
    return digest, doc


def resolve(
    ref_text: str, *, insecure: bool | None = None, store: Store | None = None
) -> ResolvedImage:
    """Find the image ``ref_text`` names, its blobs in a local layout."""
    base = store or Store()
    ref = parse_ref(ref_text)
    if ref.oci_dir is not None:
        s = Store.for_layout(Path(ref.oci_dir), base.root)
        digest = resolve_local(s, ref)
    else:
        s = base
        try:
            digest = resolve_local(base, ref)
        except NotFoundError:
            with client_for(ref, insecure) as client:
                digest, _ = resolve_pull(client, ref, base)
    digest, manifest = _platform(s.layout, digest, ref_text)
    return ResolvedImage(ref_text, digest, manifest, s.layout, s)


def _opener(path: Path, digest: str) -> Callable[[], IO[bytes]]:
    def open_layer() -> IO[bytes]:
        fh = open(path, "rb")  # noqa: SIM115 (the walker closes it)
        if fh.read(4) == ZSTD_MAGIC:
            fh.close()
            raise InputError("zstd-compressed layers are not supported", subject=digest)
        fh.seek(0)
        return fh

    return open_layer


def make(img: ResolvedImage) -> Sbom:
    """Walk the image's layers (no cache)."""
    descs = list(img.manifest.get("layers", []))
    digests = [str(d["digest"]) for d in descs]
    layers = [(d, _opener(img.layout.path(d), d)) for d in digests]
    try:
        res = walk(layers)
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise InputError(f"cannot read a layer: {exc}", subject=img.name) from exc
    return Sbom(
        image=img.name,
        digest=img.digest,
        layers=[d for d, _ in layers],
        distro=res.distro,
        packages=with_purls(res.packages, res.distro),
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def cache_path(store: Store, digest: str) -> Path:
    return store.root / "sbom" / (digest.removeprefix("sha256:") + ".json")


def load_cached(store: Store, digest: str) -> Sbom | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return Sbom.from_dict(json.loads(cache_path(store, digest).read_text()))
    return None


def save(store: Store, sbom: Sbom) -> Path:
    path = cache_path(store, sbom.digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        json.dump(sbom.as_dict(), fh)
    os.replace(tmp, path)
    return path


def rendered(store: Store, sbom: Sbom, fmt: str) -> str:
    """``cyclonedx-json`` or ``spdx-json`` of ``sbom``, kept next to it (the same bytes).

    Kept per format and per image name (the documents name the image).
    """
    suffix = {"cyclonedx-json": "cdx.json", "spdx-json": "spdx.json"}[fmt]
    named = hashlib.sha256(sbom.image.encode()).hexdigest()[:12]
    path = cache_path(store, sbom.digest).with_suffix(f".{named}.{suffix}")
    with contextlib.suppress(OSError):
        if path.stat().st_mtime >= cache_path(store, sbom.digest).stat().st_mtime:
            return path.read_text()
    if fmt == "cyclonedx-json":
        from shipway.security.sbom import cyclonedx

        text = cyclonedx.render(sbom)
    else:
        from shipway.security.sbom import spdx

        text = spdx.render(sbom)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return text


def sbom_for(
    image: str,
    *,
    insecure: bool | None = None,
    store: Store | None = None,
    cache: bool = True,
) -> Sbom:
    """The SBOM of ``image`` (kept by digest in the store; ``cache=False`` walks again)."""
    base = store or Store()
    img = resolve(image, insecure=insecure, store=base)
    if cache:
        found = load_cached(base, img.digest)
        if found is not None:
            found.image = image
            return found
    sbom = make(img)
    save(base, sbom)
    return sbom


def record_build(store: Store, digest: str, name: str) -> Path:
    """The builder's hook: make and keep the SBOM of a just-built manifest."""
    layout_digest, manifest = _platform(store.layout, digest, name)
    return save(store, make(ResolvedImage(name, layout_digest, manifest, store.layout, store)))
