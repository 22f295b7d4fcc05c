"""Flux Provider/Alert/Receiver read as Flux documents them; Alert matching, Flux's event
body, aggregation folding, rate limits, Teams cards and Argo CD's github/teams fields."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from shipway.model import events as ev
from shipway.model.errors import InputError, ResourceError
from shipway.model.flux_notify import AlertSpec, webhook_path
from shipway.model.resources import parse_text
from shipway.notify import flux
from shipway.notify.config import parse_config
from shipway.notify.deliver import with_summary
from shipway.notify.evaluate import render
from shipway.notify.policy import RateLimit, parse_rate
from shipway.notify.services.teams import card

FLUX_DOCS = """\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: slack-bot, namespace: flagger-system}
spec:
  type: slack
  channel: general
  address: https://slack.com/api/chat.postMessage
  secretRef: {name: slack-bot-token}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Alert
metadata: {name: slack, namespace: flagger-system}
spec:
  summary: "Flagger impacted in us-east-2"
  providerRef: {name: slack-bot}
  eventSeverity: error
  eventSources:
    - kind: HelmRepository
      name: '*'
    - kind: HelmRelease
      name: '*'
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: github-receiver, namespace: flux-system}
spec:
  type: github
  events: ["ping", "push"]
  secretRef: {name: receiver-token}
  resources:
    - apiVersion: argoproj.io/v1alpha1
      kind: Application
      name: guestbook
