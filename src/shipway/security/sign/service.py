"""Sign, verify and attest images in a registry (cosign-compatible layout).

``sign`` signs ``registry/repo@digest`` (a tag is resolved to its digest first)
with a simple-signing payload; ``attest`` wraps an in-toto Statement about the
image in a DSSE envelope; ``verify`` and ``attestations`` find them again
(``storage``) and check each against a public key. A tampered payload, a
signature by another key or a payload naming another digest fails naming what
differs. Touches the registry only, through ``storage`` and ``RegistryClient``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from shipway.images import reference
from shipway.images.registry import RegistryClient
from shipway.model.errors import InputError, NotFoundError, VerificationError
from shipway.security.sign import envelope as env
from shipway.security.sign import storage
from shipway.security.sign.keys import Signer, Verifier


@dataclass(frozen=True)
class Target:
    """An image resolved to its digest."""

    ref: reference.Reference
    digest: str

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def pinned(self) -> str:
        return self.ref.pinned(self.digest)


def resolve(client: RegistryClient, ref_text: str) -> Target:
    ref = reference.parse(ref_text)
    if ref.oci_dir is not None:
        raise InputError("signatures live in a registry; push the image first", subject=ref_text)
    found = client.head_manifest(ref.repository, ref.reference)
    if found is None:
        raise NotFoundError("no such image in the registry", subject=ref_text)
    return Target(ref, ref.digest or found)


def sign(
    client: RegistryClient,
    target: Target,
    signer: Signer,
    annotations: dict[str, str] | None = None,
) -> str:
    """Sign ``target``; returns where the signature was stored (its tag)."""
    payload = env.simple_signing_payload(target.name, target.digest, annotations)
    own = signer.verifier()
    for layer in storage.load(client, target.ref.repository, target.digest, "sig"):
        if layer.data == payload and _check_signature(layer, target, own).verified:
            return storage.tag_for(target.digest, "sig")  # already signed by this key
    sig = signer.sign(payload)
    return storage.store(
        client,
        target.ref.repository,
        target.digest,
        kind="sig",
        data=payload,
        media_type=env.SIMPLESIGNING_MEDIA_TYPE,
        annotations={env.SIGNATURE_ANNOTATION: base64.b64encode(sig).decode()},
    )


def attest(
    client: RegistryClient,
    target: Target,
    signer: Signer,
    predicate_type: str,
    predicate: dict[str, Any],
) -> str:
    """Attach a signed in-toto Statement about ``target``; returns the tag."""
    body = env.statement([(target.name, target.digest)], predicate_type, predicate)
    sig = signer.sign(env.pae(env.INTOTO_PAYLOAD_TYPE, body))
    data = env.dsse_envelope(env.INTOTO_PAYLOAD_TYPE, body, [("", sig)])
    return storage.store(
        client,
        target.ref.repository,
        target.digest,
        kind="att",
        data=data,
        media_type=env.DSSE_MEDIA_TYPE,
        annotations={env.PREDICATE_ANNOTATION: predicate_type},
    )


@dataclass
class Checked:
    """One signature or attestation and what checking it found."""

    where: str
    verified: bool
    reason: str
    payload: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "verified": self.verified,
            "reason": self.reason,
            "payload": self.payload,
        }


def _check_signature(layer: storage.Layer, target: Target, key: Verifier) -> Checked:
    raw = layer.annotations.get(env.SIGNATURE_ANNOTATION, "")
    try:
        sig = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return Checked(layer.where, False, "the signature annotation is not base64")
    try:
        parsed = env.parse_simple_signing(layer.data, layer.where)
    except InputError as exc:
        return Checked(layer.where, False, exc.message)
    payload = json.loads(layer.data)
    if not key.verify(layer.data, sig):
        return Checked(
            layer.where, False, f"the signature does not verify with {key.source}", payload
        )
    if parsed.manifest_digest != target.digest:
        return Checked(
            layer.where,
            False,
            f"the signed payload names {parsed.manifest_digest}, not the image's {target.digest}",
            payload,
        )
    return Checked(layer.where, True, "verified", payload)


def verify(client: RegistryClient, target: Target, key: Verifier) -> list[Checked]:
    """Every signature found, checked; raises VerificationError unless one verifies."""
    layers = storage.load(client, target.ref.repository, target.digest, "sig")
    if not layers:
        raise VerificationError("no signatures found", subject=target.pinned)
    checked = [_check_signature(layer, target, key) for layer in layers]
    if not any(c.verified for c in checked):
        reasons = "; ".join(sorted({c.reason for c in checked}))
        raise VerificationError(f"no valid signature: {reasons}", subject=target.pinned)
    return checked


def _check_attestation(layer: storage.Layer, target: Target, key: Verifier | None) -> Checked:
    try:
        envl = env.parse_envelope(layer.data, layer.where)
        doc = env.parse_statement(envl.body, layer.where)
    except InputError as exc:
        return Checked(layer.where, False, exc.message)
    if key is None:
        return Checked(layer.where, False, "not checked (no key given)", doc)
    signed = env.pae(envl.payload_type, envl.body)
    if not any(key.verify(signed, sig) for _, sig in envl.signatures):
        return Checked(layer.where, False, f"the envelope does not verify with {key.source}", doc)
    digests = {
        f"sha256:{(s.get('digest') or {}).get('sha256', '')}" for s in doc.get("subject", [])
    }
    if target.digest not in digests:
        return Checked(
            layer.where,
            False,
            f"the statement's subjects {sorted(digests)} do not include {target.digest}",
            doc,
        )
    claimed = layer.annotations.get(env.PREDICATE_ANNOTATION)
    if claimed and claimed != doc.get("predicateType"):
        return Checked(
            layer.where,
            False,
            f"annotation says {claimed} but the statement is {doc.get('predicateType')}",
            doc,
        )
    return Checked(layer.where, True, "verified", doc)


def attestations(
    client: RegistryClient,
    target: Target,
    key: Verifier | None = None,
    predicate_type: str | None = None,
) -> list[Checked]:
    """Every attestation of the image (of one predicate type if given), checked with ``key``."""
    layers = storage.load(client, target.ref.repository, target.digest, "att")
    out = [_check_attestation(layer, target, key) for layer in layers]
    if predicate_type:
        out = [c for c in out if c.payload.get("predicateType") == predicate_type]
    return out
