"""The image update engine: from a push event or a polling pass to config commits.

``on_push(store, events, workdir=…)`` handles registry webhooks (only watches
of the pushed repositories run); ``run_once(store, workdir=…)`` is a polling
pass over every watch. Both read the watching resources (Argo CD
``Application`` annotations, Flux ``ImagePolicy`` …) from the store, or from
``resources=`` when given; resolve each watch through the registry
(``resolve``), write per config repository (``writeback``), and record the
outcome on each resource's status (when a store is given) and as engine
state (``runs.states(store, "updater")``, one entry per watch). A pass is
idempotent: re-running it after a crash recomputes the same picks and finds
the config repository already updated, so resuming is simply running again.
May touch: the store (resources, statuses, engine state), registries (through
``resolve``), git remotes and forges (through ``writeback``/``pullrequest``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipway.model import namespaces
from shipway.model.errors import InputError, ShipwayError
from shipway.model.resources import Resource
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store
from shipway.updater import pullrequest, resolve, targets, writeback
from shipway.updater.resolve import ClientFactory
from shipway.updater.targets import Watch
from shipway.updater.webhooks import PushEvent

RESOLVE_WORKERS = 8
KINDS = ("Application", "ImageRepository", "ImagePolicy", "ImageUpdateAutomation")


@dataclass
class UpdateResult:
    """What one watch did in one pass. ``config_commit`` is None when nothing changed."""

    app: str
    kind: str
    alias: str
    image: str = ""  # pinned: registry/repository@sha256:…
    tag: str = ""
    files: list[str] = field(default_factory=list)
    config_commit: str | None = None
    source_commit: str | None = None
    config_repo: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_subject: str | None = None
    branch: str | None = None  # pull request mode: the proposal branch
    pull_request: dict[str, Any] | None = None
    closed_pull_requests: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # resolve_ms, write_ms
    automation: str = ""  # Flux: the ImageUpdateAutomation ("namespace/name") that wrote it
    namespace: str = ""  # the owner's namespace ("": its kind's default)

    @property
    def app_key(self) -> str:
        """The owner as engines and release records name it (``web``, ``dev_web``)."""
        if self.kind == "Application":
            return namespaces.instance(self.namespace, self.app)
        return self.app

    @property
    def owner(self) -> str:
        """``name``, or ``namespace/name`` outside the kind's default namespace."""
        default = namespaces.default_namespace(self.kind, self.app)
        return self.app if self.namespace in ("", default) else f"{self.namespace}/{self.app}"

    @property
    def changed(self) -> bool:
        return self.config_commit is not None and bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "kind": self.kind,
            "alias": self.alias,
            "image": self.image,
            "tag": self.tag,
            "files": self.files,
            "config_commit": self.config_commit,
            "source_commit": self.source_commit,
            "config_repo": self.config_repo,
            "changes": self.changes,
            "error": self.error,
            "error_subject": self.error_subject,
            "branch": self.branch,
            "pull_request": self.pull_request,
            "closed_pull_requests": self.closed_pull_requests,
            "timings": self.timings,
            "automation": self.automation,
        }


def _automation(w: Watch) -> str:
    return w.target.app if w.target.kind == "markers" else ""


def _error_result(w: Watch, exc: ShipwayError) -> UpdateResult:
    return UpdateResult(
        app=w.owner_name,
        kind=w.owner_kind,
        namespace=w.owner_namespace,
        alias=w.alias,
        config_repo=w.target.repo_url,
        error=exc.message,
        error_subject=exc.subject,
        automation=_automation(w),
    )


def _result(item: writeback.Item, commit: str | None) -> UpdateResult:
    w, r = item.watch, item.resolved
    if item.error is not None:
        res = _error_result(w, item.error)
        res.image, res.tag = r.pinned, r.tag
        return res
    return UpdateResult(
        app=w.owner_name,
        kind=w.owner_kind,
        namespace=w.owner_namespace,
        alias=w.alias,
        image=r.pinned,
        tag=r.tag,
        files=sorted({c.file for c in item.changes}),
        config_commit=commit if item.changes else None,
        source_commit=r.source_commit,
        config_repo=w.target.repo_url,
        changes=[c.to_dict() for c in item.changes],
        automation=_automation(w),
    )


