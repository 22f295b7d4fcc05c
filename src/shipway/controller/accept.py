"""Accepting hooks: check the credential, check the facts, write the event to the inbox.

What the HTTP handlers call; each returns ``(status, body)`` once the event is
committed to the durable inbox (or was seen before), and raises:

- ``WebhookAuthError`` (401): a missing or wrong token, signature or secret;
- ``InputError`` (400): a body that is not the hook's shape, with the reason;
- ``NotTip`` (409): a git push whose sha is not the tip of its ref on the git
  server (recorded as a ``PushNotTip`` event);
- ``ExternalError`` (503): the git server could not be asked.

An event told before is acknowledged (200) and ignored, before any look-up: a
git push with the same (ref, before, after) updates, a forge delivery id seen
before (``X-GitHub-Delivery``, ``X-Gitea-Delivery``, ``X-Gitlab-Event-UUID``:
the same signed body) and a new delivery of the same push or pull request
change. The work itself is
left to the workers (``controller.workers``). Touches the store and, through
``controller.tips``, the git server.

Each hook comes in steps, so an async server can run the checks inline and
wait on the inbox and the git server without holding a thread
(``server.intake``): ``git_push_parsed`` (parse, token) → told before (one
indexed read, ``inbox.seen``) → the refs of the repository, from a look-up that started after
the push came (``Tips.future``) → ``not_tip`` (every sha its ref's tip, else
``refuse``: 409) → ``push_ready``, a ``Ready`` event, committed with
``inbox.put_future`` and answered by ``answered``; ``forge_checked`` (signature,
shape, dedupe key) → ``Ready``. ``forge`` does the same steps on one thread (a
Flux Receiver's deliveries).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.controller.hooks import GitPush, parse_git_push
from shipway.controller.tips import Tips, is_tip
from shipway.controller.tokens import HookTokens, normalise_repo
from shipway.git import webhooks as forge_webhooks
from shipway.model import bounded
from shipway.model.errors import ConflictError, InputError
from shipway.model.events import IMAGE_PUSHED, ObjectRef
from shipway.model.release import iso, now
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import inbox, runs
from shipway.store.db import Store
from shipway.updater import webhooks as registry_webhooks

WebhookAuthError = forge_webhooks.WebhookAuthError
DELIVERY_HEADERS = ("x-github-delivery", "x-gitea-delivery", "x-forgejo-delivery",
                    "x-gitlab-event-uuid")  # fmt: skip
FORGE_KINDS = ("push", "pull_request")


class NotTip(ConflictError):
    """A pushed sha that the git server does not have at the tip of the ref."""


@dataclass
class Receiver:
    settings: Settings
    store: Store
    tokens: HookTokens
    tips: Tips
    wake: Callable[..., None]  # wake(kind): the lanes that take ``kind`` look at once
    quiet: threading.Event = field(default_factory=threading.Event)  # set: no hook in flight
    inflight: int = 0  # hooks being accepted now (counted on the server's event loop)

    def __post_init__(self) -> None:
        if self.inflight == 0:
            self.quiet.set()

    def began(self) -> None:
        """A hook came in (call on the event loop): the lanes let it go first."""
        self.inflight += 1
        if self.inflight == 1:
            self.quiet.clear()

    def ended(self) -> None:
        self.inflight -= 1
        if self.inflight == 0:
            self.quiet.set()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _malformed(what: str, exc: Exception) -> InputError:
    return InputError(f"{what} webhook: malformed body: {type(exc).__name__}: {exc}", subject=what)


@dataclass(frozen=True)
class Ready:
    """An event whose checks all held: what goes into the inbox, and the answers after."""

    kind: str
    payload: dict[str, Any]
    dedupe: str | None
    new: dict[str, Any]  # the 202's body (the item's id is added)
    duplicate: dict[str, Any]  # the 200's body when the dedupe key was seen before


Answer = tuple[int, dict[str, Any]]


def answered(rx: Receiver, ready: Ready, item: int | None) -> Answer:
    """The answer once ``ready`` is committed as ``item`` (None: it was a duplicate)."""
    if item is None:
        return 200, ready.duplicate
    rx.wake(ready.kind)
    return 202, {**ready.new, "id": item}


def commit(rx: Receiver, ready: Ready) -> Answer:
    """Into the inbox (this thread waits for the commit), then the answer."""
    return answered(rx, ready, inbox.put(rx.store, ready.kind, ready.payload, ready.dedupe))


@dataclass(frozen=True)
class PendingPush:
    """A git push whose token holds and which is new: its shas are yet to be checked."""

    push: GitPush
    dedupe: str


DUPLICATE_PUSH: Answer = (200, {"accepted": False, "duplicate": True})


def git_push_parsed(rx: Receiver, raw: bytes, headers: Mapping[str, str]) -> PendingPush:
    """Parse, check the token, name the push (its dedupe key): no I/O."""
    try:
        push = parse_git_push(bounded.load_json(raw, "/hooks/git"))
    except ValueError as exc:  # a payload of the wrong shape
        raise InputError(f"git push payload: {exc}", subject="hooks/git") from None
    if not rx.tokens.check_git(push.repo, _lower(headers).get("authorization", "")):
        raise WebhookAuthError(
            "git hook: missing or wrong token for this repository (Authorization: Bearer …)",
            subject=push.repo,
        )
    dedupe = _key("git", push.repo, *[f"{u.ref} {u.before} {u.after}" for u in push.updates])
    return PendingPush(push, dedupe)


def live(pending: PendingPush) -> bool:
    """Whether the push updates a ref (so its shas are asked of the git server)."""
    return any(not u.deleted for u in pending.push.updates)


def not_tip(pending: PendingPush, refs: dict[str, str]) -> str | None:
    """Why the push is refused, given the server's ``refs`` (asked after the push came); None
    when every pushed sha is its ref's tip."""
    for u in pending.push.updates:
        if not u.deleted and not is_tip(refs, u.ref, u.after):
            now_at = refs.get(u.ref, "")[:12] or "no such ref"
            return f"{u.ref} {u.after[:12]} is not the tip on the git server ({now_at})"
    return None


