"""The notifier: evaluate every Application into the outbox, then deliver what is due.

``run_pass(store)`` is what the controller calls after each reconcile and on
its periodic tick. It reads the stored Application (so a sync run by any
process, e.g. ``shipway app sync`` from the CLI, is seen on the next pass),
enqueues the notifications whose dedupe keys are new (the outbox keeps keys
across restarts), frees the keys of conditions that are false again, and
delivers. Delivery is at-least-once: a failure is retried with exponential
backoff (``BACKOFF`` * 2^n, at most ``MAX_DELAY``) up to ``MAX_ATTEMPTS``
times, then recorded as failed with a Warning ``NotificationFailed`` event on
the Application carrying the service's answer (secrets masked). The app is
never affected. An unknown trigger or service in an annotation is a Warning
``NotificationConfigError`` event on the Application (once per process).

Secrets (``argocd-notifications-secret``): shipway has no stored Secret kind
yet, so ``$key`` references are read from the YAML Secret manifest at
``$SHIPWAY_NOTIFICATIONS_SECRET`` or ``<home>/argocd-notifications-secret.yaml``
(``data`` base64, or ``stringData``). Touches the store (resources, outbox,
events) and the services' network endpoints.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from shipway.model.errors import InputError, ShipwayError
from shipway.model.events import WARNING, ObjectRef
from shipway.notify.config import CM_NAME, SECRET_NAME, NotifyConfig, parse_config
from shipway.notify.evaluate import plan
from shipway.notify.services import DeliveryError, service_for
from shipway.store import events, outbox, resources
from shipway.store.db import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = 1.0
MAX_DELAY = 300.0
_CONFIGS: dict[tuple[object, object], NotifyConfig] = {}  # the last parsed ConfigMap
_REPORTED: set[tuple[str, str, str]] = set()
_LOCK = threading.Lock()  # one pass at a time in this process (other processes: leases)


@dataclass(slots=True)
class PassResult:
    enqueued: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


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
        p = plan(config, body, app.status, project)
        for problem in p.problems:  # on the Application, once per process
            seen = (str(store.engine.url), app.key, problem)
            if seen not in _REPORTED:
                _REPORTED.add(seen)
                log.warning("notifications for %s: %s", app.key, problem)
                events.emit(store, _ref(app.namespace, app.name), "NotificationConfigError",
                            problem, type=WARNING, source="notifier")  # fmt: skip
        outbox.rearm(store, p.rearm)
        if not p.deliveries:
            continue
        known = outbox.known_keys(store, [d.key for d in p.deliveries])
        for d in p.deliveries:
            if d.key in known or not outbox.enqueue(store, d, state=d.state):
                continue
            new += 1
            if d.state == outbox.FAILED:
                _failed_event(store, d, d.last_error)
    return new


def _failed_event(store: Store, d: outbox.Delivery, error: str) -> None:
    who = f"{d.service}:{d.recipient}" if d.recipient else d.service
    msg = f"trigger {d.trigger} to {who}: {error}"
    events.emit(store, _ref(d.app_namespace, d.app_name), "NotificationFailed", msg,
                type=WARNING, source="notifier")  # fmt: skip


def deliver_due(
    store: Store,
    config: NotifyConfig,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: float = BACKOFF,
) -> PassResult:
    """Send every due row once; failures are retried later or given up with an event."""
    result = PassResult()
    for d in outbox.claim_due(store):
        svc_conf = config.services.get(d.service)
        try:
            if svc_conf is None:
                raise DeliveryError(f"service {d.service!r} is no longer configured")
            svc = service_for(svc_conf)
            previous = outbox.previous_in_group(store, d.service, d.recipient, d.group_key)
            answer = svc.send(d.payload, d.recipient, previous)
        except DeliveryError as exc:
            error = exc.message
            if d.attempts >= max_attempts:
                outbox.mark_failed(store, d.id, error)
                _failed_event(store, d, f"gave up after {d.attempts} attempts: {error}")
                log.warning("notification %s gave up: %s", d.id, error)
                result.failed += 1
            else:
                delay = min(MAX_DELAY, backoff * 2 ** (d.attempts - 1))
                outbox.mark_retry(store, d.id, error, delay)
                log.info("notification %s failed (attempt %s): %s", d.id, d.attempts, error)
                result.retried += 1
            continue
        outbox.mark_sent(store, d.id, answer)
        result.sent += 1
    return result


def run_pass(
    store: Store, *, secrets: Mapping[str, str] | None = None, backoff: float = BACKOFF,
    max_attempts: int = MAX_ATTEMPTS,
) -> PassResult:  # fmt: skip
    """One notification pass (evaluate, then deliver); bad configuration is logged."""
    with _LOCK:
        try:
            config = load_config(store, secrets)
        except ShipwayError as exc:
            log.error("notifications: %s", exc)
            return PassResult()
        if config is None:
            return PassResult()
        enqueued = evaluate_all(store, config)
        result = deliver_due(store, config, backoff=backoff, max_attempts=max_attempts)
        result.enqueued = enqueued
        return result
