"""shipway's own events (promotions, verification, rollbacks, CI, previews) routed from both
formats: argocd-notifications-cm event triggers and a Flux Alert."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from notify_receivers import Receiver
from test_delivery import _cm

from shipway.model import events as ev
from shipway.model.resources import Resource, parse_text
from shipway.notify import worker
from shipway.settings import Settings
from shipway.store import emitters, events, resources
from shipway.store.db import Store, open_store

ANN = "notifications.argoproj.io/subscribe."
EVENT_TEMPLATE = """\
message: "{{.event.reason}} {{.event.involvedObject.kind}}/{{.event.involvedObject.name}}"
webhook:
  hook:
    method: POST
    path: /events/{{.event.reason}}
    body: '{"object": "{{.event.involvedObject.name}}", "message": "{{.event.message}}",
      "release": "{{.event.releaseId}}", "labels": "{{.obj.metadata.labels}}"}'
"""


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _stage(store: Store, annotations: dict[str, str]) -> None:
    body: dict[str, Any] = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
                            "metadata": {"name": "prod", "namespace": "shop",
                                         "annotations": annotations, "labels": {"tier": "1"}},
                            "spec": {}}  # fmt: skip
    resources.apply(store, [Resource("kargo.akuity.io/v1alpha1", "Stage", "prod", "shop", body)])


def test_event_triggers_by_annotation_and_subscription(store: Store, webhook: Receiver) -> None:
    _cm(store, {
        "service.webhook.hook": f"url: {webhook.url}\n",
        "template.shipway-event": EVENT_TEMPLATE,
        "subscriptions": "- recipients: [hook]\n  triggers: [on-preview-created, on-rollback]\n",
    })  # fmt: skip
    _stage(store, {f"{ANN}on-promotion-failed.hook": "", f"{ANN}on-verification-failed.hook": ""})
    stage = ev.ObjectRef("Stage", "prod", "shop")
    events.emit(store, stage, ev.PROMOTION_SUCCEEDED, "prod.01.abc", source="promoter")
    events.emit(store, stage, ev.PROMOTION_FAILED, "step git-push: rejected", type=ev.WARNING,
                release_id="rel-3", source="promoter")  # fmt: skip
    emitters.verification(store, "prod", "shop", False, "analysis error-rate failed")
    emitters.preview_created(store, "web-pr-7", "previews", "https://pr-7.example")
    emitters.rollback(store, "web", "argocd", "rolled back to abc")
    events.emit(
        store,
        ev.ObjectRef("CIRun", "run-9"),
        ev.CI_RUN_FAILED,
        "build failed",
        type=ev.WARNING,
        source="ci",
    )  # nobody subscribed to it
    assert worker.run_pass(store, secrets={}).sent == 4
    got = {r.path: json.loads(r.body) for r in webhook.requests}
    assert set(got) == {"/events/PromotionFailed", "/events/VerificationFailed",
                        "/events/PreviewCreated", "/events/RolledBack"}  # fmt: skip
    failed = got["/events/PromotionFailed"]
    assert failed["object"] == "prod" and failed["message"] == "step git-push: rejected"
    assert failed["release"] == "rel-3" and "tier:1" in failed["labels"]
    assert got["/events/PreviewCreated"]["message"] == "https://pr-7.example"
    # the same event again (its count bumped) and more passes: nothing new
    events.emit(store, stage, ev.PROMOTION_FAILED, "step git-push: rejected", type=ev.WARNING,
                release_id="rel-3", source="promoter")  # fmt: skip
    assert worker.run_pass(store, secrets={}).sent == 0
    assert worker.run_pass(store, secrets={}).sent == 0
    # an annotation naming an unknown service is an event on the object
    _stage(store, {f"{ANN}on-promotion-failed.nope": ""})
    events.emit(store, stage, ev.PROMOTION_FAILED, "again", type=ev.WARNING, source="promoter")
    worker.run_pass(store, secrets={})
    problems = [e for e in events.query(store, kind="Stage")
                if e.reason == "NotificationConfigError"]  # fmt: skip
    assert [p.message for p in problems] == [f"annotation {ANN}on-promotion-failed.nope: "
                                             "unknown service 'nope'"]  # fmt: skip


def test_events_before_the_configuration_are_not_sent(store: Store, webhook: Receiver) -> None:
    emitters.rollback(store, "web", "argocd", "an old rollback")
    time.sleep(1.2)
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "subscriptions": "- recipients: [hook]\n  triggers: [on-rollback]\n"})  # fmt: skip
    assert worker.run_pass(store, secrets={}).sent == 0
    emitters.rollback(store, "web", "argocd", "a new rollback")
    assert worker.run_pass(store, secrets={}).sent == 1


def test_a_flux_alert_on_promotions(store: Store, webhook: Receiver) -> None:
    resources.apply(store, parse_text(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: hook, namespace: shop}}
spec: {{type: generic, address: "{webhook.url}/flux"}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: promotions, namespace: shop}}
spec:
  providerRef: {{name: hook}}
  eventSources: [{{kind: Promotion, name: '*'}}, {{kind: Stage, name: prod}}]
""", "flux.yaml"))  # fmt: skip
    promo = ev.ObjectRef("Promotion", "prod.01j.abc", "shop")
    events.emit(store, promo, ev.PROMOTION_STARTED, "promoting abc", source="promoter")
    worker.run_pass(store, secrets={})
    assert webhook.requests == []  # one message per promotion: not over yet
    events.emit(store, promo, ev.PROMOTION_SUCCEEDED, "promoted abc", source="promoter")
    emitters.verification(store, "prod", "shop", True, "analysis passed")
    worker.run_pass(store, secrets={})
    bodies = [json.loads(r.body) for r in webhook.requests]
    assert [b["involvedObject"]["kind"] for b in bodies] == ["Promotion", "Stage"]
    assert bodies[0]["message"] == ("PromotionStarted: promoting abc\n"
                                    "PromotionSucceeded: promoted abc")  # fmt: skip
    assert bodies[1]["reason"] == ev.VERIFICATION_SUCCEEDED
    assert bodies[0]["involvedObject"]["apiVersion"] == "kargo.akuity.io/v1alpha1"
