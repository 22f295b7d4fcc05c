"""Where signatures and attestations live in a registry, in cosign's layout.

For an image ``repo@sha256:H``:

- **Tags** (what cosign reads by default, and the fallback for registries without
  the OCI 1.1 referrers API): ``repo:sha256-H.sig`` and ``repo:sha256-H.att`` are
  OCI image manifests whose layers are one signature each. A ``.sig`` layer is a
  simple-signing payload (media type ``application/vnd.dev.cosign.simplesigning.v1+json``)
  with the base64 signature in the ``dev.cosignproject.cosign/signature``
  annotation; an ``.att`` layer is a DSSE envelope
  (``application/vnd.dsse.envelope.v1+json``) with the ``predicateType``
  annotation. The config is a minimal OCI image config whose ``rootfs.diff_ids``
  are the layer digests. Adding a signature appends a layer (an identical one is
  not added twice).
- **Referrers**: where the registry serves the referrers API, each signature or
  attestation is also pushed as an artifact manifest whose ``subject`` is the image
  (artifact types ``application/vnd.dev.cosign.artifact.sig.v1+json`` and
  ``application/vnd.dev.cosign.artifact.att.v1+json``).
- **Unsigned SBOMs** (cosign's ``attach sbom``): ``repo:sha256-H.sbom`` holds the SBOM
  document itself as a layer (``application/vnd.cyclonedx+json``); its referrer's
  artifact type is that media type.

Whether a registry serves the referrers API is asked once per ``RegistryClient``.
Touches only the registry, through ``RegistryClient``.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from typing import Any

from shipway.images import artifacts, oci
from shipway.images.registry import RegistryClient
from shipway.security.sign import envelope as env

SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
ATT_ARTIFACT = "application/vnd.dev.cosign.artifact.att.v1+json"
_EPOCH = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Layer:
    """One stored signature or attestation: its bytes and annotations."""

    media_type: str
    digest: str
    data: bytes
    annotations: dict[str, str]
    where: str  # the tag or referrer manifest it was read from


def tag_for(digest: str, suffix: str) -> str:
    return digest.replace(":", "-") + "." + suffix


_REFERRERS: weakref.WeakKeyDictionary[RegistryClient, bool] = weakref.WeakKeyDictionary()


def supports_referrers(client: RegistryClient, repository: str, digest: str) -> bool:
    """Whether the registry serves the OCI 1.1 referrers API.

    Asked once per client: it is a property of the registry (a registry that serves the
    API answers 200 with an empty index for any digest), so a store and a load through the
    same client make one probe between them, not one each.
    """
    known = _REFERRERS.get(client)
    if known is not None:
        return known
    resp = client.request(
        "GET",
        f"/v2/{repository}/referrers/{digest}",
        scopes=[f"repository:{repository}:pull"],
        subject=client.subject_for(repository, digest),
        allow=(404, 400, 405),
    )
    _REFERRERS[client] = answer = resp.status_code == 200
    return answer


def _config(layer_digests: list[str]) -> bytes:
    return oci.canonical_json(
        {
            "architecture": "",
            "config": {},
            "created": _EPOCH,
            "history": [{"created": _EPOCH}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": layer_digests},
        }
    )


def _blob(client: RegistryClient, repository: str, data: bytes) -> str:
    digest = oci.sha256_digest(data)
    if not client.blob_exists(repository, digest):
        client.upload_blob(repository, digest, data)
    return digest


def _existing_layers(client: RegistryClient, repository: str, tag: str) -> list[dict[str, Any]]:
    if client.head_manifest(repository, tag) is None:
        return []
    body = client.get_manifest(repository, tag)[2]
    layers: list[dict[str, Any]] = json.loads(body).get("layers", [])
    return layers


def store(
    client: RegistryClient,
    repository: str,
    image_digest: str,
    *,
    kind: str,
    data: bytes,
    media_type: str,
    annotations: dict[str, str],
) -> str:
    """Store one signature (``kind='sig'``), attestation (``'att'``) or unsigned SBOM
    (``'sbom'``); returns the tag."""
    tag = tag_for(image_digest, kind)
    digest = _blob(client, repository, data)
    desc = {
        "mediaType": media_type,
        "digest": digest,
        "size": len(data),
        "annotations": annotations,
    }
    layers = _existing_layers(client, repository, tag)
    if not any(
        lay.get("digest") == digest and lay.get("annotations") == annotations for lay in layers
    ):
        layers.append(desc)
        cfg = _config([str(lay["digest"]) for lay in layers])
        cfg_digest = _blob(client, repository, cfg)
        manifest = {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {"mediaType": oci.OCI_CONFIG, "digest": cfg_digest, "size": len(cfg)},
            "layers": layers,
        }
        client.put_manifest(repository, tag, oci.canonical_json(manifest), oci.OCI_MANIFEST)
    if supports_referrers(client, repository, image_digest):
        artifacts.attach(
            client,
            repository,
            image_digest,
            artifact_type={"sig": SIG_ARTIFACT, "att": ATT_ARTIFACT}.get(kind, media_type),
            data=data,
            media_type=media_type,
            annotations=annotations,
        )
    return tag


def load(client: RegistryClient, repository: str, image_digest: str, kind: str) -> list[Layer]:
    """Every stored signature or attestation of the image, from the tag and the referrers."""
    out: list[Layer] = []
    seen: set[tuple[str, str]] = set()
    tag = tag_for(image_digest, kind)

    def add(desc: dict[str, Any], where: str) -> None:
        ann = {str(k): str(v) for k, v in (desc.get("annotations") or {}).items()}
        key = (str(desc.get("digest")), ann.get(env.SIGNATURE_ANNOTATION, ""))
        if key in seen:
            return
        seen.add(key)
        data = client.get_blob(repository, str(desc["digest"]))
        out.append(Layer(str(desc.get("mediaType", "")), str(desc["digest"]), data, ann, where))

    for desc in _existing_layers(client, repository, tag):
        add(desc, f"{client.host}/{repository}:{tag}")
    if supports_referrers(client, repository, image_digest):
        wanted = SIG_ARTIFACT if kind == "sig" else ATT_ARTIFACT
        for ref in client.referrers(repository, image_digest, wanted):
            body = json.loads(client.get_manifest(repository, str(ref["digest"]))[2])
            for desc in body.get("layers", []):
                add(desc, f"{client.host}/{repository}@{ref['digest']}")
    return out
