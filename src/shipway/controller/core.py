"""The controller: turns events into engine runs and engine results into releases.

- a git push to a ``Pipeline``'s source repo runs CI for the pushed commit;
- a forge webhook (GitHub, GitLab, Gitea) does the same for pushes, and runs
  ``pull_request`` workflows on the merge of a pull request into its base;
- a registry push runs the image updater, which commits to the config repo;
- a git push to an ``Application``'s config repo reconciles that application
  and waits for its health.

Work runs on worker threads; each application reconciles serially, and a
request that arrives while one runs coalesces into one rerun. Every stage
reports to the ``ReleaseTracker``. May touch the store and call the engines;
the engines own all other I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shipway.ci import environments as ci_environments
from shipway.ci import service as ci_service
from shipway.controller.hooks import GitPush, RefUpdate, pull_request_payload, same_repo
from shipway.controller.statuses import StatusReporter
from shipway.controller.tracker import ReleaseTracker
from shipway.deploy import engine as deploy_engine
from shipway.git.webhooks import GitEvent
from shipway.model.errors import ShipwayError
from shipway.model.events import IMAGE_PUSHED, ObjectRef
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.runtime import docker_api
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as resource_store
from shipway.store import runs
from shipway.store.db import Store
from shipway.updater import engine as update_engine
from shipway.updater import webhooks as registry_webhooks

log = logging.getLogger("shipway.controller")


class _Serial:
    """Runs ``fn(key)`` at most once at a time per key; requests during a run coalesce."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._state: dict[str, str] = {}  # key -> "running" | "dirty"

    def submit(self, key: str, fn: Any) -> None:
        with self._lock:
            state = self._state.get(key)
            if state is not None:
                self._state[key] = "dirty"
                return
            self._state[key] = "running"
        self._pool.submit(self._loop, key, fn)

    def _loop(self, key: str, fn: Any) -> None:
        while True:
            try:
                fn(key)
            except Exception:  # a worker must survive any one failure
                log.exception("work on %s failed", key)
            with self._lock:
                if self._state.get(key) == "dirty":
                    self._state[key] = "running"
                    continue
                self._state.pop(key, None)
                return