def refuse(rx: Receiver, pending: PendingPush, reason: str) -> NotTip:
    """Record the refusal (a ``PushNotTip`` event) and return the error to raise."""
    runs.record_event(rx.store, "controller", pending.push.repo, "PushNotTip", reason)
    return NotTip(reason, subject=pending.push.repo)


def push_ready(pending: PendingPush) -> Ready:
    """The inbox item of a push whose shas were found to be their refs' tips."""
    push = pending.push
    payload = {"repo": push.repo, "updates": [
        {"ref": u.ref, "before": u.before, "after": u.after} for u in push.updates]}  # fmt: skip
    return Ready("git", payload, pending.dedupe, {"accepted": True},
                 {"accepted": False, "duplicate": True})  # fmt: skip


def _key(kind: str, repo: str, *parts: str) -> str:
    """The dedupe key of an event: the same push (ref, before, after) told again is the same."""
    text = "\n".join([normalise_repo(repo), *parts])
    return f"{kind}|{hashlib.sha256(text.encode()).hexdigest()}"


def forge(
    rx: Receiver, raw: bytes, headers: Mapping[str, str], *, secret: str | None = None
) -> Answer:
    """``POST /hooks/forge``: signature or token, then the delivery id against replays.

    ``secret``: another one than the controller's forge secret (a Flux Receiver's token)."""
    got = forge_checked(rx, raw, headers, secret=secret)
    return got if isinstance(got, tuple) else commit(rx, got)


