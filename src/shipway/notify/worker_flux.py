"""Flux Alerts over shipway's event stream: route new events into the outbox, and the
senders for Flux Providers.

``route(store, flux)`` reads the events after its cursor (kept in the outbox,
``cursor:flux``; it starts at the first Alert's creation), matches each against every stored Alert
(``shipway.notify.flux.matches``) and enqueues Flux's event body for the
Alert's Provider: one row per (Alert, event), so a repeat of an event (its
``count`` bumped) is not sent again; with ``shipway.dev/alert-after-repeats:
N`` the row is made once the count reaches N. An operation's events are
aggregated into one message (``flux`` docstring). Events the notifier
records itself (source ``notifier``) are never routed, so a failing Provider
cannot feed itself. A missing or suspended Provider drops the event; a
missing one is a Warning ``NotificationConfigError`` event on the Alert (once
per process).

``target(store, row)`` builds the sender for a ``flux:<ns>/<name>`` row from
the stored Provider and its ``secretRef`` Secret: shipway stores no Secrets,
so the manifest is read from ``$SHIPWAY_SECRETS_DIR`` (default
``<home>/secrets``) as ``<namespace>/<name>.yaml`` or ``<name>.yaml``; its keys
``address``, ``token``, ``username``, ``headers`` (YAML) and ``proxy`` are Flux's;
``proxySecretRef`` (``address``, ``username``, ``password``) over that ``proxy``
key over ``spec.proxy``; ``certSecretRef`` (``ca.crt``, ``tls.crt``, ``tls.key``).
Touches the store (resources, events, outbox) and secret files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from shipway.model import bounded
from shipway.model import events as ev
from shipway.model.errors import InputError, ShipwayError
from shipway.model.flux_notify import AlertSpec, ProviderSpec
from shipway.model.resources import Resource
from shipway.notify import flux
from shipway.notify.config import ServiceConfig
from shipway.notify.deliver import Target
from shipway.notify.policy import RateLimit, parse_rate
from shipway.notify.services import DeliveryError, service_for
from shipway.store import events, outbox, resources
from shipway.store.db import Store

log = logging.getLogger(__name__)

PREFIX = "flux:"
BATCH = 2000
_REPORTED: set[tuple[str, str]] = set()
_REPORTED_LOCK = threading.Lock()


@dataclass
class FluxConfig:
    alerts: list[flux.AlertView] = field(default_factory=list)
    providers: dict[tuple[str, str], Resource] = field(default_factory=dict)


def load(store: Store) -> FluxConfig:
    """Every stored Alert (checked again: a bad one is skipped and logged) and Provider."""
    out = FluxConfig()
    for res in resources.list_kind(store, "Alert"):
        try:
            spec = AlertSpec.model_validate(res.spec)
        except ValueError as exc:
            log.warning("Alert %s: %s", res.key, exc)
            continue
        ann = {str(k): str(v) for k, v in (res.metadata.get("annotations") or {}).items()}
        out.alerts.append(flux.AlertView(res.namespace, res.name, spec, ann, res.created))
    for res in resources.list_kind(store, "Provider"):
        out.providers[(res.namespace, res.name)] = res
    return out


def _once(store: Store, alert: flux.AlertView, problem: str) -> None:
    seen = (str(store.engine.url), f"{alert.ref}: {problem}")
    with _REPORTED_LOCK:
        if seen in _REPORTED:
            return
        _REPORTED.add(seen)
    log.warning("Alert %s: %s", alert.ref, problem)
    events.emit(store, ev.ObjectRef("Alert", alert.name, alert.namespace, _API),
                "NotificationConfigError", problem, type=ev.WARNING, source="notifier")  # fmt: skip


_API = "notification.toolkit.fluxcd.io/v1beta3"


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class _Lookups:
    """Per-pass caches of the involved objects' labels and an Application's revision."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.objects: dict[tuple[str, str, str], Resource | None] = {}

    def prefetch(self, refs: list[ev.ObjectRef]) -> None:
        """Read a pass's involved objects at once (one query per kind, not one an event)."""
        wanted = {(r.kind, r.namespace, r.name) for r in refs} - set(self.objects)
        try:
            found = resources.find_each(self.store, [(k, n, ns or None) for k, ns, n in wanted])
        except ShipwayError:
            return  # each is looked up alone, then
        for k in wanted:
            self.objects[k] = found.get(k)

    def obj(self, ref: ev.ObjectRef) -> Resource | None:
        k = (ref.kind, ref.namespace, ref.name)
        if k not in self.objects:
            try:
                self.objects[k] = resources.find(self.store, ref.kind, ref.name,
                                                 ref.namespace or None)  # fmt: skip
            except ShipwayError:
                self.objects[k] = None
        return self.objects[k]

    def labels(self, ref: ev.ObjectRef) -> dict[str, str]:
        res = self.obj(ref)
        labels = (res.metadata.get("labels") if res else None) or {}
        return {str(k): str(v) for k, v in labels.items()}

    def annotated(self, ref: ev.ObjectRef) -> dict[str, str]:
        res = self.obj(ref)
        return flux.annotated((res.metadata.get("annotations") if res else None) or {})

    def extra(self, ref: ev.ObjectRef) -> dict[str, str]:
        if ref.kind != "Application":
            return {}
        res = self.obj(ref)
        if res is None:
            return {}
        sync = res.status.get("sync") or {}
        op = ((res.status.get("operationState") or {}).get("syncResult")) or {}
        return {"revision": str(op.get("revision") or sync.get("revision") or "")}


