"""Flux ``Receiver`` webhooks (``POST /hook/<digest>``) mapped onto shipway's receivers.

The path is Flux's: ``/hook/`` + hex sha256(token + name + namespace), the
token being the ``token`` key of the Receiver's ``secretRef`` Secret (read as
``worker_flux.read_secret`` reads a Provider's). A request whose digest
names no Receiver is 404; a suspended Receiver answers 503; a type shipway does not take
(nexus, acr, gcr, ``cdevents``, bitbucket; refused at apply already) is refused (400)
naming it. Then by ``type``:

- ``generic``: the URL is the credential;
- ``generic-oidc``: an OIDC ID token from one of its ``oidcProviders``, its
  validations holding (``flux_oidc``); its path is the name and namespace's alone,
  and ``claims`` joins ``res``/``req`` in the CEL filters;
- ``generic-hmac``: ``X-Signature: sha1=|sha256=|sha512=<hex HMAC of the body>``
  with the token;
- ``github``, ``gitlab``, ``gitea``: the forge's own signature or token
  (``shipway.git.webhooks.parse`` with the Receiver's token as the secret);
  ``events``, when set, lists the forge events taken (others answer 200,
  ignored; GitHub's ``ping`` is always answered). A push or a pull request
  goes on into the forge inbox as ``POST /hooks/forge`` would (CI, updates,
  previews), deduplicated the same way;
- ``harbor`` (its ``Authorization`` header the token), ``dockerhub``, ``quay``: the
  registry's push notification, parsed as ``/hooks/registry`` parses it
  (``shipway.updater.webhooks``), its pushes into the registry inbox for the image
  updater (``accept.registry_pushes``); the ``ImageRepository`` resources are served so.

Accepted, the Receiver's ``resources`` are refreshed: each Application named
(``*`` with ``matchLabels``: every one in that namespace with those labels; and
for which the ``resourceFilter`` and the entry's ``filter``, CEL on ``res`` the
Application and ``req`` the JSON body, hold: ``shipway.model.flux_cel``) gets
a reconcile in the inbox; other kinds are answered as not refreshed by shipway.
A ``ReceiverTriggered`` event on the Receiver records it. Touches the store
and the Receiver's Secret file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from shipway.controller import accept, flux_oidc
from shipway.git import webhooks as forge_webhooks
from shipway.model import bounded, flux_cel, namespaces
from shipway.model import events as ev
from shipway.model.errors import InputError, NotFoundError, ServiceError, ShipwayError
from shipway.model.flux_notify import ACCEPTED_RECEIVERS, ReceiverSpec, name_matches, webhook_path
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.notify.services import DeliveryError
from shipway.notify.worker_flux import read_secret
from shipway.store import events as store_events
from shipway.store import inbox, resources
from shipway.updater import webhooks as registry_webhooks

API = "notification.toolkit.fluxcd.io/v1"
_ALGOS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_EVENT_HEADERS = ("x-github-event", "x-gitlab-event", "x-gitea-event", "x-forgejo-event")


class Suspended(ServiceError):
    """The Receiver is suspended (503)."""


def _token(res: Resource) -> str:
    ref = (res.spec.get("secretRef") or {}).get("name", "")
    try:
        return read_secret(res.namespace, str(ref)).get("token", "")
    except DeliveryError:
        return ""


def find(store: Any, digest: str) -> tuple[Resource, str]:
    """The Receiver whose Flux path is ``/hook/<digest>``, and its token."""
    for res in resources.list_kind(store, "Receiver"):
        oidc = res.spec.get("type") == "generic-oidc"  # its path: name and namespace alone
        token = "" if oidc else _token(res)
        if (token or oidc) and hmac.compare_digest(
            webhook_path(token, res.name, res.namespace), f"/hook/{digest}"
        ):
            return res, token
    raise NotFoundError("no Receiver has this path", subject=f"/hook/{digest[:12]}…")


def _check_hmac(raw: bytes, header: str, token: str, subject: str) -> None:
    algo, _, got = header.partition("=")
    fn = _ALGOS.get(algo.lower())
    if fn is None or not got:
        raise accept.WebhookAuthError("X-Signature must be sha1=, sha256= or sha512=<hex>",
                                      subject=subject)  # fmt: skip
    want = hmac.new(token.encode(), raw, fn).hexdigest()
    if not hmac.compare_digest(want, got.lower()):
        raise accept.WebhookAuthError("X-Signature does not match the body", subject=subject)


def _req(raw: bytes) -> Any:
    """The request body as CEL's ``req`` (JSON; {} when it is not)."""
    try:
        return bounded.load_json(raw or b"{}", "body", bounded.body_limits())
    except InputError:  # not JSON (or too deep to read): CEL sees an empty request
        return {}


def _kept(spec: ReceiverSpec, ref: Any, app: Resource, req: Any, subject: str,
          claims: dict[str, Any] | None = None) -> bool:  # fmt: skip
    """Whether ``app`` passes the Receiver's ``resourceFilter`` and the entry's ``filter``."""
    filters = [(f, w) for f, w in ((spec.resource_filter, "resourceFilter"),
                                   (ref.filter, "resources[].filter")) if f]  # fmt: skip
    if not filters:
        return True
    obj = {"apiVersion": app.api_version, "kind": app.kind, "spec": dict(app.spec),
           "metadata": {"labels": {}, "annotations": {}, **dict(app.metadata),
                        "name": app.name, "namespace": app.namespace}}  # fmt: skip
    try:
        env = {"res": obj, "req": req, **({"claims": claims} if claims is not None else {})}
        return all(flux_cel.truth(f, env, w) for f, w in filters)
    except ValueError as exc:
        raise InputError(str(exc), subject=subject) from None


