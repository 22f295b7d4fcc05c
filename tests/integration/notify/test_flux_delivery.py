"""Flux Alerts and Providers end to end: stored kinds, shipway's events, real receivers on
loopback (one checks the generic-hmac signature), the forge fake for commit statuses."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import alertmanager_proc as alertmanager
import pytest
from notify_receivers import Receiver
from prometheus_client import generate_latest

from forge_server import TOKEN, ForgeServer
from shipway.git.repo import Repo
from shipway.model import events as ev
from shipway.model.resources import Resource, parse_text
from shipway.notify import worker
from shipway.server.metrics import registry_for
from shipway.settings import Settings
from shipway.store import events, outbox, resources
from shipway.store.db import Store, open_store

API = "notification.toolkit.fluxcd.io/v1beta3"
APP = ev.ObjectRef("Application", "web", "apps")


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _secret(home: Path, ns: str, name: str, data: dict[str, str]) -> None:
    path = home / "secrets" / ns / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
    path.write_text(json.dumps(doc))


def _apply(store: Store, text: str) -> None:
    resources.apply(store, parse_text(text, "flux.yaml"))


def _provider(store: Store, ptype: str, address: str, *, secret: str = "",
              annotations: str = "{}", extra: str = "") -> None:  # fmt: skip
    ref = f"\n  secretRef: {{name: {secret}}}" if secret else ""
    _apply(
        store,
        f"""\
apiVersion: {API}
kind: Provider
metadata: {{name: p, namespace: apps, annotations: {annotations}}}
spec:
  type: {ptype}
  address: "{address}"{ref}{extra}
""",
    )


def _alert(store: Store, *, severity: str = "info", annotations: str = "{}",
           extra: str = "") -> None:  # fmt: skip
    _apply(
        store,
        f"""\
apiVersion: {API}
kind: Alert
metadata: {{name: deploys, namespace: apps, annotations: {annotations}}}
spec:
  providerRef: {{name: p}}
  eventSeverity: {severity}
  eventSources: [{{kind: Application, name: '*'}}]
  eventMetadata: {{cluster: prod-eu}}{extra}
