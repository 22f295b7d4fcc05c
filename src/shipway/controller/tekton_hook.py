"""``POST /hooks/tekton/<namespace>/<listener>``: a Tekton EventListener's URL on the controller.

Tekton users point a forge's webhook at an EventListener's URL; here that URL
is the controller's. ``receive`` finds the stored EventListener (404 when
there is none), checks the credential, then writes the event (the JSON body
and its headers) to the durable inbox (kind ``tekton``) and answers 202; the
controller's ``tekton`` lane (``handle``) fires the listener's triggers
(``ci.tekton.trigger_eval``) and runs the PipelineRuns and TaskRuns they make
(``ci.tekton_run.trigger.listener_hook_runs``). A credential is one of:

- ``Authorization: Bearer <token>``, the listener's own token
  (``shipway hook token tekton NAMESPACE/NAME``);
- the forge's signature with the controller's forge secret
  (``X-Hub-Signature-256``, or GitLab's ``X-Gitlab-Token``), as ``/hooks/forge``;
- the signature with a ``github`` (``gitlab``, ``bitbucket``) interceptor's
  ``secretRef`` Secret of a trigger the event may meet (its own, the Triggers
  it refers to or selects, its trigger groups'), as Tekton's interceptor checks
  it (Secrets are read as Flux Receivers' are). The body as received is kept
  with the event: the interceptors check their signatures on it again.

A delivery id seen before (``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID``) is
acknowledged (200) and ignored. The body limit is the server's. Touches the
store (the listener, the inbox) and reads Secret files.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from typing import Any

from shipway.controller.accept import Receiver
from shipway.git.webhooks import WebhookAuthError
from shipway.model import bounded
from shipway.model.errors import InputError, NotFoundError, ShipwayError
from shipway.model.tekton_triggers import interceptor_of
from shipway.settings import Settings
from shipway.store import inbox
from shipway.store import resources as stored
from shipway.store.db import Store

KIND = "tekton"
DELIVERY = ("x-github-delivery", "x-gitlab-event-uuid", "x-gitea-delivery")


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _signed(raw: bytes, h: Mapping[str, str], secret: str) -> bool:
    if not secret:
        return False
    sha256 = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
    return (_same(h.get("x-hub-signature-256", ""), sha256)
            or _same(h.get("x-hub-signature", ""), sha256)
            or _same(h.get("x-hub-signature", ""), sha1)
            or _same(h.get("x-gitlab-token", ""), secret))  # fmt: skip


def secret(namespace: str, name: str, key: str) -> str | None:
    """A Secret's key, read as Flux Receivers' Secrets are (``None``: no such key)."""
    from shipway.notify.worker_flux import read_secret

    try:
        data = read_secret(namespace, name)
    except ShipwayError:
        return None
    value = data.get(key)
    return None if value is None else str(value)


def _interceptor_secrets(store: Store, namespace: str, spec: dict[str, Any]) -> Iterator[str]:
    """The secrets of the ``github``/``gitlab``/``bitbucket`` interceptors' ``secretRef``s
    of every trigger an event to the listener may meet (its own, the Triggers it refers to
    or selects, its trigger groups')."""
    from shipway.ci.tekton.trigger_eval import listener_interceptors
    from shipway.ci.tekton_run.trigger_ports import store_ports

    for ns, icpt in listener_interceptors(namespace, spec, store_ports(store)):
        name, params = interceptor_of(icpt)
        ref = params.get("secretRef") if name in ("github", "gitlab", "bitbucket") else None
        if not isinstance(ref, dict) or not ref.get("secretName"):
            continue
        value = secret(ns, str(ref["secretName"]), str(ref.get("secretKey") or ""))
        if value:
            yield value


def receive(rx: Receiver, namespace: str, listener: str, raw: bytes,
            headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """Check and accept one event for the EventListener ``namespace/listener``."""
    res = stored.find(rx.store, "EventListener", listener, namespace)
    if res is None:
        raise NotFoundError(f"no EventListener {namespace}/{listener}",
                            subject=f"EventListener/{namespace}/{listener}")  # fmt: skip
    h = {k.lower(): v for k, v in headers.items()}
    scheme, _, token = h.get("authorization", "").strip().partition(" ")
    ok = scheme.lower() == "bearer" and _same(token.strip(), rx.tokens.tekton(namespace,
                                                                             listener))  # fmt: skip
    ok = ok or _signed(raw, h, rx.tokens.forge())
    ok = ok or any(_signed(raw, h, s) for s in _interceptor_secrets(rx.store, namespace, res.spec))
    if not ok:
        raise WebhookAuthError(f"EventListener {namespace}/{listener}: no valid token or "
                               "signature",
                               subject=f"EventListener/{namespace}/{listener}")  # fmt: skip
    try:
        body = bounded.load_json(raw or b"{}", "body", bounded.body_limits())
    except InputError as exc:
        subject = f"EventListener/{namespace}/{listener}"
        raise InputError(f"EventListener {namespace}/{listener}: the body is not usable JSON "
                         f"({exc})", subject=subject) from None  # fmt: skip
    if not isinstance(body, dict):
        raise InputError(f"EventListener {namespace}/{listener}: the body is not a JSON object",
                         subject=f"EventListener/{namespace}/{listener}")  # fmt: skip
    delivery = next((h[k] for k in DELIVERY if h.get(k)), "")
    kept = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
    payload = {
        "namespace": namespace,
        "listener": listener,
        "body": body,
        "headers": kept,
        "raw": raw.decode("utf-8", "replace"),
    }  # signatures are checked on it
    dedupe = f"tekton\n{namespace}/{listener}\n{delivery[:200]}" if delivery else None
    item = inbox.put(rx.store, KIND, payload, dedupe)
    if item is None:
        return 200, {"accepted": False, "duplicate": True}
    rx.wake(KIND)
    return 202, {"accepted": True, "id": item}


def handle(store: Store, settings: Settings, item: inbox.Item) -> list[dict[str, Any]]:
    """Fire the listener's triggers for the stored event and run what they make."""
    from shipway.ci.tekton_run.service import RunOptions
    from shipway.ci.tekton_run.trigger import listener_hook_runs

    p = item.payload
    home = settings.home
    opts = RunOptions(base_dir=settings.work_dir / "ci" / f"tekton-hook-{item.id}",
                      pvc_dir=home / "work" / "tekton" / "pvc", podman_home=home / "podman",
                      event="tekton", on_line=lambda _line: None)  # fmt: skip
    return listener_hook_runs(store, str(p["namespace"]), str(p["listener"]),
                              dict(p.get("body") or {}),
                              {str(k): str(v) for k, v in (p.get("headers") or {}).items()},
                              opts, p.get("raw"), secret)  # fmt: skip
