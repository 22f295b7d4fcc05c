"""``afterRepeats`` on argocd-notifications-cm triggers: alert only from the Nth occurrence,
for app triggers (a run of failed syncs, counted across restarts, ended by ``resetWhen``)
and event triggers (an event's repeat count)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notify_receivers import Receiver
from test_delivery import _app, _cm

from shipway.model import events as ev
from shipway.model.resources import Resource
from shipway.notify import worker
from shipway.settings import Settings
from shipway.store import events, outbox, resources
from shipway.store.db import Store, open_store

ANN = "notifications.argoproj.io/subscribe."
HOOK = """\
webhook:
  hook:
    method: POST
    path: /failed/{{.app.metadata.name}}
    body: '{"started": "{{.app.status.operationState.startedAt}}"}'
"""
SYNC_FAILED = """\
- when: app.status.operationState.phase in ['Error', 'Failed']
  oncePer: app.status.operationState.startedAt
  send: [app-sync-failed]
  afterRepeats: 3
"""


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _failed(store: Store, minute: int, *, phase: str = "Failed") -> None:
    _app(store, {f"{ANN}on-sync-failed.hook": ""}, started=f"2026-01-01T10:{minute:02d}:00Z",
         phase=phase)  # fmt: skip


def test_a_run_of_failed_syncs_alerts_once_at_the_third(store: Store, webhook: Receiver) -> None:
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-failed": HOOK,
                "trigger.on-sync-failed": SYNC_FAILED})  # fmt: skip
    sent = []
    for minute in (1, 2, 3, 4):
        _failed(store, minute)
        for _ in range(3):  # more passes over one state count it once
            sent.append(worker.run_pass(store, secrets={}).sent)
        if minute == 1:  # a restart (a new store handle) keeps the count
            store = open_store(Settings(home=Path(str(store.engine.url.database)).parent))
    assert sum(sent) == 1 and sent[6] == 1  # the third failure's first pass
    assert [json.loads(r.body)["started"] for r in webhook.requests] == ["2026-01-01T10:03:00Z"]
    rows = outbox.list_outbox(store, app_name="guestbook")
    assert [r.state for r in rows] == ["suppressed", "suppressed", "sent", "suppressed"]
    assert rows[0].last_error == "occurrence 1 of 3 (afterRepeats)"
    # a deployed sync ends the run: three more failures, one more alert
    _failed(store, 10, phase="Succeeded")
    assert worker.run_pass(store, secrets={}).sent == 0
    for minute in (11, 12, 13):
        _failed(store, minute)
        worker.run_pass(store, secrets={})
    assert [json.loads(r.body)["started"] for r in webhook.requests] == [
        "2026-01-01T10:03:00Z", "2026-01-01T10:13:00Z"]  # fmt: skip


def test_reset_when_names_its_own_end_of_run(store: Store, webhook: Receiver) -> None:
    trig = SYNC_FAILED.replace("afterRepeats: 3", "afterRepeats: 2\n  resetWhen: "
                               "app.metadata.annotations?.reset == 'yes'")  # fmt: skip
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-failed": HOOK, "trigger.on-sync-failed": trig})  # fmt: skip
    _failed(store, 1)
    worker.run_pass(store, secrets={})
    _failed(store, 2, phase="Succeeded")  # not this trigger's end of run
    worker.run_pass(store, secrets={})
    _failed(store, 3)
    assert worker.run_pass(store, secrets={}).sent == 1


def test_an_event_trigger_alerts_when_the_event_repeats(store: Store, webhook: Receiver) -> None:
    _cm(store, {
        "service.webhook.hook": f"url: {webhook.url}\n",
        "trigger.on-promotion-failed": "- when: event.reason == 'PromotionFailed'\n"
                                       "  send: [shipway-event]\n  afterRepeats: 2\n",
    })  # fmt: skip
    ann = {f"{ANN}on-promotion-failed.hook": ""}
    body = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": "prod", "namespace": "shop", "annotations": ann},
            "spec": {}}  # fmt: skip
    resources.apply(store, [Resource("kargo.akuity.io/v1alpha1", "Stage", "prod", "shop", body)])
    stage = ev.ObjectRef("Stage", "prod", "shop")
    sent = []
    for _ in range(3):
        events.emit(store, stage, ev.PROMOTION_FAILED, "step git-push: rejected",
                    type=ev.WARNING, source="promoter")  # fmt: skip
        sent.append(worker.run_pass(store, secrets={}).sent)
    assert sent == [0, 1, 0]
    assert len(webhook.requests) == 1