class Controller:
    """Event handlers plus the workers they feed."""

    def __init__(self, settings: Settings, store: Store, *, health_timeout: float = 120.0) -> None:
        self.settings = settings
        self.store = store
        self.tracker = ReleaseTracker(store)
        self.statuses = StatusReporter(settings, store)
        self.health_timeout = health_timeout
        self._ci_pool = ThreadPoolExecutor(2, thread_name_prefix="ci")
        self._update_pool = ThreadPoolExecutor(1, thread_name_prefix="update")
        self._deploy_pool = ThreadPoolExecutor(2, thread_name_prefix="deploy")
        self._deploys = _Serial(self._deploy_pool)
        self._stop = threading.Event()
        self._periodic: threading.Thread | None = None

    # -- events -------------------------------------------------------------------------------

    def on_git_push(self, push: GitPush) -> dict[str, list[str]]:
        """Start CI for pipelines and reconciles for applications that watch ``push.repo``.

        A branch push runs CI when the branch is one the ``Pipeline`` watches
        and feeds releases; a tag push runs the workflows (their ``on.push.tags``
        filters decide) without starting a release.
        """
        started: dict[str, list[str]] = {"ci": [], "reconcile": []}
        for update in push.updates:
            if update.deleted or not update.ref.startswith(("refs/heads/", "refs/tags/")):
                continue
            for pipe in self._pipelines(push.repo):
                watched = pipe.spec.get("source", {}).get("branches") or ["main"]
                if update.branch is not None and update.branch not in watched:
                    continue
                self._ci_pool.submit(self._run_ci, pipe, update)
                started["ci"].append(pipe.name)
        for app in resource_store.list_kind(self.store, "Application"):
            if any(same_repo(s.get("repoURL", ""), push.repo) for s in _sources(app)):
                self._deploys.submit(app.name, self._reconcile)
                started["reconcile"].append(app.name)
        runs.record_event(
            self.store,
            "controller",
            push.repo,
            "GitPush",
            ", ".join(f"{u.ref} {u.after[:12]}" for u in push.updates),
        )
        return started

    def on_forge_event(self, event: GitEvent) -> dict[str, list[str]]:
        """A forge webhook: pushes go the way of git pushes; pull requests run CI on the merge."""
        repo = self._known_url(event.repo_urls)
        if repo is None:
            return {"ci": [], "reconcile": []}
        if event.kind == "push":
            return self.on_git_push(
                GitPush(repo, [RefUpdate(event.ref, event.before, event.after)])
            )
        started: dict[str, list[str]] = {"ci": [], "reconcile": []}
        if event.kind != "pull_request" or not event.head_sha or not event.base_ref:
            return started
        for pipe in self._pipelines(repo):
            if event.base_ref in (pipe.spec.get("source", {}).get("branches") or ["main"]):
                self._ci_pool.submit(self._run_pull_request_ci, pipe, event)
                started["ci"].append(pipe.name)
        runs.record_event(self.store, "controller", repo, "PullRequest",
                          f"#{event.number} {event.action} {event.head_sha[:12]}")  # fmt: skip
        return started

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
        for app in resource_store.list_kind(self.store, "Application"):
            known += [str(s.get("repoURL", "")) for s in _sources(app)]
        return next((u for u in urls for k in known if k and same_repo(u, k)), None)

    def on_registry_notification(self, body: bytes, headers: dict[str, str]) -> int:
        """Hand the pushes in a registry notification to the updater; return how many."""
        received = now()
        events = registry_webhooks.parse(body, headers)
        pushes = [e for e in events if e.tag]
        for p in pushes:  # a registry's redelivery of the same push counts as a repeat
            store_events.emit(self.store, ObjectRef("Image", p.image), IMAGE_PUSHED,
                              f"{p.image}:{p.tag}" + (f"@{p.digest}" if p.digest else ""),
                              source=p.source or "registry")  # fmt: skip
        if pushes:
            pushed = _push_times(body)
            self._update_pool.submit(self._run_update, pushes, received, pushed)
        return len(pushes)

    # -- workers ------------------------------------------------------------------------------

    def _step_env(self, pipe: Resource) -> dict[str, str]:
        """PATH with ``shipway`` on it, the Docker API (podman) with registry aliases, and
        the git source of other repositories (``spec.gitURL``, read by ``ci.remote``)."""
        aliases = dict(pipe.spec.get("registryAliases") or {}) or docker_api.parse_aliases(
            os.environ.get("SHIPWAY_REGISTRY_ALIASES", "")
        )
        loopback = [
            str(v)
            for v in (pipe.spec.get("vars") or {}).values()
            if str(v).startswith(("127.0.0.1:", "localhost:"))
        ]
        try:
            docker, path = docker_api.step_env(self.settings, aliases, loopback)
        except ShipwayError as exc:  # steps that use docker will say so; others run
            log.warning("no Docker API for CI steps: %s", exc)
            docker, path = {}, []
        path += [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
        git_url = {"SHIPWAY_GIT_URL": str(pipe.spec["gitURL"])} if pipe.spec.get("gitURL") else {}
        return {"PATH": os.pathsep.join(path), "SHIPWAY_HOME": str(self.settings.home), **docker,
                **git_url}  # fmt: skip

    def _run_ci(self, pipe: Resource, update: RefUpdate) -> None:
        """CI for a push; a branch push feeds releases of the pipeline's applications."""
        source = pipe.spec["source"]
        tracker = self.tracker if update.branch is not None else None
        if tracker is not None:
            tracker.ci_started(
                update.after, source["repoURL"], list(pipe.spec.get("applications") or [])
            )
        payload = {
            "ref": update.ref,
            "before": update.before,
            "after": update.after,
            "repository": {"clone_url": source["repoURL"], "name": pipe.name},
        }
        self.statuses.started(pipe, update.after, "push")
        try:
            records = self._run_event(pipe, "push", update.after, update.ref, payload)
        except ShipwayError as exc:
            log.error("CI for %s %s failed: %s", update.ref, update.after[:12], exc)
            self.statuses.failed(pipe, update.after, str(exc))
            if tracker is not None:
                tracker.ci_error(update.after, str(exc))
            return
        self.statuses.finished(pipe, update.after, "push", records)
        if tracker is None:
            return
        if not records:
            tracker.ci_error(update.after, "no workflow runs on this push")
        for record in records:
            tracker.ci_finished(update.after, record)

    def _run_pull_request_ci(self, pipe: Resource, event: GitEvent) -> None:
        """CI for a pull request, on the merge of its head into its base (no release)."""
        payload = pull_request_payload(event, pipe.spec["source"]["repoURL"], pipe.name)
        ref = f"refs/pull/{event.number}/merge"
        self.statuses.started(pipe, event.head_sha, "pull_request")
        try:
            records = self._run_event(pipe, "pull_request", event.head_sha, ref, payload,
                                      merge_into=event.base_ref)  # fmt: skip
        except ShipwayError as exc:
            log.error("CI for pull request #%s failed: %s", event.number, exc)
            runs.record_event(self.store, "controller", f"Pipeline/{pipe.name}",
                              "PullRequestCIFailed", f"#{event.number}: {exc}")  # fmt: skip
            self.statuses.failed(pipe, event.head_sha, str(exc))
            return
        self.statuses.finished(pipe, event.head_sha, "pull_request", records)
        for record in records:
            log.info("pull request #%s: run %s %s", event.number, record.get("id"),
                     record.get("conclusion"))  # fmt: skip

    def _run_event(
        self,
        pipe: Resource,
        event: str,
        commit: str,
        ref: str,
        payload: dict[str, Any],
        merge_into: str | None = None,
    ) -> list[dict[str, Any]]:
        return ci_service.run_event(
            self.store,
            repo=pipe.spec["source"]["repoURL"],
            commit=commit,
            ref=ref,
            event=event,
            payload=payload,
            workdir=self.settings.work_dir / "ci",
            vars=dict(pipe.spec.get("vars") or {}),
            secrets={},  # the engine issues every job its own GITHUB_TOKEN, as GitHub does
            env=self._step_env(pipe),
            workflows=list(pipe.spec.get("workflows") or []) or None,
            merge_into=merge_into,
            runner=pipe.spec.get("runner"),
            pipeline=pipe.name,
            environments=ci_environments.from_data(
                pipe.spec.get("environments") or {}, self.settings.home, f"Pipeline/{pipe.name}"
            ),
        )

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
                res.app,
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
        )
        report()
        if result.ok:
            health = deploy_engine.wait_healthy(self.store, app_name, timeout=self.health_timeout)
            report(health=health, health_finished=now())

    # -- start-up -----------------------------------------------------------------------------

    def resume_interrupted(self) -> None:
        """Finish what a killed controller left running: syncs first, then CI runs."""
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

    def start(self, resync: float) -> None:
        """Resume interrupted work in the background, then run the periodic passes."""
        threading.Thread(target=self._resume_safely, name="resume", daemon=True).start()
        self.start_periodic(resync)

    def _resume_safely(self) -> None:
        try:
            self.resume_interrupted()
        except Exception:
            log.exception("resuming interrupted work failed")

    # -- periodic -----------------------------------------------------------------------------

    def start_periodic(self, interval: float = 60.0) -> None:
        """Self-heal drifted applications and poll registries as a fallback to webhooks."""

        def loop() -> None:
            while not self._stop.wait(interval):
                for fn in (deploy_engine.self_heal_pass, self._poll_images):
                    try:
                        fn(self.store)
                    except Exception:
                        log.exception("periodic %s failed", fn.__name__)

        self._periodic = threading.Thread(target=loop, name="periodic", daemon=True)
        self._periodic.start()

    def _poll_images(self, store: Store) -> None:
        update_engine.run_once(store, workdir=self.settings.work_dir / "updater")

    def shutdown(self) -> None:
        self._stop.set()
        for pool in (self._ci_pool, self._update_pool, self._deploy_pool):
            pool.shutdown(wait=False, cancel_futures=True)


def _push_times(body: bytes) -> dict[tuple[str, str], dt.datetime]:
    """When the registry says each tag was pushed (distribution envelopes carry it)."""
    try:
        events = json.loads(body).get("events") or []
    except (ValueError, AttributeError):
        return {}
    out: dict[tuple[str, str], dt.datetime] = {}
    for ev in events:
        target, request = ev.get("target") or {}, ev.get("request") or {}
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


def _sources(app: Resource) -> list[dict[str, Any]]:
    spec = app.spec
    if spec.get("sources"):
        return list(spec["sources"])
    return [spec["source"]] if spec.get("source") else []
