"""Argo CD's teams and github services end to end, the Application's condition for a bad
subscription, and a rate-limited Argo CD service; real receivers and the forge fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notify_receivers import Receiver
from test_delivery import ANN, _app, _cm

from forge_server import TOKEN, ForgeServer
from shipway.git.forge import open_forge
from shipway.git.repo import Repo
from shipway.notify import worker
from shipway.settings import Settings
from shipway.store import events, resources
from shipway.store.db import Store, open_store


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


TEAMS_TEMPLATE = """\
message: Application {{.app.metadata.name}} synced.
teams:
  title: "{{.app.metadata.name}} synced"
  facts: |
    [{"name": "Revision", "value": "{{.app.status.sync.revision}}"}]
"""


def test_teams_posts_a_message_card_and_reads_its_answer(store: Store, webhook: Receiver) -> None:
    webhook.reply = b"1"
    _cm(store, {"service.teams": f"recipientUrls:\n  ops: {webhook.url}/teams/ops\n",
                "template.app-sync-succeeded": TEAMS_TEMPLATE})  # fmt: skip
    _app(store, {f"{ANN}on-sync-succeeded.teams": "ops"})
    assert worker.run_pass(store, secrets={}).sent == 1
    (got,) = webhook.requests
    assert got.path == "/teams/ops"
    card = json.loads(got.body)
    assert card["@type"] == "MessageCard" and card["title"] == "guestbook synced"
    assert card["text"] == "Application guestbook synced."
    assert card["sections"] == [{"facts": [{"name": "Revision", "value": "c0ffee"}]}]
    # a Teams refusal comes as 200 with a text other than "1": recorded with that text
    webhook.reply = b"Webhook message delivery failed with error: Microsoft Teams endpoint"
    _app(store, {f"{ANN}on-sync-succeeded.teams": "ops"}, started="2026-01-01T12:00:00Z")
    for _ in range(3):
        worker.run_pass(store, secrets={}, backoff=0.0, max_attempts=2)
    (failed,) = [e for e in events.query(store) if e.reason == "NotificationFailed"]
    assert "Webhook message delivery failed" in failed.message


GITHUB_TEMPLATE = """\
message: "{{.app.metadata.name}} is at {{.app.status.operationState.syncResult.revision}}"
github:
  repoURLPath: "{{.app.spec.source.repoURL}}"
  revisionPath: "{{.app.status.operationState.syncResult.revision}}"
  status:
    state: success
    label: "continuous-delivery/{{.app.metadata.name}}"
    targetURL: "https://cd.example.com/applications/{{.app.metadata.name}}"
  pullRequestComment:
    content: "Deployed {{.app.metadata.name}} at {{.app.status.operationState.startedAt}}"
