"""``/metrics`` of a real controller, scraped by a real Prometheus.

The values come from the store, so what another process did (here: this test
process writing events, CI runs and releases, as ``shipway app sync`` or
``shipway ci run`` would) is counted by the controller. The main port needs a
token (Prometheus sends it with ``authorization``); ``--metrics-port`` serves
the same metrics on loopback without one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_controller import Controller, cli, running
from prometheus_client.parser import text_string_to_metric_families
from prometheus_proc import running as prometheus

from shipway.model.events import ObjectRef
from shipway.model.release import Release
from shipway.model.resources import parse_text
from shipway.runtime import ports
from shipway.settings import Settings
from shipway.store import emitters, outbox, releases, runs
from shipway.store import events as store_events
from shipway.store import resources as resource_store
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web-dev, namespace: argocd}
spec:
  project: team
  source: {repoURL: "git://127.0.0.1:1/config.git", path: dev}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
  syncPolicy: {automated: {}}
"""
T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
PUSH = {"events": [{"action": "push", "target": {
    "repository": "demo/hello", "tag": "v1", "digest": "sha256:" + "a" * 64,
    "mediaType": "application/vnd.oci.image.manifest.v1+json"},
    "request": {"host": "127.0.0.1:5000"}}]}  # fmt: skip


@pytest.fixture
def ctl(shipway_home: Path) -> Iterator[tuple[Controller, int]]:
    metrics_port = ports.free_port()
    with running(shipway_home, "--metrics-port", str(metrics_port)) as c:
        yield c, metrics_port


def _seed(home: Path) -> None:
    store = open_store(Settings(home=home))
    resource_store.apply(store, parse_text(APP, "app.yaml"))
    resource_store.set_status(store, "Application", "web-dev", {
        "health": {"status": "Healthy"}, "sync": {"status": "Synced"}})  # fmt: skip
    web = ObjectRef("Application", "web-dev", "argocd")
    for i, (took, phase) in enumerate([(0.3, "Succeeded"), (3.0, "Succeeded"), (20.0, "Failed")]):
        start = T0 + dt.timedelta(minutes=i)
        store_events.emit(store, web, "OperationStarted", "sync", at=start)  # repeats: counted
        store_events.record_reconcile(store, "argocd", "web-dev", phase, took)
    store_events.record_reconcile(store, "argocd", "web-dev", "Succeeded", None)  # resumed
    for rid, conclusion in (("r1", "success"), ("r2", "failure"), ("r3", "success")):
        runs.save_run(store, {"id": rid, "workflow": "ci", "event": "push",
                              "conclusion": conclusion, "jobs": []}, "")  # fmt: skip
    runs.save_run(store, {"id": "r4", "workflow": "ci", "event": "push", "jobs": []}, "")
    now = dt.datetime.now(dt.UTC)
    rel = Release(id="rel1", app="web-dev", commit="c" * 40, created=now - dt.timedelta(hours=1))
    for name in ("ci", "image", "update", "sync", "health"):
        rel.finish(name, True, at=now - dt.timedelta(minutes=30))
    releases.save(store, rel)
    # a release that failed at sync 20 minutes ago, restored by the next live one 5 minutes on
    bad = Release(id="rel2", app="web-dev", commit="d" * 40, created=now - dt.timedelta(minutes=25))
    for name in ("ci", "image", "update"):
        bad.finish(name, True, at=now - dt.timedelta(minutes=22))
    bad.finish("sync", False, "quota", at=now - dt.timedelta(minutes=20))
    releases.save(store, bad)
    fix = Release(id="rel3", app="web-dev", commit="e" * 40, created=now - dt.timedelta(minutes=18))
    for name in ("ci", "image", "update", "sync", "health"):
        fix.finish(name, True, at=now - dt.timedelta(minutes=15))
    releases.save(store, fix)
    promo = ObjectRef("Promotion", "prod.01", "shop", "kargo.akuity.io/v1alpha1")
    for reason, warn in (("PromotionStarted", False), ("PromotionSucceeded", False),
                         ("PromotionStarted", False), ("PromotionFailed", True)):  # fmt: skip
        store_events.emit(store, promo, reason, f"{reason} {promo.name}",
                          type="Warning" if warn else "Normal", source="promotion")  # fmt: skip
    emitters.rollback(store, "web-dev", "argocd", "rolled back to c0ffee (history 1)")
    for i, state in enumerate(("sent", "sent", "failed", "suppressed", "pending")):
        outbox.enqueue(store, outbox.Delivery(f"k{i}", f"c{i}", "argocd", "web-dev",
                                              "on-sync-failed", "slack", "ops", {}),
                       state=state)  # fmt: skip
    store.close()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str,
           **labels: str) -> float:  # fmt: skip
    hits = [v for (n, ls), v in samples.items() if n == metric and set(labels.items()) <= ls]
    assert len(hits) == 1, (metric, labels, [k for k in samples if k[0] == metric])
    return hits[0]