@dataclass
class _Batch:
    """One routing pass: new rows, and the group rows (stored or new) events fold into."""

    groups: dict[str, outbox.Delivery]  # open groups: stored ones and ones made in this pass
    new: dict[str, tuple[outbox.Delivery, dt.datetime | None]] = field(default_factory=dict)
    folded: dict[str, list[str]] = field(default_factory=dict)  # stored group -> event keys
    closed: dict[str, outbox.Delivery] = field(default_factory=dict)  # stored groups now due

    def fold(self, group: str, payload: dict[str, Any], key: str, *, due: bool) -> None:
        row = self.groups[group]
        if key in ((row.external or {}).get("events") or []) or key in self.folded.get(group, []):
            return  # told before (a pass that died before its cursor moved)
        row.payload = flux.fold(row.payload, payload)
        if row.key in self.new:  # made in this pass: not stored yet
            row.external = {**row.external, "events": [*row.external["events"], key]}
        else:
            self.folded.setdefault(group, []).append(key)
        if due:
            self.close(group)

    def close(self, group: str) -> None:
        row = self.groups.pop(group)
        if row.key in self.new:
            row.external = {**row.external, "aggregating": False}
            self.new[row.key] = (row, None)
        else:
            self.closed[group] = row

    def stored_changes(self) -> list[tuple[outbox.Delivery, list[str], bool]]:
        out = [(row, self.folded.get(g, []), True) for g, row in self.closed.items()]
        out += [(row, keys, False) for g, keys in self.folded.items()
                if g in self.groups and (row := self.groups[g]).key not in self.new]  # fmt: skip
        return out


def route(store: Store, config: FluxConfig, *, batch: int = BATCH) -> int:
    """Route the events after the cursor; returns how many rows were made or folded into."""
    if not config.alerts:
        return 0
    after = outbox.cursor(store, "flux")
    if after is None:  # the first pass: from when the first Alert was stored
        times = [a.created for a in config.alerts if a.created is not None]
        since = min(times) if times else dt.datetime.now(dt.UTC)
        after = events.seq_before(store, since - dt.timedelta(seconds=1))
        outbox.set_cursor(store, "flux", after)
    found = events.query(store, after=after, limit=batch)
    if not found:
        return 0
    look = _Lookups(store)
    look.prefetch([e.involved for e in found if e.source != "notifier"])
    b = _Batch(outbox.open_groups(store, "flux:", dt.datetime.now(dt.UTC)))
    for e in found:
        if e.source == "notifier":
            continue
        for alert in config.alerts:
            if flux.matches(alert, e, look.labels(e.involved) if _wants_labels(alert) else {}):
                _take(store, config, alert, e, look, b)
    folds = [(row, row.payload, keys, due) for row, keys, due in b.stored_changes()]
    return outbox.commit_route(store, list(b.new.values()), folds, "flux",
                               max(e.seq for e in found))  # fmt: skip


def _wants_labels(alert: flux.AlertView) -> bool:
    return any(src.match_labels for src in alert.spec.event_sources)


