"""The notifier: evaluate every Application into the outbox, then deliver what is due.

``run_pass(store)`` is what the controller calls after each reconcile and on
its periodic tick. It reads the stored Applications (so a sync run by any
process, e.g. ``shipway app sync`` from the CLI, is seen on the next pass),
enqueues the notifications whose dedupe keys are new (the outbox keeps keys
across restarts), frees the keys of conditions that are false again, routes
new events to Flux Alerts (``worker_flux``), writes each Flux Receiver's
``status.webhookPath`` (``flux_receiver_status``) and delivers (``deliver``:
at-least-once, retries with backoff, rate limits; a row given up is a
Warning ``NotificationFailed`` event on the Application with the service's
answer, secrets masked). The app is never affected. An unknown trigger or
service in an annotation is a ``NotificationConfigError`` condition on the
Application's status (cleared when fixed) and a Warning event of that reason
(once per process). A condition's ``afterRepeats: N`` keeps a run counter in
the outbox (a bookkeeping row ``repeats:<condition>``): the occurrences before
the Nth and after it are recorded ``suppressed``, the Nth is sent, and
``resetWhen`` ends the run. A crash between recording an occurrence and
counting it undercounts that run by one (the alert comes one occurrence late),
never sends twice.

Secrets (``argocd-notifications-secret``): shipway has no stored Secret kind
yet, so ``$key`` references are read from the YAML Secret manifest at
``$SHIPWAY_NOTIFICATIONS_SECRET`` or ``<home>/argocd-notifications-secret.yaml``
(``data`` base64, or ``stringData``). Touches the store (resources, outbox,
events) and the services' network endpoints.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import yaml

from shipway.model.errors import InputError, ShipwayError
from shipway.model.events import WARNING, ObjectRef, rfc3339
from shipway.model.resources import Resource
from shipway.notify import deliver, flux_receiver_status, repofuncs, worker_flux
from shipway.notify.config import CM_NAME, SECRET_NAME, NotifyConfig, parse_config
from shipway.notify.deliver import BACKOFF, MAX_ATTEMPTS, PassResult, Target
from shipway.notify.evaluate import plan
from shipway.notify.event_triggers import plan_event
from shipway.notify.policy import parse_rate
from shipway.notify.services import DeliveryError, service_for
from shipway.store import events, outbox, resources
from shipway.store.db import Store

log = logging.getLogger(__name__)

CONDITION = "NotificationConfigError"
_CONFIGS: dict[tuple[object, object], NotifyConfig] = {}  # the last parsed ConfigMap
_REPORTED: set[tuple[str, str, str]] = set()
_LOCK = threading.Lock()  # one pass at a time in this process (other processes: leases)


def load_secrets(path: Path | None = None) -> dict[str, str]:
    """The ``argocd-notifications-secret`` data from its manifest file ({} when absent)."""
    if path is None:
        env = os.environ.get("SHIPWAY_NOTIFICATIONS_SECRET")
        if env:
            path = Path(env)
        else:
            from shipway.settings import load

            path = load().home / f"{SECRET_NAME}.yaml"
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(doc, dict):
        raise InputError("a Secret manifest is a mapping", file=str(path))
    out: dict[str, str] = {}
    for key, value in (doc.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except ValueError:
            raise InputError(f"data.{key} is not base64", file=str(path)) from None
    out.update({str(k): str(v) for k, v in (doc.get("stringData") or {}).items()})
    return out


def load_config(store: Store, secrets: Mapping[str, str] | None = None) -> NotifyConfig | None:
    """The stored ConfigMap, parsed (None when there is none)."""
    cm = resources.find(store, "ConfigMap", CM_NAME)
    if cm is None:
        return None
    data = cm.body.get("data") or {}
    secrets = load_secrets() if secrets is None else secrets
    key = (tuple(sorted(data.items())), tuple(sorted(secrets.items())))
    cached = _CONFIGS.get(key)
    if cached is None:
        cached = parse_config(data, secrets)
        _CONFIGS.clear()  # the last one only
        _CONFIGS[key] = cached
    return cached


def _ref(namespace: str, name: str) -> ObjectRef:
    return ObjectRef("Application", name, namespace)


def evaluate_all(store: Store, config: NotifyConfig) -> int:
    """Enqueue what every stored Application calls for now; returns how many were new."""
    new = 0
    for app in resources.list_kind(store, "Application"):
        project = None
        proj_name = str(app.spec.get("project") or "")
        if proj_name:
            found = resources.find(store, "AppProject", proj_name)
            project = found.body if found is not None else None
        body = {**app.body, "metadata": {**app.metadata, "namespace": app.namespace}}
        p = plan(
            config,
            body,
            app.status,
            project,
            repofuncs.commit_funcs({**body, "status": app.status}),
        )
        _condition(store, app, p.problems)
        for problem in p.problems:  # an event too, once per process
            seen = (str(store.engine.url), app.key, problem)
            if seen not in _REPORTED:
                _REPORTED.add(seen)
                log.warning("notifications for %s: %s", app.key, problem)
                events.emit(store, _ref(app.namespace, app.name), "NotificationConfigError",
                            problem, type=WARNING, source="notifier")  # fmt: skip
        outbox.rearm(store, p.rearm)
        for cid in dict.fromkeys(p.reset):
            if outbox.cursor(store, f"repeats:{cid}"):
                outbox.set_cursor(store, f"repeats:{cid}", 0)
        if not p.deliveries:
            continue
        known = outbox.known_keys(store, [d.key for d in p.deliveries])
        for d in p.deliveries:
            if d.key in known:
                continue
            counted = _count_repeat(store, d, p.repeats.get(d.key))
            if not outbox.enqueue(store, d, state=d.state):
                continue
            if counted:
                outbox.set_cursor(store, f"repeats:{counted[0]}", counted[1])
            new += 1
            if d.state == outbox.FAILED:
                _failed_event(store, d, d.last_error)
    return new


def _count_repeat(
    store: Store, d: outbox.Delivery, repeats: tuple[str, int] | None
) -> tuple[str, int] | None:
    """An ``afterRepeats`` occurrence: ``d`` suppressed unless it is the run's Nth; the counter
    to record once ``d`` is in the outbox."""
    if repeats is None or d.state != outbox.PENDING:
        return None
    cid, after = repeats
    n = (outbox.cursor(store, f"repeats:{cid}") or 0) + 1
    if n != after:
        d.state = outbox.SUPPRESSED
        d.last_error = f"occurrence {n} of {after} (afterRepeats)"
        if n > after:
            d.last_error = f"occurrence {n}: already alerted at {after} (afterRepeats)"
    return cid, n


def _failed_event(store: Store, d: outbox.Delivery, error: str) -> None:
    who = f"{d.service}:{d.recipient}" if d.recipient else d.service
    msg = f"trigger {d.trigger} to {who}: {error}"
    ref = _ref(d.app_namespace, d.app_name)
    if d.cond.startswith("event:"):  # an event trigger's: on the event's object
        ref = ObjectRef(d.cond.removeprefix("event:"), d.app_name, d.app_namespace)
    events.emit(store, ref, "NotificationFailed", msg, type=WARNING, source="notifier")


def route_events(store: Store, config: NotifyConfig, *, batch: int = 2000) -> int:
    """Event triggers: the events after the ``argocd-events`` cursor into the outbox."""
    after = outbox.cursor(store, "argocd-events")
    if after is None:  # the first pass: from when the ConfigMap was stored
        cm = resources.find(store, "ConfigMap", CM_NAME)
        since = cm.created if cm is not None and cm.created else dt.datetime.now(dt.UTC)
        after = events.seq_before(store, since - dt.timedelta(seconds=1))
        outbox.set_cursor(store, "argocd-events", after)
    found = events.query(store, after=after, limit=batch)
    if not found:
        return 0
    new = 0
    objects: dict[tuple[str, str, str], dict[str, object] | None] = {}
    for e in found:
        if e.source == "notifier":
            continue
        k = (e.involved.kind, e.involved.namespace, e.involved.name)
        if k not in objects:
            try:
                res = resources.find(store, k[0], k[2], k[1] or None)
            except ShipwayError:
                res = None
            objects[k] = (
                {**res.body, "metadata": {**res.metadata, "namespace": res.namespace},
                 "status": res.status} if res is not None else None
            )  # fmt: skip
        p = plan_event(config, e, objects[k])
        for problem in p.problems:
            seen = (str(store.engine.url), e.involved.ref, problem)
            if seen not in _REPORTED and "annotation" in problem:
                _REPORTED.add(seen)
                events.emit(store, e.involved, "NotificationConfigError", problem, type=WARNING,
                            source="notifier")  # fmt: skip
        if not p.deliveries:
            continue
        known = outbox.known_keys(store, [d.key for d in p.deliveries])
        for d in p.deliveries:
            if d.key not in known and outbox.enqueue(store, d, state=d.state):
                new += 1
                if d.state == outbox.FAILED:
                    _failed_event(store, d, d.last_error)
    outbox.set_cursor(store, "argocd-events", max(e.seq for e in found))
    return new


def _condition(store: Store, app: Resource, problems: list[str]) -> None:
    """The Application's ``NotificationConfigError`` condition: set while there are problems."""
    current = list(app.status.get("conditions") or [])
    mine = [c for c in current if c.get("type") == CONDITION]
    others = [c for c in current if c.get("type") != CONDITION]
    message = "; ".join(dict.fromkeys(problems))
    if [c.get("message") for c in mine] == ([message] if problems else []):
        return
    conds = others
    if problems:
        conds = [*others, {"type": CONDITION, "message": message,
                           "lastTransitionTime": rfc3339(dt.datetime.now(dt.UTC))}]  # fmt: skip
    resources.set_status(store, "Application", app.name, {**app.status, "conditions": conds},
                         app.namespace)  # fmt: skip


