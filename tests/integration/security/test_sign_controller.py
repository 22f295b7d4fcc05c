"""The controller signs what shipway's CI built, with provenance from the run (real registry)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from shipway.controller import signing
from shipway.images.registry import RegistryClient
from shipway.security.sign import envelope as env
from shipway.security.sign import keys, service
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import runs
from shipway.store.db import open_store
from shipway.updater.webhooks import PushEvent


def push_labelled(host: str, repo: str, tag: str, revision: str) -> str:
    with RegistryClient(host) as client:
        layer = f"layer of {revision}".encode()
        ldig = "sha256:" + hashlib.sha256(layer).hexdigest()
        client.upload_blob(repo, ldig, layer)
        cfg = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"org.opencontainers.image.revision": revision}},
                "rootfs": {"type": "layers", "diff_ids": [ldig]},
            }
        ).encode()
        cdig = "sha256:" + hashlib.sha256(cfg).hexdigest()
        client.upload_blob(repo, cdig, cfg)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": cdig,
                    "size": len(cfg),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": ldig,
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        return client.put_manifest(
            repo, tag, manifest, "application/vnd.oci.image.manifest.v1+json"
        )


def test_built_by_ci_is_signed_with_provenance_and_others_are_not(
    registry: Any, shipway_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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
                "event": "push",
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
    signed = signing.sign_pushed(settings, store, pushes)
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
        other = service.resolve(client, f"{registry.host}/ctl/web@{stranger}")
        with pytest.raises(Exception, match="no signatures found"):
            service.verify(client, other, verifier)
    reasons = [e.reason for e in store_events.query(store)]
    assert reasons.count("ImageSigned") == 1


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
