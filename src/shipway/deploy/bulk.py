"""Refreshing many applications at once, re-rendering only what a commit changed.

``refresh_all`` fetches each config repository once, lists Applications
incrementally (``appstore.AppCache``), and compares an application again
only when what it renders from changed (its source path's git tree, or the
whole tree for kustomize/Helm), its spec or project changed, or its live
objects changed (targets that offer ``live_version``; others are always
read), or a tag a ``mutateDigest`` rule pinned now resolves to another digest
(``shipway.deploy.digest_pins``; each tag is asked once per pass and kept a
short TTL, ``shipway.deploy.digest_lookup``). Unchanged applications
keep their last comparison and stored status (whose ``sync.revision`` stays
the newest commit that changed them). Files of
all directory sources to render are read in one git call; statuses are
written in one transaction.
"""

from __future__ import annotations

from typing import Any

from shipway import cluster
from shipway.deploy import appspec, digest_lookup, digest_pins, repocreds, sources
from shipway.deploy import compare as cmp
from shipway.deploy import status as st
from shipway.deploy.appstore import AppCache, write_statuses
from shipway.deploy.changes import Tracker
from shipway.deploy.gitsource import norm_path
from shipway.deploy.status import AppStatus
from shipway.model.errors import ClusterError, GitError, InputError
from shipway.model.namespaces import instance
from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.settings import load as load_settings
from shipway.store.db import Store

_memo: dict[tuple[str, str], tuple[Any, ...]] = {}
_apps: dict[str, AppCache] = {}
_trackers: dict[str, Tracker] = {}


def refresh_all(
    store: Store, names: list[str] | None = None, *, settings: Settings | None = None
) -> dict[str, AppStatus]:
    """Refresh every application (or those in ``names``); return each one's comparison.

    Applications are named by instance name (``web``; ``dev_web`` outside ``argocd``).
    """
    with cmp.RENDER_LOCK:
        return _refresh_all(store, names, settings)


def _refresh_all(
    store: Store, names: list[str] | None, settings: Settings | None
) -> dict[str, AppStatus]:
    settings = settings or load_settings()
    r = cmp.renderer(settings)
    r.auth = repocreds.git_auth(store)
    r.forget_fetches()
    loaded = cmp.Loaded.load(store)
    wanted = set(names) if names is not None else None
    pass_cache: dict[Any, Any] = {}
    lookups = digest_lookup.Lookups(digest_lookup.ttl_from_env())  # one per tag this pass
    try:
        return _pass(store, settings, r, loaded, wanted, pass_cache, lookups)
    finally:
        lookups.close()


def _pass(
    store: Store,
    settings: Settings,
    r: sources.Renderer,
    loaded: cmp.Loaded,
    wanted: set[str] | None,
    pass_cache: dict[Any, Any],
    lookups: digest_lookup.Lookups,
) -> dict[str, AppStatus]:
    home = str(settings.home)
    out: dict[str, AppStatus] = {}
    todo: list[tuple[Resource, str | None, tuple[Any, ...] | None]] = []
    cache = _apps.setdefault(home, AppCache())
    tracker = _trackers.setdefault(home, Tracker())
    listed = cache.load(store)

    def target_of(app: Resource) -> cluster.Target:
        tkey = _target_key(app.spec)
        return loaded.targets.get(tkey) or cmp.target_for(settings, app, loaded)

    dirty = tracker.dirty(r, listed, loaded.projects, target_of)
    looked: set[str] = set()
    volatile: set[str] = set()
    for app, pin in listed:
        key = tracker.key(app)
        if wanted is not None and key not in wanted:
            continue
        memo = _memo.get((home, key))
        if memo is not None and memo[-1].pins and not _pins_hold(memo[-1], lookups):
            memo = None  # a tag a mutateDigest rule pinned moved (or cannot be resolved now)
        if dirty is not None and key not in dirty and memo is not None:
            out[key] = memo[-1]  # nothing it reads changed since its last comparison
            continue
        looked.add(key)
        try:
            target = target_of(app)
        except (ClusterError, InputError) as exc:
            out[key] = _unreachable(app, exc)
            volatile.add(key)
            continue
        fp = _fingerprint(r, app, loaded, target, pin, pass_cache, tracker)
        if fp is None:
            volatile.add(key)
        if fp is not None and memo is not None and memo[:-1] == fp:
            out[key] = memo[-1]
        else:
            todo.append((app, pin, fp))
    fresh = cache.statuses(store, [tracker.key(app) for app, _, _ in todo])
    ctxs = []
    for app, pin, fp in todo:
        app.status = fresh.get(tracker.key(app), {})
        ctx = cmp.context_for(store, app, settings, None, loaded, fetch=False)
        ctx.digests = lookups
        ctxs.append((ctx, pin, fp))
    if len(todo) > 1:
        r.prefetch([w for ctx, pin, _ in ctxs for w in _work(ctx, pin)])
    statuses: dict[str, dict[str, Any]] = {}
    unfinished = {ctx.name for ctx, _, _ in ctxs}
    try:
        for ctx, pin, fp in ctxs:
            result, _ = cmp.compare(ctx, pin)
            status = st.comparison_status(ctx.old_status, result)
            if _differs(ctx.old_status, status):
                statuses[ctx.name] = status
            if fp is not None:
                _memo[(home, ctx.name)] = (*fp, result)
            out[ctx.name] = result
            unfinished.discard(ctx.name)
    finally:
        r.drop_blobs()
        write_statuses(store, statuses, cache.ids)
        everyone = dirty if dirty is not None else set(tracker.entries)
        tracker.pending = (tracker.pending | everyone) - (looked - unfinished)
        tracker.volatile = (tracker.volatile - looked) | volatile | unfinished
    return out


