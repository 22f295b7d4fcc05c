"""An independent verifier of cosign's registry layout, written from the published specs.

It reads the registry with plain HTTP and checks signatures with ``cryptography``
directly, following cosign's published layout (``sha256-<hex>.sig``/``.att``
tags; simple-signing layers with the ``dev.cosignproject.cosign/signature``
annotation; DSSE envelopes) and the DSSE specification (PAE). It imports
nothing from ``shipway``: the signing tests check shipway's output with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _get(url: str, accept: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    resp = httpx.get(url, headers=headers, timeout=10)
    resp.raise_for_status()
    return resp


def sig_layers(base: str, repo: str, digest: str, suffix: str = "sig") -> list[dict[str, Any]]:
    tag = digest.replace(":", "-") + "." + suffix
    manifest = _get(
        f"{base}/v2/{repo}/manifests/{tag}", "application/vnd.oci.image.manifest.v1+json"
    ).json()
    layers: list[dict[str, Any]] = manifest["layers"]
    return layers


def _pub(path: Path) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def independent_verify_signature(base: str, repo: str, digest: str, pub: Path) -> int:
    """How many simple-signing layers verify with ``pub`` and name ``digest``."""
    key = _pub(pub)
    good = 0
    for layer in sig_layers(base, repo, digest):
        assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        blob = _get(f"{base}/v2/{repo}/blobs/{layer['digest']}").content
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
        sig = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
        try:
            key.verify(sig, blob, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        doc = json.loads(blob)
        if doc["critical"]["image"]["docker-manifest-digest"] == digest:
            good += 1
    return good


def independent_verify_attestations(
    base: str, repo: str, digest: str, pub: Path
) -> list[dict[str, Any]]:
    key = _pub(pub)
    out = []
    for layer in sig_layers(base, repo, digest, "att"):
        assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json"
        envelope = _get(f"{base}/v2/{repo}/blobs/{layer['digest']}").json()
        body = base64.b64decode(envelope["payload"])
        ptype = envelope["payloadType"].encode()
        signed = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
        sig = base64.b64decode(envelope["signatures"][0]["sig"])
        key.verify(sig, signed, ec.ECDSA(hashes.SHA256()))
        statement = json.loads(body)
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert {"sha256": digest.split(":")[1]} in [s["digest"] for s in statement["subject"]]
        assert layer["annotations"]["predicateType"] == statement["predicateType"]
        out.append(statement)
    return out
