"""Signature formats and keys: simple signing, DSSE's PAE, in-toto, SLSA, PEM keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shipway.model.errors import InputError, NotFoundError
from shipway.security.sign import envelope as env
from shipway.security.sign import keys

DIGEST = "sha256:" + "ab" * 32


def test_pae_matches_the_dsse_specification_example() -> None:
    # DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    assert env.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_simple_signing_payload_has_cosign_fields_and_round_trips() -> None:
    payload = env.simple_signing_payload("reg.example/app", DIGEST, {"commit": "abc"})
    doc = json.loads(payload)
    assert doc["critical"] == {
        "identity": {"docker-reference": "reg.example/app"},
        "image": {"docker-manifest-digest": DIGEST},
        "type": "cosign container image signature",
    }
    assert doc["optional"] == {"commit": "abc"}
    parsed = env.parse_simple_signing(payload, "x")
    assert (parsed.docker_reference, parsed.manifest_digest) == ("reg.example/app", DIGEST)
    assert json.loads(env.simple_signing_payload("r/a", DIGEST))["optional"] is None


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "not a simple-signing payload"),
        (b'{"critical": {}}', "not a simple-signing payload"),
        (
            b'{"critical": {"type": "other", "image": {"docker-manifest-digest": "d"},'
            b' "identity": {}}}',
            "payload type is 'other'",
        ),
    ],
)
def test_bad_payloads_are_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        env.parse_simple_signing(body, "layer")


def test_dsse_envelope_round_trips_and_refuses_bad_base64() -> None:
    data = env.dsse_envelope(env.INTOTO_PAYLOAD_TYPE, b"{}", [("k1", b"\x01\x02")])
    parsed = env.parse_envelope(data, "x")
    assert parsed.payload_type == env.INTOTO_PAYLOAD_TYPE
    assert parsed.body == b"{}"
    assert parsed.signatures == [("k1", b"\x01\x02")]
    bad = json.dumps({"payloadType": "t", "payload": "%%%", "signatures": []}).encode()
    with pytest.raises(InputError, match="not a DSSE envelope"):
        env.parse_envelope(bad, "x")


def test_statement_and_slsa_provenance_shape() -> None:
    facts = env.BuildFacts(
        repository="https://git.example/acme/web",
        ref="refs/heads/main",
        commit="c0ffee",
        workflow_path=".github/workflows/ci.yml",
        event="push",
        run_id="42",
        inputs={"debug": False},
    )
    pred = env.slsa_provenance(facts)
    body = env.statement([("reg/app", DIGEST)], env.SLSA_PROVENANCE_V1, pred)
    doc = env.parse_statement(body, "x")
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["subject"] == [{"name": "reg/app", "digest": {"sha256": "ab" * 32}}]
    bd = doc["predicate"]["buildDefinition"]
    assert bd["externalParameters"]["workflow"]["path"] == ".github/workflows/ci.yml"
    assert bd["externalParameters"]["inputs"] == {"debug": False}
    assert bd["resolvedDependencies"][0]["digest"] == {"gitCommit": "c0ffee"}
    assert doc["predicate"]["runDetails"]["metadata"]["invocationId"] == "42"
    assert env.provenance_source(pred) == "https://git.example/acme/web"
    v02 = {"invocation": {"configSource": {"uri": "git+https://x/y@refs/heads/main"}}}
    assert env.provenance_source(v02) == "https://x/y"
    assert env.provenance_source({}) is None


def test_parse_statement_refuses_what_is_not_a_statement() -> None:
    with pytest.raises(InputError, match="not an in-toto Statement"):
        env.parse_statement(b'{"_type": "x"}', "a")
    with pytest.raises(InputError, match="lacks subject"):
        env.parse_statement(b'{"_type": "https://in-toto.io/Statement/v1"}', "a")


def test_generate_sign_and_verify_with_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "s3cret")
    key_path, pub_path = keys.generate(tmp_path / "cosign")
    assert key_path.name == "cosign.key" and pub_path.name == "cosign.pub"
    assert b"ENCRYPTED PRIVATE KEY" in key_path.read_bytes()
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert pub_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    signer = keys.load_signer(key_path)
    verifier = keys.load_verifier(pub_path)
    assert signer.keyid == verifier.keyid
    sig = signer.sign(b"payload")
    assert verifier.verify(b"payload", sig)
    assert not verifier.verify(b"payl0ad", sig)
    with pytest.raises(InputError, match="already exists"):
        keys.generate(tmp_path / "cosign")
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "wrong")
    with pytest.raises(InputError, match="wrong password"):
        keys.load_signer(key_path)
    monkeypatch.delenv("SHIPWAY_SIGNING_PASSWORD")
    with pytest.raises(InputError, match="the key is encrypted"):
        keys.load_signer(key_path)


def test_key_files_that_do_not_load_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        keys.load_verifier(tmp_path / "missing.pub")
    junk = tmp_path / "junk.pub"
    junk.write_text("hello\n")
    with pytest.raises(InputError, match="not a PEM public key") as info:
        keys.load_verifier(junk)
    assert info.value.subject == f"{junk}:1"
    cosign_key = tmp_path / "cosign.key"
    cosign_key.write_text(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nxx\n"
        "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
    )
    with pytest.raises(InputError, match="cosign's own encrypted key format"):
        keys.load_signer(cosign_key)
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_path = tmp_path / "ed.key"
    ed_path.write_bytes(
        ed.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(InputError, match="must be ECDSA"):
        keys.load_signer(ed_path)


def test_verifiers_accept_ed25519_and_foreign_ecdsa_keys(tmp_path: Path) -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    v = keys.verifier_from_pem(pem.decode(), "policy.yaml")
    assert v.verify(b"m", ed.sign(b"m"))
    p384 = ec.generate_private_key(ec.SECP384R1())
    from cryptography.hazmat.primitives import hashes

    sig = p384.sign(b"m", ec.ECDSA(hashes.SHA256()))
    pem384 = p384.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert keys.verifier_from_pem(pem384.decode(), "p").verify(b"m", sig)
    assert base64.b64encode(sig)  # DER signatures are what cosign stores, base64
