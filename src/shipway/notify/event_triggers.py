"""shipway's events through ``argocd-notifications-cm``: event triggers; pure.

Argo CD's triggers test an Application's state (``app``). A trigger whose
``when`` names ``event`` (and not ``app``), such as the catalog's
``on-promotion-succeeded`` (``event.reason in ['PromotionSucceeded']``), is an
*event trigger*: it is tested against each new event of the stream (a
promotion, a rollback, a CI run, a preview, a verification...), once per
event. Its subscriptions are the same as Argo CD's: the
``notifications.argoproj.io/subscribe.<trigger>.<service>`` annotations of the
event's object (a Stage, a Pipeline, an Application...) and the ConfigMap's
``subscriptions`` (``selector`` against that object's labels). Templates see
``.event`` (the ``v1`` Event: ``involvedObject``, ``reason``, ``message``,
``type``, ``releaseId``, ``count``...), ``.obj`` (the stored object, when there
is one), ``.app`` (the same, for an Application), ``.context``,
``.serviceType`` and ``.recipient``. The dedupe key is the event, trigger,
condition, template, service and recipient: a repeat of the event (its count
bumped) is not sent again. With ``afterRepeats: N`` on the condition, an event
is sent once its ``count`` (kubectl's aggregation of repeats) reaches N.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway.model.events import Event
from shipway.notify.catalog import TEMPLATES as BUILTIN_TEMPLATES
from shipway.notify.catalog import TRIGGERS as BUILTIN_TRIGGERS
from shipway.notify.config import NotifyConfig, is_event_trigger
from shipway.notify.evaluate import Plan, fill, hashed, run_expr, subscriptions
from shipway.store.outbox import Delivery
from shipway.templates import ExprError
from shipway.templates.argocd import notification_vars


def plan_event(config: NotifyConfig, event: Event, obj: Mapping[str, Any] | None) -> Plan:
    """The deliveries one event calls for (``obj``: its stored object's body, if any)."""
    out = Plan()
    triggers = {**BUILTIN_TRIGGERS, **config.triggers}
    subject = dict(obj or {"metadata": {"name": event.involved.name,
                                        "namespace": event.involved.namespace}})  # fmt: skip
    subs, problems = subscriptions(config, subject, None)
    out.problems = problems
    subs = [s for s in subs if is_event_trigger(triggers[s[0]])]
    if not subs:
        return out
    templates = {**BUILTIN_TEMPLATES, **config.templates}
    evd = event.to_dict()
    env = {"event": evd, **notification_vars()}
    ref = event.involved
    for trig_name, svc_name, recipient in subs:
        svc = config.services[svc_name]
        for i, cond in enumerate(triggers[trig_name].conditions):
            try:
                fired = bool(run_expr(cond.when, env))
            except ExprError as exc:
                out.problems.append(f"trigger.{trig_name} condition [{i}]: {exc}")
                continue
            if not fired or event.count < cond.after_repeats:
                continue
            for tname in cond.send:
                key = hashed("event", str(event.id), trig_name, str(i), tname, svc_name, recipient)
                d = Delivery(key, f"event:{ref.kind}"[:64], ref.namespace, ref.name, trig_name,
                             svc_name, recipient, {})  # fmt: skip
                data = {
                    **notification_vars(),
                    "event": evd,
                    "obj": dict(obj or {}),
                    "app": dict(obj or {}) if ref.kind == "Application" else {},
                }
                fill(d, tname, templates, config, svc.type, data)
                out.deliveries.append(d)
    return out
