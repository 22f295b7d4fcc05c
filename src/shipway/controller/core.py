"""The controller: turns events into engine runs and engine results into releases.

- a git push to a ``Pipeline``'s source repo runs CI for the pushed commit;
- a forge webhook (GitHub, GitLab, Gitea) does the same for pushes, and runs
  ``pull_request`` workflows on the merge of a pull request into its base;
- a registry push runs the image updater, which commits to the config repo;
- a git push to an ``Application``'s config repo reconciles that application
  and waits for its health;
- a registry or git push to a repository a Kargo ``Warehouse`` subscribes to
  runs its discovery (``promote.warehouse``), which makes the new Freight;
- a push or pull request event refreshes the ApplicationSets that read that
  repository (``controller.appsets``), as does the periodic pass;
- a pull request event refreshes the preview sets of its repository, and the
  end of its CI releases its preview's deploy (``controller.previews``).

Hooks are accepted by ``controller.accept`` into the durable inbox; lanes of
worker threads (``controller.workers``) take them: accepted events are
expanded into keyed units of work (``controller.units``: the inbox keeps each
key once, so the same push told fifty times runs once), which the CI
(``controller.ci_runs``), update and deploy lanes run; each application
reconciles serially. Missed pushes
are found by ``controller.catchup``. Every stage reports to the
``ReleaseTracker``. May touch the store and call the engines; the engines own
all other I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from pathlib import Path
from typing import Any

from shipway.ci import service as ci_service
from shipway.controller import (
    accept,
    appsets,
    catchup,
    ci_config,
    ci_runs,
    notifier,
    promotions,
    signing,
    tekton_hook,
    units,
    workers,
)
from shipway.controller import previews as previews_lane
from shipway.controller import tips as tips_mod
from shipway.controller.hooks import (
    GitPush,
    RefUpdate,
    parse_git_push,
    same_repo,
)
from shipway.controller.statuses import StatusReporter
from shipway.controller.tips import Tips
from shipway.controller.tokens import HookTokens
from shipway.controller.tracker import ReleaseTracker
from shipway.deploy import cronjobs, digest_lookup
from shipway.deploy import engine as deploy_engine
from shipway.git.webhooks import GitEvent
from shipway.model import namespaces
from shipway.model.errors import ShipwayError
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.notify import worker as notify_worker
from shipway.promote import lifecycle, warehouse
from shipway.settings import Settings
from shipway.store import inbox, runs
from shipway.store import resources as resource_store
from shipway.store.db import Store
from shipway.updater import engine as update_engine
from shipway.updater import webhooks as registry_webhooks

REDISCOVER_AFTER = 1.0  # seconds: a Warehouse that failed on a registry push looks again
log = logging.getLogger("shipway.controller")
PROMOTE_TICK = 0.5  # seconds between passes of verification and auto-promotion
INBOX_RETENTION = dt.timedelta(days=30)  # ended items (and their dedupe keys) kept this long


class Controller:
    """Inbox handlers plus the lanes that feed them.

    Lanes: ``events`` expands accepted hooks into units of work; ``ci`` runs
    workflows; ``update`` runs the image updater; ``deploy`` reconciles (one
    application at a time). Each unit of work has a key (``ci|pipeline|event|
    sha``, ``reconcile|app|sha``) that the inbox keeps unique, so the same push
    told fifty times is run once.
    """

    def __init__(self, settings: Settings, store: Store, *, health_timeout: float = 120.0) -> None:
        self.settings = settings
        self.store = store
        self.tracker = ReleaseTracker(store)
        self.statuses = StatusReporter(settings, store)
        self.health_timeout = health_timeout
        self.tokens = HookTokens(settings, store)
        self.tips = Tips(timeout=settings.net_timeout)
        self._app_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._stop = threading.Event()
        self._periodic: threading.Thread | None = None
        self.previews = previews_lane.Lane(store, settings, health_timeout=health_timeout,
                                           refs=self.tips.refs)  # fmt: skip
        self.ci = ci_runs.CiRuns(settings, store, self.tracker, self.statuses, self.previews,
                                 self._put)  # fmt: skip
        quiet = threading.Event()  # set while no hook is in flight (accept.Receiver)
        self.lanes = workers.Lanes(store, [
            workers.LaneSpec("events", ("git", "forge"), 2, self._handle_event),
            workers.LaneSpec("ci", ("ci", "pr-ci"), 2, self._handle_ci),
            workers.LaneSpec("update", ("registry",), 1, self._handle_registry),
            workers.LaneSpec("tekton", (tekton_hook.KIND,), 1,
                             lambda item, _owner: self._handle_tekton(item)),
            workers.LaneSpec("deploy", ("reconcile",), 2, self._handle_reconcile),
            workers.LaneSpec("promote", (promotions.KIND,), 1,
                             lambda item, _owner: promotions.handle(store, settings, item)),
            workers.LaneSpec("appset", (appsets.KIND,), 1,
                             lambda item, _owner: appsets.handle(store, settings, item)),
            workers.LaneSpec("previews", previews_lane.KINDS, 2,
                             lambda item, _owner: self._put(self.previews.handle(item))),
        ], quiet=quiet)  # fmt: skip
        self.appsets = appsets.Poller(store, settings, 60.0)
        self.receiver = accept.Receiver(settings, store, self.tokens, self.tips, self.lanes.wake,
                                        quiet)  # fmt: skip

    # -- events: accepted hooks become units of work -----------------------------------------

    def _handle_tekton(self, item: inbox.Item) -> None:
        """An EventListener's event (``tekton_hook``): its triggers' runs."""
        for record in tekton_hook.handle(self.store, self.settings, item):
            log.info("EventListener %s/%s: run %s %s", item.payload.get("namespace"),
                     item.payload.get("listener"), record.get("id"),
                     record.get("conclusion"))  # fmt: skip

    def _handle_event(self, item: inbox.Item, owner: str) -> None:
        if item.kind == "git":
            push = parse_git_push(item.payload)
            self._expand_push(item, owner, push)
            return
        event = _git_event(item.payload["event"])
        self._put(appsets.event_items(self.store, event))
        self._put(self.previews.event_items(event))
        repo = self._known_url(event.repo_urls)
        if repo is None:
            return
        if event.kind == "push":
            if not event.deleted:
                refs = self.tips.refs(repo)
                if not tips_mod.is_tip(refs, event.ref, event.after):
                    msg = f"{event.ref} {event.after[:12]} is not the tip on the git server"
                    runs.record_event(self.store, "controller", repo, "PushNotTip", msg)
                    return
            self._expand_push(item, owner, GitPush(repo, [RefUpdate(event.ref, event.before,
                                                                    event.after)]))  # fmt: skip
            return
        if not event.head_sha or not event.base_ref:
            return
        news = [
            units.pull_request_item(pipe.name, item.payload["event"])
            for pipe in self._pipelines(repo)
            if event.base_ref in _watched(pipe)
        ]
        runs.record_event(self.store, "controller", repo, "PullRequest",
                          f"#{event.number} {event.action} {event.head_sha[:12]}")  # fmt: skip
        inbox.expand(self.store, item.id, owner, news)
        if news:
            self.lanes.wake("pr-ci")

    def _expand_push(self, item: inbox.Item, owner: str, push: GitPush) -> None:
        """One ``ci`` item per watching pipeline and ref, one ``reconcile`` per application."""
        news, marks = self.push_work(push)
        inbox.expand(self.store, item.id, owner, news)
        if news:
            self.lanes.wake(*{n.kind for n in news})
        for pipe, branch, sha in marks:
            catchup.mark(self.store, pipe, branch, sha)
        runs.record_event(self.store, "controller", push.repo, "GitPush",
                          ", ".join(f"{u.ref} {u.after[:12]}" for u in push.updates))  # fmt: skip
        warehouse.on_git_push(self.store, push.repo, workdir=self._warehouse_dir)

    def push_work(self, push: GitPush) -> tuple[list[inbox.New], list[tuple[str, str, str]]]:
        """The units of work a push means, and the (pipeline, branch, sha) it hands to CI."""
        news: list[inbox.New] = []
        marks: list[tuple[str, str, str]] = []
        apps = [
            a
            for a in resource_store.list_kind(self.store, "Application")
            if any(same_repo(s.get("repoURL", ""), push.repo) for s in _sources(a))
        ]
        for update in push.updates:
            if update.deleted or not update.ref.startswith(("refs/heads/", "refs/tags/")):
                continue
            for pipe in self._pipelines(push.repo):
                if update.branch is not None and update.branch not in _watched(pipe):
                    continue
                news.append(units.ci_item(pipe.name, update))
                if update.branch is not None:
                    marks.append((pipe.name, update.branch, update.after))
            for app in apps:
                news.append(
                    units.reconcile_item(namespaces.instance(app.namespace, app.name), update)
                )
            news += appsets.push_items(self.store, push.repo, update.after)
        return news, marks

    def _put(self, news: list[inbox.New]) -> None:
        if news and any(i is not None for i in inbox.put_many(self.store, news)):
            self.lanes.wake(*{n.kind for n in news})

    def _pipelines(self, repo: str) -> list[Resource]:
        return [
            pipe
            for pipe in resource_store.list_kind(self.store, "Pipeline")
            if same_repo(pipe.spec.get("source", {}).get("repoURL", ""), repo)
        ]

    def _known_url(self, urls: tuple[str, ...]) -> str | None:
        """The URL, of those a forge gives for a repository, that our resources use."""
        known = [p.spec.get("source", {}).get("repoURL", "") for p in
                 resource_store.list_kind(self.store, "Pipeline")]  # fmt: skip
        known += warehouse.git_urls(self.store)
        for app in resource_store.list_kind(self.store, "Application"):
            known += [str(s.get("repoURL", "")) for s in _sources(app)]
        return next((u for u in urls for k in known if k and same_repo(u, k)), None)

    # -- units of work ------------------------------------------------------------------------

    def _handle_ci(self, item: inbox.Item, owner: str) -> None:
        pipe = resource_store.find(self.store, "Pipeline", str(item.payload["pipeline"]))
        if pipe is None:
            return
        if item.kind == "pr-ci":
            self.ci.run_pull_request(pipe, _git_event(item.payload["event"]))
            return
        update = RefUpdate(item.payload["ref"], item.payload["before"], item.payload["after"])
        if item.attempts > 1 and self._started_before(item, update):
            log.info("CI of %s %s was under way when its worker died: left to resume",
                     update.ref, update.after[:12])  # fmt: skip
            return
        self.ci.run_push(pipe, update)

    def _started_before(self, item: inbox.Item, update: RefUpdate) -> bool:
        """Whether an earlier attempt at this item already stored runs (resume finishes them)."""
        return runs.exist_since(self.store, update.after, "push", item.created)

    def _handle_registry(self, item: inbox.Item, owner: str) -> None:
        # The event's digests were never kept: the updater resolves each tag at the registry.
        pushes = [registry_webhooks.PushEvent(digest=None, **e) for e in item.payload["events"]]
        for push in pushes:  # a pinned tag that moved is seen by the next pass, not after a TTL
            digest_lookup.forget(push.image)
        received = dt.datetime.fromisoformat(item.payload["received"])
        pushed = {(i, t): dt.datetime.fromisoformat(w) for i, t, w in item.payload["pushed"]}
        signing.sign_pushed(self.settings, self.store, pushes, self.tracker)  # before any deploy
        found = warehouse.on_registry_push(self.store, pushes, workdir=self._warehouse_dir)
        if any(r.error for r in found):
            # The registry tells of a manifest before its tag is readable (a HEAD of the tag
            # answers 404 for a moment): look once more, or the Freight waits for the next
            # interval (5 minutes by default).
            time.sleep(REDISCOVER_AFTER)
            found += warehouse.on_registry_push(self.store, pushes, workdir=self._warehouse_dir)
        self._link_freight(found)
        self._run_update(pushes, received, pushed)
        if not self.settings.signing_key:  # nothing gates on an unsigned SBOM: after the update
            signing.sbom_pushed(self.settings, self.store, pushes, self.tracker)

    def _link_freight(self, found: list[warehouse.Result]) -> None:
        for r in found:
            if r.created and r.freight:
                self.tracker.freight_created(r.namespace, r.freight)

    def _handle_reconcile(self, item: inbox.Item, owner: str) -> None:
        app = str(item.payload["app"])
        with self._locks_lock:
            lock = self._app_locks.setdefault(app, threading.Lock())
        with lock:  # one reconcile of an application at a time
            self._reconcile(app)

    # -- workers ------------------------------------------------------------------------------

    def _run_update(
        self, pushes: list[Any], received: dt.datetime, pushed: dict[tuple[str, str], dt.datetime]
    ) -> None:
        started = now()
        try:
            results = update_engine.on_push(
                self.store, pushes, workdir=self.settings.work_dir / "updater"
            )
        except ShipwayError as exc:
            log.error("image update failed: %s", exc)
            runs.record_event(self.store, "updater", "registry", "UpdateFailed", str(exc))
            return
        finished = now()
        for res in results:
            if not res.image:
                continue
            self.tracker.image_updated(
                res.app_key,
                res.source_commit,
                res.image,
                res.config_commit,
                pushed_at=pushed.get((res.image.split("@")[0], res.tag), received),
                update_started=started,
                update_finished=finished,
                error=res.error or "",
            )

    def _reconcile(self, app_name: str) -> None:
        started = now()
        try:
            result = deploy_engine.reconcile(self.store, app_name)
        except ShipwayError as exc:
            log.error("reconcile %s failed: %s", app_name, exc)
            runs.record_event(
                self.store, "reconciler", f"Application/{app_name}", "SyncFailed", str(exc)
            )
            _notify(self.store)
            return
        self._report_sync(app_name, started, result)

    def _report_sync(self, app_name: str, started: dt.datetime, result: Any) -> None:
        """Tell the tracker of a finished sync, then wait for health and tell it that too."""
        report = functools.partial(
            self.tracker.deployed,
            app_name,
            result.revision,
            sync_started=started,
            sync_finished=now(),
            sync_ok=result.ok,
            sync_message=result.message,
            policy=getattr(result, "policy", None) or {},
        )
        report()
        if result.revision:
            ci_config.link(self.settings, self.store, self.tracker, app_name,
                           str(result.revision))  # fmt: skip
        if result.ok:
            health = deploy_engine.wait_healthy(self.store, app_name, timeout=self.health_timeout)
            report(health=health, health_finished=now())
        _notify(self.store)

    # -- start-up -----------------------------------------------------------------------------

    def resume_interrupted(self) -> None:
        """Finish what a killed controller left: its inbox leases, syncs, then CI runs."""
        freed = inbox.recover(self.store)
        if freed:
            log.info("took back %s inbox item(s) of a controller that is gone", freed)
            self.lanes.wake()
        if promotions.enqueue_unfinished(self.store):
            self.lanes.wake(promotions.KIND)
        self._put(self.previews.resume())
        if lifecycle.resume(self.store):
            self.lanes.wake(promotions.KIND)
        started = now()
        for result in deploy_engine.resume_interrupted(self.store):
            log.info("resumed sync of %s: %s", result.app, result.phase)
            self._report_sync(result.app, started, result)
        for run_id in ci_service.unfinished_runs(self.store):
            try:
                record = ci_service.resume_run(self.store, run_id, secrets={})  # jobs: new tokens
            except ShipwayError as exc:
                log.error("cannot resume CI run %s: %s", run_id, exc)
                continue
            log.info("resumed CI run %s: %s", run_id, record.get("conclusion"))
            if record.get("commit"):
                self.tracker.ci_finished(str(record["commit"]), record)

    def catch_up(self) -> int:
        """Run what pushes made while nobody listened left undone (see ``catchup``)."""
        news = catchup.missed(self.store, self.tips)
        written = [i for i in inbox.put_many(self.store, news) if i is not None]
        if written:
            self.lanes.wake()
        return len(written)

    def start_workers(self) -> None:
        """Start the lanes (unless ``settings.controller_workers`` is off)."""
        if self.settings.controller_workers:
            self.lanes.start()

    def start(self, resync: float) -> None:
        """Take back dead workers' items, start the lanes, resume interrupted work in the
        background, catch up with missed pushes, then run the periodic passes."""
        try:
            inbox.recover(self.store)
        except ShipwayError as exc:
            log.error("cannot take back inbox items: %s", exc)
        self.start_workers()
        if self.settings.controller_workers:
            threading.Thread(target=self._resume_safely, name="resume", daemon=True).start()
            self.start_periodic(resync)

    def _resume_safely(self) -> None:
        for fn in (self.resume_interrupted, self.catch_up):
            try:
                fn()
            except Exception:
                log.exception("%s failed", fn.__name__)

    # -- periodic -----------------------------------------------------------------------------

    def start_periodic(self, interval: float = 60.0) -> None:
        """Self-heal drifted applications, catch up with missed pushes, and poll registries
        as a fallback to webhooks."""

        notifier.start(self.store, self._stop)  # notifications soon after any event

        def loop() -> None:
            while not self._stop.wait(interval):
                for fn in (deploy_engine.self_heal_pass, self._catch_up, self._poll_images,
                           self._prune, self._poll_warehouses, self._poll_appsets,
                           self._poll_previews, _notify):  # fmt: skip
                    try:
                        fn(self.store)
                    except Exception:
                        log.exception("periodic %s failed", fn.__name__)

        self.appsets.interval = interval
        self._periodic = threading.Thread(target=loop, name="periodic", daemon=True)
        self._periodic.start()
        threading.Thread(target=self._promotion_tick, name="promote-tick", daemon=True).start()
        cronjobs.start(self.store, self._stop)  # CronJobs of apps on a podman target

    def _promotion_tick(self) -> None:
        """Verification and auto-promotion, every ``PROMOTE_TICK`` seconds, or at once when
        ``lifecycle.WAKE`` is set (a promotion ended and its verification started)."""
        n = 0
        while not self._stop.is_set():
            lifecycle.WAKE.wait(PROMOTE_TICK)  # a started verification wakes it early
            lifecycle.WAKE.clear()
            if self._stop.is_set():
                break
            n += 1
            try:
                if lifecycle.tick(self.store, self.settings, soak=n % 10 == 0):
                    self.lanes.wake(promotions.KIND)
            except Exception:
                log.exception("promotion tick failed")

    def _catch_up(self, store: Store) -> None:
        self.catch_up()

    def _prune(self, store: Store) -> None:
        inbox.prune(store, INBOX_RETENTION)

    def _poll_appsets(self, store: Store) -> None:
        if self.appsets.poll():
            self.lanes.wake(appsets.KIND)

    def _poll_previews(self, store: Store) -> None:
        self._put(self.previews.poll())

    def _poll_warehouses(self, store: Store) -> None:
        self._link_freight(warehouse.poll_due(store, workdir=self._warehouse_dir))

    @property
    def _warehouse_dir(self) -> Path:
        return self.settings.work_dir / "warehouses"

    def _poll_images(self, store: Store) -> None:
        update_engine.run_once(store, workdir=self.settings.work_dir / "updater")

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until the inbox holds no work and no lane is busy (tests, benchmarks)."""
        return self.lanes.wait_idle(timeout)

    def shutdown(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.lanes.stop(timeout)


def _notify(store: Store) -> None:
    """A notification pass: changes made by any process, seen in the stored status."""
    try:
        notify_worker.run_pass(store, wait=1.0)  # a stalled service finishes in its lane
    except Exception:
        log.exception("notification pass failed")


def _watched(pipe: Resource) -> list[str]:
    return list(pipe.spec.get("source", {}).get("branches") or ["main"])


def _git_event(data: dict[str, Any]) -> GitEvent:
    fields = dict(data)
    for key in ("repo_urls", "commits"):
        fields[key] = tuple(fields.get(key) or ())
    return GitEvent(**fields)


def _sources(app: Resource) -> list[dict[str, Any]]:
    spec = app.spec
    if spec.get("sources"):
        return list(spec["sources"])
    return [spec["source"]] if spec.get("source") else []