""",
    )


def _emit(store: Store, reason: str, message: str, warn: bool = False,
          ref: ev.ObjectRef = APP) -> None:  # fmt: skip
    events.emit(store, ref, reason, message, type=ev.WARNING if warn else ev.NORMAL,
                release_id="rel-7", source="reconciler")  # fmt: skip


def _pass(store: Store, **kw: Any) -> worker.PassResult:
    return worker.run_pass(store, secrets={}, **kw)


def test_generic_hmac_is_signed_and_shaped_as_flux_sends_it(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    webhook.hmac_key = "hmac-key-1"
    _secret(shipway_home, "apps", "hook", {"token": "hmac-key-1",
                                           "headers": "X-Team: payments\n"})  # fmt: skip
    _provider(store, "generic-hmac", f"{webhook.url}/flux", secret="hook")
    _alert(store, severity="error", extra="\n  summary: web in prod")
    _emit(store, ev.SYNC_SUCCEEDED, "all good")  # info: the Alert takes errors only
    _emit(store, ev.SYNC_FAILED, "sync failed: ImagePullBackOff", warn=True)
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert got.path == "/flux" and headers["x-team"] == "payments"
    assert headers["gotk-component"] == "shipway-reconciler"
    body = json.loads(got.body)
    assert set(body) == {"involvedObject", "severity", "timestamp", "message", "reason",
                         "metadata", "reportingController", "reportingInstance"}  # fmt: skip
    assert body["involvedObject"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "name": "web",
        "namespace": "apps",
    }
    assert (body["severity"], body["reason"]) == ("error", ev.SYNC_FAILED)
    assert body["message"] == "sync failed: ImagePullBackOff"
    assert body["metadata"] == {"releaseId": "rel-7", "cluster": "prod-eu",
                                "summary": "web in prod"}  # fmt: skip
    assert _pass(store).sent == 0  # the cursor moved on: nothing twice


def test_a_wrong_hmac_key_is_refused_by_the_receiver_and_recorded(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    webhook.hmac_key = "the-right-key"
    _secret(shipway_home, "apps", "hook", {"token": "a-wrong-key-xyz"})
    _provider(store, "generic-hmac", webhook.url, secret="hook")
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "boom", warn=True)
    for _ in range(4):
        _pass(store, backoff=0.0, max_attempts=2)
    assert webhook.requests == []  # never accepted
    (failed,) = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationFailed"]
    assert failed.type == ev.WARNING and "HTTP 401" in failed.message
    assert "gave up after 2 attempts" in failed.message
    assert "a-wrong-key-xyz" not in failed.message


def test_one_message_per_sync_and_the_group_timeout(store: Store, webhook: Receiver) -> None:
    _provider(store, "generic", webhook.url)
    _alert(store, annotations="{shipway.dev/aggregate-timeout: 3s}")
    _emit(store, ev.SYNC_STARTED, "sync to c0ffee")
    _pass(store)
    _emit(store, "SyncWave", "wave 0: 3 resources")
    _pass(store)
    _emit(store, ev.HEALTH_CHANGED, "health Healthy -> Progressing")
    _pass(store)
    assert webhook.requests == []  # the sync is not over
    _emit(store, ev.SYNC_SUCCEEDED, "Succeeded: synced to c0ffee")
    _pass(store)
    (got,) = webhook.requests
    body = json.loads(got.body)
    assert body["message"].splitlines() == [
        "OperationStarted: sync to c0ffee",
        "SyncWave: wave 0: 3 resources",
        "HealthStatusChanged: health Healthy -> Progressing",
        "SyncSucceeded: Succeeded: synced to c0ffee",
    ]
    assert body["reason"] == ev.SYNC_SUCCEEDED
    # a sync that never says it ended is sent when its group times out
    _emit(store, ev.SYNC_STARTED, "sync to d00d")
    _pass(store)
    assert len(webhook.requests) == 1
    time.sleep(3.2)
    _pass(store)
    assert len(webhook.requests) == 2
    assert json.loads(webhook.requests[1].body)["message"] == "sync to d00d"


def test_alert_after_n_repeats_and_repeats_never_resend(store: Store, webhook: Receiver) -> None:
    _provider(store, "generic", webhook.url)
    _alert(store, annotations="{shipway.dev/alert-after-repeats: '3'}")
    _emit(store, ev.SYNC_FAILED, "flaky: timeout", warn=True)
    _pass(store)
    _emit(store, ev.SYNC_FAILED, "flaky: timeout", warn=True)
    _pass(store)
    assert webhook.requests == []  # seen twice: not yet
    for _ in range(1000):  # the third and 997 more: one message
        _emit(store, ev.SYNC_FAILED, "flaky: timeout", warn=True)
    _pass(store)
    _pass(store)
    assert len(webhook.requests) == 1
    (row,) = [e for e in events.query(store, kind="Application")]
    assert row.count == 1002


def test_a_rate_limit_holds_then_summarises(store: Store, webhook: Receiver) -> None:
    _provider(store, "generic", webhook.url, annotations="{shipway.dev/rate-limit: 3/4s}")
    _alert(store)
    for i in range(10):
        _emit(store, ev.HEALTH_CHANGED, f"change {i}", ref=ev.ObjectRef("Application", f"a{i}",
                                                                          "apps"))  # fmt: skip
    result = _pass(store)
    assert (result.sent, result.held) == (3, 7)
    assert len(webhook.requests) == 3
    time.sleep(4.1)
    result = _pass(store)
    assert (result.sent, result.suppressed) == (1, 6)
    last = json.loads(webhook.requests[3].body)
    assert last["message"].startswith("change 3\n(and 6 more, held by the rate limit of 3 per 4s)")
    assert len(webhook.requests) == 4
    time.sleep(4.1)
    assert _pass(store).sent == 0
    text = generate_latest(registry_for(store)).decode()
    assert 'shipway_notifications{service="flux:apps/p",state="suppressed"} 6.0' in text
    assert 'shipway_notifications{service="flux:apps/p",state="sent"} 4.0' in text


def test_slack_bot_and_msteams_providers(
    store: Store, shipway_home: Path, slack_api: Receiver, webhook: Receiver
) -> None:
    _secret(shipway_home, "apps", "slack-bot-token", {"token": "xoxb-flux-1"})
    _provider(store, "slack", f"{slack_api.url}/api/chat.postMessage", secret="slack-bot-token",
              extra="\n  channel: deploys\n  username: flux")  # fmt: skip
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "sync failed: boom", warn=True)
    assert _pass(store).sent == 1
    (got,) = slack_api.requests
    assert got.path == "/api/chat.postMessage"
    assert got.headers["Authorization"] == "Bearer xoxb-flux-1"
    msg = json.loads(got.body)
    assert (msg["channel"], msg["username"]) == ("deploys", "flux")
    (att,) = msg["attachments"]
    assert att["color"] == "danger" and att["author_name"] == "Application/web.apps"
    assert att["text"] == "sync failed: boom"
    assert {"title": "cluster", "value": "prod-eu", "short": False} in att["fields"]
    _provider(store, "msteams", f"{webhook.url}/teams")
    _emit(store, ev.HEALTH_CHANGED, "health Progressing -> Healthy")
    assert _pass(store).sent == 1
    # a Teams workflow address (not *.webhook.office.com): an Adaptive Card, as Flux sends
    msg = json.loads(webhook.requests[0].body)
    (att,) = msg["attachments"]
    assert msg["type"] == "message"
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert (att["content"]["type"], att["content"]["version"]) == ("AdaptiveCard", "1.4")
    (container,) = att["content"]["body"]
    title, text, facts = container["items"]
    assert title["text"] == "Application/web.apps"
    assert text["text"] == "health Progressing -> Healthy" and "color" not in text
    assert {"title": "cluster", "value": "prod-eu"} in facts["facts"]


def test_alertmanager_provider_fires_an_alert_in_a_real_alertmanager(
    store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    """providers.md's alertmanager Provider with Basic authentication: the event is a firing
    alert (labels from the metadata and the object, annotations the message and summary) that
    a real Alertmanager keeps; a wrong password is a failed delivery with its answer, the
    password never shown."""
    with alertmanager.running(tmp_path / "am", "flux", "am-pass-1") as am:
        _secret(shipway_home, "apps", "am-auth", {"username": "flux", "password": "am-pass-1"})
        _provider(store, "alertmanager", f"{am.url}/api/v2/alerts/", secret="am-auth")
        _alert(store, extra="\n  summary: web in prod")
        _emit(store, ev.SYNC_FAILED, "sync failed: quota exceeded", warn=True)
        assert _pass(store).sent == 1
        (fired,) = am.alerts()
        labels = fired["labels"]
        assert {k: labels[k] for k in ("alertname", "severity", "reason", "kind", "name",
                                       "namespace", "cluster", "releaseId")} == {
            "alertname": "FluxApplicationSyncFailed", "severity": "error",
            "reason": "SyncFailed", "kind": "Application", "name": "web", "namespace": "apps",
            "cluster": "prod-eu", "releaseId": "rel-7"}  # fmt: skip
        assert "summary" not in labels
        assert fired["annotations"] == {"message": "sync failed: quota exceeded",
                                        "summary": "web in prod"}  # fmt: skip
        assert fired["status"]["state"] == "active"

        _secret(shipway_home, "apps", "am-auth", {"username": "flux", "password": "wrong-pw-9"})
        _emit(store, ev.SYNC_FAILED, "sync failed again", warn=True)
        for _ in range(3):
            _pass(store, backoff=0.0, max_attempts=2)
        (failed,) = [e for e in events.query(store, kind="Alert")
                     if e.reason == "NotificationFailed"]  # fmt: skip
        assert "401" in failed.message and "wrong-pw-9" not in failed.message
        assert len(am.alerts()) == 1


def test_googlechat_provider_posts_a_card(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    """providers.md's googlechat Provider: the address from the Secret, a cards v1 message."""
    _secret(shipway_home, "apps", "google-webhook", {"address": f"{webhook.url}/v1/spaces/x"})
    _apply(store, f"""\
apiVersion: {API}
kind: Provider
metadata: {{name: p, namespace: apps}}
spec:
  type: googlechat
  secretRef: {{name: google-webhook}}
""")  # fmt: skip
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "sync failed: boom", warn=True)
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    assert got.path == "/v1/spaces/x"
    (card,) = json.loads(got.body)["cards"]
    assert card["header"] == {"title": "Application/web.apps", "subtitle": "error"}
    text, facts = card["sections"]
    assert text == {"widgets": [{"textParagraph": {"text": "sync failed: boom"}}]}
    assert {"keyValue": {"topLabel": "cluster", "content": "prod-eu"}} in facts["widgets"]