"""


def test_the_documented_examples_are_read_as_is() -> None:
    found = parse_text(FLUX_DOCS, "flux.yaml")
    assert [(r.kind, r.namespace, r.name) for r in found] == [
        ("Provider", "flagger-system", "slack-bot"),
        ("Alert", "flagger-system", "slack"),
        ("Receiver", "flux-system", "github-receiver"),
    ]


@pytest.mark.parametrize(
    ("doc", "where", "reason"),
    [
        ("kind: Receiver\nspec: {type: generic-oidc, resources: [{kind: A, name: a}]}",
         "spec", "needs oidcProviders"),
        ("kind: Provider\nspec: {type: carrier-pigeon}", "spec.type", "carrier-pigeon"),
        ("kind: Provider\nspec: {type: sentry, address: 'https://key@sentry.example/1'}",
         "spec.type", "'sentry' is a Flux Provider type shipway does not support yet"),
        ("kind: Receiver\nspec: {type: nexus, secretRef: {name: s},"
         " resources: [{kind: A, name: a}]}",
         "spec.type", "'nexus' is a Flux Receiver type shipway does not support yet (it serves"),
        ("kind: Provider\nspec: {type: generic, timeout: soon}", "spec.timeout", "duration"),
        ("kind: Alert\nspec: {providerRef: {name: p}, eventSources: [{kind: X, name: '*'}],"
         " inclusionList: ['(unclosed']}", "spec.inclusionList", "regular expression"),
        ("kind: Alert\nspec: {providerRef: {name: p}, eventSources: [{kind: X, name: a,"
         " matchLabels: {a: b}}]}", "spec.eventSources.0", "name: '*'"),
        ("kind: Alert\nspec: {providerRef: {name: p}, eventSources: [{kind: X, name: a}],"
         " eventSeverity: warn}", "spec.eventSeverity", "info"),
        ("kind: Receiver\nspec: {type: generic, resources: [{kind: Application, name: a}]}",
         "spec", "secretRef is required for a generic Receiver"),
    ],
)  # fmt: skip
def test_bad_kinds_name_the_field(doc: str, where: str, reason: str) -> None:
    api = "notification.toolkit.fluxcd.io/v1" if "Receiver" in doc else (
        "notification.toolkit.fluxcd.io/v1beta3")  # fmt: skip
    text = f"apiVersion: {api}\nmetadata: {{name: x, namespace: ns}}\n{doc}\n"
    with pytest.raises(ResourceError) as got:
        parse_text(text, "bad.yaml")
    assert f"{where}" in str(got.value) and reason in str(got.value)
    assert "bad.yaml:" in str(got.value)


def test_the_receiver_path_is_fluxs_digest() -> None:
    want = hashlib.sha256(b"tok" + b"github-receiver" + b"flux-system").hexdigest()
    assert webhook_path("tok", "github-receiver", "flux-system") == f"/hook/{want}"


def _alert(ns: str = "apps", **spec: Any) -> flux.AlertView:
    base: dict[str, Any] = {"providerRef": {"name": "p"},
                            "eventSources": [{"kind": "Application", "name": "*"}]}  # fmt: skip
    return flux.AlertView(ns, "a", AlertSpec.model_validate({**base, **spec}))


def _event(reason: str = ev.SYNC_SUCCEEDED, message: str = "synced", *, warn: bool = False,
           ns: str = "apps", kind: str = "Application", name: str = "web") -> ev.Event:  # fmt: skip
    return ev.Event(ev.ObjectRef(kind, name, ns), reason, message,
                    ev.WARNING if warn else ev.NORMAL, "rel-1", "reconciler")  # fmt: skip


def test_alert_matching_follows_fluxs_rules() -> None:
    assert flux.matches(_alert(), _event())
    assert not flux.matches(_alert(), _event(ns="other"))  # the Alert's namespace by default
    assert flux.matches(
        _alert(eventSources=[{"kind": "Application", "name": "*", "namespace": "other"}]),
        _event(ns="other"),
    )
    assert not flux.matches(_alert(), _event(kind="Stage"))
    named = _alert(eventSources=[{"kind": "Application", "name": "web"}])
    assert flux.matches(named, _event()) and not flux.matches(named, _event(name="api"))
    errors = _alert(eventSeverity="error")
    assert not flux.matches(errors, _event()) and flux.matches(errors, _event(warn=True))
    labelled = _alert(eventSources=[{"kind": "Application", "name": "*",
                                     "matchLabels": {"team": "a"}}])  # fmt: skip
    assert flux.matches(labelled, _event(), {"team": "a", "x": "y"})
    assert not flux.matches(labelled, _event(), {"team": "b"})
    inc = _alert(inclusionList=[r"^sync.*"], exclusionList=[r"ignored"])
    assert flux.matches(inc, _event(message="synced to abc"))
    assert not flux.matches(inc, _event(message="health Degraded"))
    assert not flux.matches(inc, _event(message="synced but ignored"))
    assert not flux.matches(_alert(suspend=True), _event())
    # objects without a namespace (a CI run, an image) match any Alert's namespace
    ci = _alert(eventSources=[{"kind": "CIRun", "name": "*"}])
    assert flux.matches(ci, _event(ev.CI_RUN_FAILED, kind="CIRun", ns="", name="run-1"))


def test_fluxs_event_body_with_the_alerts_metadata() -> None:
    alert = _alert(eventMetadata={"env": "prod", "revision": "not-this"}, summary="prod sync")
    e = _event(warn=True, message="sync failed: boom")
    meta = flux.metadata(alert, e, {"revision": "main@sha1:" + "a" * 40})
    body = flux.flux_event(e, meta)
    assert body["involvedObject"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "name": "web",
        "namespace": "apps",
    }
    assert body["severity"] == "error" and body["reason"] == ev.SYNC_SUCCEEDED
    assert body["message"] == "sync failed: boom"
    assert body["timestamp"].endswith("Z")
    assert body["reportingController"] == "shipway-reconciler"
    assert body["metadata"] == {
        "revision": "main@sha1:" + "a" * 40,
        "releaseId": "rel-1",
        "env": "prod",
        "summary": "prod sync",
    }  # the event's own win


def test_fold_keeps_every_line_and_the_worst_severity() -> None:
    first = flux.flux_event(_event(ev.SYNC_STARTED, "sync to abc"), {})
    mid = flux.flux_event(_event(ev.HEALTH_CHANGED, "health Progressing -> Degraded",
                                 warn=True), {"x": "1"})  # fmt: skip
    last = flux.flux_event(_event(ev.SYNC_SUCCEEDED, "Succeeded"), {})
    folded = flux.fold(flux.fold(first, mid), last)
    assert folded["message"].splitlines() == [
        "OperationStarted: sync to abc",
        "HealthStatusChanged: health Progressing -> Degraded",
        "SyncSucceeded: Succeeded",
    ]
    assert folded["severity"] == "error" and folded["reason"] == ev.SYNC_SUCCEEDED
    assert folded["metadata"] == {"x": "1"}
    assert "lines" not in flux.wire(folded)


def test_rate_limits_parse_and_summarise() -> None:
    assert parse_rate("10/1m", subject="s") == RateLimit(10, 60.0)
    assert parse_rate("3/1m30s", subject="s") == RateLimit(3, 90.0)
    assert parse_rate("5/30", subject="s") == RateLimit(5, 30.0)
    for bad in ("ten/1m", "0/1m", "5", "5/soon"):
        with pytest.raises(InputError, match="N/DURATION"):
            parse_rate(bad, subject="s")
    out = with_summary({"message": "last one"}, 21, RateLimit(5, 60.0))
    assert out["message"].startswith("last one\n(and 21 more")
    assert out["suppressed"] == 21
    with pytest.raises(InputError, match="N/DURATION"):
        parse_config({"service.webhook.h": "url: http://x\nrateLimit: lots\n"})


def test_teams_fields_as_argo_cd_documents_them() -> None:
    cfg = parse_config({"service.teams": "recipientUrls:\n  ops: http://127.0.0.1:1/x\n"})
    assert cfg.services["teams"].type == "teams"
    with pytest.raises(InputError, match="recipientUrls"):
        parse_config({"service.teams": "{}\n"})
    template = {
        "message": "fallback",
        "teams": {
            "title": "{{.app.metadata.name}} synced",
            "themeColor": "#000080",
            "facts": '[{"name": "Revision", "value": "{{.app.status.sync.revision}}"}]',
            "potentialAction": '[{"@type": "OpenUri", "name": "Open", '
                               '"targets": [{"os": "default", "uri": "https://cd/x"}]}]',
        },
    }  # fmt: skip
    data = {"app": {"metadata": {"name": "web"}, "status": {"sync": {"revision": "abc"}}}}
    got = card(render("t", template, "teams", "teams", data))
    assert got["@type"] == "MessageCard" and got["title"] == "web synced"
    assert got["text"] == "fallback" and got["themeColor"] == "#000080"
    assert got["sections"] == [{"facts": [{"name": "Revision", "value": "abc"}]}]
    assert got["potentialAction"][0]["targets"][0]["uri"] == "https://cd/x"
    whole = {
        "teams": {
            "template": json.dumps({"@type": "MessageCard", "text": "{{.app.metadata.name}}"})
        }
    }
    assert card(render("t", whole, "teams", "teams", data)) == {"@type": "MessageCard",
                                                                 "text": "web"}  # fmt: skip


def test_github_fields_default_to_argo_cds_paths() -> None:
    name = "{{.app.metadata.name}}"
    template = {
        "message": "m",
        "github": {
            "status": {"state": "success", "label": f"cd/{name}"},
            "pullRequestComment": {"content": f"deployed {name}"},
        },
    }
    data = {
        "app": {
            "metadata": {"name": "web"},
            "spec": {"source": {"repoURL": "https://github.com/team/app.git"}},
            "status": {"operationState": {"syncResult": {"revision": "c0ffee"}}},
        }
    }
    gh = render("t", template, "github", "github", data)["github"]
    assert gh["repoURLPath"] == "https://github.com/team/app.git"
    assert gh["revisionPath"] == "c0ffee"
    assert gh["status"] == {"state": "success", "label": "cd/web"}
    assert gh["pullRequestComment"] == {"content": "deployed web"}


def test_parse_seconds() -> None:
    assert flux.parse_seconds("90", 1) == 90
    assert flux.parse_seconds("1m30s", 1) == 90
    assert flux.parse_seconds("250ms", 1) == 0.25
    assert flux.parse_seconds("soon", 7) == 7


def test_documented_fields_shipway_cannot_honour_are_named_at_delivery() -> None:
    """Accepted at apply as Flux documents them; ``unsupported`` names each one for the
    delivery's refusal (certSecretRef only where shipway has no TLS client for it)."""
    from shipway.model.flux_notify import ProviderSpec, ReceiverSpec

    ref = {"name": "s"}
    assert (
        ProviderSpec.model_validate({"type": "generic", "certSecretRef": ref}).unsupported() == []
    )
    gh = ProviderSpec.model_validate(
        {"type": "github", "certSecretRef": ref, "proxySecretRef": ref, "commitStatusExpr": "x"}
    )
    assert [u.split(" ")[0] for u in gh.unsupported()] == ["proxy/proxySecretRef", "certSecretRef"]
    with pytest.raises(ValueError, match="not a CEL expression"):
        ProviderSpec.model_validate({"type": "github", "commitStatusExpr": "event.(("})
    rx = {
        "type": "github",
        "secretRef": ref,
        "resources": [
            {"kind": "ImageRepository", "name": "*", "filter": "res.metadata.name == 'web'"}
        ],
    }
    assert ReceiverSpec.model_validate(rx).resources[0].filter
    rx["resources"][0]["filter"] = "res.("
    with pytest.raises(ValueError, match="not a CEL expression"):
        ReceiverSpec.model_validate(rx)


def test_msteams_connector_or_workflow_by_address() -> None:
    from shipway.notify.services.flux_providers import _office_connector, adaptive_card

    assert _office_connector("https://acme.webhook.office.com/webhookb2/x")
    assert not _office_connector("https://prod-12.westeurope.logic.azure.com:443/workflows/x")
    card = adaptive_card({"message": "boom", "severity": "error",
                          "involvedObject": {"kind": "Application", "name": "web"},
                          "metadata": {"b": "2", "a": "1"}})  # fmt: skip
    title, text, facts = card["attachments"][0]["content"]["body"][0]["items"]
    assert title["text"] == "Application/web" and text["color"] == "attention"
    assert [f["title"] for f in facts["facts"]] == ["a", "b"]
