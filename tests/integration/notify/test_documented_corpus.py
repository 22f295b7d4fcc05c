"""The peers' own documented examples, read as-is (``corpus/``), and a notifications
catalog written for shipway in the shape Argo CD ships its own (the same keys, fields,
functions and trigger conditions, in shipway's words): the forms Argo CD's notifications
pages give, and Flux's Provider, Alert and Receiver examples. ``shipway apply`` takes every
file unchanged (Flux's Provider and Receiver types shipway has not built are refused,
naming each); every catalog template renders for every service against a realistic
Application, and its triggers fire on the states Argo CD documents; the documented
templates, triggers and subscriptions do what their pages say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.git.repo import Repo
from shipway.model.flux_notify import ACCEPTED_RECEIVERS, SENT_TYPES
from shipway.notify import evaluate, repofuncs, worker
from shipway.notify.config import NotifyConfig, parse_config
from shipway.settings import Settings
from shipway.store import resources
from shipway.store.db import open_store
from shipway.store.outbox import FAILED, PENDING
from shipway.templates.argocd import notification_vars

CORPUS = Path(__file__).with_name("corpus")
SHIPWAY = str(Path(sys.executable).with_name("shipway"))
ANN = "notifications.argoproj.io/subscribe."
SERVICE_TYPES = ("slack", "email", "teams", "teams-workflows", "webhook", "github", "mattermost")


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((CORPUS / name).read_text()) if d]


def _data(name: str) -> dict[str, str]:
    (cm,) = [d for d in _docs(name) if d["kind"] == "ConfigMap"]
    return dict(cm["data"])


SECRET: dict[str, str] = _docs("argocd-secret.yaml")[0]["stringData"]
CATALOG = _data("argocd-catalog.yaml")
DOCS = _data("argocd-docs.yaml")


def _status(**over: Any) -> dict[str, Any]:
    """A synced, healthy Application's status as shipway's reconciler writes it."""
    status: dict[str, Any] = {
        "sync": {"status": "Synced", "revision": "c0ffee1"},
        "health": {"status": "Healthy", "lastTransitionTime": "2026-01-01T10:00:04Z"},
        "conditions": [{"type": "SyncError", "message": "one or more objects failed",
                        "lastTransitionTime": "2026-01-01T09:00:00Z"}],
        "operationState": {
            "phase": "Succeeded", "message": "successfully synced (all tasks run)",
            "startedAt": "2026-01-01T10:00:00Z", "finishedAt": "2026-01-01T10:00:03Z",
            "operation": {"sync": {"revision": "c0ffee1"}, "initiatedBy": {"automated": True},
                          "info": [{"name": "reason", "value": "release"}]},
            "syncResult": {"revision": "c0ffee1"},
        },
    }  # fmt: skip
    for key, value in over.items():
        if value is None:
            status.pop(key, None)
        elif isinstance(value, dict) and isinstance(status.get(key), dict):
            status[key] = {**status[key], **value}
        else:
            status[key] = value
    return status


def _app(multi: bool = False, **over: Any) -> dict[str, Any]:
    apps = _docs("argocd-apps.yaml")
    body = apps[2] if multi else apps[1]
    return evaluate.app_dict(body, _status(**over))


def _data_for(config: NotifyConfig, app: dict[str, Any], stype: str) -> dict[str, Any]:
    return {**notification_vars(), "app": app, "serviceType": stype, "recipient": "ops",
            "context": {"argocdUrl": "https://cd.example.com", **config.context},
            "secrets": config.secrets}  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SHIPWAY, *args], capture_output=True, text=True,
                          env=dict(os.environ), check=False)  # fmt: skip


def test_shipway_apply_takes_every_documented_example_unchanged(shipway_home: Path) -> None:
    shipway_home.mkdir(parents=True, exist_ok=True)
    # the Secret goes where shipway reads argocd-notifications-secret, byte for byte
    (shipway_home / "argocd-notifications-secret.yaml").write_text(
        (CORPUS / "argocd-secret.yaml").read_text()
    )
    store = open_store(Settings(home=shipway_home))
    for name in ("argocd-apps.yaml", "argocd-catalog.yaml", "argocd-docs.yaml",
                 "flux-alerts.yaml"):  # fmt: skip
        done = _cli("apply", "-f", str(CORPUS / name))
        assert done.returncode == 0, f"{name}: {done.stderr}"
        if name.startswith("argocd-") and name != "argocd-apps.yaml":
            config = worker.load_config(store)  # the stored ConfigMap and the Secret file
            assert config is not None and config.templates
    for kind, file, built in (("Provider", "flux-providers.yaml", SENT_TYPES),
                              ("Receiver", "flux-receivers.yaml", ACCEPTED_RECEIVERS)):  # fmt: skip
        # the file as documented: each type shipway has not built is named, with its line
        done = _cli("apply", "-f", str(CORPUS / file))
        docs = _docs(file)
        refused = sorted({d["spec"]["type"] for d in docs if d["spec"]["type"] not in built})
        assert done.returncode != 0 and refused, done.stderr
        for rtype in refused:
            assert re.search(
                rf"{file}:\d+:\d+: spec.type: .*type '{re.escape(rtype)}' is a Flux "
                f"{kind} type shipway does not support yet",
                done.stderr,
            ), rtype
        assert not resources.list_kind(store, kind)  # nothing of a refused file is applied
        # the built types' documents, unchanged, are taken
        kept = [d for d in docs if d["spec"]["type"] in built]
        (shipway_home / file).write_text(yaml.safe_dump_all(kept))
        done = _cli("apply", "-f", str(shipway_home / file))
        assert done.returncode == 0, f"{file}: {done.stderr}"
        want = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in kept}
        got = {(r.namespace, r.name) for r in resources.list_kind(store, kind)}
        assert got == want and len(want) >= 6
    want = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in _docs("flux-alerts.yaml")}
    assert {(r.namespace, r.name) for r in resources.list_kind(store, "Alert")} == want
    assert len(want) >= 5 and len(CATALOG) == 16 and len(DOCS) >= 35


@pytest.mark.parametrize("tname", sorted(k.split(".", 1)[1] for k in CATALOG if "template." in k))
@pytest.mark.parametrize("multi", [False, True], ids=["source", "sources"])
def test_each_catalog_template_renders_for_every_service(tname: str, multi: bool) -> None:
    config = parse_config(CATALOG, {})
    app = _app(multi)
    repos = [s["repoURL"] for s in app["spec"].get("sources") or [app["spec"].get("source")]]
    for stype in SERVICE_TYPES:
        out = evaluate.render(tname, config.templates[tname], stype, "hook",
                              _data_for(config, app, stype))  # fmt: skip
        name = app["metadata"]["name"]
        assert name in out["message"] and "{{" not in out["message"]
        emoji = (":white_check_mark:", ":x:", ":warning:", ":grey_question:")
        assert any(e in out["message"] for e in emoji) == (
            stype == "slack" and tname not in ("app-created", "app-deleted", "app-sync-running")
        )
        if stype == "email":
            assert name in out["email"]["subject"]
        slack = out.get("slack") or {}
        if slack.get("attachments"):
            (att,) = json.loads(slack["attachments"])
            assert att["title"] == name
            assert att["title_link"] == f"https://cd.example.com/applications/{name}"
            fields = {f["title"]: f["value"] for f in att["fields"]}
            repo_field = fields["Source repos" if multi else "Source repo"]
            assert all(r in repo_field for r in repos)
            assert fields["SyncError"] == "one or more objects failed"
        teams = out.get("teams") or {}
        assert teams.get("title", name).count(name) == 1
        for key in ("facts", "potentialAction"):
            if teams.get(key):
                parsed = json.loads(teams[key])
                assert isinstance(parsed, list) and parsed


def _fired(app: dict[str, Any], config: NotifyConfig) -> set[str]:
    """The catalog triggers that enqueue a delivery for ``app``, through ``plan``."""
    body = {k: v for k, v in app.items() if k != "status"}
    names = [k.split(".", 1)[1] for k in CATALOG if k.startswith("trigger.")]
    ann = {f"{ANN}{n}.hook": "" for n in names}
    body["metadata"] = {**body["metadata"], "annotations": ann}
    p = evaluate.plan(config, body, app["status"])
    assert not p.problems
    assert all(d.state == PENDING for d in p.deliveries), [d.last_error for d in p.deliveries]
    return {d.trigger for d in p.deliveries}


STATES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("created, never synced", {"operationState": None, "sync": {"status": "OutOfSync"},
                               "health": {"status": "Missing"}}, set()),
    ("sync running", {"operationState": {"phase": "Running", "finishedAt": None},
                      "health": {"status": "Progressing"}}, {"on-sync-running"}),
    ("synced, became healthy after the sync", {}, {"on-sync-succeeded", "on-deployed"}),
    ("synced, health unchanged since before the sync",
     {"health": {"status": "Healthy", "lastTransitionTime": "2026-01-01T08:00:00Z"}},
     {"on-sync-succeeded", "on-deployed"}),
    ("synced, healthy minutes before a long sync ended",
     {"health": {"status": "Healthy", "lastTransitionTime": "2026-01-01T10:00:30Z"},
      "operationState": {"finishedAt": "2026-01-01T10:05:00Z"}}, {"on-sync-succeeded"}),
    ("sync failed", {"operationState": {"phase": "Failed"}, "health": {"status": "Degraded"}},
     {"on-sync-failed", "on-health-degraded"}),
    ("sync errored", {"operationState": {"phase": "Error"},
                      "health": {"status": "Progressing"}}, {"on-sync-failed"}),
    ("sync status unknown", {"sync": {"status": "Unknown"}, "operationState": None,
                             "health": {"status": "Unknown"}}, {"on-sync-status-unknown"}),
]  # fmt: skip


@pytest.mark.parametrize(("state", "over", "want"), STATES, ids=[s[0] for s in STATES])
def test_catalog_triggers_fire_on_the_states_argo_cd_documents(
    state: str, over: dict[str, Any], want: set[str]
) -> None:
    config = parse_config({**CATALOG, "service.webhook.hook": "url: http://127.0.0.1:9/\n"}, {})
    assert _fired(_app(**over), config) == {"on-created", *want}
    deleting = _app(**over)
    deleting["metadata"] = {**deleting["metadata"], "deletionTimestamp": "2026-01-02T00:00:00Z"}
    assert _fired(deleting, config) == {"on-created", "on-deleted", *want}


def _documented() -> NotifyConfig:
    return parse_config({**CATALOG, **DOCS}, SECRET)


def test_documented_subscriptions_reach_the_recipients_their_pages_name() -> None:
    config = _documented()
    apps = _docs("argocd-apps.yaml")
    subs, problems = evaluate.subscriptions(config, _app(), apps[0])
    assert problems == []
    got = set(subs)
    # subscriptions.md: an AppProject's annotation, ;-separated recipients
    assert {("on-sync-succeeded", "slack", "my-channel1"),
            ("on-sync-succeeded", "slack", "my-channel2")} <= got  # fmt: skip
    # triggers.md: subscribe.<service> takes defaultTriggers, or defaultTriggers.<service>
    assert ("on-sync-status-unknown", "slack", "my-channel") in got
    assert {t for t, s, r in got if r == "my-mattermost-channel"} == {
        "on-sync-running", "on-sync-succeeded"}  # fmt: skip
    # slack.md: the notifications.argoproj.io/subscriptions annotation
    assert {(t, r) for t, s, r in got if s == "email"} >= {
        (t, f"recipient-{i}") for t in ("on-sync-succeeded", "on-sync-failed") for i in (1, 2, 3)
    }
    assert {r for t, s, r in got if t == "on-health-degraded"} == {"my-channel-21", "my-channel-22"}
    # subscriptions.md: the ConfigMap's subscriptions, with a label selector, a bare webhook
    assert {("on-sync-status-unknown", "slack", "test2"),
            ("on-sync-status-unknown", "email", "test@gmail.com"),
            ("on-sync-status-unknown", "slack", "test3"),
            ("on-sync-status-unknown", "generic", "")} <= got  # fmt: skip
    unlabelled = _app()
    unlabelled["metadata"] = {**unlabelled["metadata"], "labels": {}}
    assert ("on-sync-status-unknown", "slack", "test3") not in evaluate.subscriptions(
        config, unlabelled)[0]  # fmt: skip
    # a secret a template names is masked like the services' own
    assert "secret-token" in config.services["sample-webhook"].secret_values


def _render(config: NotifyConfig, tname: str, stype: str, service: str = "hook",
            app: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    app = app or _app()
    return evaluate.render(tname, config.templates[tname], stype, service,
                           _data_for(config, app, stype))  # fmt: skip


def test_documented_templates_render_as_their_pages_show() -> None:
    config = _documented()
    for tname in config.templates:
        if tname != "commit-author":  # reads git: below
            for stype in SERVICE_TYPES:
                _render(config, tname, stype)
    hook = _render(config, "trigger-webhook", "webhook", "sample-webhook")["webhook"]
    assert hook["body"] == "token=secret-token&variables[APP_SOURCE_PATH]=guestbook"
    ctx = _render(config, "a-slack-template-with-context", "slack")["message"]
    assert ctx == "Something happened in staging in the eu-west data center!"
    local = _render(config, "local-start", "slack")["message"]
    assert re.fullmatch(r"Sync started 2026-01-0[12]T\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", local)
    link = _render(config, "merge-requests-link", "slack")["message"]
    assert (
        link == f"/projects/{urllib.parse.quote('argoproj/argocd-example-apps', '')}/merge_requests"
    )
    status = _render(config, "github-commit-status", "webhook", "github-api")["webhook"]
    assert status["path"] == "/repos/argoproj/argocd-example-apps/statuses/c0ffee1"
    assert json.loads(status["body"]) == {
        "state": "success", "description": "ArgoCD",
        "target_url": "https://cd.example.com/applications/guestbook",
        "context": "continuous-delivery/guestbook"}  # fmt: skip
    running = _app(operationState={"phase": "Running"})
    body = _render(config, "github-commit-status", "webhook", "github-api", running)
    assert json.loads(body["webhook"]["body"])["state"] == "pending"
    slack = _render(config, "app-sync-status", "slack")["slack"]
    assert slack["username"] == "testbot" and slack["groupingKey"] == "c0ffee1"
    teams = _render(config, "teams-sync-succeeded", "teams")["teams"]
    assert json.loads(teams["sections"])[0]["facts"][0] == {
        "name": "Sync Status",
        "value": "Synced",
    }
    assert teams["summary"] == "guestbook sync succeeded"
    gh = _render(config, "github-app-deployed", "github")["github"]
    assert gh["repoURLPath"] == "https://github.com/argoproj/argocd-example-apps.git"
    assert gh["status"]["label"] == "continuous-delivery/guestbook"
    assert gh["deployment"]["environmentURL"] == "https://guestbook.example.com"
    # examples.md: the sync result as JSON, the images of its resources
    result = {
        "revision": "c0ffee1",
        "resources": [
            {"group": "apps", "kind": "Deployment", "name": "web", "images": ["nginx:1.27.1"]},
            {"group": "autoscaling", "kind": "HorizontalPodAutoscaler", "name": "web-hpa"},
        ],
    }
    synced = _app(operationState={"syncResult": result})
    hook = _render(config, "on-deployed-template", "webhook", "on-deployed-webhook", synced)
    assert json.loads(hook["webhook"]["body"]) == result
    # (slack.message is no field of Argo CD's slack template, nor shipway's: rendered here
    # on its own, for the range over the resources' images it shows)
    text = config.templates["on-deployed-images"]["slack"]["message"]
    shown = evaluate._render_value("on-deployed-images", "slack.message", text,
                                   _data_for(config, synced, "slack"))  # fmt: skip
    assert "*Application:* `guestbook`" in shown and shown.rstrip().endswith('- "nginx:1.27.1"')
    # a condition's message with quotes and a newline: the js and quote forms stay JSON
    quoted = _app(conditions=[{"type": "SyncError", "message": 'image "web:2"\nnot found'}])
    for tname in ("conditions-js", "conditions-quote"):
        att = json.loads(_render(config, tname, "slack", app=quoted)["slack"]["attachments"])
        assert att[0]["fields"][1]["value"] == 'image "web:2"\nnot found'


def test_documented_triggers_evaluate_as_their_pages_say() -> None:
    config = _documented()
    body = {k: v for k, v in _app().items() if k != "status"}
    names = [k.split(".", 1)[1] for k in DOCS if k.startswith("trigger.")]
    body["metadata"] = {
        **body["metadata"],
        "annotations": {"example.com/version": "v0.1", **{f"{ANN}{n}.generic": "" for n in names}},
    }
    p = evaluate.plan(config, body, _status())
    assert not p.problems and not [d for d in p.deliveries if d.state == FAILED]
    fired = {(d.trigger, d.payload["template"]) for d in p.deliveries}
    assert fired == {
        ("sync-operation-change", "github-commit-status"),  # Succeeded: the first condition
        ("on-deployed-once", "app-sync-succeeded"),
        ("on-version", "my-custom-template-slack-template"),
        ("on-sync-running-long", "app-sync-running"),  # started long before now
        ("on-release-info", "a-slack-template-with-context"),
        ("on-deployed-trigger", "on-deployed-template"),
    }
    failed = evaluate.plan(config, body, _status(operationState={"phase": "Failed"}))
    assert {(d.trigger, d.payload["template"]) for d in failed.deliveries} >= {
        ("sync-operation-change", "app-sync-failed"),
        ("sync-operation-change", "github-commit-status")}  # fmt: skip


def test_the_commit_author_template_reads_the_source_repository(
    git_server: Any, tmp_path: Path, shipway_home: Path
) -> None:
    url = git_server.bare("corpus-author")
    work = Repo.clone(url, tmp_path / "work")
    (Path(work.path) / "a.txt").write_text("a\n")
    work.run("add", "a.txt")
    work.run(
        "commit",
        "-q",
        "-m",
        "first",
        env={"GIT_AUTHOR_NAME": "Grace Hopper", "GIT_AUTHOR_EMAIL": "grace@example.com"},
    )
    work.run("push", "-q", "origin", "HEAD:main")
    config = _documented()
    app = _app(sync={"status": "Synced", "revision": work.head()})
    app["spec"] = {**app["spec"], "source": {**app["spec"]["source"], "repoURL": url}}
    data = _data_for(config, app, "slack")
    data["repo"] = {**data["repo"],
                    **repofuncs.commit_funcs(app, Settings(home=shipway_home))}  # fmt: skip
    out = evaluate.render("commit-author", config.templates["commit-author"], "slack", "", data)
    assert out["message"] == "Author: Grace Hopper <grace@example.com>"