@pytest.mark.parametrize("kind", ["github", "gitlab", "gitea"])
def test_commit_status_through_the_forge_fake(
    kind: str, store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    repo = Repo.init(tmp_path / "app")
    (repo.path / "a.txt").write_text("a\n")
    repo.run("add", "-A")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "a")
    sha = repo.run("rev-parse", "HEAD").strip()
    forge = ForgeServer()
    forge.add_repo("team/app", repo.path)
    try:
        _secret(shipway_home, "apps", "gh", {"token": TOKEN})
        _provider(store, kind, f"https://{kind}.example/team/app", secret="gh",
                  annotations=f"{{shipway.dev/api-url: '{forge.api(kind)}'}}")  # fmt: skip
        _alert(store)
        body = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"project": "default", "source": {"repoURL": "https://x/team/app"}},
        }
        resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", "web", "apps",
                                         body)])  # fmt: skip
        resources.set_status(store, "Application", "web", {"sync": {"revision": sha}}, "apps")
        _emit(store, ev.SYNC_STARTED, "sync to a")
        _emit(store, ev.SYNC_FAILED, "sync failed: quota", warn=True)
        _emit(
            store,
            ev.HEALTH_CHANGED,
            "health -> Healthy",
            ref=ev.ObjectRef("Application", "other", "apps"),
        )  # no revision known: skipped
        _pass(store)
        (status,) = forge.state.statuses
        _, project, at, posted = status
        assert (status[0], project, at) == (kind, "team/app", sha)
        assert posted["state"] == ("failed" if kind == "gitlab" else "failure")
        assert posted["name" if kind == "gitlab" else "context"].startswith("application/web/")
        assert posted["description"] == "OperationStarted: sync to a"
        rows = outbox.list_outbox(store)
        assert sorted(r.state for r in rows) == ["sent", "sent"]
    finally:
        forge.stop()


