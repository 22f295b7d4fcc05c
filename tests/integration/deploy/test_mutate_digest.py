"""Kyverno ``mutateDigest``: a sync applies ``repo:tag@digest`` and recognises it afterwards.

Real registry and signatures; the Kubernetes API fake as the target (and podman in
``test_policy_gate``).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import commit, deployment, kube_app, write

from fake_kube.server import FakeKube
from security_images import push_image
from shipway.deploy import compare, digest_lookup, engine
from shipway.images.registry import RegistryClient
from shipway.model import resources as model
from shipway.model.errors import ResourceError
from shipway.runtime import services
from shipway.security.sign import keys
from shipway.security.sign import service as signing
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _policy(host: str, pub: Path | None, action: str, **verify: Any) -> model.Resource:
    """A ClusterPolicy verifying ``host/mut-*`` with ``pub`` (None: an entry with no attestors)."""
    if pub is not None:
        verify = {"attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}], **verify}
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

    # mutateDigest: false leaves the tag, which verifyDigest (true by default) refuses
    store_resources.apply(store, [_policy(registry.host, pub, "Enforce", mutateDigest=False)])
    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Failed" and f"missing digest for {image}" in res.message, res.message
    assert _live_image(fake) == f"{image}@{d2}"
    # with verifyDigest: false as well, what git says deploys
    loose = _policy(registry.host, pub, "Enforce", mutateDigest=False, verifyDigest=False)
    store_resources.apply(store, [loose])
    res = engine.reconcile(store, "mapp", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert _live_image(fake) == image
    assert "deployed" not in res.policy["images"][image]
    assert engine.refresh(store, "mapp", settings=settings).sync_status == "Synced"


def test_audit_with_mutate_digest_is_refused_at_apply_and_ignored_in_a_stored_policy(
    setup: tuple[Any, Path, Path, str], fake: FakeKube, registry: Any
) -> None:
    # Kyverno (1.10+) refuses a new Audit policy with mutateDigest true, its default, and
    # ignores mutateDigest in an Audit policy stored before: the image deploys as written
    env, _key, pub, image = setup
    push_image(registry.host, "mut-web", "v1", b"unsigned")
    with pytest.raises(ResourceError) as err:
        _policy(registry.host, pub, "Audit")
    assert err.value.subject == "policy.yaml:14:7"  # the verifyImages entry
    assert "mutateDigest must be set to false for 'Audit' failure action" in err.value.message
    with pytest.raises(ResourceError) as err:
        _policy(registry.host, pub, "Enforce", failureAction="Audit", mutateDigest=True)
    assert err.value.subject.startswith("policy.yaml:") and "spec.rules.0.verifyImages.0" \
        ".mutateDigest: mutateDigest must be set to false" in err.value.message  # fmt: skip

    allowed = _policy(registry.host, pub, "Audit", mutateDigest=False)
    body = copy.deepcopy(allowed.body)
    del body["spec"]["rules"][0]["verifyImages"][0]["mutateDigest"]  # as stored before
    stored = dataclasses.replace(allowed, body=body, located=None)
    for pol in (stored, allowed):
        store_resources.apply(env.store, [pol])
        res = engine.reconcile(env.store, "mapp", settings=env.settings)
        assert res.phase == "Succeeded", res.message
        assert _live_image(fake) == image, "Audit never rewrites the image"
        assert "deployed" not in res.policy["images"][image]
        assert res.policy["images"][image]["verified"] is False
        assert engine.refresh(env.store, "mapp", settings=env.settings).sync_status == "Synced"


def test_required_false_skips_only_the_verified_check_not_a_failed_signature(
    setup: tuple[Any, Path, Path, str], fake: FakeKube, registry: Any
) -> None:
    # Kyverno's mutating webhook blocks a failed verification under Enforce whatever
    # required says; required is the validating webhook's "was it verified" check
    env, _key, pub, image = setup
    digest = push_image(registry.host, "mut-web", "v1", b"unsigned too")
    store_resources.apply(env.store, [_policy(registry.host, pub, "Enforce", required=False)])
    res = engine.reconcile(env.store, "mapp", settings=env.settings)
    assert res.phase == "Failed" and "no signatures found" in res.message, res.message
    assert ("Deployment", "team", "web") not in fake.store.objects

    # an entry without attestors verifies nothing: required (the default) fails it ...
    store_resources.apply(env.store, [_policy(registry.host, None, "Enforce")])
    res = engine.reconcile(env.store, "mapp", settings=env.settings)
    assert res.phase == "Failed" and f"unverified image {image}" in res.message, res.message
    # ... and with required: false it only pins the digest (mutateDigest alone)
    store_resources.apply(env.store, [_policy(registry.host, None, "Enforce", required=False)])
    res = engine.reconcile(env.store, "mapp", settings=env.settings)
    assert res.phase == "Succeeded", res.message
    assert _live_image(fake) == f"{image}@{digest}"
    assert engine.refresh(env.store, "mapp", settings=env.settings).sync_status == "Synced"


def test_an_image_written_with_a_digest_is_deployed_as_written(
    setup: tuple[Any, Path, Path, str], fake: FakeKube, registry: Any, config_repo: Any
) -> None:
    env, key, pub, image = setup
    digest = push_image(registry.host, "mut-web", "v1", b"by digest")
    _sign(registry.host, image, key)
    _url, work = config_repo
    for written in (f"{registry.host}/mut-web@{digest}", f"{image}@{digest}"):
        write(work.path, "apps/m/all.yaml", [deployment(written)])
        commit(work, f"run {written}")
        store_resources.apply(env.store, [_policy(registry.host, pub, "Enforce")])
        res = engine.reconcile(env.store, "mapp", settings=env.settings)
        assert res.phase == "Succeeded", res.message
        assert _live_image(fake) == written, "no second digest, no tag added"
        assert "deployed" not in res.policy["images"][written]
        status = store_resources.get(env.store, "Application", "mapp").status
        assert "imageDigests" not in status, "nothing to re-resolve"


def _pass(env: Any) -> tuple[dict[str, Any], int, int]:
    """One controller pass: its comparisons, registry requests and renders."""
    renderer = compare.renderer(env.settings)
    sent, renders = digest_lookup.requests_sent(), renderer.renders
    got = engine.refresh_all(env.store, settings=env.settings)
    return got, digest_lookup.requests_sent() - sent, renderer.renders - renders


def test_a_pass_asks_each_pinned_tag_once_and_unchanged_apps_keep_their_comparison(
    setup: tuple[Any, Path, Path, str],
    fake: FakeKube,
    registry: Any,
    config_repo: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, key, pub, image = setup
    push_image(registry.host, "mut-web", "v1", b"shared")
    _sign(registry.host, image, key)
    store_resources.apply(env.store, [_policy(registry.host, pub, "Enforce")])
    url, work = config_repo
    write(work.path, "apps/m2/all.yaml", [deployment(image, name="web2")])
    commit(work, "a second app running the same tag")
    store_resources.apply(env.store, kube_app(url, fake.url, "mapp2", "apps/m2"))
    for app in ("mapp", "mapp2"):
        assert engine.reconcile(env.store, app, settings=env.settings).phase == "Succeeded"

    _pass(env)  # the syncs' objects are new live state: compared once more
    got, requests, renders = _pass(env)
    assert {got["mapp"].sync_status, got["mapp2"].sync_status} == {"Synced"}
    assert requests == 1, "one HEAD for the tag both apps run"
    assert renders == 0, "the tag resolves as before: the last comparisons stand"

    monkeypatch.setenv("SHIPWAY_DIGEST_TTL", "600")
    assert _pass(env)[1:] == (0, 0), "within the TTL the last answer is used"
    moved = push_image(registry.host, "mut-web", "v1", b"moved")
    got, requests, _ = _pass(env)
    assert (requests, got["mapp"].sync_status) == (0, "Synced"), "the TTL bounds how stale"
    later = digest_lookup._now() + 601
    monkeypatch.setattr(digest_lookup, "_now", lambda: later)
    got, requests, renders = _pass(env)
    assert (requests, renders) == (1, 2)
    assert {got["mapp"].sync_status, got["mapp2"].sync_status} == {"OutOfSync"}
    assert moved in got["mapp"].out_of_sync[0].text


@pytest.fixture
def spare_registry(run_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A registry of this test's own, and how to start it again on its port once stopped."""
    storage = tmp_path / "spare-registry"
    svc = services.registry(run_dir, storage, name="registry-spare")

    def again() -> None:
        services.registry(run_dir, storage, svc.port, name="registry-spare")

    yield f"127.0.0.1:{svc.port}", again
    services.stop(run_dir, "registry-spare")


