"""Pure signature formats: simple signing, DSSE, in-toto Statements, SLSA v1 provenance.

Everything here takes data and returns data (bytes or dicts); no I/O.

- The **simple-signing payload** is the JSON object cosign signs for an image:
  ``critical.identity.docker-reference``, ``critical.image.docker-manifest-digest``
  and ``critical.type`` = ``cosign container image signature``; ``optional``
  carries annotations. The signature covers the payload bytes exactly as stored.
- A **DSSE envelope** (``payloadType``, base64 ``payload``, ``signatures[]`` of
  ``{keyid, sig}``) is signed over the pre-authentication encoding
  ``"DSSEv1" SP len(type) SP type SP len(body) SP body``.
- An **in-toto Statement v1** names its subjects by digest and carries one
  predicate; SLSA provenance v1 is one such predicate.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from shipway.model.errors import InputError

SIMPLESIGNING_TYPE = "cosign container image signature"
SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
SPDX_PREDICATE = "https://spdx.dev/Document"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PREDICATE_ANNOTATION = "predicateType"
SHIPWAY_BUILDER = "https://shipway.dev/builders/ci@v1"
SHIPWAY_BUILD_TYPE = "https://shipway.dev/buildtypes/github-actions-workflow@v1"


def simple_signing_payload(
    docker_reference: str, manifest_digest: str, annotations: dict[str, str] | None = None
) -> bytes:
    """The bytes cosign signs for ``docker_reference@manifest_digest``."""
    doc = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIMPLESIGNING_TYPE,
        },
        "optional": dict(annotations) if annotations else None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SimpleSigning:
    """A parsed simple-signing payload."""

    docker_reference: str
    manifest_digest: str
    annotations: dict[str, Any]


def parse_simple_signing(payload: bytes, subject: str) -> SimpleSigning:
    """Parse a payload; a malformed one is an InputError naming ``subject``."""
    try:
        doc = json.loads(payload)
        critical = doc["critical"]
        kind = critical["type"]
        digest = critical["image"]["docker-manifest-digest"]
        ref = critical["identity"].get("docker-reference", "")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a simple-signing payload ({exc})", subject=subject) from None
    if kind != SIMPLESIGNING_TYPE:
        raise InputError(f"payload type is {kind!r}, not {SIMPLESIGNING_TYPE!r}", subject=subject)
    optional = doc.get("optional") or {}
    return SimpleSigning(
        str(ref), str(digest), dict(optional) if isinstance(optional, dict) else {}
    )


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding (what a DSSE signature covers)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def dsse_envelope(payload_type: str, body: bytes, signatures: list[tuple[str, bytes]]) -> bytes:
    """A DSSE envelope as JSON bytes; ``signatures`` are ``(keyid, raw signature)`` pairs."""
    doc = {
        "payloadType": payload_type,
        "payload": base64.b64encode(body).decode(),
        "signatures": [
            {"keyid": keyid, "sig": base64.b64encode(sig).decode()} for keyid, sig in signatures
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: the decoded body and ``(keyid, raw signature)`` pairs."""

    payload_type: str
    body: bytes
    signatures: list[tuple[str, bytes]]


def parse_envelope(data: bytes, subject: str) -> Envelope:
    """Parse a DSSE envelope; malformed ones are an InputError naming ``subject``."""
    try:
        doc = json.loads(data)
        body = base64.b64decode(doc["payload"], validate=True)
        sigs = [
            (str(s.get("keyid", "")), base64.b64decode(s["sig"], validate=True))
            for s in doc.get("signatures", [])
        ]
        return Envelope(str(doc["payloadType"]), body, sigs)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise InputError(f"not a DSSE envelope ({exc})", subject=subject) from None


def statement(
    subjects: list[tuple[str, str]], predicate_type: str, predicate: dict[str, Any]
) -> bytes:
    """An in-toto Statement v1; ``subjects`` are ``(name, sha256:hex)`` pairs."""
    doc = {
        "_type": STATEMENT_V1,
        "subject": [
            {"name": name, "digest": {digest.partition(":")[0]: digest.partition(":")[2]}}
            for name, digest in subjects
        ],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def parse_statement(body: bytes, subject: str) -> dict[str, Any]:
    """An in-toto Statement's JSON, checked for ``_type``, ``subject`` and ``predicateType``."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise InputError(f"attestation body is not JSON ({exc})", subject=subject) from None
    if not isinstance(doc, dict) or not str(doc.get("_type", "")).startswith(
        "https://in-toto.io/Statement/"
    ):
        raise InputError("attestation body is not an in-toto Statement", subject=subject)
    if not isinstance(doc.get("subject"), list) or "predicateType" not in doc:
        raise InputError("in-toto Statement lacks subject or predicateType", subject=subject)
    return doc


@dataclass(frozen=True)
class BuildFacts:
    """What a CI run knows about the build of one image (for SLSA provenance)."""

    repository: str  # source repo URL
    ref: str  # e.g. refs/heads/main
    commit: str
    workflow_path: str  # e.g. .github/workflows/ci.yml
    event: str
    run_id: str
    run_url: str = ""
    inputs: dict[str, Any] | None = None
    started_on: str = ""  # RFC 3339
    finished_on: str = ""


def slsa_provenance(facts: BuildFacts, builder_id: str = SHIPWAY_BUILDER) -> dict[str, Any]:
    """A SLSA v1 provenance predicate for an image built by a shipway CI run."""
    external: dict[str, Any] = {
        "workflow": {
            "ref": facts.ref,
            "repository": facts.repository,
            "path": facts.workflow_path,
        },
    }
    if facts.inputs:
        external["inputs"] = dict(facts.inputs)
    metadata: dict[str, Any] = {"invocationId": facts.run_url or facts.run_id}
    if facts.started_on:
        metadata["startedOn"] = facts.started_on
    if facts.finished_on:
        metadata["finishedOn"] = facts.finished_on
    return {
        "buildDefinition": {
            "buildType": SHIPWAY_BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {"event": facts.event},
            "resolvedDependencies": [
                {
                    "uri": f"git+{facts.repository}@{facts.ref}",
                    "digest": {"gitCommit": facts.commit},
                }
            ],
        },
        "runDetails": {"builder": {"id": builder_id}, "metadata": metadata},
    }


def provenance_source(predicate: dict[str, Any]) -> str | None:
    """The source repository a SLSA v1 (or v0.2) provenance names, if any."""
    bd = predicate.get("buildDefinition")
    if isinstance(bd, dict):
        wf = (bd.get("externalParameters") or {}).get("workflow") or {}
        if isinstance(wf, dict) and wf.get("repository"):
            return str(wf["repository"])
        for dep in bd.get("resolvedDependencies") or []:
            uri = str((dep or {}).get("uri", ""))
            if uri.startswith("git+"):
                return uri[4:].split("@", 1)[0]
    inv = predicate.get("invocation")  # SLSA v0.2
    if isinstance(inv, dict):
        uri = str(((inv.get("configSource") or {}).get("uri")) or "")
        if uri:
            return uri.removeprefix("git+").split("@", 1)[0]
    return None