def test_metrics_from_the_store(ctl: tuple[Controller, int], tmp_path: Path) -> None:
    c, metrics_port = ctl
    _seed(c.home)
    hdr = {"Authorization": f"Bearer {c.admin_token}"}
    registry_hook = c.url + "/hooks/registry"
    token = cli("hook", "token", "registry", env={"SHIPWAY_HOME": str(c.home)}).stdout.strip()
    ctype = {"Content-Type": "application/vnd.docker.distribution.events.v1+json",
             "Authorization": f"Bearer {token}"}  # fmt: skip
    assert httpx.post(registry_hook, content=json.dumps(PUSH), headers=ctype).status_code == 202
    assert httpx.post(registry_hook, content=json.dumps(PUSH), headers=ctype).status_code == 202
    assert httpx.post(c.url + "/hooks/git", content=b"{not json").status_code == 400

    assert httpx.get(c.url + "/metrics").status_code == 401
    main = httpx.get(c.url + "/metrics", headers=hdr)
    assert main.status_code == 200 and main.headers["content-type"].startswith("text/plain")
    side = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert side.status_code == 200
    s = _samples(side.text)
    info = {"name": "web-dev", "namespace": "argocd", "project": "team", "health_status": "Healthy",
            "sync_status": "Synced", "dest_server": "https://kubernetes.default.svc",
            "dest_namespace": "web", "repo": "git://127.0.0.1:1/config.git",
            "autosync_enabled": "true"}  # fmt: skip
    assert _value(s, "argocd_app_info", **info) == 1
    assert _value(s, "argocd_app_sync_total", name="web-dev", phase="Succeeded") == 3
    assert _value(s, "argocd_app_sync_total", name="web-dev", phase="Failed") == 1
    assert _value(s, "argocd_app_reconcile_count", namespace="argocd") == 3
    assert _value(s, "argocd_app_reconcile_bucket", namespace="argocd", le="0.5") == 1
    assert _value(s, "argocd_app_reconcile_bucket", namespace="argocd", le="4.0") == 2
    assert _value(s, "argocd_app_reconcile_sum", namespace="argocd") == pytest.approx(23.3)
    assert _value(s, "shipway_ci_runs_total", conclusion="success") == 2
    assert _value(s, "shipway_ci_runs_total", conclusion="failure") == 1
    assert _value(s, "shipway_ci_runs_running") == 1
    assert _value(s, "shipway_image_pushes_total") == 2  # a redelivery is a repeat, counted
    assert _value(s, "shipway_webhooks_received_total", source="registry", outcome="accepted") == 2
    assert _value(s, "shipway_webhooks_received_total", source="git", outcome="invalid") == 1
    # rel1 30 min, rel3 3 min from creation to live (no commit times recorded): the median
    assert _value(s, "shipway_dora_lead_time_seconds", app="web-dev") == pytest.approx(
        (1800 + 180) / 2, abs=2
    )
    assert _value(s, "shipway_dora_deployment_frequency_per_day", app="web-dev") == (
        pytest.approx(2 / 30)
    )
    assert _value(s, "shipway_dora_change_failure_rate", app="web-dev") == pytest.approx(1 / 3)
    assert _value(s, "shipway_dora_time_to_restore_seconds", app="web-dev") == pytest.approx(
        300, abs=2
    )
    assert _value(s, "shipway_promotions_total", result="started") == 2
    assert _value(s, "shipway_promotions_total", result="succeeded") == 1
    assert _value(s, "shipway_promotions_total", result="failed") == 1
    assert _value(s, "shipway_rollbacks_total", outcome="succeeded") == 1
    for state, n in (("sent", 2), ("failed", 1), ("suppressed", 1), ("pending", 1)):
        assert _value(s, "shipway_notifications", service="slack", state=state) == n
    assert _samples(main.text).keys() == s.keys()

    jobs = [
        {"job_name": "side", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]},
        {"job_name": "api", "static_configs": [{"targets": [c.url.removeprefix("http://")]}],
         "authorization": {"type": "Bearer", "credentials": c.admin_token}},
    ]  # fmt: skip
    with prometheus(tmp_path / "prom", jobs) as prom:
        found = prom.wait_for('argocd_app_info{job="api"}')
        labels = found[0]["metric"]
        assert {k: labels[k] for k in info} == info
        side_found = prom.wait_for('argocd_app_info{job="side"}')
        assert side_found[0]["metric"]["name"] == "web-dev"
        synced = prom.wait_for('argocd_app_sync_total{job="api",phase="Succeeded"}')
        assert float(synced[0]["value"][1]) == 3
        for metric, want in (
            ('shipway_notifications{job="side",state="suppressed"}', 1),
            ('shipway_promotions_total{job="api",result="failed"}', 1),
            ('shipway_dora_change_failure_rate{job="api",app="web-dev"}', 1 / 3),
        ):
            got = prom.wait_for(metric)
            assert float(got[0]["value"][1]) == pytest.approx(want), metric
        up = {t["labels"]["job"]: t["health"] for t in prom.targets()}
        assert up == {"side": "up", "api": "up"}