def test_opsgenie_and_pagerduty_providers(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    """providers.md's opsgenie (GenieKey, one alias per object and reason) and pagerduty
    (Events API v2 at the address's host, the channel as routing key: an error triggers, an
    info event resolves and is a change event; the started sync is left out)."""
    _secret(shipway_home, "apps", "genie", {"token": "genie-key-1"})
    _provider(store, "opsgenie", f"{webhook.url}/v2/alerts", secret="genie")
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "sync failed: quota", warn=True)
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    assert (got.path, got.headers["Authorization"]) == ("/v2/alerts", "GenieKey genie-key-1")
    body = json.loads(got.body)
    assert body["message"] == "Application/web" and body["description"] == "sync failed: quota"
    assert body["details"]["severity"] == "error" and body["details"]["cluster"] == "prod-eu"
    assert len(body["alias"]) == 64
    webhook.requests.clear()

    _provider(store, "pagerduty", f"{webhook.url}/ignored/path", extra="\n  channel: rk-77")
    _emit(store, ev.SYNC_STARTED, "sync to b")
    _emit(store, ev.SYNC_FAILED, "sync failed: boom", warn=True)
    _pass(store)
    _emit(store, ev.SYNC_SUCCEEDED, "synced b")
    _pass(store)
    sent = [(r.path, json.loads(r.body)) for r in webhook.requests]
    assert [p for p, _ in sent] == ["/v2/enqueue", "/v2/enqueue", "/v2/change/enqueue"]
    trigger, resolve, change = (b for _, b in sent)
    assert (trigger["routing_key"], trigger["event_action"]) == ("rk-77", "trigger")
    assert trigger["payload"]["summary"] == "sync failed: application/web"
    assert trigger["payload"]["source"] == "Flux shipway-reconciler"
    assert (trigger["payload"]["group"], trigger["payload"]["component"]) == (
        "Application", "web")  # fmt: skip
    # one message per sync: the start folded into the failure's
    assert trigger["payload"]["custom_details"]["message"] == (
        "OperationStarted: sync to b\nSyncFailed: sync failed: boom"
    )
    assert resolve["event_action"] == "resolve" and "payload" not in resolve
    assert resolve["dedup_key"] == trigger["dedup_key"]  # the same incident, resolved
    assert change["payload"]["summary"] == "sync succeeded: application/web"