def _argo_target(store: Store, config: NotifyConfig | None, d: outbox.Delivery) -> Target:
    svc_conf = config.services.get(d.service) if config is not None else None
    if svc_conf is None:
        raise DeliveryError(f"service {d.service!r} is no longer configured")
    limit = None
    if "rateLimit" in svc_conf.options:
        limit = parse_rate(str(svc_conf.options["rateLimit"]), subject=d.service)
    return Target(service_for(svc_conf), limit, lambda row, err: _failed_event(store, row, err))


def deliver_due(
    store: Store,
    config: NotifyConfig | None,
    *,
    flux_config: worker_flux.FluxConfig | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: float = BACKOFF,
    wait: float | None = None,
) -> PassResult:
    """Send every due row once (Argo CD services and Flux Providers alike), concurrently
    in lanes; ``wait``: at most that long for them (``deliver.deliver_due``)."""
    fluxc = flux_config or worker_flux.FluxConfig()

    targets: dict[str, Target] = {}  # one per service in a pass (a Provider's Secret read once)

    def resolve(d: outbox.Delivery) -> Target:
        found = targets.get(d.service)
        if found is None:
            if worker_flux.is_flux(d):
                found = worker_flux.target(store, fluxc, d)
            else:
                found = _argo_target(store, config, d)
            targets[d.service] = found
        return found

    def give_up(d: outbox.Delivery, error: str) -> None:
        if worker_flux.is_flux(d):
            worker_flux.failed_event(store, d, error)
        else:
            _failed_event(store, d, error)

    return deliver.deliver_due(store, resolve, max_attempts=max_attempts, backoff=backoff,
                               give_up=give_up, wait=wait)  # fmt: skip


def run_pass(
    store: Store, *, secrets: Mapping[str, str] | None = None, backoff: float = BACKOFF,
    max_attempts: int = MAX_ATTEMPTS, wait: float | None = None,
) -> PassResult:  # fmt: skip
    """One notification pass (evaluate, route Flux events, deliver); bad configuration is
    logged. ``wait``: how long the pass waits for its deliveries at most (None: until all
    are recorded); the controller bounds it, so a stalled service cannot hold its loop."""
    with _LOCK:
        config: NotifyConfig | None = None
        try:
            config = load_config(store, secrets)
        except ShipwayError as exc:
            log.error("notifications: %s", exc)
        enqueued = 0
        if config is not None:
            enqueued = evaluate_all(store, config) + route_events(store, config)
        try:
            flux_receiver_status.publish(store)
        except ShipwayError as exc:
            log.error("Receiver status: %s", exc)
        fluxc = worker_flux.load(store)
        enqueued += worker_flux.route(store, fluxc)
        result = deliver_due(store, config, flux_config=fluxc, backoff=backoff,
                             max_attempts=max_attempts, wait=wait)  # fmt: skip
        result.enqueued = enqueued
        return result
