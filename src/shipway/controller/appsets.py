"""The controller's ApplicationSet lane: which events refresh which sets, and the handler.

- a git push (hook or forge webhook) to a repository a set's ``git``
  generator reads refreshes that set, as Argo CD's ``/api/webhook`` does;
- a forge ``pull_request`` event on the repository a ``pullRequest``
  generator lists refreshes that set at once (opened, pushed to, closed);
- the periodic pass refreshes sets whose ``requeueAfterSeconds`` (pull
  requests: 30 minutes by default) or the pass interval has gone by, new and
  edited sets, and prunes Applications whose ApplicationSet was deleted.

Units of work are ``appset`` inbox items keyed by set and event (the same
push told twice refreshes once); one lane thread runs them, one set at a
time. Touches the store (inbox, resources) and calls ``deploy.appset.engine``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from shipway.deploy.appset import engine
from shipway.git.forge import project_from_url
from shipway.git.webhooks import GitEvent
from shipway.model.errors import ShipwayError
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.store import inbox, runs
from shipway.store import resources as store_resources
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")
KIND = "appset"


def _norm(url: str) -> str:
    u = url.strip().rstrip("/")
    return (u[:-4] if u.endswith(".git") else u).lower()


def item(appset: Resource, why: str) -> inbox.New:
    payload = {"namespace": appset.namespace, "name": appset.name, "why": why}
    return inbox.New(KIND, payload, f"appset|{appset.namespace}/{appset.name}|{why}")


def push_items(store: Store, repo: str, after: str) -> list[inbox.New]:
    """A refresh of every set whose git generator reads ``repo``."""
    out = []
    for appset in store_resources.list_kind(store, engine.KIND, None):
        urls = [str(g.get("repoURL", "")) for g in engine.generators_of(appset, "git")]
        if any(_norm(u) == _norm(repo) for u in urls):
            out.append(item(appset, f"push|{repo}|{after}"))
    return out


def _provider_project(body: dict[str, Any]) -> tuple[str, str]:
    """``(forge, owner/repo)`` of a pullRequest generator (lower case)."""
    for kind in ("github", "gitea"):
        p = body.get(kind)
        if isinstance(p, dict):
            return kind, f"{p.get('owner')}/{p.get('repo')}".lower()
    p = body.get("gitlab")
    return "gitlab", str(p.get("project") or "").lower() if isinstance(p, dict) else ""


def pull_request_items(store: Store, event: GitEvent) -> list[inbox.New]:
    """A refresh of every set whose pullRequest generator lists the event's repository."""
    projects = {(event.forge, project_from_url(u).lower()) for u in event.repo_urls if u}
    out = []
    why = f"pr|{event.forge}|{event.number}|{event.action}|{event.head_sha}"
    for appset in store_resources.list_kind(store, engine.KIND, None):
        gens = engine.generators_of(appset, "pullRequest")
        if any(_provider_project(g) in projects for g in gens):
            out.append(item(appset, why))
    return out


def event_items(store: Store, event: GitEvent) -> list[inbox.New]:
    """The refreshes a forge webhook means (a push, or a pull request event)."""
    if event.kind == "push":
        if event.deleted:
            return []
        return [n for url in event.repo_urls for n in push_items(store, url, event.after)]
    if event.kind == "pull_request" or event.number is not None:
        return pull_request_items(store, event)
    return []


def handle(store: Store, settings: Settings, work: inbox.Item) -> None:
    name, ns = str(work.payload["name"]), str(work.payload["namespace"])
    try:
        result = engine.reconcile(store, settings, name, ns)
    except ShipwayError as exc:  # deleted since, or a store failure
        log.info("ApplicationSet %s/%s: %s", ns, name, exc)
        return
    if result.error:
        log.warning("ApplicationSet %s/%s: %s", ns, name, result.error)


class Poller:
    """The periodic pass: enqueues the sets that are due, prunes orphaned Applications."""

    def __init__(self, store: Store, settings: Settings, interval: float) -> None:
        self.store = store
        self.settings = settings
        self.interval = interval
        self.last: dict[str, tuple[dt.datetime, str]] = {}
        self.lock = threading.Lock()

    def poll(self) -> int:
        with self.lock:
            t = now()
            due = engine.due(self.store, self.interval, self.last)
            news = [item(a, f"tick|{t.isoformat()}") for a in due]
            for a in due:
                self.last[a.key] = (t, engine.spec_hash(a))
        written = [i for i in inbox.put_many(self.store, news) if i is not None]
        try:
            engine.prune_orphans(self.store, self.settings)
        except ShipwayError as exc:
            runs.record_event(self.store, "appset", "ApplicationSet", "PruneFailed", str(exc))
        return len(written)
