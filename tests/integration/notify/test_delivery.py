"""Delivery end to end: a stored ConfigMap and Application, real receivers, the outbox."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from notify_receivers import Receiver, Smtp
from prometheus_client import generate_latest
from sqlalchemy import update

from shipway.model.resources import Resource
from shipway.notify import worker
from shipway.server.metrics import registry_for
from shipway.settings import Settings
from shipway.store import events, outbox, resources
from shipway.store.db import Store, open_store
from shipway.store.notify_tables import OutboxRow

ANN = "notifications.argoproj.io/subscribe."


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _cm(store: Store, data: dict[str, str]) -> None:
    resources.apply(store, [Resource("v1", "ConfigMap", "argocd-notifications-cm", "argocd",
                                     {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "argocd-notifications-cm"},
                                      "data": data})])  # fmt: skip


def _app(store: Store, annotations: dict[str, str], *, started: str = "2026-01-01T10:00:00Z",
         phase: str = "Succeeded") -> None:  # fmt: skip
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "annotations": annotations},
        "spec": {"project": "default", "source": {"repoURL": "https://git.example/acme/gb.git"}},
    }
    resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", "guestbook",
                                     "argocd", body)])  # fmt: skip
    resources.set_status(store, "Application", "guestbook", {
        "sync": {"status": "Synced", "revision": "c0ffee"},
        "health": {"status": "Healthy"},
        "operationState": {"phase": phase, "startedAt": started,
                           "finishedAt": "2026-01-01T10:00:03Z",
                           "syncResult": {"revision": "c0ffee"}},
    })  # fmt: skip


TEMPLATE = """\
message: Application {{.app.metadata.name}} synced to {{.app.status.sync.revision}}.
email:
  subject: "{{.app.metadata.name}} synced"
webhook:
  hook:
    method: POST
    path: /deploys/{{.app.metadata.name}}
    body: '{"app": "{{.app.metadata.name}}", "revision": "{{.app.status.sync.revision}}"}'
slack:
  groupingKey: "{{.app.metadata.name}}"
  deliveryPolicy: PostAndUpdate
