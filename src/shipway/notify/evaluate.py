"""Which notifications an Application calls for: subscriptions, triggers, templates.

Pure: no I/O. ``plan(config, app, project)`` reads the subscriptions (the
``notifications.argoproj.io/subscribe.<trigger>.<service>`` annotations of
the Application and its AppProject, ``subscribe.<service>`` for the default
triggers (the service's ``defaultTriggers.<service>`` first), the YAML list of
``notifications.argoproj.io/subscriptions``, and the ConfigMap's
``subscriptions``), runs each trigger's
``when`` with expr-lang (``app`` and Argo CD's ``time``/``strings``/... helpers
in scope), and renders the ``send`` templates with Go text/template
(``.app``, ``.context``, ``.serviceType``, ``.recipient``, ``.secrets``). Each rendered
notification gets a dedupe key from stable fields only: app, trigger,
condition, template, the ``oncePer`` value, service and recipient, never the text.
Without ``oncePer`` a condition fires once while it stays true; ``Plan.rearm``
lists the conditions that are false, whose keys the caller frees.

A condition with ``afterRepeats: N`` (shipway) lists its deliveries in
``Plan.repeats`` (key: its run counter and N): the caller counts the
occurrences (new keys) and sends only the Nth of a run, recording the others
``suppressed``; ``Plan.reset`` lists the counters whose ``resetWhen``
(default ``RESET_WHEN``: the app deployed) holds now, which end the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.notify.catalog import TEMPLATES as BUILTIN_TEMPLATES
from shipway.notify.catalog import TRIGGERS as BUILTIN_TRIGGERS
from shipway.notify.config import NotifyConfig, Trigger, is_event_trigger
from shipway.store.outbox import FAILED, PENDING, Delivery
from shipway.templates import ExprError, TemplateError
from shipway.templates.argocd import notification_vars
from shipway.templates.exprlang import Program, compile_expr
from shipway.templates.gotemplate import Template, sprig_funcs

PREFIX = "notifications.argoproj.io/subscribe."
SUBSCRIPTIONS = "notifications.argoproj.io/subscriptions"
DEFAULT_URL = "https://localhost:8080"
RESET_WHEN = (
    "app.status?.operationState?.phase == 'Succeeded' and app.status?.health?.status =="
    " 'Healthy' and app.status?.sync?.status == 'Synced'"
)


@dataclass(slots=True)
class Plan:
    deliveries: list[Delivery] = field(default_factory=list)
    rearm: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    repeats: dict[str, tuple[str, int]] = field(default_factory=dict)
    reset: list[str] = field(default_factory=list)


def app_dict(body: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """The Application as Argo CD's templates see it: the object with its status."""
    return {**body, "status": dict(status)}


def _annotations(obj: Mapping[str, Any] | None) -> dict[str, str]:
    meta = (obj or {}).get("metadata") or {}
    return {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}