def test_a_registry_down_keeps_the_pin_reports_it_and_is_asked_again_next_pass(
    setup: tuple[Any, Path, Path, str],
    fake: FakeKube,
    run_dir: Path,
    spare_registry: tuple[str, Callable[[], None]],
    config_repo: Any,
) -> None:
    env, key, pub, _ = setup
    host, start_again = spare_registry
    image = f"{host}/mut-api:v1"
    digest = push_image(host, "mut-api", "v1", b"api")
    _sign(host, image, key)
    store_resources.apply(env.store, [_policy(host, pub, "Enforce")])
    url, work = config_repo
    write(work.path, "apps/d/all.yaml", [deployment(image, name="api")])
    commit(work, "an app on the spare registry")
    store_resources.apply(env.store, kube_app(url, fake.url, "dapp", "apps/d"))
    assert engine.reconcile(env.store, "dapp", settings=env.settings).phase == "Succeeded"
    assert _pass(env)[0]["dapp"].sync_status == "Synced"

    services.stop(run_dir, "registry-spare")
    got, requests, _ = _pass(env)
    status = got["dapp"]
    assert status.sync_status == "Synced", "the recorded digest holds: no flapping"
    assert status.health != "Unknown"
    assert requests >= 1
    (cond,) = status.conditions
    assert cond["type"] == "ImageDigestWarning"
    assert image in cond["message"] and digest in cond["message"]
    assert "cannot reach" in cond["message"]
    stored = store_resources.get(env.store, "Application", "dapp").status
    assert stored["conditions"] == [cond]
    assert stored["sync"]["status"] == "Synced"
    again, requests, renders = _pass(env)
    assert requests >= 1, "asked again the next pass"
    assert again["dapp"].conditions == [cond], "the same condition, since the same time"
    assert renders == 0, "failing the same way: the last comparison stands"
    got_cli = _cli("app", "get", "dapp", "--no-refresh")
    assert f"Condition:     ImageDigestWarning: mutateDigest: cannot resolve {image}" in (
        got_cli.stdout
    ), got_cli.stdout + got_cli.stderr
    diff = _cli("app", "diff", "dapp")
    assert diff.returncode == 0, diff.stdout + diff.stderr  # a warning is no comparison error
    assert "ImageDigestWarning" in diff.stderr

    start_again()
    got, requests, renders = _pass(env)
    assert (requests, renders) == (1, 1), "back: compared again"
    assert got["dapp"].sync_status == "Synced"
    assert got["dapp"].conditions == []
    assert store_resources.get(env.store, "Application", "dapp").status["conditions"] == []