class Engine:
    """Caches (registry clients, image configs) and checkouts shared by passes."""

    def __init__(
        self,
        workdir: Path,
        factory: ClientFactory | None = None,
        forges: pullrequest.ForgeFactory | None = None,
    ) -> None:
        self.workdir = workdir
        self.resolver = resolve.Resolver(factory)
        self.checkouts = writeback.Checkouts(workdir)
        self.forges = forges or pullrequest.default_forge
        self._pass_lock = threading.Lock()

    def run(
        self, watches: Sequence[Watch], events: Sequence[PushEvent] = (), *, dry_run: bool = False
    ) -> list[UpdateResult]:
        """Resolve every watch and write per target; ``dry_run`` computes edits, writes nothing."""
        results: list[UpdateResult] = []
        groups: dict[tuple[str, ...], list[writeback.Item]] = {}
        tgt: dict[tuple[str, ...], targets.GitTarget] = {}
        t0 = time.perf_counter()
        with self._pass_lock:  # the per-pass tag list is shared state
            self.resolver.begin_pass(events)
            for w, got in zip(watches, self._resolve_all(watches, bool(events)), strict=True):
                if isinstance(got, ShipwayError):
                    results.append(_error_result(w, got))
                    continue
                key = _group_key(w)
                groups.setdefault(key, []).append(writeback.Item(w, got))
                tgt.setdefault(key, w.target)
        resolve_ms = round((time.perf_counter() - t0) * 1000, 1)
        for key, items in groups.items():
            t1 = time.perf_counter()
            try:
                written = self._write(tgt[key], items, dry_run)
            except ShipwayError as exc:
                written = [_error_result(i.watch, exc) for i in items]
            write_ms = round((time.perf_counter() - t1) * 1000, 1)
            for r in written:
                r.timings = {"resolve_ms": resolve_ms, "write_ms": write_ms}
            results += written
        return results

    def _write(
        self, target: targets.GitTarget, items: list[writeback.Item], dry_run: bool = False
    ) -> list[UpdateResult]:
        if dry_run:
            writeback.preview(self.checkouts, target, items)
            return [_result(i, None) for i in items]
        if target.pr is None:
            outcome = writeback.write(self.checkouts, target, items)
            return [_result(i, outcome.commit) for i in items]
        forge = self.forges(target)
        prop = pullrequest.propose(self.checkouts, target, items, forge)
        out = []
        for i in items:
            res = _result(i, prop.commit)
            res.branch = prop.branch
            res.pull_request = prop.pull_request.to_dict() if prop.pull_request else None
            res.closed_pull_requests = list(prop.closed)
            out.append(res)
        return out

    def _resolve_all(
        self, watches: Sequence[Watch], trust_cache: bool
    ) -> list[resolve.Resolved | ShipwayError]:
        """Resolve every watch, a few at a time (the shared budget paces each registry)."""

        def one(w: Watch) -> resolve.Resolved | ShipwayError:
            try:
                return self.resolver.resolve(w, trust_cache=trust_cache)
            except ShipwayError as exc:
                return exc

        if len(watches) <= 1:
            return [one(w) for w in watches]
        with ThreadPoolExecutor(max_workers=min(RESOLVE_WORKERS, len(watches))) as pool:
            return list(pool.map(one, watches))


def _group_key(w: Watch) -> tuple[str, ...]:
    """Direct writes group per repository branch; pull requests per application or update."""
    t = w.target
    key: tuple[str, ...] = (t.repo_url, t.branch, t.push_branch)
    if t.pr is not None:
        key += (w.owner,) if t.pr.grouping == "application" else (w.owner, w.alias)
    return key


