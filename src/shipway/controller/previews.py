"""The controller's preview lane: which events refresh which preview sets, and the handlers.

- a forge ``pull_request`` webhook for the repository a preview set's
  ``pullRequest`` generator lists refreshes that set at once (``refresh``
  item), as Argo CD's ``/api/webhook`` refreshes the generator;
- a finished pull request CI run releases the deploys waiting for it;
- the periodic pass refreshes sets whose ``requeueAfterSeconds`` has gone by
  (the fallback when no webhook comes: conditional requests, so 304s) and
  tears down expired previews (TTL, idle);
- a refresh that was no webhook's (the poll, the start-up pass) starts the
  pull request CI a new head waits for, as its webhook would have: once per
  head (an ``opened``/``synchronize``/``reopened`` webhook's CI item for it
  counts), and as a fork's (no secrets) unless the head is a branch of the
  base repository at that commit on the git server;
- a forge that refuses the listing (bad token, rate limit, down) is a
  ``PreviewRefreshFailed`` event on the set, and no preview is torn down;
- at start-up, interrupted deploys and teardowns are finished and every set
  is refreshed, so a preview whose pull request closed meanwhile goes.

A refresh turns into one ``preview-work`` item per preview (deploy or
teardown), so previews deploy in parallel and one failing never holds up
another; work on one preview is serial. Touches the inbox and calls
``promote.previews.engine``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from shipway.controller import units
from shipway.git.forge import project_from_url
from shipway.git.webhooks import GitEvent
from shipway.model import events as ev
from shipway.model.errors import ShipwayError
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.promote.previews import source as source_mod
from shipway.promote.previews.engine import Action, Previews
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import inbox
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")
REFRESH, WORK = "preview", "preview-work"
KINDS = (REFRESH, WORK)


def refresh_item(appset: Resource, why: str) -> inbox.New:
    payload = {"namespace": appset.namespace, "name": appset.name, "why": why}
    return inbox.New(REFRESH, payload, f"preview|refresh|{appset.namespace}/{appset.name}|{why}")


def work_item(action: Action, why: str) -> inbox.New:
    return inbox.New(WORK, {**action.to_dict(), "why": why}, f"{action.key}|{why}")


class Lane:
    def __init__(self, store: Store, settings: Settings, *, health_timeout: float = 120.0,
                 refs: Callable[[str], dict[str, str]] | None = None) -> None:  # fmt: skip
        self.store = store
        self.refs = refs  # a repository's refs on the git server (fork or not)
        self.engine = Previews(store, settings, health_timeout=health_timeout)
        self.last: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- what events mean ------------------------------------------------------------------

    def event_items(self, event: GitEvent) -> list[inbox.New]:
        if event.kind != "pull_request":
            return []
        projects = {project_from_url(u).lower() for u in event.repo_urls if u}
        why = f"pr|{event.number}|{event.action}|{event.head_sha}"
        return [refresh_item(a, why) for a in self.engine.appsets()
                if any(s.provider == event.forge and s.project.lower() in projects
                       for s in source_mod.sources(a.body))]  # fmt: skip

    def ci_items(self, pipe: Resource, sha: str, records: list[dict[str, Any]] | None,
                 error: str = "") -> list[inbox.New]:  # fmt: skip
        """The deploys the end of a pull request's CI for ``sha`` releases (or fails)."""
        spec = pipe.spec.get("forge") or {}
        if not spec:
            return []
        repo = str((pipe.spec.get("source") or {}).get("repoURL") or "")
        project = str(spec.get("project") or project_from_url(repo))
        bad = [str(r.get("workflow")) for r in records or [] if r.get("conclusion") != "success"]
        ok = not error and records is not None and not bad
        why = error or (f"CI failed: {', '.join(bad)}" if bad else "")
        actions = self.engine.ci_finished(str(spec.get("kind")), project, sha, ok, why)
        return [work_item(a, f"ci|{sha}") for a in actions]

    def polled_ci(self, actions: list[Action], why: str) -> list[inbox.New]:
        """The pull request CI items a refresh that no webhook asked for has to start."""
        if why.startswith("pr|"):
            return []
        out = []
        for action in actions:
            wanted = self.engine.ci_wanted(action)
            if wanted is None:
                continue
            pipe, pr = wanted
            told = [units.pull_request_item(pipe.name, {"number": pr.number, "action": verb,
                                                        "head_sha": pr.head_sha}).dedupe
                    for verb in ("opened", "synchronize", "reopened")]  # fmt: skip
            if any(inbox.seen(self.store, str(key)) for key in told):
                continue  # its webhook came: that CI runs (or ran)
            repo = str((pipe.spec.get("source") or {}).get("repoURL") or "")
            fork = True  # unknown: no secrets
            if self.refs is not None:
                try:
                    fork = self.refs(repo).get(f"refs/heads/{pr.branch}") != pr.head_sha
                except ShipwayError as exc:
                    log.warning("preview %s: refs of %s: %s", pr.name, repo, exc)
            event = GitEvent(pr.forge, "pull_request", (repo,), number=pr.number,
                             action="synchronize", head_ref=pr.branch, head_sha=pr.head_sha,
                             base_ref=pr.target_branch, fork=fork)  # fmt: skip
            out.append(units.pull_request_item(pipe.name, event.to_dict()))
        return out

    # -- handlers ----------------------------------------------------------------------------

    def handle(self, item: inbox.Item) -> list[inbox.New]:
        """Run one item; returns the work it makes (the caller puts it in the inbox)."""
        p = item.payload
        if item.kind == REFRESH:
            appset = self.engine.appset(f"{p['namespace']}/{p['name']}")
            if appset is None:
                return []
            self.last[f"{appset.namespace}/{appset.name}"] = time.monotonic()
            try:
                actions = self.engine.refresh(appset)
            except ShipwayError as exc:  # nothing is torn down on a listing that failed
                log.warning("preview set %s: %s", appset.key, exc)
                store_events.emit(self.store, ev.ObjectRef("ApplicationSet", appset.name,
                                                           appset.namespace),
                                  "PreviewRefreshFailed", str(exc), type=ev.WARNING,
                                  source="previews")  # fmt: skip
                return []
            why = str(p.get("why") or "")
            return [work_item(a, why) for a in actions] + self.polled_ci(actions, why)
        action = Action(str(p["verb"]), str(p["preview"]), str(p.get("appset") or ""),
                        str(p.get("head_sha") or ""), str(p.get("reason") or ""))  # fmt: skip
        with self._lock:
            lock = self._locks.setdefault(action.preview, threading.Lock())
        with lock:  # one unit of work per preview at a time
            self.engine.run(action)
        return []

    # -- periodic and start-up ------------------------------------------------------------------

    def poll(self) -> list[inbox.New]:
        """Refreshes of the sets that are due, and teardowns of expired previews."""
        stamp = now().isoformat()
        due = self.engine.due(self.last, time.monotonic())
        for a in due:
            self.last[f"{a.namespace}/{a.name}"] = time.monotonic()
        news = [refresh_item(a, f"tick|{stamp}") for a in due]
        return news + [work_item(a, "expired") for a in self.engine.expired()]

    def resume(self) -> list[inbox.New]:
        stamp = now().isoformat()
        news = [work_item(a, f"resume|{stamp}") for a in self.engine.resume()]
        return news + [refresh_item(a, f"start|{stamp}") for a in self.engine.appsets()]