def test_grafana_annotation_and_github_dispatch(
    store: Store, shipway_home: Path, webhook: Receiver, tmp_path: Path
) -> None:
    """providers.md's grafana (an annotation with Flux's tags, the Secret's token) and
    githubdispatch (a repository_dispatch named after the object, the event as its
    client_payload, through the forge fake)."""
    _secret(shipway_home, "apps", "grafana", {"token": "glsa-1"})
    _provider(store, "grafana", f"{webhook.url}/api/annotations", secret="grafana")
    _alert(store)
    _emit(store, ev.HEALTH_CHANGED, "health -> Healthy")
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    assert (got.path, got.headers["Authorization"]) == ("/api/annotations", "Bearer glsa-1")
    note = json.loads(got.body)
    assert note["text"] == "application/web.apps" and note["when"] > 1_700_000_000
    assert note["tags"][:2] == ["flux", "shipway-reconciler"]
    assert {"cluster: prod-eu", "kind: Application", "name: web",
            "namespace: apps"} <= set(note["tags"])  # fmt: skip

    repo = Repo.init(tmp_path / "app")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
             "-m", "a")  # fmt: skip
    forge = ForgeServer()
    forge.add_repo("team/app", repo.path)
    try:
        _secret(shipway_home, "apps", "gh", {"token": TOKEN})
        _provider(store, "githubdispatch", "https://github.com/team/app", secret="gh",
                  annotations=f"{{shipway.dev/api-url: '{forge.api('github')}'}}")  # fmt: skip
        _emit(store, ev.SYNC_FAILED, "sync failed: quota", warn=True)
        assert _pass(store).sent == 1
        (sent,) = forge.state.dispatches
        assert (sent["project"], sent["event_type"]) == ("team/app", "Application/web.apps")
        assert sent["client_payload"]["message"] == "sync failed: quota"
        assert sent["client_payload"]["involvedObject"]["name"] == "web"
    finally:
        forge.stop()


def test_webex_and_telegram_providers(store: Store, shipway_home: Path, webhook: Receiver) -> None:
    """providers.md's webex (markdown to a room, the token as Bearer) and telegram (the Bot
    API's sendMessage, MarkdownV2 escaped, a forum topic from the channel)."""
    _secret(shipway_home, "apps", "webex-token", {"token": "wx-1"})
    _provider(store, "webex", f"{webhook.url}/v1/messages", secret="webex-token",
              extra="\n  channel: room-9")  # fmt: skip
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "sync failed: boom", warn=True)
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    assert (got.path, got.headers["Authorization"]) == ("/v1/messages", "Bearer wx-1")
    msg = json.loads(got.body)
    assert msg["roomId"] == "room-9"
    lines = msg["markdown"].splitlines()
    assert lines[:2] == ["💣 **application/web.apps**", "sync failed: boom"]
    assert ">**cluster**: prod-eu" in lines
    webhook.requests.clear()

    _secret(shipway_home, "apps", "tg", {"token": "123:abc"})
    _provider(store, "telegram", "ignored", secret="tg", extra="\n  channel: '-100:7'",
              annotations=f"{{shipway.dev/api-url: '{webhook.url}'}}")  # fmt: skip
    _emit(store, ev.HEALTH_CHANGED, "health -> Healthy (v1.2)")
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    assert got.path == "/bot123:abc/sendMessage"
    msg = json.loads(got.body)
    assert (msg["chat_id"], msg["message_thread_id"], msg["parse_mode"]) == (
        "-100", "7", "MarkdownV2")  # fmt: skip
    assert msg["text"].startswith("*💫 application/web/apps*\nhealth \\-\\> Healthy "
                                  "\\(v1\\.2\\)\n")  # fmt: skip
    assert "\\- *cluster*: prod\\-eu\n" in msg["text"]