def _pins_hold(memo: AppStatus, lookups: digest_lookup.Lookups) -> bool:
    """Whether ``memo`` (a comparison with mutateDigest pins) still stands for its tags."""
    warned = [c["message"] for c in memo.conditions if c["type"] == cmp.DIGEST_WARNING]
    return digest_pins.unchanged(memo.pins, warned, lookups.digest)


def _unreachable(app: Resource, exc: Exception) -> AppStatus:
    """The comparison of an app whose cluster cannot be reached: Unknown, never Healthy."""
    return AppStatus(
        instance(app.namespace, app.name),
        st.UNKNOWN,
        "",
        "Unknown",
        conditions=[cmp.condition("UnknownError", str(exc))],
        destination=appspec.destination(app.spec),
    )


def _work(ctx: cmp.Ctx, pin: str | None) -> list[tuple[dict[str, Any], str]]:
    return _sources_at(ctx.renderer, ctx.spec, pin)


def _sources_at(
    r: sources.Renderer, spec: dict[str, Any], pin: str | None
) -> list[tuple[dict[str, Any], str]]:
    """Each source with its commit (``pin`` overrides the first), or [] when unresolvable."""
    out = []
    try:
        for i, source in enumerate(appspec.sources(spec)):
            wanted = pin if i == 0 and pin else source.get("targetRevision")
            out.append((source, r.repo(source["repoURL"]).resolve(wanted)))
    except (InputError, GitError):
        return []
    return out


def _fingerprint(
    r: sources.Renderer,
    app: Resource,
    loaded: cmp.Loaded,
    target: cluster.Target,
    pin: str | None,
    cache: dict[Any, Any],
    tracker: Tracker,
) -> tuple[Any, ...] | None:
    """What ``app``'s comparison depends on; None when it cannot be known cheaply.

    The per-app work is dict lookups: commits and listings are resolved once
    per (repository, revision) in a pass (``cache``).
    """
    version = getattr(target, "live_version", None)
    if version is None:
        return None
    spec = app.spec
    parts: list[Any] = []
    try:
        for url, rev, path, plain, source in _static(spec, pin, cache):
            key = (url, rev)
            got = cache.get(key)
            if got is None:
                repo = r.repo(url)
                commit = tracker.commit((url, str(rev or ""))) or repo.resolve(rev)
                got = cache[key] = repo.listing(commit)
            tree = got.trees.get(path)
            if tree is None:
                return None
            if plain and path not in got.kustomized():
                parts.append(tree)
            else:
                skey = (url, rev, path, tree, got.trees[""])
                if skey not in cache:
                    cache[skey] = r.scope(source, r.repo(url).resolve(rev))
                parts.append(cache[skey])
    except (InputError, ClusterError, GitError):
        return None
    project = loaded.projects.get(str(spec.get("project") or "default"))
    return (spec, project, tuple(parts), version(instance(app.namespace, app.name)))


_statics: dict[int, tuple[Any, ...]] = {}
_tkeys: dict[int, tuple[dict[str, Any], str]] = {}


def _target_key(spec: dict[str, Any]) -> str:
    hit = _tkeys.get(id(spec))
    if hit is None or hit[0] is not spec:
        if len(_tkeys) > 200_000:
            _tkeys.clear()
        hit = _tkeys[id(spec)] = (spec, cmp.target_key(spec))
    return hit[1]


def _static(spec: dict[str, Any], pin: str | None, cache: dict[Any, Any]) -> list[Any]:
    """Per source: (url, revision, path, declared-plain, source), memoised on the spec object."""
    hit = _statics.get(id(spec))
    if hit is not None and hit[0] is spec and hit[1] == pin:
        return list(hit[2])
    out = []
    for i, source in enumerate(appspec.sources(spec)):
        rev = pin if i == 0 and pin else source.get("targetRevision")
        declared = not (source.get("helm") or source.get("chart") or source.get("kustomize"))
        path = norm_path(str(source.get("path") or ""))
        out.append((source["repoURL"], rev, path, declared, source))
    if len(_statics) > 200_000:
        _statics.clear()
    _statics[id(spec)] = (spec, pin, tuple(out))
    return out


def _differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    skip = {"reconciledAt"}
    return {k: v for k, v in old.items() if k not in skip} != {
        k: v for k, v in new.items() if k not in skip
    }
