"""OCI 1.1 artifacts attached to an image (signatures, SBOMs) and found again.

``attach`` pushes an artifact manifest whose ``subject`` is the image; when the
registry does not answer with ``OCI-Subject`` (no referrers API, e.g.
distribution 2.8) it maintains the referrers tag-schema fallback index
``sha256-<hex>`` as the OCI distribution spec describes. ``RegistryClient.
referrers`` reads either.
"""

from __future__ import annotations

from typing import Any

from shipway.images import oci
from shipway.images.registry import RegistryClient

EMPTY_JSON = "application/vnd.oci.empty.v1+json"


def _ensure_blob(client: RegistryClient, repository: str, data: bytes) -> str:
    digest = oci.sha256_digest(data)
    if not client.blob_exists(repository, digest):
        client.upload_blob(repository, digest, data)
    return digest


def attach(
    client: RegistryClient,
    repository: str,
    subject_digest: str,
    *,
    artifact_type: str,
    data: bytes,
    media_type: str,
    annotations: dict[str, str] | None = None,
) -> str:
    """Push ``data`` as an artifact referring to ``subject_digest``; returns its digest."""
    _, subject_mt, subject_body = client.get_manifest(repository, subject_digest)
    _ensure_blob(client, repository, b"{}")
    layer = _ensure_blob(client, repository, data)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_JSON, "digest": oci.sha256_digest(b"{}"), "size": 2},
        "layers": [{"mediaType": media_type, "digest": layer, "size": len(data)}],
        "subject": {"mediaType": subject_mt, "digest": subject_digest, "size": len(subject_body)},
    }
    if annotations:
        manifest["annotations"] = annotations
    body = oci.canonical_json(manifest)
    digest = oci.sha256_digest(body)
    resp = client.request(
        "PUT",
        f"/v2/{repository}/manifests/{digest}",
        scopes=[f"repository:{repository}:pull,push"],
        subject=f"{client.host}/{repository}@{digest}",
        ok=(201,),
        body=body,
        headers={"Content-Type": oci.OCI_MANIFEST},
    )
    if "oci-subject" not in resp.headers:
        _update_fallback(
            client,
            repository,
            subject_digest,
            {
                "mediaType": oci.OCI_MANIFEST,
                "digest": digest,
                "size": len(body),
                "artifactType": artifact_type,
                **({"annotations": annotations} if annotations else {}),
            },
        )
    return digest


def _update_fallback(
    client: RegistryClient, repository: str, subject: str, desc: dict[str, Any]
) -> None:
    tag = subject.replace(":", "-")
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": []}
    if client.head_manifest(repository, tag) is not None:
        index = oci.json_object(client.get_manifest(repository, tag)[2], subject, "referrers index")
    if any(m.get("digest") == desc["digest"] for m in index.get("manifests", [])):
        return
    index["manifests"] = [*index.get("manifests", []), desc]
    client.put_manifest(repository, tag, oci.canonical_json(index), oci.OCI_INDEX)