def test_matrix_and_lark_providers(store: Store, shipway_home: Path, webhook: Receiver) -> None:
    """providers.md's matrix (a PUT of an m.text with a transaction id made of the event, so
    a resend is the same message) and lark (an interactive card)."""
    _secret(shipway_home, "apps", "matrix-token", {"token": "syt-1"})
    _provider(store, "matrix", webhook.url, secret="matrix-token",
              extra="\n  channel: '!room:example.org'")  # fmt: skip
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "sync failed: boom", warn=True)
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    assert got.method == "PUT" and got.headers["Authorization"] == "Bearer syt-1"
    prefix = "/_matrix/client/r0/rooms/%21room%3Aexample.org/send/m.room.message/"
    assert got.path.startswith(prefix) and len(got.path) == len(prefix) + 40
    msg = json.loads(got.body)
    assert msg["msgtype"] == "m.text"
    assert msg["body"].startswith("🚨 application/web.apps\nsync failed: boom\n")
    assert "- cluster: prod-eu\n" in msg["body"]
    webhook.requests.clear()

    _provider(store, "lark", f"{webhook.url}/open-apis/bot/v2/hook/x")
    _emit(store, ev.HEALTH_CHANGED, "health -> Healthy")
    assert _pass(store).sent == 1
    (got,) = webhook.requests
    body = json.loads(got.body)
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"] == {"title": {"tag": "plain_text",
                                        "content": "💫 application/web.apps"},
                              "template": "turquoise"}  # fmt: skip
    (element,) = card["elements"]
    assert element["text"]["tag"] == "lark_md"
    assert element["text"]["content"].startswith("**health -> Healthy**\n\n")
    assert "cluster: prod-eu\n" in element["text"]["content"]


def test_bitbucket_commit_status_through_the_forge_fake(
    store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    """providers.md's bitbucket Provider: a build status keyed by the SHA-1 of the status id,
    FAILED for an error, the reason in words; a repeat of the same status is not posted
    again; the started sync is left out, as Flux leaves Progressing out."""
    repo = Repo.init(tmp_path / "app")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
             "-m", "a")  # fmt: skip
    sha = repo.run("rev-parse", "HEAD").strip()
    forge = ForgeServer()
    forge.add_repo("team/app", repo.path)
    try:
        _secret(shipway_home, "apps", "bb", {"token": f"flux-bot:{TOKEN}"})
        _provider(store, "bitbucket", "https://bitbucket.org/team/app", secret="bb",
                  annotations=f"{{shipway.dev/api-url: '{forge.api('bitbucket')}'}}")  # fmt: skip
        _alert(store)
        body = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"project": "default", "source": {"repoURL": "https://x/team/app"}},
        }
        resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", "web", "apps",
                                         body)])  # fmt: skip
        resources.set_status(store, "Application", "web", {"sync": {"revision": sha}}, "apps")
        _emit(store, ev.HEALTH_CHANGED, "health -> Degraded", warn=True)
        _pass(store)
        _emit(store, ev.HEALTH_CHANGED, "health -> Degraded", warn=True)  # a repeat
        _emit(store, ev.SYNC_SUCCEEDED, "synced b")  # its own status, the same key
        _pass(store)
        posted = [s[3] for s in forge.state.statuses if s[:3] == ("bitbucket", "team/app", sha)]
        assert [(p["state"], p["description"]) for p in posted] == [
            ("FAILED", "health status changed"),
            ("SUCCESSFUL", "sync succeeded"),
        ]
        uid = hashlib.sha256(b"apps/p").hexdigest()[:8]
        assert posted[0]["key"] == hashlib.sha1(f"application/web/{uid}".encode()).hexdigest()
        assert posted[0]["name"] == "application/web"
        assert posted[0]["url"] == "https://bitbucket.org"
        _secret(shipway_home, "apps", "bb", {"token": TOKEN})  # not <user>:<password>
        _emit(store, ev.SYNC_FAILED, "sync failed", warn=True)
        for _ in range(3):
            _pass(store, backoff=0.0, max_attempts=2)
        (failed,) = [e for e in events.query(store, kind="Alert")
                     if e.reason == "NotificationFailed"]  # fmt: skip
        assert "invalid token format, expected to be <user>:<password>" in failed.message
    finally:
        forge.stop()


def test_missing_provider_and_missing_secret_are_named(store: Store, webhook: Receiver) -> None:
    _alert(store)
    _emit(store, ev.SYNC_FAILED, "x", warn=True)
    _pass(store)
    (cfg,) = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationConfigError"]
    assert "providerRef 'p': no Provider apps/p" in cfg.message
    _provider(store, "generic-hmac", webhook.url, secret="nowhere")
    _emit(store, ev.SYNC_FAILED, "y", warn=True)
    for _ in range(3):
        _pass(store, backoff=0.0, max_attempts=2)
    failed = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationFailed"]
    assert len(failed) == 1 and "Secret apps/nowhere not found" in failed[0].message
    assert webhook.requests == []
