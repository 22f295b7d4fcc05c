"""argocd-notifications-cm parsing, trigger evaluation (expr-lang), rendering, dedupe keys.

The ConfigMap texts follow the shapes Argo CD's notifications documentation
shows (services, templates with per-service fields, triggers, subscriptions).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.model.errors import InputError
from shipway.notify.config import parse_config
from shipway.notify.evaluate import plan, subscriptions
from shipway.store.outbox import FAILED, PENDING

CM_FILE = Path(__file__).with_name("argocd-notifications-cm.yaml")
CM: dict[str, str] = yaml.safe_load(CM_FILE.read_text())["data"]
SECRETS = {
    "github-token": "ghp_SECRET1",
    "hook-password": "pw-SECRET2",
    "slack-token": "xoxb-SECRET3",
    "email-password": "SECRET4",
}


Doc = dict[str, Any]


def _app(
    phase: str = "Succeeded",
    started: str = "2026-01-01T10:00:00Z",
    revision: str = "abc123",
    annotations: dict[str, str] | None = None,
) -> tuple[Doc, Doc]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "guestbook",
            "namespace": "argocd",
            "annotations": annotations or {},
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": "git@github.com:acme/guestbook.git", "path": "app"},
        },
    }, {
        "sync": {"status": "Synced", "revision": revision},
        "health": {"status": "Healthy"},
        "operationState": {
            "phase": phase,
            "startedAt": started,
            "finishedAt": "2026-01-01T10:00:05Z",
            "operation": {"sync": {"revision": revision}},
            "syncResult": {"revision": revision},
        },
    }


def test_services_resolve_secret_references_and_keep_them_for_masking() -> None:
    cfg = parse_config(CM, SECRETS)
    assert cfg.services["github"].type == "webhook"
    assert cfg.services["github"].options["headers"][0]["value"] == "token ghp_SECRET1"
    assert cfg.services["gmail"].type == "email"
    assert cfg.services["slack"].options["token"] == "xoxb-SECRET3"
    assert set(cfg.secret_values) == set(SECRETS.values())
    assert cfg.context["argocdUrl"] == "https://cd.example.com"
    assert cfg.triggers["on-synced-custom"].conditions[0].once_per.endswith("revision")
    assert cfg.default_triggers == ("on-sync-succeeded",)


@pytest.mark.parametrize(
    ("key", "text", "needle"),
    [
        ("service.webhook.x", "headers: []\n", "needs url"),
        ("service.email", "host: h\nport: nope\nfrom: a@b\n", "port is a number"),
        ("service.slack", "token: $nope\n", "no key 'nope'"),
        ("trigger.t", "- when: 'true'\n", "needs send"),
        ("trigger.t", "- send: [x]\n  when: 'true'\n", "template 'x'"),
        ("template.t", "message: [1\n", "not valid YAML (line 2, column 1)"),
        ("subscriptions", "- recipients: slack:x\n", "list of strings"),
        ("trigger.t", "when: 'true'\nsend: [x]\n", "write this one condition as a list item"),
    ],
)
def test_bad_config_names_the_key(key: str, text: str, needle: str) -> None:
    with pytest.raises(InputError) as err:
        parse_config({key: text}, {})
    assert f"data.{key.split('[')[0]}" in str(err.value)
    assert needle in str(err.value)


def test_annotations_and_default_triggers_give_subscriptions() -> None:
    cfg = parse_config(CM, SECRETS)
    app, _ = _app(annotations={
        "notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "ch1; ch2",
        "notifications.argoproj.io/subscribe.gmail": "ops@example.com",
        "notifications.argoproj.io/subscribe.on-nothing.slack": "ch3",
        "notifications.argoproj.io/subscribe.on-deployed.teams": "x",
    })  # fmt: skip
    project = {"metadata": {"annotations": {
        "notifications.argoproj.io/subscribe.on-sync-failed.github": ""}}}  # fmt: skip
    subs, problems = subscriptions(cfg, app, project)
    assert set(subs) == {
        ("on-sync-succeeded", "slack", "ch1"),
        ("on-sync-succeeded", "slack", "ch2"),
        ("on-sync-succeeded", "gmail", "ops@example.com"),
        ("on-sync-failed", "github", ""),
    }
    assert any("unknown trigger 'on-nothing'" in p for p in problems)
    assert any("unknown service 'teams'" in p for p in problems)


def test_templates_render_argocd_doc_style_fields_per_service() -> None:
    cfg = parse_config(CM, SECRETS)
    body, status = _app(annotations={
        "notifications.argoproj.io/subscribe.on-sync-succeeded.github": "",
        "notifications.argoproj.io/subscribe.on-sync-succeeded.plain": "",
        "notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "deploys",
        "notifications.argoproj.io/subscribe.on-sync-succeeded.gmail": "a@example.com",
    })  # fmt: skip
    p = plan(cfg, body, status)
    by = {d.service: d for d in p.deliveries}
    assert all(d.state == PENDING for d in p.deliveries), [d.last_error for d in p.deliveries]
    gh = by["github"].payload["webhook"]
    assert gh["method"] == "POST"
    assert gh["path"] == "/repos/acme/guestbook/statuses/abc123"
    assert json.loads(gh["body"])["target_url"] == "https://cd.example.com/applications/guestbook"
    assert json.loads(by["plain"].payload["webhook"]["body"]) == {
        "app": "GUESTBOOK", "to": "", "type": "webhook"}  # fmt: skip
    slack = by["slack"].payload["slack"]
    att = json.loads(slack["attachments"])
    assert att[0]["fields"][1]["value"] == "https://github.com/acme/guestbook"
    assert slack["deliveryPolicy"] == "PostAndUpdate"
    assert by["slack"].group_key == "abc123"
    mail = by["gmail"].payload
    assert mail["email"]["subject"] == "Application guestbook has been successfully synced."
    assert "synced at 2026-01-01T10:00:05Z" in mail["message"]


def test_trigger_conditions_run_in_exprlang() -> None:
    cfg = parse_config(CM, SECRETS)
    ann = {"notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "c"}
    for phase, fires in (("Succeeded", True), ("Running", False), ("Failed", False)):
        body, status = _app(phase=phase, annotations=ann)
        assert bool(plan(cfg, body, status).deliveries) is fires, phase
    body, status = _app(phase="Failed", annotations={
        "notifications.argoproj.io/subscribe.on-sync-failed.slack": "c"})  # fmt: skip
    assert len(plan(cfg, body, status).deliveries) == 1
    custom = {**CM, "trigger.old": "- when: time.Now().Sub(time.Parse(app.status.operationState"
              ".finishedAt)).Hours() > 1\n  send: [app-sync-succeeded]\n"}  # fmt: skip
    body, status = _app(annotations={"notifications.argoproj.io/subscribe.old.slack": "c"})
    assert len(plan(parse_config(custom, SECRETS), body, status).deliveries) == 1


def test_dedupe_keys_come_from_stable_fields_never_the_text() -> None:
    cfg = parse_config(CM, SECRETS)
    ann = {"notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "c1;c2",
           "notifications.argoproj.io/subscribe.on-synced-custom.slack": "c1"}  # fmt: skip
    body, status = _app(annotations=ann)
    first = {(d.trigger, d.recipient): d.key for d in plan(cfg, body, status).deliveries}
    assert len(set(first.values())) == 3  # per trigger and per recipient
    # a changed message (a different finish time) keeps every key
    status["operationState"]["finishedAt"] = "2026-01-01T11:11:11Z"
    again = {(d.trigger, d.recipient): d.key for d in plan(cfg, body, status).deliveries}
    assert again == first
    # a new sync operation (new start) is a new on-sync-succeeded, the same revision is
    # not a new on-synced-custom (oncePer revision)
    body, status = _app(started="2026-01-01T12:00:00Z", annotations=ann)
    later = {(d.trigger, d.recipient): d.key for d in plan(cfg, body, status).deliveries}
    assert later[("on-sync-succeeded", "c1")] != first[("on-sync-succeeded", "c1")]
    assert later[("on-synced-custom", "c1")] == first[("on-synced-custom", "c1")]


def test_condition_without_once_per_rearms_when_false() -> None:
    cfg = parse_config(CM, SECRETS)
    ann = {"notifications.argoproj.io/subscribe.on-health-degraded.slack": "c"}
    body, status = _app(annotations=ann)
    status["health"] = {"status": "Degraded", "message": "pod crashed"}
    p = plan(cfg, body, status)
    assert len(p.deliveries) == 1 and not p.rearm
    assert "pod crashed" in p.deliveries[0].payload["message"]
    status["health"] = {"status": "Healthy"}
    p2 = plan(cfg, body, status)
    assert not p2.deliveries and p2.rearm == [p.deliveries[0].cond]


def test_a_template_that_fails_to_render_is_a_failed_delivery_naming_it() -> None:
    broken = {**CM, "template.app-sync-succeeded": "message: '{{.app.metadata.name'\n"}
    cfg = parse_config(broken, SECRETS)
    body, status = _app(annotations={
        "notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "c"})  # fmt: skip
    (d,) = plan(cfg, body, status).deliveries
    assert d.state == FAILED
    assert "template app-sync-succeeded" in d.last_error
    assert "app-sync-succeeded.message:1" in d.last_error


def test_after_repeats_must_be_a_whole_number_from_one() -> None:
    good = parse_config({"trigger.t": "- when: 'true'\n  send: [app-created]\n  afterRepeats: 3\n"
                         "  resetWhen: 'false'\n"})  # fmt: skip
    assert good.triggers["t"].conditions[0].after_repeats == 3
    assert good.triggers["t"].conditions[0].reset_when == "false"
    for bad in ("0", "two", "true"):
        with pytest.raises(InputError, match="afterRepeats is a whole number"):
            parse_config({"trigger.t": f"- when: 'true'\n  send: [app-created]\n"
                          f"  afterRepeats: {bad}\n"})  # fmt: skip
