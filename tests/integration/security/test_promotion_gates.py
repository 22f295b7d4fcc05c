"""A promotion's Freight passes the signature policy and the Stage's vulnerability gate first.

A real registry holds the images; the OSV records are the tests' own. A refused
promotion runs no step, fails naming the image, the rule and the finding, and
the refusal is on the Promotion's status and the Freight's journey (release get).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from security_records import RECORDS

from security_images import push_image, sample_files
from shipway.cli.release import freight_timeline
from shipway.images.registry import RegistryClient
from shipway.model.resources import Resource, parse_text
from shipway.promote import lifecycle, records, runner
from shipway.promote import start as start_mod
from shipway.security import vuln
from shipway.security.sign import keys, service
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

KARGO = "kargo.akuity.io/v1alpha1"


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    s = open_store(Settings())
    yield s
    s.close()


def kargo_docs(host: str, pub: Path, action: str = "Enforce") -> list[Resource]:
    steps = [{"uses": "compose-output", "as": "out", "config": {"done": "yes"}}]
    direct = [{"origin": {"kind": "Warehouse", "name": "web"}, "sources": {"direct": True}}]
    docs: list[dict[str, Any]] = [
        {"apiVersion": KARGO, "kind": "Project", "metadata": {"name": "demo"}},
        {"apiVersion": KARGO, "kind": "Warehouse", "metadata": {"name": "web", "namespace": "demo"},
         "spec": {"subscriptions": [{"image": {"repoURL": f"{host}/promo-web"}}]}},
        {"apiVersion": KARGO, "kind": "Stage", "metadata": {"name": "test", "namespace": "demo"},
         "spec": {"requestedFreight": direct, "promotionTemplate": {"spec": {"steps": steps}}}},
        {"apiVersion": KARGO, "kind": "Stage",
         "metadata": {"name": "prod", "namespace": "demo",
                      "annotations": {"shipway.dev/vulnerability-gate": "HIGH"}},
         "spec": {"requestedFreight": direct, "promotionTemplate": {"spec": {"steps": steps}}}},
        {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
         "metadata": {"name": "signed-images"},
         "spec": {"validationFailureAction": action, "rules": [{
             "name": "check-signature",
             "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
             "verifyImages": [{
                 "imageReferences": [f"{host}/promo-*"],
                 "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
                 **({"mutateDigest": False} if action == "Audit" else {}),
             }]}]}},
    ]  # fmt: skip
    return parse_text(yaml.safe_dump_all(docs), "kargo.yaml")


def add_freight(store: Store, host: str, digest: str, name: str) -> str:
    doc = {"apiVersion": KARGO, "kind": "Freight", "metadata": {"name": name, "namespace": "demo"},
           "alias": f"alias-{name}", "origin": {"kind": "Warehouse", "name": "web"},
           "images": [{"repoURL": f"{host}/promo-web", "tag": name, "digest": digest}]}  # fmt: skip
    store_resources.apply(store, [Resource(api_version=KARGO, kind="Freight", name=name,
                                           namespace="demo", body=doc)])  # fmt: skip
    return name


def promote(store: Store, stage: str, freight: str) -> dict[str, Any]:
    started = start_mod.start(store, project="demo", stage=stage, freight=freight, actor="alice")
    return runner.run(store, Settings(), started.key, poll=0.05)


def test_unsigned_and_vulnerable_freight_is_refused_before_any_step(
    store: Store, registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "team")
    clean = {"etc/os-release": sample_files()["etc/os-release"], "app/README": b"clean"}
    signed = push_image(registry.host, "promo-web", "1.0.0", clean)
    unsigned = push_image(registry.host, "promo-web", "1.1.0", {**clean, "app/v": b"1.1"})
    vulnerable = push_image(registry.host, "promo-web", "2.0.0", sample_files())
    with RegistryClient(registry.host) as client:
        for digest in (signed, vulnerable):
            target = service.resolve(client, f"{registry.host}/promo-web@{digest}")
            service.sign(client, target, keys.load_signer(key))
    osv_dir = tmp_path / "osv"
    osv_dir.mkdir()
    for rec in RECORDS:
        (osv_dir / f"{rec['id']}.json").write_text(json.dumps(rec))
    with vuln.VulnDB(create=True) as db:
        db.import_path(osv_dir)
    store_resources.apply(store, kargo_docs(registry.host, pub))
    add_freight(store, registry.host, signed, "good")
    add_freight(store, registry.host, unsigned, "unsigned")
    add_freight(store, registry.host, vulnerable, "vulnerable")

    ok = promote(store, "test", "good")
    assert ok["phase"] == "Succeeded", ok.get("message")

    refused = promote(store, "test", "unsigned")
    assert refused["phase"] == "Failed"
    msg = refused["message"]
    assert msg.startswith("refused by policy: policy signed-images/check-signature: ")
    assert f"image {registry.host}/promo-web@{unsigned} in Freight/demo/unsigned" in msg
    assert "no signatures found" in msg
    assert refused["stepExecutionMetadata"] == [], "no step ran"
    stored = store_resources.get(store, "Promotion", refused_name(store, "unsigned"), "demo")
    assert stored.status["phase"] == "Failed" and stored.status["message"] == msg
    stage = store_resources.get(store, "Stage", "test", "demo")
    # the refused promotion is the Stage's lastPromotion (as in Kargo); it still holds "good"
    assert stage.status["lastPromotion"]["freight"]["name"] == "unsigned"
    assert stage.status["lastPromotion"]["status"]["phase"] == "Failed"
    held = stage.status["freightHistory"][0]["items"]
    assert [ref["name"] for ref in held.values()] == ["good"]

    # signed, but the prod Stage's gate refuses its HIGH finding; test takes it
    assert promote(store, "test", "vulnerable")["phase"] == "Succeeded"
    bad = promote(store, "prod", "vulnerable")
    assert bad["phase"] == "Failed"
    assert "stage prod shipway.dev/vulnerability-gate=HIGH: image " in bad["message"]
    assert f"promo-web@{vulnerable} has 2 finding(s) at or above HIGH" in bad["message"]
    assert "GHSA-35jh-r3h4-6jhm (lodash 4.17.20, HIGH)" in bad["message"]
    assert "GHSA-xvch-5gv4-984h (minimist 1.2.5, CRITICAL)" in bad["message"]
    assert "signed-images" not in bad["message"], "its signature verified"

    # the release record: the Freight's journey keeps the verdicts
    entries = [e for e in records.journey(store, "demo", "vulnerable") if e["phase"] == "Failed"]
    (entry,) = entries
    policy = entry["security"]["policy"]
    image = f"{registry.host}/promo-web@{vulnerable}"
    assert policy["images"][image]["verified"] is True
    assert policy["vulnerabilities"][image]["HIGH"] == 1
    assert policy["vulnerabilities"][image]["CRITICAL"] == 1
    assert "GHSA-35jh-r3h4-6jhm" in policy["refused"]
    doc = {"freight": {"name": "vulnerable", "images": []}, "journey": entries}
    text = freight_timeline(doc)
    assert f"signature      {image}: verified" in text
    assert f"vulnerabilities {image}: " in text and "1 HIGH" in text
    failed = store_events.query(store, kind="Promotion", types=["Warning"])
    assert any(e.reason == "PromotionFailed" and "GHSA-35jh-r3h4-6jhm" in e.message
               for e in failed)  # fmt: skip

    # the shipway-policies ConfigMap's Grype rules ignore both: the next promotion goes
    grype = ("ignore:\n  - vulnerability: CVE-2021-23337\n    include-aliases: true\n"
             "  - package: {name: minimist, version: 1.2.5}\n    reason: dev only\n")  # fmt: skip
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "shipway-policies", "namespace": "argocd"},
          "data": {".grype.yaml": grype}}  # fmt: skip
    store_resources.apply(store, parse_text(yaml.safe_dump(cm), "cm.yaml"))
    assert promote(store, "prod", "vulnerable")["phase"] == "Succeeded"


def test_audit_only_warns_and_the_promotion_goes_on(
    store: Store, registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    _, pub = keys.generate(tmp_path / "team")
    unsigned = push_image(registry.host, "promo-audit", "1.0.0", b"audit me")
    store_resources.apply(store, kargo_docs(registry.host, pub, action="Audit"))
    doc = {"apiVersion": KARGO, "kind": "Freight", "metadata": {"name": "aud", "namespace": "demo"},
           "origin": {"kind": "Warehouse", "name": "web"},
           "images": [{"repoURL": f"{registry.host}/promo-audit", "tag": "1.0.0",
                       "digest": unsigned}]}  # fmt: skip
    store_resources.apply(store, [Resource(api_version=KARGO, kind="Freight", name="aud",
                                           namespace="demo", body=doc)])  # fmt: skip
    done = promote(store, "test", "aud")
    assert done["phase"] == "Succeeded", done.get("message")
    warned = store_events.query(store, kind="Promotion", types=["Warning"])
    assert any(e.reason == "PolicyWarning" and "(Audit)" in e.message
               and "no signatures found" in e.message for e in warned)  # fmt: skip


def refused_name(store: Store, freight: str) -> str:
    (found,) = [p for p in store_resources.list_kind(store, "Promotion", "demo")
                if (p.body.get("spec") or {}).get("freight") == freight]  # fmt: skip
    return found.name


def test_a_refused_auto_promotion_is_not_tried_again_with_the_same_freight(
    store: Store, registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    _, pub = keys.generate(tmp_path / "team")
    unsigned = push_image(registry.host, "promo-web", "3.0.0", b"auto, unsigned")
    config = {"apiVersion": KARGO, "kind": "ProjectConfig",
              "metadata": {"name": "demo", "namespace": "demo"},
              "spec": {"promotionPolicies": [{"stageSelector": {"name": "test"},
                                              "autoPromotionEnabled": True}]}}  # fmt: skip
    store_resources.apply(
        store, [*kargo_docs(registry.host, pub), *parse_text(yaml.safe_dump(config), "pc.yaml")]
    )
    add_freight(store, registry.host, unsigned, "autobad")
    (key,) = lifecycle.auto_promote(store)
    assert runner.run(store, Settings(), key, poll=0.05)["phase"] == "Failed"
    holds = store_resources.get(store, "Stage", "test", "demo").status["autoPromotionHolds"]
    assert holds["Warehouse/web"]["freightName"] == "autobad"
    assert holds["Warehouse/web"]["reason"] == "PolicyRefused"
    assert lifecycle.auto_promote(store) == []
