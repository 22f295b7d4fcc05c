"""A sync passes its policy gates first: Kyverno verifyImages and conftest Rego (real podman)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.images import transfer
from shipway.images.registry import RegistryClient
from shipway.model import resources as model
from shipway.runtime.ports import free_port
from shipway.security.sign import keys
from shipway.security.sign import service as signing
from shipway.store import events as store_events
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def cluster_policy(host: str, pub: Path, action: str) -> model.Resource:
    """Kyverno refuses ``Audit`` with ``mutateDigest`` true (its default): Audit turns it off."""
    doc = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "signed-images"},
        "spec": {
            "validationFailureAction": action,
            "rules": [
                {
                    "name": "check-signature",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "verifyImages": [
                        {
                            "imageReferences": [f"{host}/policy-*"],
                            "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
                            **({"mutateDigest": False} if action == "Audit" else {}),
                        }
                    ],
                }
            ],
        },
    }
    return model.parse_text(yaml.safe_dump(doc), "policy.yaml")[0]


def copy_to(src: str, dst: str) -> str:
    transfer.copy(src, dst)
    return dst


def test_unsigned_images_are_refused_signed_ones_deploy_and_audit_only_warns(
    deploy_env: Any,
    config_repo: Any,
    httpd_images: dict[str, str],
    registry: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "team")
    image = copy_to(httpd_images["v1"], f"{registry.host}/policy-web:v1")
    url, work = config_repo
    write(work.path, "apps/pg/all.yaml", [deployment(image), service(free_port())])
    commit(work, "web")
    store = deploy_env.store
    store_resources.apply(
        store, [cluster_policy(registry.host, pub, "Enforce"), application(url, "pgapp", "apps/pg")]
    )

    res = engine.reconcile(store, "pgapp", settings=deploy_env.settings)
    assert res.phase == "Failed"
    assert "refused by policy" in res.message and "no signatures found" in res.message
    assert "policy signed-images/check-signature" in res.message
    assert deploy_env.target.live("pgapp") == {}, "nothing was applied"

    with RegistryClient(registry.host) as client:
        signing.sign(client, signing.resolve(client, image), keys.load_signer(key))
    res = engine.reconcile(store, "pgapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert res.policy["images"][image]["verified"] is True  # what the release record keeps
    digest = res.policy["images"][image]["digest"]
    assert digest.startswith("sha256:")
    assert res.policy["images"][image]["deployed"] == f"{image}@{digest}"  # mutateDigest
    (obj,) = [o for k, o in deploy_env.target.live("pgapp").items() if "/Deployment/" in k]
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == f"{image}@{digest}"
    assert engine.refresh(store, "pgapp", settings=deploy_env.settings).sync_status == "Synced"

    # Audit: another unsigned image deploys, with a Warning event naming it
    v2 = copy_to(httpd_images["v2"], f"{registry.host}/policy-web:v2")
    store_resources.apply(store, [cluster_policy(registry.host, pub, "Audit")])
    write(work.path, "apps/pg/all.yaml", [deployment(v2), service(free_port())])
    commit(work, "v2")
    res = engine.reconcile(store, "pgapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    warned = store_events.query(store, kind="Application", name="pgapp", types=["Warning"])
    assert any(e.reason == "PolicyWarning" and "policy-web:v2" in e.message for e in warned)
    (obj,) = [o for k, o in deploy_env.target.live("pgapp").items() if "/Deployment/" in k]
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == v2, "Audit: as written"


def test_a_moved_tag_runs_the_new_digest_once_verified_on_podman(
    deploy_env: Any,
    config_repo: Any,
    httpd_images: dict[str, str],
    registry: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "team")
    image = copy_to(httpd_images["v1"], f"{registry.host}/policy-moving:live")
    with RegistryClient(registry.host) as client:
        signing.sign(client, signing.resolve(client, image), keys.load_signer(key))
    url, work = config_repo
    port = free_port()
    write(work.path, "apps/mv/all.yaml", [deployment(image), service(port)])
    commit(work, "web")
    store, settings = deploy_env.store, deploy_env.settings
    store_resources.apply(
        store, [cluster_policy(registry.host, pub, "Enforce"), application(url, "mvapp", "apps/mv")]
    )
    res = engine.reconcile(store, "mvapp", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert http_get(port, "/index.html") == "v1"
    assert engine.refresh(store, "mvapp", settings=settings).sync_status == "Synced"

    copy_to(httpd_images["v2"], image)  # the tag moves; git does not change
    with RegistryClient(registry.host) as client:
        moved = signing.resolve(client, image)
        signing.sign(client, moved, keys.load_signer(key))
    status = engine.refresh(store, "mvapp", settings=settings)
    assert status.sync_status == "OutOfSync"
    assert moved.digest in status.out_of_sync[0].text
    res = engine.reconcile(store, "mvapp", settings=settings)
    assert res.phase == "Succeeded", res.message
    assert res.policy["images"][image]["deployed"] == f"{image}@{moved.digest}"
    assert http_get(port, "/index.html") == "v2"
    assert engine.refresh(store, "mvapp", settings=settings).sync_status == "Synced"


def test_rego_deny_refuses_the_sync_and_lint_warns(
    deploy_env: Any, config_repo: Any, httpd_images: dict[str, str]
) -> None:
    url, work = config_repo
    write(work.path, "apps/rg/all.yaml", [deployment(httpd_images["v1"]), service(free_port())])
    commit(work, "web")
    rego_src = textwrap.dedent(
        """\
        package main
        import rego.v1

        deny contains msg if {
          input.kind == "Deployment"
          not input.metadata.labels.team
          msg := sprintf("Deployment %s has no team label", [input.metadata.name])
        }
        """
    )
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "shipway-policies", "namespace": "argocd"},
        "data": {"labels.rego": rego_src, "lint": "warn"},
    }
    store = deploy_env.store
    store_resources.apply(
        store,
        [model.parse_text(yaml.safe_dump(cm), "cm.yaml")[0], application(url, "rgapp", "apps/rg")],
    )
    res = engine.reconcile(store, "rgapp", settings=deploy_env.settings)
    assert res.phase == "Failed"
    assert "Deployment web has no team label" in res.message
    lint_warnings = store_events.query(store, kind="Application", name="rgapp", types=["Warning"])
    assert any("(run-as-non-root)" in e.message for e in lint_warnings)
