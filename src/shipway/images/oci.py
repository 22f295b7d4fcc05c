"""OCI and Docker media types, digests, and manifest helpers. Pure: data in, data out."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shipway.model import bounded
from shipway.model.errors import InputError, RegistryError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no spaces: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def json_object(body: bytes | str, subject: str, what: str = "answer") -> dict[str, Any]:
    """A registry's JSON object (a manifest, a config, a tag list), read within the bounds of
    ``shipway.model.bounded`` (size, UTF-8, depth): anything else is a ``RegistryError``
    naming ``subject``, never a decoder's or the interpreter's own error."""
    try:
        doc = bounded.load_json(body, what)
    except InputError as exc:
        at = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        raise RegistryError(f"the registry's {what}: {exc.message}{at}", subject=subject) from None
    if not isinstance(doc, dict):
        raise RegistryError(f"the registry's {what} is not a JSON object", subject=subject)
    return doc


def media_type_of(body: bytes, header: str | None) -> str:
    """The manifest's ``mediaType`` field, else the Content-Type header."""
    try:
        doc = json.loads(body)
        mt = doc.get("mediaType")
    except (ValueError, AttributeError, RecursionError):
        doc, mt = {}, None
    if isinstance(mt, str) and mt:
        return mt
    from_header = (header or "").split(";")[0].strip()
    if from_header and from_header != "application/json":
        return from_header
    return OCI_INDEX if isinstance(doc, dict) and "manifests" in doc else OCI_MANIFEST


def pick_platform(index: dict[str, Any], os_: str = "linux", arch: str = "amd64") -> str | None:
    """The digest of the index entry for ``os_/arch``; None when there is none."""
    for entry in index.get("manifests", []):
        plat = entry.get("platform") or {}
        if plat.get("os") == os_ and plat.get("architecture") == arch:
            digest = entry.get("digest")
            return digest if isinstance(digest, str) else None
    return None


def blobs_of(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The config descriptor then the layer descriptors of an image manifest."""
    out = [manifest["config"]] if "config" in manifest else []
    return out + list(manifest.get("layers", []))