def _apps(store: Any, res: Resource, raw: bytes = b"",
          claims: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:  # fmt: skip
    """Applications to refresh (their engine keys) and what is not refreshed, as messages."""
    spec = ReceiverSpec.model_validate(res.spec)
    req = _req(raw)
    apps: list[str] = []
    skipped: list[str] = []
    for ref in spec.resources:
        ns = ref.namespace or res.namespace
        if ref.kind != "Application":
            why = ("its pushes go to shipway's image updater" if ref.kind == "ImageRepository"
                   and spec.type in REGISTRY_RECEIVERS else
                   "not refreshed by a Receiver in shipway yet")  # fmt: skip
            skipped.append(f"{ref.kind}/{ref.name}: {why}")
            continue
        for app in resources.list_kind(store, "Application", ns):
            labels = app.metadata.get("labels") or {}
            if (
                name_matches(ref.name, app.name)
                and all(labels.get(k) == v for k, v in ref.match_labels.items())
                and _kept(spec, ref, app, req, f"Receiver/{res.namespace}/{res.name}", claims)
            ):
                apps.append(namespaces.instance(app.namespace, app.name))
    return list(dict.fromkeys(apps)), skipped


REGISTRY_RECEIVERS = ("harbor", "dockerhub", "quay")


def _registry(rx: accept.Receiver, rtype: str, raw: bytes, headers: Mapping[str, str],
              token: str, subject: str) -> dict[str, Any]:  # fmt: skip
    """A registry's push notification: Harbor's ``Authorization`` must be the token (Docker
    Hub's and Quay's URL is their credential, as in Flux); the pushes go to the image updater
    as ``/hooks/registry`` sends them."""
    got = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    if rtype == "harbor" and not hmac.compare_digest(got.encode(), token.encode()):
        raise accept.WebhookAuthError("the Harbor Authorization header value does not match "
                                      "the receiver token", subject=subject)  # fmt: skip
    try:
        pushes = registry_webhooks.parse(raw, {}, kind=rtype)
    except InputError as exc:
        raise InputError(exc.message, subject=subject) from None
    _, answer = accept.registry_pushes(rx, raw, pushes, now())
    return {"pushes": answer.get("accepted", 0)}


def receive(
    rx: accept.Receiver, digest: str, raw: bytes, headers: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """``POST /hook/<digest>``: the Receiver's check, then the forge inbox and refreshes."""
    res, token = find(rx.store, digest)
    subject = f"Receiver/{res.namespace}/{res.name}"
    spec = res.spec
    if spec.get("suspend"):
        raise Suspended("the Receiver is suspended", subject=subject)
    rtype = str(spec.get("type") or "")
    if rtype not in ACCEPTED_RECEIVERS:
        raise InputError(f"Receiver type {rtype!r} is not supported by shipway yet",
                         subject=subject)  # fmt: skip
    h = {k.lower(): v for k, v in headers.items()}
    body: dict[str, Any] = {}
    claims: dict[str, Any] | None = None
    if rtype == "generic-oidc":
        try:
            claims = flux_oidc.verify(ReceiverSpec.model_validate(spec).oidc_providers, headers)
        except accept.WebhookAuthError as exc:
            raise accept.WebhookAuthError(exc.message, subject=subject) from None
    elif rtype == "generic-hmac":
        _check_hmac(raw, h.get("x-signature", ""), token, subject)
    elif rtype in REGISTRY_RECEIVERS:
        body = _registry(rx, rtype, raw, headers, token, subject)
    elif rtype != "generic":
        event = next((h[k] for k in _EVENT_HEADERS if h.get(k)), "")
        if event == "ping":
            return 200, {"accepted": False, "event": "ping"}
        wanted = [str(e) for e in spec.get("events") or []]
        if wanted and event not in wanted:
            forge_webhooks.parse(headers, raw, secret=token)  # still only for its owner
            return 200, {"accepted": False, "event": event, "ignored": True}
        _, body = accept.forge(rx, raw, headers, secret=token)
    apps, skipped = _apps(rx.store, res, raw, claims)
    for app in apps:
        inbox.put(rx.store, "reconcile", {"app": app})
    if apps:
        rx.wake("reconcile")
    message = f"refreshed {', '.join(apps) or 'nothing'}"
    if skipped:
        message += "; " + "; ".join(skipped)
    with contextlib.suppress(ShipwayError):  # the refreshes are in; their record: no 503
        store_events.emit(rx.store, ev.ObjectRef("Receiver", res.name, res.namespace, API),
                          "ReceiverTriggered", message, source="controller")  # fmt: skip
    return 200, {**body, "accepted": True, "receiver": f"{res.namespace}/{res.name}",
                 "refreshed": apps, "notRefreshed": skipped}  # fmt: skip