"""


def test_github_status_and_one_pr_comment_edited_in_place(store: Store, tmp_path: Path) -> None:
    repo = Repo.init(tmp_path / "gb")
    (repo.path / "a.txt").write_text("a\n")
    repo.run("add", "-A")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "a")
    repo.run("branch", "-M", "main")
    repo.run("checkout", "-q", "-b", "feature")
    (repo.path / "b.txt").write_text("b\n")
    repo.run("add", "-A")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "b")
    sha = repo.run("rev-parse", "HEAD").strip()
    forge = ForgeServer()
    forge.add_repo("acme/gb", repo.path)
    try:
        client = open_forge("github", forge.api("github"), "acme/gb", TOKEN)
        pr = client.create("feature", "main", "feature", "")
        _cm(store, {"service.github": f"apiURL: {forge.api('github')}\ntoken: $gh-token\n",
                    "template.app-sync-succeeded": GITHUB_TEMPLATE})  # fmt: skip
        ann = {f"{ANN}on-sync-succeeded.github": ""}
        for started in ("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"):
            _app(store, ann, started=started)
            _set_revision(store, sha)
            assert worker.run_pass(store, secrets={"gh-token": TOKEN}).sent == 1
        statuses = [s for s in forge.state.statuses if s[2] == sha]
        assert len(statuses) == 2
        posted = statuses[0][3]
        assert posted["state"] == "success" and posted["context"] == "continuous-delivery/guestbook"
        assert posted["target_url"] == "https://cd.example.com/applications/guestbook"
        assert posted["description"] == f"guestbook is at {sha}"
        assert len(forge.state.comments) == 1  # one comment, edited the second time
        kind, project, number, body = forge.state.comments[0]
        assert (kind, project, number) == ("github", "acme/gb", pr.number)
        assert body == "Deployed guestbook at 2026-01-01T11:00:00Z"
        assert forge.state.edits == 1
    finally:
        forge.stop()


def test_github_comment_tag_finds_the_comment_again(tmp_path: Path) -> None:
    """With Argo CD's ``commentTag`` the comment carries its hidden tag and is found by it when
    the delivery record (the comment id) is lost; without it a lost id means a new comment."""
    from shipway.notify.config import ServiceConfig
    from shipway.notify.services.github import GitHubService

    repo = Repo.init(tmp_path / "tag")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
             "-m", "a")  # fmt: skip
    repo.run("branch", "-M", "main")
    repo.run("checkout", "-q", "-b", "feature")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
             "-m", "b")  # fmt: skip
    sha = repo.run("rev-parse", "HEAD").strip()
    forge = ForgeServer()
    forge.add_repo("acme/tag", repo.path)
    try:
        pr = open_forge("github", forge.api("github"), "acme/tag", TOKEN).create(
            "feature", "main", "feature", ""
        )
        options = {"apiURL": forge.api("github"), "token": TOKEN}
        svc = GitHubService(ServiceConfig("github", "github", options))

        def send(content: str, tag: str) -> dict[str, object]:
            comment = {"content": content, **({"commentTag": tag} if tag else {})}
            payload = {"app": "web", "github": {"repoURLPath": "https://github.com/acme/tag",
                                                "revisionPath": sha,
                                                "pullRequestComment": comment}}  # fmt: skip
            return svc.send(payload, "", {})  # no delivery record: the id is lost

        first = send("deploying", "web")
        assert send("deployed", "web") == first
        assert forge.comments_on("github", "acme/tag", pr.number) == [
            "deployed\n<!-- argocd-notifications web -->"
        ]
        send("untagged", "")
        send("untagged", "")
        assert len(forge.comments_on("github", "acme/tag", pr.number)) == 3
    finally:
        forge.stop()


def _set_revision(store: Store, sha: str) -> None:
    app = resources.get(store, "Application", "guestbook")
    status = dict(app.status)
    status["operationState"] = {**status["operationState"], "syncResult": {"revision": sha}}
    status["sync"] = {"status": "Synced", "revision": sha}
    resources.set_status(store, "Application", "guestbook", status)


def test_an_unknown_trigger_or_service_is_a_condition_until_fixed(
    store: Store, webhook: Receiver
) -> None:
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n"})
    _app(store, {f"{ANN}on-sync-succeeded.nope": "", f"{ANN}on-sync-succeded.hook": ""})
    worker.run_pass(store, secrets={})
    conds = resources.get(store, "Application", "guestbook").status["conditions"]
    (cond,) = [c for c in conds if c["type"] == "NotificationConfigError"]
    assert "unknown service 'nope'" in cond["message"]
    assert "unknown trigger 'on-sync-succeded'" in cond["message"]
    assert cond["lastTransitionTime"].endswith("Z")
    reasons = [e.message for e in events.query(store) if e.reason == "NotificationConfigError"]
    assert len(reasons) == 2
    _app(store, {f"{ANN}on-sync-succeeded.hook": ""})
    worker.run_pass(store, secrets={})
    conds = resources.get(store, "Application", "guestbook").status.get("conditions") or []
    assert not [c for c in conds if c["type"] == "NotificationConfigError"]


def test_a_rate_limited_argo_cd_service(store: Store, webhook: Receiver) -> None:
    _cm(
        store,
        {
            "service.webhook.hook": f"url: {webhook.url}\nrateLimit: 1/1h\n",
            "template.app-sync-succeeded": "message: ok\nwebhook:\n  hook:\n"
            "    method: POST\n    body: '{{.app.status.operationState.startedAt}}'\n",
        },
    )
    for hour in range(10, 14):
        _app(store, {f"{ANN}on-sync-succeeded.hook": ""}, started=f"2026-01-01T{hour}:00:00Z")
        worker.run_pass(store, secrets={})
    assert [r.body for r in webhook.requests] == [b"2026-01-01T10:00:00Z"]
    from shipway.store import outbox

    held = [d for d in outbox.list_outbox(store) if d.state == "pending"]
    assert len(held) == 3 and all(d.external.get("held") for d in held)