"""


def test_one_message_each_for_1000_evaluations_of_one_state(
    store: Store, smtp: Smtp, webhook: Receiver
) -> None:
    _cm(store, {
        "service.email": f"host: 127.0.0.1\nport: {smtp.port}\nfrom: cd@example.com\n",
        "service.webhook.hook": f"url: {webhook.url}\nheaders:\n- name: X-Token\n"
                                "  value: $hook-token\n",
        "template.app-sync-succeeded": TEMPLATE,
    })  # fmt: skip
    _app(store, {f"{ANN}on-sync-succeeded.email": "ops@example.com",
                 f"{ANN}on-sync-succeeded.hook": ""})  # fmt: skip
    secrets = {"hook-token": "s3cr3t-token"}
    sent = 0
    for _ in range(1000):
        sent += worker.run_pass(store, secrets=secrets).sent
    assert sent == 2
    assert len(smtp.mailbox.messages) == 1
    mail = smtp.mailbox.messages[0]
    assert mail["Subject"] == "guestbook synced"
    assert smtp.mailbox.envelopes[0] == ("cd@example.com", ["ops@example.com"])
    assert "synced to c0ffee" in str(mail.get_payload())
    assert len(webhook.requests) == 1
    got = webhook.requests[0]
    assert (got.method, got.path) == ("POST", "/deploys/guestbook")
    assert got.headers["X-Token"] == "s3cr3t-token"
    assert got.body == b'{"app": "guestbook", "revision": "c0ffee"}'
    text = generate_latest(registry_for(store)).decode()
    assert 'shipway_notifications{service="email",state="sent"} 1.0' in text
    # across a restart (a new store handle on the same database): still suppressed
    again = open_store(Settings(home=Path(str(store.engine.url.database)).parent))
    assert worker.run_pass(again, secrets=secrets).enqueued == 0
    # a new sync operation is a new notification
    _app(store, {f"{ANN}on-sync-succeeded.email": "ops@example.com"},
         started="2026-01-01T11:00:00Z")  # fmt: skip
    assert worker.run_pass(store, secrets=secrets).sent == 1
    assert len(smtp.mailbox.messages) == 2


def test_a_failing_webhook_is_retried_then_an_event(store: Store, webhook: Receiver) -> None:
    webhook.status = 503
    _cm(store, {
        "service.webhook.hook": f"url: {webhook.url}\nbasicAuth:\n  username: cd\n"
                                "  password: $pw\n",
        "template.app-sync-succeeded": TEMPLATE,
    })  # fmt: skip
    _app(store, {f"{ANN}on-sync-succeeded.hook": "", f"{ANN}on-nope.hook": ""})
    for _ in range(20):
        worker.run_pass(store, secrets={"pw": "hunter2-pw"}, backoff=0.0, max_attempts=3)
    assert len(webhook.requests) == 3  # three attempts, then given up
    auth = webhook.requests[0].headers["Authorization"]
    assert base64.b64decode(auth.split()[1]) == b"cd:hunter2-pw"
    (d,) = outbox.list_outbox(store)
    assert d.state == outbox.FAILED
    failed = [
        e for e in events.query(store, kind="Application") if e.reason == "NotificationFailed"
    ]
    assert len(failed) == 1
    assert failed[0].type == "Warning"
    assert "HTTP 503" in failed[0].message and "receiver says no" in failed[0].message
    assert "hunter2" not in failed[0].message and "hunter2" not in d.last_error
    config_errors = [e for e in events.query(store) if e.reason == "NotificationConfigError"]
    assert [e.message for e in config_errors] == [
        f"annotation {ANN}on-nope.hook: unknown trigger 'on-nope'"
    ]
    app = resources.get(store, "Application", "guestbook")
    assert app.status["operationState"]["phase"] == "Succeeded"  # the app is unaffected


def test_slack_post_and_update_edits_the_grouped_message(store: Store, slack_api: Receiver) -> None:
    _cm(store, {
        "service.slack": f"token: $slack-token\napiURL: {slack_api.url}/api\n",
        "template.app-sync-succeeded": TEMPLATE,
    })  # fmt: skip
    ann = {f"{ANN}on-sync-succeeded.slack": "deploys"}
    _app(store, ann)
    worker.run_pass(store, secrets={"slack-token": "xoxb-1"})
    _app(store, ann, started="2026-01-01T11:00:00Z")
    worker.run_pass(store, secrets={"slack-token": "xoxb-1"})
    paths = [r.path for r in slack_api.requests]
    assert paths == ["/api/chat.postMessage", "/api/chat.update"]
    assert slack_api.requests[0].headers["Authorization"] == "Bearer xoxb-1"
    first, second = (json.loads(r.body) for r in slack_api.requests)
    assert first["channel"] == "deploys" and "ts" not in first
    assert second["ts"] == slack_api.answers[0]["ts"]  # the first message, updated
    assert second["channel"] == "deploys"


def test_a_crash_between_sending_and_recording_sends_at_most_once_more(
    store: Store, webhook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound: a worker that dies after the service accepted but before ``mark_sent``
    leaves the row leased; once the lease expires the row is sent once more, never again."""
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE})  # fmt: skip
    _app(store, {f"{ANN}on-sync-succeeded.hook": ""})

    def crash(*args: Any) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(outbox, "mark_sent", crash)
    with pytest.raises(SystemExit):
        worker.run_pass(store, secrets={})
    monkeypatch.undo()
    assert len(webhook.requests) == 1
    worker.run_pass(store, secrets={})  # the lease still holds: nothing sent
    assert len(webhook.requests) == 1
    with store.session() as s:  # the lease runs out
        s.execute(update(OutboxRow).values(lease_until=None))
    for _ in range(5):
        worker.run_pass(store, secrets={})
    assert len(webhook.requests) == 2
