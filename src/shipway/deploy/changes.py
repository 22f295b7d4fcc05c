"""Which applications a refresh pass must look at again: an index of what each one reads.

``bulk.refresh_all`` keeps one ``Tracker`` per state directory. Each pass it
tells the tracker the Applications listed from the store; ``dirty`` returns
the instance names whose comparison may have changed since the last pass,
so a commit that touches one app costs work for that app only:

- an Application new, changed (a new spec object: its ``generation`` moved)
  or with another rollback pin;
- its source moved to a commit that changed its directory's tree (the
  changed paths come from ``git diff-tree`` between the two commits, looked
  up in an index from (repository, revision, path) to applications); apps
  whose render may read any path (kustomize, Helm, a directory with a
  kustomization) whenever their source moved;
- its live objects changed: targets with ``live_changes(token)`` say which
  apps changed since the last token; for other targets every app is looked
  at (their fingerprint then decides);
- its AppProject's spec changed;
- it was left over: not wanted by the last pass (``names``), not finished,
  or not comparable by fingerprint (``volatile``: unreachable clusters,
  unresolvable sources, targets without live versions).

Every ``FULL_EVERY`` seconds, and on the first pass, every application is
looked at (the fingerprint comparison in ``bulk`` still decides what is
compared), so a change no index sees is still found. Touches the renderer's
mirrors (resolve, listings) and the targets' ``live_changes`` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shipway import cluster
from shipway.deploy import appspec, sources
from shipway.deploy.gitsource import norm_path
from shipway.model.errors import ClusterError, GitError, InputError
from shipway.model.namespaces import instance
from shipway.model.resources import Resource

FULL_EVERY = 300.0
SourceKey = tuple[str, str]  # (repoURL, revision asked for)


@dataclass
class _Entry:
    app: Resource
    pin: str | None
    sources: list[tuple[SourceKey, str, bool]]  # ((url, rev), path, declared plain)
    project: str
    tkey: str


@dataclass
class Tracker:
    """The index of the last pass (see the module docstring)."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    by_path: dict[SourceKey, dict[str, set[str]]] = field(default_factory=dict)
    tools: dict[SourceKey, set[str]] = field(default_factory=dict)
    by_project: dict[str, set[str]] = field(default_factory=dict)
    by_target: dict[str, set[str]] = field(default_factory=dict)
    commits: dict[SourceKey, str | None] = field(default_factory=dict)
    live: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # tkey -> (target, token)
    projects: dict[str, Any] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    volatile: set[str] = field(default_factory=set)
    full_at: float = -1e18
    _keys: dict[int, tuple[Resource, str]] = field(default_factory=dict)

    def key(self, app: Resource) -> str:
        """``app``'s instance name (memoised on the object: the cache keeps it per generation)."""
        hit = self._keys.get(id(app))
        if hit is None or hit[0] is not app:
            if len(self._keys) > 4 * len(self.entries) + 1000:
                self._keys.clear()
            hit = self._keys[id(app)] = (app, instance(app.namespace, app.name))
        return hit[1]

    def commit(self, source: SourceKey) -> str | None:
        """The commit a source resolved to in the last ``dirty`` (None: unresolvable)."""
        return self.commits.get(source)

    def dirty(
        self,
        r: sources.Renderer,
        listed: list[tuple[Resource, str | None]],
        projects: dict[str, Any],
        target_of: Callable[[Resource], cluster.Target | None],
        *,
        full: bool = False,
    ) -> set[str] | None:
        """The instance names to look at again; None means every application."""
        now = time.monotonic()
        full = full or now - self.full_at > FULL_EVERY
        out: set[str] = set(self.pending) | self.volatile
        keys: set[str] = set()
        for app, pin in listed:
            k = self.key(app)
            keys.add(k)
            e = self.entries.get(k)
            if e is None or e.app is not app or e.pin != pin:
                if e is not None:
                    self._unindex(k, e)
                self._index(k, app, pin)
                out.add(k)
        for k in [k for k in self.entries if k not in keys]:
            self._unindex(k, self.entries[k])
        out |= self._moved_sources(r)
        out |= self._live_changes(target_of)
        for name in set(projects) | set(self.projects):
            if projects.get(name) != self.projects.get(name):
                out |= self.by_project.get(name, set())
        self.projects = {k: v for k, v in projects.items()}
        if full:
            self.full_at = now
            return None
        return out & keys

    def _index(self, k: str, app: Resource, pin: str | None) -> None:
        spec = app.spec
        srcs = []
        for i, source in enumerate(appspec.sources(spec)):
            rev = str(pin if i == 0 and pin else source.get("targetRevision") or "")
            skey = (str(source.get("repoURL")), rev)
            plain = not (source.get("helm") or source.get("chart") or source.get("kustomize"))
            path = norm_path(str(source.get("path") or ""))
            srcs.append((skey, path, plain))
            if plain:
                self.by_path.setdefault(skey, {}).setdefault(path, set()).add(k)
            else:
                self.tools.setdefault(skey, set()).add(k)
        dest = spec.get("destination") or {}
        e = _Entry(app, pin, srcs, str(spec.get("project") or "default"),
                   f"{dest.get('name')}|{dest.get('server')}")  # fmt: skip
        self.by_project.setdefault(e.project, set()).add(k)
        self.by_target.setdefault(e.tkey, set()).add(k)
        self.entries[k] = e

    def _unindex(self, k: str, e: _Entry) -> None:
        for skey, path, plain in e.sources:
            if plain:
                _discard(self.by_path.get(skey, {}).get(path), k)
            else:
                _discard(self.tools.get(skey), k)
        _discard(self.by_project.get(e.project), k)
        _discard(self.by_target.get(e.tkey), k)
        self.entries.pop(k, None)
        self.pending.discard(k)
        self.volatile.discard(k)

    def _moved_sources(self, r: sources.Renderer) -> set[str]:
        """Apps whose source moved to a commit that changed what they read."""
        out: set[str] = set()
        for skey in set(self.by_path) | set(self.tools):
            apps_at = self.by_path.get(skey, {})
            tools = self.tools.get(skey, set())
            if not tools and not apps_at:
                continue
            old = self.commits.get(skey)
            try:
                repo = r.repo(skey[0])
                new = repo.resolve(skey[1] or None)
                listing = repo.listing(new, base=old)
            except (InputError, GitError):
                self.commits[skey] = None
                out |= tools
                for keys in apps_at.values():
                    out |= keys
                continue
            self.commits[skey] = new
            if old == new:
                continue
            changed = repo.changed(old, new) if old is not None else None
            out |= tools
            if changed is None:  # read whole: every app of the source
                for keys in apps_at.values():
                    out |= keys
                continue
            for path in changed:
                out |= apps_at.get(path, set())
            for path in listing.kustomized():  # a directory read through its kustomization
                out |= apps_at.get(path, set())
        return out

    def _live_changes(self, target_of: Callable[[Resource], cluster.Target | None]) -> set[str]:
        out: set[str] = set()
        for tkey, keys in self.by_target.items():
            if not keys:
                continue
            some = self.entries[next(iter(keys))].app
            try:
                target = target_of(some)
            except (ClusterError, InputError):
                target = None
            changes = getattr(target, "live_changes", None)
            prev = self.live.get(tkey)
            if target is None or changes is None:
                out |= keys
                self.live.pop(tkey, None)
                continue
            token, apps = changes(prev[1] if prev is not None and prev[0] is target else None)
            self.live[tkey] = (target, token)
            out |= keys if apps is None else keys & set(apps)
        return out

    def looked_at(self, keys: Iterable[str]) -> None:
        """These apps were compared (or found unchanged by fingerprint) in this pass."""
        self.pending.difference_update(keys)


def _discard(keys: set[str] | None, k: str) -> None:
    if keys is not None:
        keys.discard(k)