def _take(
    store: Store, config: FluxConfig, alert: flux.AlertView, e: ev.Event, look: _Lookups,
    b: _Batch,
) -> None:  # fmt: skip
    if e.count < alert.after_repeats:
        return
    pref = (alert.namespace, alert.spec.provider_ref.name)
    provider = config.providers.get(pref)
    if provider is None:
        _once(store, alert, f"providerRef {pref[1]!r}: no Provider {pref[0]}/{pref[1]}")
        return
    if provider.spec.get("suspend"):
        return
    meta = flux.metadata(alert, e, look.extra(e.involved), look.annotated(e.involved))
    payload = flux.flux_event(e, meta)
    key = _key("flux", alert.ref, str(e.id), str(alert.after_repeats))
    obj = e.involved
    group = f"flux:{alert.ref}:{obj.kind}/{obj.namespace}/{obj.name}"
    if e.reason not in flux.OPENERS:
        if group in b.groups:
            b.fold(group, payload, key, due=e.reason in flux.CLOSERS)
            return
    elif group in b.groups:  # a new operation: the open one goes now
        b.close(group)
    d = outbox.Delivery(key, "", alert.namespace, alert.name, alert.ref,
                        f"{PREFIX}{pref[0]}/{pref[1]}", "", payload)  # fmt: skip
    at = None
    if e.reason in flux.OPENERS:
        d.group_key = group
        d.external = {"aggregating": True, "events": [key]}
        wait = flux.parse_seconds(alert.annotations.get(flux.AGGREGATE_TIMEOUT, ""),
                                  flux.DEFAULT_AGGREGATE)  # fmt: skip
        at = ev.utc(e.last or e.first) + dt.timedelta(seconds=wait)
        b.groups[group] = d
    b.new.setdefault(key, (d, at))


# -- senders ------------------------------------------------------------------------------


def _secrets_dir() -> Path:
    env = os.environ.get("SHIPWAY_SECRETS_DIR")
    if env:
        return Path(env)
    from shipway.settings import load as load_settings

    return load_settings().home / "secrets"


def read_secret(namespace: str, name: str) -> dict[str, str]:
    """A Secret manifest's ``data`` (base64) and ``stringData``; ``DeliveryError`` naming it
    when there is none."""
    from shipway.notify.worker import load_secrets

    base = _secrets_dir()
    for path in (base / namespace / f"{name}.yaml", base / f"{name}.yaml"):
        if path.is_file():
            try:
                return load_secrets(path)
            except InputError as exc:
                raise DeliveryError(f"Secret {namespace}/{name}: {exc}") from None
    raise DeliveryError(f"Secret {namespace}/{name} not found (looked for {base}/{namespace}/"
                        f"{name}.yaml and {base}/{name}.yaml)")  # fmt: skip


def _proxy_url(namespace: str, name: str) -> str:
    """A ``proxySecretRef`` Secret (``address``, optional ``username``/``password``) as one
    proxy URL with its credentials."""
    data = read_secret(namespace, name)
    address = data.get("address", "")
    parts = urllib.parse.urlsplit(address)
    if not parts.scheme or not parts.hostname:
        raise DeliveryError(f"Secret {namespace}/{name}: address is not a proxy URL")
    if not data.get("username"):
        return address
    auth = urllib.parse.quote(data["username"], safe="")
    if data.get("password"):
        auth += ":" + urllib.parse.quote(data["password"], safe="")
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{auth}@{parts.netloc}"))


def _github_app(ref: str, data: dict[str, str]) -> dict[str, str]:
    """A GitHub App Secret, as Flux documents it for GitRepositories and Providers."""
    if not data.get("githubAppID"):
        raise DeliveryError(f"Provider {ref}: the Secret has githubAppPrivateKey but no "
                            "githubAppID")  # fmt: skip
    if not data.get("githubAppInstallationID"):
        what = (
            "githubAppInstallationOwner is not supported by shipway yet; set "
            if data.get("githubAppInstallationOwner")
            else "the Secret has no "
        )
        raise DeliveryError(f"Provider {ref}: {what}githubAppInstallationID")
    return {
        "id": data["githubAppID"],
        "installation": data["githubAppInstallationID"],
        "key": data["githubAppPrivateKey"],
        "baseURL": data.get("githubAppBaseURL", ""),
    }


