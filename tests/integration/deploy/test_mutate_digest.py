"""Kyverno ``mutateDigest``: a sync applies ``repo:tag@digest`` and recognises it afterwards.

Real registry and signatures; the Kubernetes API fake as the target (and podman in
``test_policy_gate``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import commit, deployment, kube_app, write

from fake_kube.server import FakeKube
from security_images import push_image
from shipway.deploy import digest_lookup, engine
from shipway.images.registry import RegistryClient
from shipway.model import resources as model
from shipway.security.sign import keys
from shipway.security.sign import service as signing
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _policy(host: str, pub: Path, action: str, **verify: Any) -> model.Resource:
    doc = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "signed"},
        "spec": {
            "validationFailureAction": action,
            "rules": [
                {
                    "name": "sig",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "verifyImages": [
                        {
                            "imageReferences": [f"{host}/mut-*"],
                            "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
                            **verify,
                        }
                    ],
                }
            ],
        },
    }
    return model.parse_text(yaml.safe_dump(doc), "policy.yaml")[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    shipway = str(Path(sys.executable).with_name("shipway"))
    return subprocess.run(
        [shipway, *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


def _sign(host: str, image: str, key: Path) -> None:
    with RegistryClient(host) as client:
        signing.sign(client, signing.resolve(client, image), keys.load_signer(key))


def _live_image(fake: FakeKube) -> str:
    obj = fake.store.objects[("Deployment", "team", "web")]
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.fixture
def setup(
    deploy_env: Any,
    config_repo: Any,
    fake: FakeKube,
    registry: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Any, Path, Path, str]:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    monkeypatch.setenv("SHIPWAY_DIGEST_TTL", "0")  # every pass asks (the TTL has its own test)
    digest_lookup.forget()
    key, pub = keys.generate(tmp_path / "team")
    image = f"{registry.host}/mut-web:v1"
    url, work = config_repo
    write(work.path, "apps/m/all.yaml", [deployment(image)])
    commit(work, "web")
    store_resources.apply(deploy_env.store, kube_app(url, fake.url, "mapp", "apps/m"))
    return deploy_env, key, pub, image


def test_verified_tag_runs_as_its_digest_and_a_moved_tag_is_synced_again(
    setup: tuple[Any, Path, Path, str], fake: FakeKube, registry: Any
) -> None:
    env, key, pub, image = setup
    store, settings = env.store, env.settings
    d1 = push_image(registry.host, "mut-web", "v1", b"one")
    store_resources.apply(store, [_policy(registry.host, pub, "Enforce")])

    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Failed" and "no signatures found" in res.message  # unsigned: refused
    assert ("Deployment", "team", "web") not in fake.store.objects

    _sign(registry.host, image, key)
    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert _live_image(fake) == f"{image}@{d1}"  # Kyverno's form: registry/repo:tag@digest
    assert res.policy["images"][image]["digest"] == d1
    assert res.policy["images"][image]["deployed"] == f"{image}@{d1}"
    assert res.sync_status == "Synced"  # its own mutation is not drift
    status = engine.refresh(store, "mapp", settings=settings)
    assert status.sync_status == "Synced", [d.text for d in status.out_of_sync]
    for _ in range(2):  # the controller's pass; the second would reuse the first
        assert engine.refresh_all(store, settings=settings)["mapp"].sync_status == "Synced"

    # the tag moves to an unsigned image: OutOfSync naming the new digest, refused at sync
    d2 = push_image(registry.host, "mut-web", "v1", b"two")
    assert d2 != d1
    assert engine.refresh_all(store, settings=settings)["mapp"].sync_status == "OutOfSync"
    status = engine.refresh(store, "mapp", settings=settings)
    assert status.sync_status == "OutOfSync"
    assert d1 in status.out_of_sync[0].text and d2 in status.out_of_sync[0].text
    got = _cli("app", "get", "mapp", "--no-refresh")
    assert f"Image digest:  {image} -> {d1} (mutateDigest)" in got.stdout, got.stdout + got.stderr
    diff = _cli("app", "diff", "mapp")
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert f"+        image: {image}@{d2}" in diff.stdout
    assert f"DIGEST: {image} -> {image}@{d2}" in diff.stdout
    assert "REFUSED: policy signed/sig" in diff.stdout
    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Failed" and "no signatures found" in res.message
    assert _live_image(fake) == f"{image}@{d1}", "still the verified digest"

    # once the new digest is signed the next sync verifies and applies it
    _sign(registry.host, image, key)
    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert _live_image(fake) == f"{image}@{d2}"
    assert engine.refresh(store, "mapp", settings=settings).sync_status == "Synced"

    # mutateDigest: false deploys what git says
    store_resources.apply(store, [_policy(registry.host, pub, "Enforce", mutateDigest=False)])
    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert _live_image(fake) == image
    assert "deployed" not in res.policy["images"][image]
    assert engine.refresh(store, "mapp", settings=settings).sync_status == "Synced"


@pytest.mark.parametrize(
    ("action", "verify"),
    [("Audit", {}), ("Enforce", {"required": False})],
    ids=["audit", "optional"],
)
def test_unverified_image_admitted_by_audit_or_required_false_is_pinned_as_kyverno_does(
    setup: tuple[Any, Path, Path, str],
    fake: FakeKube,
    registry: Any,
    action: str,
    verify: dict[str, Any],
) -> None:
    # Kyverno adds the digest patch whatever the verdict; only an Enforce failure blocks
    env, _key, pub, image = setup
    digest = push_image(registry.host, "mut-web", "v1", b"unsigned")
    store_resources.apply(env.store, [_policy(registry.host, pub, action, **verify)])
    res = engine.reconcile(env.store, "mapp", settings=env.settings)
    assert res.phase == "Succeeded", res.message
    assert _live_image(fake) == f"{image}@{digest}"
    assert res.policy["images"][image]["deployed"] == f"{image}@{digest}"
    assert engine.refresh(env.store, "mapp", settings=env.settings).sync_status == "Synced"
