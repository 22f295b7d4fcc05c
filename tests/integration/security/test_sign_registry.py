"""Signing and attestations against a real registry, checked by an independent verifier.

The verifier (``independent_verifier``) reads the registry with plain HTTP and
checks signatures with ``cryptography`` directly, from cosign's and DSSE's
published specifications; it imports nothing from ``shipway``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from independent_verifier import (
    canonical,
    independent_verify_attestations,
    independent_verify_signature,
    sig_layers,
)

from security_images import push_image
from shipway.cli.main import main
from shipway.images.registry import RegistryClient
from shipway.security.sign import envelope as env
from shipway.security.sign import keys, service, storage


@pytest.fixture
def keypair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    return keys.generate(tmp_path / "cosign")


@dataclass
class Result:
    exit_code: int
    stdout: str
    output: str


_capsys: list[pytest.CaptureFixture[str]] = []


@pytest.fixture(autouse=True)
def _capture(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    _capsys.append(capsys)
    yield
    _capsys.pop()


def run(*args: str) -> Result:
    """Run the shipway command in-process, as its entry point does (exit codes included)."""
    capsys = _capsys[-1]
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return Result(code, out, " ".join((out + err).split()))


def test_sign_verify_and_the_layout_an_independent_verifier_reads(
    registry: Any, keypair: tuple[Path, Path], tmp_path: Path
) -> None:
    key, pub = keypair
    digest = push_image(registry.host, "sign/app", "v1", b"layer one")
    ref = f"{registry.host}/sign/app:v1"
    res = run("image", "sign", ref, "--key", str(key))
    assert res.exit_code == 0, res.output
    res = run("image", "verify", ref, "--key", str(pub))
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout.strip().splitlines()[-1])
    assert payload["critical"]["image"]["docker-manifest-digest"] == digest
    # what a verifier written from cosign's published layout sees
    assert independent_verify_signature(registry.url, "sign/app", digest, pub) == 1
    # signing twice adds nothing new; a second key adds a second layer
    assert run("image", "sign", ref, "--key", str(key)).exit_code == 0
    assert independent_verify_signature(registry.url, "sign/app", digest, pub) == 1
    other_key, other_pub = keys.generate(tmp_path / "other")
    assert run("image", "sign", ref, "--key", str(other_key)).exit_code == 0
    assert independent_verify_signature(registry.url, "sign/app", digest, other_pub) == 1
    assert len(sig_layers(registry.url, "sign/app", digest)) == 2


def test_unsigned_wrong_key_and_tampered_signatures_fail_naming_what_differs(
    registry: Any, keypair: tuple[Path, Path], tmp_path: Path
) -> None:
    key, pub = keypair
    digest = push_image(registry.host, "sign/tamper", "v1", b"tamper me")
    ref = f"{registry.host}/sign/tamper:v1"
    res = run("image", "verify", ref, "--key", str(pub))
    assert res.exit_code == 1 and "no signatures found" in res.output
    _, other_pub = keys.generate(tmp_path / "stranger")
    assert run("image", "sign", ref, "--key", str(key)).exit_code == 0
    res = run("image", "verify", ref, "--key", str(other_pub))
    assert res.exit_code == 1
    assert f"does not verify with {other_pub}" in res.output
    # a valid signature made for another image, replayed onto this one
    other_digest = push_image(registry.host, "sign/tamper", "v2", b"another image")
    signer = keys.load_signer(key)
    forged = env.simple_signing_payload(f"{registry.host}/sign/tamper", other_digest)
    sig = base64.b64encode(signer.sign(forged)).decode()
    _replacesig_layers(registry.host, "sign/tamper", digest, forged, sig)
    res = run("image", "verify", ref, "--key", str(pub))
    assert res.exit_code == 1
    assert f"names {other_digest}, not the image's {digest}" in res.output
    # a payload changed after signing
    good = env.simple_signing_payload(f"{registry.host}/sign/tamper", digest)
    good_sig = base64.b64encode(signer.sign(good)).decode()
    _replacesig_layers(registry.host, "sign/tamper", digest, good + b" ", good_sig)
    res = run("image", "verify", ref, "--key", str(pub))
    assert res.exit_code == 1 and "does not verify" in res.output
    assert run("image", "verify", f"{registry.host}/sign/none:v9", "--key", str(pub)).exit_code == 3


def test_attestations_are_dsse_envelopes_an_independent_verifier_accepts(
    registry: Any, keypair: tuple[Path, Path], tmp_path: Path
) -> None:
    key, pub = keypair
    digest = push_image(registry.host, "sign/att", "v1", b"attested")
    ref = f"{registry.host}/sign/att@{digest}"
    facts = env.BuildFacts(
        repository="git://127.0.0.1/acme/web.git",
        ref="refs/heads/main",
        commit="1" * 40,
        workflow_path=".github/workflows/ci.yml",
        event="push",
        run_id="run-7",
    )
    pred_file = tmp_path / "prov.json"
    pred_file.write_text(json.dumps(env.slsa_provenance(facts)))
    res = run("image", "attest", ref, "--key", str(key), "--predicate", str(pred_file))
    assert res.exit_code == 0, res.output
    res = run("image", "attestations", ref, "--key", str(pub), "-o", "json")
    assert res.exit_code == 0, res.output
    found = json.loads(res.stdout)["items"]
    assert len(found) == 1 and found[0]["verified"] is True
    assert found[0]["payload"]["predicateType"] == env.SLSA_PROVENANCE_V1
    statements = independent_verify_attestations(registry.url, "sign/att", digest, pub)
    assert [s["predicate"]["runDetails"]["metadata"]["invocationId"] for s in statements] == [
        "run-7"
    ]
    # a different key: listed, not verified, exit 1
    _, other_pub = keys.generate(tmp_path / "x")
    res = run("image", "attestations", ref, "--key", str(other_pub), "-o", "json")
    assert json.loads(res.stdout)["items"][0]["verified"] is False
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    res = run("image", "attest", ref, "--key", str(key), "--predicate", str(bad))
    assert res.exit_code == 2 and "predicate is not JSON" in res.output


def test_service_api_verifies_by_digest(registry: Any, keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    push_image(registry.host, "sign/api", "v1", b"api")
    with RegistryClient(registry.host) as client:
        target = service.resolve(client, f"{registry.host}/sign/api:v1")
        service.sign(client, target, keys.load_signer(key))
        checked = service.verify(client, target, keys.load_verifier(pub))
    assert [c.verified for c in checked] == [True]


def _replacesig_layers(host: str, repo: str, digest: str, payload: bytes, sig: str) -> None:
    """Overwrite the .sig tag with one layer (what an attacker with push access could do)."""
    with RegistryClient(host) as client:
        pdig = "sha256:" + hashlib.sha256(payload).hexdigest()
        client.upload_blob(repo, pdig, payload)
        cfg = b"{}"
        cdig = "sha256:" + hashlib.sha256(cfg).hexdigest()
        client.upload_blob(repo, cdig, cfg)
        manifest = canonical(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": cdig,
                    "size": 2,
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                        "digest": pdig,
                        "size": len(payload),
                        "annotations": {"dev.cosignproject.cosign/signature": sig},
                    }
                ],
            }
        )
        client.put_manifest(
            repo,
            digest.replace(":", "-") + ".sig",
            manifest,
            "application/vnd.oci.image.manifest.v1+json",
        )


def test_referrers_support_is_asked_once_per_client(
    registry: Any, keypair: tuple[Path, Path]
) -> None:
    key, pub = keypair
    digest = push_image(registry.host, "sign/probe", "v1", b"probe")
    probed = httpx.get(f"{registry.url}/v2/sign/probe/referrers/{digest}", timeout=10)
    with RegistryClient(registry.host) as client:
        target = service.resolve(client, f"{registry.host}/sign/probe@{digest}")
        before = client.requests
        answer = storage.supports_referrers(client, "sign/probe", digest)
        assert answer is (probed.status_code == 200)
        assert client.requests == before + 1
        service.sign(client, target, keys.load_signer(key))
        signed = client.requests
        service.verify(client, target, keys.load_verifier(pub))
        # verify reads the .sig tag's manifest (HEAD, GET) and its one blob: no probe
        assert client.requests - signed == 3
    with RegistryClient(registry.host) as fresh:
        fresh_before = fresh.requests
        storage.supports_referrers(fresh, "sign/probe", digest)
        assert fresh.requests > fresh_before, "a new client asks again"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("image", "sign", "REG/app:1"), "no --key given, and keyless signing"),
        (("image", "attest", "REG/app:1", "--predicate", "PRED"), "no --key given"),
        (
            ("image", "verify", "REG/app:1", "--certificate-identity", "me@example.com",
             "--certificate-oidc-issuer", "https://accounts.example"),
            "--certificate-identity, --certificate-oidc-issuer: keyless signing",
        ),
        (("image", "attestations", "REG/app:1", "--identity-token", "t"), "--identity-token: "),
        (("image", "sign", "REG/app:1", "--key", "awskms:///alias/team"), "awskms keys"),
        (("image", "verify", "REG/app:1", "--key", "k8s://ns/cosign"), "k8s keys"),
        (("image", "sign", "REG/app:1", "--key", "pkcs11:token=x"), "pkcs11 keys"),
    ],
)  # fmt: skip
def test_keyless_and_kms_are_refused_saying_so(
    args: tuple[str, ...], said: str, registry: Any, tmp_path: Path
) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text("{}")
    argv = [a.replace("REG", registry.host).replace("PRED", str(pred)) for a in args]
    res = run(*argv)
    assert res.exit_code == 2, res.output
    assert said in res.output
    assert "not supported" in res.output
    assert "Traceback" not in res.output