def forge_checked(
    rx: Receiver, raw: bytes, headers: Mapping[str, str], *, secret: str | None = None
) -> Answer | Ready:
    """Everything ``forge`` does before the inbox (no I/O): an answer, or the event to store."""
    try:
        event = forge_webhooks.parse(
            headers, raw, secret=rx.tokens.forge() if secret is None else secret
        )
    except InputError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise _malformed("forge", exc) from None
    if event.kind not in FORGE_KINDS:
        return 202, {"accepted": True, "event": event.kind, "ignored": True}
    h = _lower(headers)
    delivery = next((h[k] for k in DELIVERY_HEADERS if h.get(k)), "")
    repo = event.repo_urls[0] if event.repo_urls else ""
    if event.kind == "push":
        dedupe = _key("forge", repo, "push", event.ref, event.before, event.after)
    else:
        dedupe = _key("forge", repo, "pr", str(event.number), event.action, event.head_sha)
    # A delivery seen before (same id, so the same signed body) is the same event; so is a new
    # delivery of the same push or pull request change: either is acknowledged and ignored.
    payload = {"event": event.to_dict(), "delivery": delivery[:200]}
    return Ready("forge", payload, dedupe, {"accepted": True, "event": event.kind},
                 {"accepted": False, "duplicate": True, "event": event.kind})  # fmt: skip


def registry(
    rx: Receiver, raw: bytes, headers: Mapping[str, str], query: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """``POST /hooks/registry``: the registry's token, then the pushes into the inbox.

    Digests in the body are not kept: the updater asks the registry itself.
    """
    received = now()
    try:
        events = registry_webhooks.parse(raw, headers, secret=rx.tokens.registry(), query=query)
    except InputError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise _malformed("registry", exc) from None
    return registry_pushes(rx, raw, events, received)


def registry_pushes(
    rx: Receiver, raw: bytes, events: list[Any], received: dt.datetime
) -> tuple[int, dict[str, Any]]:
    """Checked pushes into the registry inbox (``/hooks/registry``, a Flux registry
    Receiver): the updater takes them up; an ``ImagePushed`` event each."""
    pushes = [e for e in events if e.tag]
    if not pushes:
        return 202, {"accepted": 0}
    pushed = [[image, tag, iso(when)] for (image, tag), when in _push_times(raw).items()]
    payload = {"events": [{"repository": e.repository, "tag": e.tag, "host": e.host,
                           "media_type": e.media_type, "source": e.source} for e in pushes],
               "received": iso(received), "pushed": pushed}  # fmt: skip
    item = inbox.put(rx.store, "registry", payload, _registry_dedupe(raw))
    if item is None:
        return 200, {"accepted": 0, "duplicate": True}
    for e in pushes:  # once per accepted notification (a redelivered envelope is not)
        store_events.emit(rx.store, ObjectRef("Image", e.image), IMAGE_PUSHED,
                          f"{e.image}:{e.tag}", source=e.source or "registry")  # fmt: skip
    rx.wake("registry")
    return 202, {"accepted": len(pushes), "id": item}


def _envelope(raw: bytes) -> list[dict[str, Any]]:
    try:
        events = bounded.load_json(raw, "/hooks/registry").get("events") or []
    except (InputError, ValueError, AttributeError):
        return []
    return [ev for ev in events if isinstance(ev, dict)] if isinstance(events, list) else []


def _registry_dedupe(raw: bytes) -> str | None:
    """A distribution envelope is retried as is: its event ids name it."""
    ids = [str(ev.get("id")) for ev in _envelope(raw) if ev.get("id")]
    if not ids:
        return None
    return "registry|" + hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def _push_times(raw: bytes) -> dict[tuple[str, str], dt.datetime]:
    """When the registry says each tag was pushed (distribution envelopes carry it)."""
    out: dict[tuple[str, str], dt.datetime] = {}
    for ev in _envelope(raw):
        target, request = ev.get("target") or {}, ev.get("request") or {}
        if not isinstance(target, dict) or not isinstance(request, dict):
            continue
        when = _rfc3339(str(ev.get("timestamp", "")))
        if when is None:
            continue
        image = f"{request.get('host', '')}/{target.get('repository', '')}"
        out[(image, str(target.get("tag", "")))] = when
    return out


def _rfc3339(text: str) -> dt.datetime | None:
    """Parse RFC 3339 with up to nanoseconds (Go's format), which ``fromisoformat`` refuses."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        return None
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return dt.datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")
