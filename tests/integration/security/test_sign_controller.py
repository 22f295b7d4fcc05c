"""The controller signs what shipway's CI built, with provenance from the run (real registry)."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from independent_verifier import independent_verify_attestations, sig_layers

from security_images import push_image, sample_files
from shipway.cli.main import main
from shipway.cli.release import timeline
from shipway.controller import signing
from shipway.controller.tracker import ReleaseTracker
from shipway.images.registry import RegistryClient
from shipway.security.sign import envelope as env
from shipway.security.sign import keys, service
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import releases, runs
from shipway.store.db import open_store
from shipway.updater.webhooks import PushEvent


def push_labelled(host: str, repo: str, tag: str, revision: str) -> str:
    files = {**sample_files(), "etc/built-from": revision.encode()}
    return push_image(host, repo, tag, files, {"org.opencontainers.image.revision": revision})


def test_built_by_ci_is_signed_with_provenance_and_sbom_and_others_are_not(
    registry: Any,
    shipway_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "ctl")
    settings = dataclasses.replace(Settings(), signing_key=str(key))
    store = open_store(settings)
    commit = "a" * 40
    runs.put_state(
        store,
        "ci",
        "run-123",
        "running",
        {
            "started": time.time(),
            "resume": {
                "commit": commit,
                "ref": "refs/heads/main",
                "event": "workflow_dispatch",
                "payload": {"ref": "refs/heads/main", "inputs": {"environment": "prod"}},
                "repository": "acme/web",
                "git_url": "git://127.0.0.1:9418",
                "workflow_file": ".github/workflows/ci.yml",
                "server_url": "http://127.0.0.1:8080",
            },
        },
    )
    built = push_labelled(registry.host, "ctl/web", "1.0.0", commit)
    stranger = push_labelled(registry.host, "ctl/web", "9.9.9", "b" * 40)
    pushes = [
        PushEvent(repository="ctl/web", tag="1.0.0", host=registry.host),
        PushEvent(repository="ctl/web", tag="9.9.9", host=registry.host),
    ]
    tracker = ReleaseTracker(store)
    (release,) = tracker.ci_started(commit, "git://127.0.0.1:9418/acme/web", ["web"])
    signed = signing.sign_pushed(settings, store, pushes, tracker)
    assert signed == [f"{registry.host}/ctl/web@{built}"]
    verifier = keys.load_verifier(pub)
    with RegistryClient(registry.host) as client:
        target = service.resolve(client, f"{registry.host}/ctl/web@{built}")
        checked = service.verify(client, target, verifier)
        assert checked[0].payload["optional"] == {"ci-run": "run-123"}
        atts = service.attestations(client, target, verifier, env.SLSA_PROVENANCE_V1)
        assert [a.verified for a in atts] == [True]
        pred = atts[0].payload["predicate"]
        assert env.provenance_source(pred) == "git://127.0.0.1:9418/acme/web"
        assert pred["buildDefinition"]["resolvedDependencies"][0]["digest"] == {"gitCommit": commit}
        assert pred["runDetails"]["metadata"]["invocationId"].endswith("/api/ci/runs/run-123")
        external = pred["buildDefinition"]["externalParameters"]
        assert external["inputs"] == {"environment": "prod"}  # the dispatch's inputs
        assert external["workflow"] == {"repository": "git://127.0.0.1:9418/acme/web",
                                        "ref": "refs/heads/main",
                                        "path": ".github/workflows/ci.yml"}  # fmt: skip
        assert pred["runDetails"]["builder"]["id"] == "https://shipway.dev/builders/ci@v1"
        other = service.resolve(client, f"{registry.host}/ctl/web@{stranger}")
        with pytest.raises(Exception, match="no signatures found"):
            service.verify(client, other, verifier)
    # the SBOM attestation, as `image attestations` lists it and as a verifier from the specs
    capsys.readouterr()
    main(
        ["image", "attestations", f"{registry.host}/ctl/web:1.0.0", "--key", str(pub), "-o", "json"]
    )  # fmt: skip (exits only when one does not verify)
    listed = json.loads(capsys.readouterr().out)["items"]
    assert sorted(a["payload"]["predicateType"] for a in listed if a["verified"]) == [
        env.CYCLONEDX_PREDICATE,
        env.SLSA_PROVENANCE_V1,
    ]
    statements = independent_verify_attestations(registry.url, "ctl/web", built, pub)
    (bom,) = [
        s["predicate"] for s in statements if s["predicateType"] == "https://cyclonedx.org/bom"
    ]
    assert bom["bomFormat"] == "CycloneDX" and bom["metadata"]["component"]["version"] == built
    purls = {c["purl"] for c in bom["components"] if "purl" in c}  # the OS has none
    assert {"pkg:pypi/requests@2.31.0", "pkg:npm/lodash@4.17.20"} <= purls
    assert any(p.startswith("pkg:deb/debian/openssl@3.0.11-1~deb12u2") for p in purls)
    # the release record of the commit: what was attached, the SBOM's digest
    rel = releases.get(store, release.id)
    facts = rel.security["signing"]
    assert facts["image"] == f"{registry.host}/ctl/web@{built}" and facts["ciRun"] == "run-123"
    assert facts["attestations"] == [env.SLSA_PROVENANCE_V1, env.CYCLONEDX_PREDICATE]
    (layer,) = [s for s in sig_layers(registry.url, "ctl/web", built, "att")
                if s["annotations"]["predicateType"] == env.CYCLONEDX_PREDICATE]  # fmt: skip
    envelope = httpx.get(f"{registry.url}/v2/ctl/web/blobs/{layer['digest']}", timeout=10).json()
    attested = json.loads(base64.b64decode(envelope["payload"]))["predicate"]
    assert attested["components"] and facts["sbomComponents"] == len(
        [c for c in attested["components"] if "purl" in c]
    )
    assert facts["sbomDigest"].startswith("sha256:")
    text = timeline(rel)
    assert f"signed         {registry.host}/ctl/web@{built} (CI run run-123; SLSA provenance, " \
           "CycloneDX SBOM)" in text  # fmt: skip
    assert f"sbom           {facts['sbomDigest']} ({facts['sbomComponents']} components)" in text
    events = store_events.query(store)
    assert [e.message for e in events if e.reason == "ImageSigned"] == [
        "signed with provenance and SBOM of CI run run-123"
    ]


def test_a_key_that_does_not_load_is_an_event_not_a_crash(
    registry: Any, shipway_home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    settings = dataclasses.replace(Settings(), signing_key=str(bad))
    store = open_store(settings)
    pushes = [PushEvent(repository="ctl/none", tag="1", host=registry.host)]
    assert signing.sign_pushed(settings, store, pushes) == []
    failed = [e for e in store_events.query(store) if e.reason == "SigningFailed"]
    assert failed and "not a PEM private key" in failed[0].message


def test_without_a_key_ci_images_still_get_an_unsigned_sbom(
    registry: Any, shipway_home: Path
) -> None:
    """Every image shipway's CI builds gets an SBOM: with no key, cosign's `attach sbom` layout."""
    settings = dataclasses.replace(Settings(), signing_key="")
    store = open_store(settings)
    commit = "c" * 40
    runs.put_state(store, "ci", "run-9", "running",
                   {"started": time.time(), "resume": {"commit": commit}})  # fmt: skip
    built = push_labelled(registry.host, "nokey/web", "1.0.0", commit)
    stranger = push_labelled(registry.host, "nokey/web", "9.9.9", "d" * 40)
    tracker = ReleaseTracker(store)
    (release,) = tracker.ci_started(commit, "git://127.0.0.1:9418/acme/web", ["web"])
    pushes = [PushEvent(repository="nokey/web", tag=t, host=registry.host)
              for t in ("1.0.0", "9.9.9")]  # fmt: skip
    assert signing.sign_pushed(settings, store, pushes, tracker) == []  # nothing signed
    attached = signing.sbom_pushed(settings, store, pushes, tracker)
    assert attached == [f"{registry.host}/nokey/web@{built}"]
    tag = built.replace(":", "-") + ".sbom"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    manifest = httpx.get(f"{registry.url}/v2/nokey/web/manifests/{tag}", timeout=10,
                         headers=accept)  # fmt: skip
    assert manifest.status_code == 200
    (layer,) = manifest.json()["layers"]
    assert layer["mediaType"] == "application/vnd.cyclonedx+json"
    doc = httpx.get(f"{registry.url}/v2/nokey/web/blobs/{layer['digest']}", timeout=10).json()
    assert doc["bomFormat"] == "CycloneDX" and doc["metadata"]["component"]["version"] == built
    purls = {c["purl"] for c in doc["components"] if "purl" in c}
    assert "pkg:pypi/requests@2.31.0" in purls
    other = stranger.replace(":", "-") + ".sbom"  # not built by shipway's CI: left alone
    assert (
        httpx.get(f"{registry.url}/v2/nokey/web/manifests/{other}", timeout=10).status_code == 404
    )
    facts = releases.get(store, release.id).security["sbom"]
    assert facts["image"] == f"{registry.host}/nokey/web@{built}"
    assert facts["where"] == f"{registry.host}/nokey/web:{tag}"
    assert facts["sbomComponents"] == len([c for c in doc["components"] if "purl" in c])
    assert facts["sbomDigest"].startswith("sha256:")
    assert (
        f"sbom           {facts['sbomDigest']} ({facts['sbomComponents']} components, "
        f"unsigned, {facts['where']})"
    ) in timeline(releases.get(store, release.id))
    reasons = [e.reason for e in store_events.query(store)]
    assert reasons.count("SbomAttached") == 1 and "ImageSigned" not in reasons


def test_a_tag_the_registry_does_not_have_is_an_event_and_the_next_push_still_goes(
    registry: Any, shipway_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry failure on one push (here: the tag is gone) is a Warning on that reference,
    for signing and for the unsigned SBOM alike; the other pushes are still handled."""
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, _ = keys.generate(tmp_path / "ctl")
    signed = dataclasses.replace(Settings(), signing_key=str(key))
    store = open_store(signed)
    commit = "e" * 40
    runs.put_state(store, "ci", "run-9", "running",
                   {"started": time.time(), "resume": {"commit": commit}})  # fmt: skip
    push_labelled(registry.host, "ctl/gone", "2", commit)
    pushes = [PushEvent(repository="ctl/gone", tag="1", host=registry.host),
              PushEvent(repository="ctl/gone", tag="2", host=registry.host)]  # fmt: skip
    assert [r.rpartition("@")[0] for r in signing.sign_pushed(signed, store, pushes)] == [
        f"{registry.host}/ctl/gone"
    ]
    unsigned = dataclasses.replace(signed, signing_key="")
    assert len(signing.sbom_pushed(unsigned, store, pushes)) == 1
    warned = [(e.reason, e.involved.name) for e in store_events.query(store)
              if e.type == "Warning"]  # fmt: skip
    gone = f"{registry.host}/ctl/gone:1"
    assert warned == [("SigningFailed", gone), ("SbomFailed", gone)]