def service_config(provider: Resource) -> tuple[ServiceConfig, RateLimit | None]:
    """The sender's configuration for a stored Provider (its Secret read now)."""
    spec = ProviderSpec.model_validate(provider.spec)
    ref = f"{provider.namespace}/{provider.name}"
    opts: dict[str, Any] = {"address": spec.address, "channel": spec.channel,
                            "username": spec.username}  # fmt: skip
    secret_values: list[str] = []
    missing = spec.unsupported()
    if missing:
        raise DeliveryError(f"Provider {ref}: not supported by shipway yet: {', '.join(missing)}")
    if spec.secret_ref is not None:
        data = read_secret(provider.namespace, spec.secret_ref.name)
        if data.get("proxy"):  # deprecated in Flux, under proxySecretRef
            opts["proxy"] = data["proxy"]
            secret_values.append(data["proxy"])
        for key in ("address", "token", "username", "password"):
            if data.get(key):
                opts[key] = data[key]
        if data.get("password"):
            secret_values.append(data["password"])
        if data.get("token"):
            secret_values.append(data["token"])
        if data.get("address"):
            secret_values.append(data["address"])
        if spec.type.startswith("github") and data.get("githubAppPrivateKey"):  # +dispatch
            opts["githubApp"] = _github_app(ref, data)
            secret_values.append(data["githubAppPrivateKey"])
        if data.get("headers"):
            try:
                bounded.check_yaml(data["headers"], f"Secret {spec.secret_ref.name}: headers")
                headers = yaml.safe_load(data["headers"]) or {}
            except (yaml.YAMLError, InputError):
                headers = None
            if not isinstance(headers, dict):
                raise DeliveryError(f"Secret {spec.secret_ref.name}: key headers is not a "
                                    "YAML mapping of header names to values")  # fmt: skip
            opts["headers"] = {str(k): str(v) for k, v in headers.items()}
            secret_values += [str(v) for v in headers.values() if str(v)]
    if spec.proxy and not opts.get("proxy"):
        opts["proxy"] = spec.proxy
    if spec.proxy_secret_ref is not None:
        opts["proxy"] = _proxy_url(provider.namespace, spec.proxy_secret_ref.name)
        secret_values.append(opts["proxy"])
    if spec.cert_secret_ref is not None:
        certs = read_secret(provider.namespace, spec.cert_secret_ref.name)
        opts["tls"] = {"ca": certs.get("ca.crt", ""), "cert": certs.get("tls.crt", ""),
                       "key": certs.get("tls.key", "")}  # fmt: skip
        secret_values += [certs["tls.key"]] if certs.get("tls.key") else []
    if spec.timeout:
        opts["timeout"] = flux.parse_seconds(spec.timeout, 10.0)
    ann = provider.metadata.get("annotations") or {}
    if ann.get("shipway.dev/api-url"):
        opts["apiURL"] = str(ann["shipway.dev/api-url"])
    limit = None
    if ann.get(flux.RATE_LIMIT):
        try:
            limit = parse_rate(str(ann[flux.RATE_LIMIT]), subject=f"Provider/{ref}")
        except InputError as exc:
            raise DeliveryError(f"Provider {ref}: {exc.message}") from None
    if spec.commit_status_expr:
        opts["commitStatusExpr"] = spec.commit_status_expr
        opts["provider"] = {"apiVersion": _API, "kind": "Provider", "metadata": {
            "name": provider.name, "namespace": provider.namespace, "uid": provider_uid(ref),
            "labels": provider.metadata.get("labels") or {},
            "annotations": ann}, "spec": dict(provider.spec)}  # fmt: skip
    return ServiceConfig(f"flux:{spec.type}", ref, opts, tuple(secret_values)), limit


def provider_uid(ref: str) -> str:
    """A Provider's stable id in UUID form (shipway stores no uid): its first part is the
    8 hex of the default commit status context."""
    h = hashlib.sha256(ref.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def target(store: Store, config: FluxConfig, d: outbox.Delivery) -> Target:
    ns, _, name = d.service.removeprefix(PREFIX).partition("/")
    provider = config.providers.get((ns, name))
    if provider is None:
        raise DeliveryError(f"Provider {ns}/{name} no longer exists")
    conf, limit = service_config(provider)
    if "commitStatusExpr" in conf.options:  # the Alert too, for its ``alert`` variable
        alert = next((a for a in config.alerts
                      if (a.namespace, a.name) == (d.app_namespace, d.app_name)), None)  # fmt: skip
        spec = alert.spec.model_dump(by_alias=True, exclude_defaults=True) if alert else {}
        view = {"apiVersion": _API, "kind": "Alert", "spec": spec, "metadata": {
            "name": d.app_name, "namespace": d.app_namespace,
            "annotations": dict(alert.annotations) if alert else {}}}  # fmt: skip
        conf = replace(conf, options={**conf.options, "alert": view})
    return Target(service_for(conf), limit, lambda row, error: failed_event(store, row, error))


def failed_event(store: Store, d: outbox.Delivery, error: str) -> None:
    """A row given up: a Warning ``NotificationFailed`` event on its Alert."""
    ns, _, name = d.service.removeprefix(PREFIX).partition("/")
    events.emit(store, ev.ObjectRef("Alert", d.app_name, d.app_namespace, _API),
                "NotificationFailed", f"Provider {ns}/{name}: {error}", type=ev.WARNING,
                source="notifier")  # fmt: skip


def is_flux(d: outbox.Delivery) -> bool:
    return d.service.startswith(PREFIX)