_engines: dict[Path, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(
    workdir: Path,
    factory: ClientFactory | None = None,
    forges: pullrequest.ForgeFactory | None = None,
) -> Engine:
    """The shared engine of a work directory (its caches survive between calls).

    Passing ``factory`` (registry clients) or ``forges`` (forge clients) replaces it.
    """
    key = workdir.resolve()
    with _engines_lock:
        if key not in _engines or factory is not None or forges is not None:
            _engines[key] = Engine(key, factory, forges)
        return _engines[key]


def load_resources(store: Store) -> list[Resource]:
    out: list[Resource] = []
    for kind in KINDS:
        out += store_resources.list_kind(store, kind)
    return out


def _watches(
    store: Store | None,
    resources: Iterable[Resource] | None,
    git_repos: Mapping[str, tuple[str, str]] | None,
) -> tuple[list[Watch], list[InputError], list[Resource]]:
    items = list(resources) if resources is not None else load_resources(store) if store else []
    found, errors = targets.watches(items, git_repos)
    return found, errors, items


def _config_errors(errors: list[InputError]) -> list[UpdateResult]:
    out = []
    for exc in errors:
        kind, _, owner = (exc.subject or "/").partition(" ")[0].partition("/")
        ns, _, name = owner.rpartition("/")  # Kind/name or Kind/namespace/name
        out.append(
            UpdateResult(
                app=name,
                kind=kind,
                namespace=ns,
                alias="",
                error=exc.message,
                error_subject=exc.subject,
            )
        )
    return out


def run_once(
    store: Store | None,
    *,
    workdir: Path,
    resources: Iterable[Resource] | None = None,
    git_repos: Mapping[str, tuple[str, str]] | None = None,
    dry_run: bool = False,
) -> list[UpdateResult]:
    """One polling pass over every watch; statuses are written when ``store`` is given.

    ``dry_run``: report the edits each watch would make; commit, push and record nothing.
    """
    found, errors, items = _watches(store, resources, git_repos)
    results = _config_errors(errors) + engine_for(workdir).run(found, dry_run=dry_run)
    if store is not None and not dry_run:
        record_status(store, results, items)
    return results


def on_push(
    store: Store | None,
    events: list[PushEvent],
    *,
    workdir: Path,
    resources: Iterable[Resource] | None = None,
    git_repos: Mapping[str, tuple[str, str]] | None = None,
) -> list[UpdateResult]:
    """Handle registry push events: run the watches of the pushed repositories only."""
    found, _, items = _watches(store, resources, git_repos)
    hit = [w for w in found if any(resolve.same_repository(w.image, ev) for ev in events)]
    if not hit:
        return []
    results = engine_for(workdir).run(hit, events)
    if store is not None:
        record_status(store, results, items)
    return results


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _image_status(r: UpdateResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"alias": r.alias, "image": r.image, "tag": r.tag}
    if r.config_commit:
        entry["configCommit"] = r.config_commit
        entry["files"] = r.files
    if r.source_commit:
        entry["sourceCommit"] = r.source_commit
    if r.error:
        entry["error"] = r.error
        entry["errorSubject"] = r.error_subject
    return entry


def _update_event(store: Store, res: UpdateResult) -> None:
    """``UpdateCommitted`` for a config commit, ``UpdateFailed`` (Warning) for an error."""
    from shipway.model import events as ev
    from shipway.store import events as store_events

    obj = ev.ObjectRef(res.kind, res.app)
    if res.error:
        store_events.emit(store, obj, "UpdateFailed", f"{res.alias or res.image}: {res.error}",
                          type=ev.WARNING, source="image-updater")  # fmt: skip
    elif res.changed:
        where = f"pull request branch {res.branch}" if res.branch else res.config_repo
        store_events.emit(store, obj, ev.UPDATE_COMMITTED,
                          f"{res.image} ({res.tag}) committed to {where} as "
                          f"{(res.config_commit or '')[:12]}", source="image-updater")  # fmt: skip


def record_status(store: Store, results: list[UpdateResult], resources: Iterable[Resource]) -> None:
    """Merge each result into its resource's status (``imageUpdate``; Flux's ``latestRef``)."""
    for res in results:  # the last outcome per watch, as engine state (``runs.states``)
        phase = "failed" if res.error else "committed" if res.config_commit else "unchanged"
        key = f"{res.kind}/{res.owner}/{res.alias}"
        runs.put_state(store, "updater", key, phase, res.to_dict())
        _update_event(store, res)
    known = {(r.kind, r.namespace, r.name): r for r in resources}
    by_owner: dict[tuple[str, str, str], list[UpdateResult]] = {}
    for res in results:
        ns = namespaces.resolve(res.kind, res.app, res.namespace or None)
        by_owner.setdefault((res.kind, ns, res.app), []).append(res)
    for (kind, ns, name), items in by_owner.items():
        current = store_resources.find(store, kind, name, ns)
        if current is None or (kind, ns, name) not in known:
            continue
        status = dict(current.status)
        prev = {e.get("alias"): e for e in (status.get("imageUpdate") or {}).get("images", [])}
        for r in items:
            old = prev.get(r.alias) or {}
            entry = _image_status(r)
            if not r.config_commit and old.get("configCommit") and not r.error:
                entry["configCommit"] = old["configCommit"]  # unchanged: keep the last commit
            prev[r.alias] = entry
        errors = [r for r in items if r.error]
        status["imageUpdate"] = {"lastRun": _now(), "images": list(prev.values())}
        status["imageUpdate"]["conditions"] = [_condition(errors)]
        if kind == "ImagePolicy" and items and not items[0].error:
            ref = items[0].image.split("@")[0]
            status["latestRef"] = {
                "name": ref,
                "tag": items[0].tag,
                "digest": items[0].image.split("@")[-1],
            }
        if kind == "ImagePolicy":
            status["conditions"] = [_condition(errors)]
        store_resources.set_status(store, kind, name, status, ns)
    _record_automations(store, results, known)


def _record_automations(
    store: Store, results: list[UpdateResult], known: Mapping[tuple[str, str, str], Resource]
) -> None:
    """Flux's ImageUpdateAutomation status: last run, last push commit and time, Ready."""
    by_auto: dict[tuple[str, str], list[UpdateResult]] = {}
    for res in results:
        if res.automation:
            ns, _, name = res.automation.rpartition("/")
            by_auto.setdefault((ns or namespaces.FLUX, name), []).append(res)
    for (ns, name), items in by_auto.items():
        fresh = store_resources.find(store, "ImageUpdateAutomation", name, ns)
        if fresh is None or ("ImageUpdateAutomation", ns, name) not in known:
            continue
        status = dict(fresh.status)
        status["lastAutomationRunTime"] = _now()
        pushed = next((r.config_commit for r in items if r.config_commit), None)
        if pushed:
            status["lastPushCommit"], status["lastPushTime"] = pushed, _now()
        status["conditions"] = [_condition([r for r in items if r.error])]
        store_resources.set_status(store, "ImageUpdateAutomation", name, status, ns)


def _condition(errors: list[UpdateResult]) -> dict[str, str]:
    if errors:
        msg = "; ".join(
            f"{e.error_subject}: {e.error}" if e.error_subject else str(e.error) for e in errors
        )
        return {"type": "Ready", "status": "False", "reason": "UpdateFailed", "message": msg}
    return {
        "type": "Ready",
        "status": "True",
        "reason": "Succeeded",
        "message": "images up to date",
    }