def subscriptions(
    config: NotifyConfig, app: Mapping[str, Any], project: Mapping[str, Any] | None = None
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """``(trigger, service, recipient)`` triples, and problems (unknown trigger/service)."""
    found: list[tuple[str, str, str]] = []
    problems: list[str] = []
    triggers = {**BUILTIN_TRIGGERS, **config.triggers}
    for obj in (project, app):
        for key, value in _annotations(obj).items():
            if not key.startswith(PREFIX):
                continue
            rest = key[len(PREFIX) :]
            trig, dot, svc = rest.partition(".")
            svc = svc if dot else trig
            names = [trig] if dot else list(config.defaults_for(svc))
            for name in names:
                if name not in triggers:
                    problems.append(f"annotation {key}: unknown trigger {name!r}")
                    continue
                if svc not in config.services:
                    problems.append(f"annotation {key}: unknown service {svc!r}")
                    continue
                for r in [x.strip() for x in value.replace(",", ";").split(";")] or [""]:
                    if r or config.services[svc].type in ("webhook", "github"):
                        found.append((name, svc, r))
        for name, svc, r, problem in _annotation_list(obj, triggers, config):
            if problem:
                problems.append(problem)
            else:
                found.append((name, svc, r))
    labels = ((app.get("metadata") or {}).get("labels")) or {}
    for sub in config.subscriptions:
        if any(labels.get(k) != v for k, v in sub.selector.items()):
            continue
        for rec in sub.recipients:
            svc, _, r = rec.partition(":")
            if svc not in config.services:
                problems.append(f"subscriptions: unknown service {svc!r}")
                continue
            for name in sub.triggers or config.defaults_for(svc):
                if name in triggers:
                    found.append((name, svc, r.strip()))
                else:
                    problems.append(f"subscriptions: unknown trigger {name!r}")
    return list(dict.fromkeys(found)), problems


def _annotation_list(
    obj: Mapping[str, Any] | None, triggers: Mapping[str, Trigger], config: NotifyConfig
) -> list[tuple[str, str, str, str]]:
    """The ``notifications.argoproj.io/subscriptions`` annotation (a YAML list of
    ``{trigger: [..], destinations: [{service, recipients: [..]}]}``) as
    ``(trigger, service, recipient, problem)``."""
    text = _annotations(obj).get(SUBSCRIPTIONS)
    if not text:
        return []
    where = f"annotation {SUBSCRIPTIONS}"
    try:
        bounded.check_yaml(text, where)
        raw = yaml.safe_load(text) or []
    except InputError as exc:
        return [("", "", "", str(exc))]
    except yaml.YAMLError as exc:
        return [("", "", "", f"{where}: not valid YAML: {exc}")]
    if not isinstance(raw, list):
        return [("", "", "", f"{where}: a list of {{trigger, destinations}}")]
    out: list[tuple[str, str, str, str]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            out.append(("", "", "", f"{where}[{i}]: not a mapping"))
            continue
        trig = item.get("trigger") or []
        trig = [trig] if isinstance(trig, str) else [str(t) for t in trig]
        for dest in item.get("destinations") or []:
            svc = str((dest or {}).get("service") or "")
            if svc not in config.services:
                out.append(("", "", "", f"{where}[{i}]: unknown service {svc!r}"))
                continue
            recips = (dest or {}).get("recipients") or [""]
            recips = [recips] if isinstance(recips, str) else recips
            for name in trig or config.defaults_for(svc):
                if name not in triggers:
                    out.append(("", "", "", f"{where}[{i}]: unknown trigger {name!r}"))
                    continue
                out += [(name, svc, str(r).strip(), "") for r in recips]
    return out


def hashed(*parts: str) -> str:
    """A dedupe key from stable fields (joined with the unit separator)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


_PROGRAMS: dict[str, Program] = {}


def run_expr(source: str, env: Mapping[str, Any]) -> Any:
    """Run a trigger's expr-lang ``source`` over ``env``, compiling each source once."""
    prog = _PROGRAMS.get(source)
    if prog is None:
        prog = _PROGRAMS.setdefault(source, compile_expr(source))
    return prog.run(env)


def _render_value(tname: str, field_name: str, value: Any, data: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    t = Template(f"{tname}.{field_name}", funcs=sprig_funcs())
    return t.parse(value).execute(data)


def _render_tree(tname: str, path: str, value: Any, data: Mapping[str, Any]) -> Any:
    """Every string inside ``value`` rendered; the field path names where it failed."""
    if isinstance(value, Mapping):
        return {k: _render_tree(tname, f"{path}.{k}", v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_tree(tname, f"{path}[{i}]", v, data) for i, v in enumerate(value)]
    return _render_value(tname, path, value, data)


def render(
    tname: str,
    template: Mapping[str, Any],
    service_type: str,
    service: str,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields of template ``tname`` the service uses, rendered; ``TemplateError`` names
    the template and field."""
    out: dict[str, Any] = {"template": tname}
    out["message"] = _render_value(tname, "message", template.get("message", ""), data)
    if service_type == "email":
        subject = (template.get("email") or {}).get("subject", "")
        out["email"] = {"subject": _render_value(tname, "email.subject", subject, data)}
    elif service_type == "slack":
        slack = template.get("slack") or {}
        out["slack"] = {
            k: _render_value(tname, f"slack.{k}", slack[k], data)
            for k in (
                "attachments",
                "blocks",
                "groupingKey",
                "deliveryPolicy",
                "notifyBroadcast",
                "username",
                "icon",
            )
            if k in slack
        }
    elif service_type == "teams":
        teams = template.get("teams") or {}
        out["teams"] = {
            k: _render_value(tname, f"teams.{k}", teams[k], data)
            for k in ("title", "summary", "text", "themeColor", "facts", "sections",
                      "potentialAction", "template")
            if k in teams
        }  # fmt: skip
    elif service_type == "teams-workflows":
        tw = template.get("teams-workflows") or {}
        out["teams-workflows"] = {
            k: _render_value(tname, f"teams-workflows.{k}", tw[k], data)
            for k in ("title", "summary", "text", "themeColor", "facts", "sections",
                      "potentialAction", "adaptiveCard", "template")
            if k in tw
        }  # fmt: skip
    elif service_type == "github":
        gh = dict(template.get("github") or {})
        gh.setdefault("repoURLPath", "{{.app.spec.source.repoURL}}")
        gh.setdefault("revisionPath", "{{.app.status.operationState.syncResult.revision}}")
        out["github"] = _render_tree(tname, "github", gh, data)
        out["app"] = str((data.get("app") or {}).get("metadata", {}).get("name", ""))
    elif service_type == "webhook":
        hook = ((template.get("webhook") or {}).get(service)) or {}
        out["webhook"] = {
            k: _render_value(tname, f"webhook.{service}.{k}", hook[k], data)
            for k in ("method", "path", "body")
            if k in hook
        }
    return out


def fill(
    d: Delivery,
    tname: str,
    templates: Mapping[str, Mapping[str, Any]],
    config: NotifyConfig,
    service_type: str,
    data: Mapping[str, Any],
) -> None:
    """Render template ``tname`` for ``d`` over ``data`` plus ``.context``, ``.serviceType``,
    ``.recipient`` and ``.secrets``: ``d`` becomes PENDING with its payload and group key,
    or FAILED with the reason."""
    full = {
        **data,
        "context": {"argocdUrl": DEFAULT_URL, **config.context, "notificationType": service_type},
        "serviceType": service_type,
        "recipient": d.recipient,
        "secrets": config.secrets,
    }
    try:
        if tname not in templates:
            raise InputError(f"template {tname!r} is not defined")
        d.payload = render(tname, templates[tname], service_type, d.service, full)
        d.group_key = str((d.payload.get("slack") or {}).get("groupingKey", ""))
        d.state = PENDING
    except (TemplateError, InputError) as exc:
        d.payload, d.state = {"template": tname}, FAILED
        d.last_error = f"template {tname}: {exc}"


def plan(
    config: NotifyConfig,
    body: Mapping[str, Any],
    status: Mapping[str, Any],
    project: Mapping[str, Any] | None = None,
    repo_funcs: Mapping[str, Any] | None = None,
) -> Plan:
    """What to enqueue for one Application now (the caller drops keys already there);
    ``repo_funcs`` adds to the ``repo`` namespace (``repo.GetCommitMetadata``, which reads
    git, is the caller's)."""
    app = app_dict(body, status)
    meta = app.get("metadata") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    subs, problems = subscriptions(config, app, project)
    out = Plan(problems=problems)
    triggers: dict[str, Trigger] = {**BUILTIN_TRIGGERS, **config.triggers}
    templates = {**BUILTIN_TEMPLATES, **config.templates}
    nv = notification_vars()
    nv["repo"] = {**nv["repo"], **(repo_funcs or {})}
    env = {"app": app, **nv}
    results: dict[tuple[str, int], tuple[bool, str, bool]] = {}
    for trig_name, svc_name, recipient in subs:
        svc = config.services[svc_name]
        if is_event_trigger(triggers[trig_name]):  # tested per event (``event_triggers``)
            continue
        for i, cond in enumerate(triggers[trig_name].conditions):
            if (trig_name, i) not in results:
                try:
                    fired = bool(run_expr(cond.when, env))
                    once = (
                        str(run_expr(cond.once_per, env) or "") if fired and cond.once_per else ""
                    )
                    reset = cond.after_repeats > 1 and bool(
                        run_expr(cond.reset_when or RESET_WHEN, env)
                    )
                except ExprError as exc:
                    out.problems.append(f"trigger.{trig_name} condition [{i}]: {exc}")
                    results[(trig_name, i)] = (False, "", False)
                    continue
                results[(trig_name, i)] = (fired, once, reset)
            fired, once, reset = results[(trig_name, i)]
            for tname in cond.send:
                cid = hashed(ns, name, trig_name, str(i), tname, svc_name, recipient)
                if reset:
                    out.reset.append(cid)
                if not fired:
                    if not cond.once_per:
                        out.rearm.append(cid)
                    continue
                key = hashed(cid, "once", once)
                d = Delivery(key, cid, ns, name, trig_name, svc_name, recipient, {})
                if cond.after_repeats > 1:
                    out.repeats[key] = (cid, cond.after_repeats)
                fill(d, tname, templates, config, svc.type, {**nv, "app": app})
                if d.state == PENDING and svc.type == "github":  # one PR comment per app, edited
                    d.group_key = f"github-pr:{ns}/{name}"  # in place
                out.deliveries.append(d)
    return out
