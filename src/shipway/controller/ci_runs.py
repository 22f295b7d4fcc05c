"""The controller's CI lane: runs a Pipeline's workflows for a push or a pull request.

``CiRuns.run_push`` runs CI for a branch or tag push and tells the
``ReleaseTracker`` how it went (a branch push feeds releases of the pipeline's
applications); ``CiRuns.run_pull_request`` runs ``pull_request`` workflows on
the merge of a pull request's head into its base, never a release, and hands
its end to the preview lane. Both report commit statuses to the forge
(``StatusReporter``). ``step_env`` is the environment every step gets (PATH,
the Docker API, registry aliases, the git source of other repositories).
May touch the store (through ``ci.service`` and the tracker) and read the
process environment; the CI engine owns all other I/O.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.ci import environments as ci_environments
from shipway.ci import service as ci_service
from shipway.ci.runner import pull_request_runner
from shipway.controller import ci_outcome as outcome
from shipway.controller import previews as previews_lane
from shipway.controller.hooks import RefUpdate, pull_request_payload
from shipway.controller.statuses import StatusReporter
from shipway.controller.tracker import ReleaseTracker
from shipway.git.repo import git
from shipway.git.webhooks import GitEvent
from shipway.model import namespaces
from shipway.model.errors import GitError, ShipwayError
from shipway.model.resources import Resource
from shipway.runtime import docker_api
from shipway.settings import Settings
from shipway.store import inbox, runs
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")


class CiRuns:
    """CI of one Pipeline for one event; ``put`` queues the inbox items a run's end makes."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        tracker: ReleaseTracker,
        statuses: StatusReporter,
        previews: previews_lane.Lane,
        put: Callable[[list[inbox.New]], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.tracker = tracker
        self.statuses = statuses
        self.previews = previews
        self.put = put

    def step_env(self, pipe: Resource) -> dict[str, str]:
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
        joined = ",".join(f"{k}={v}" for k, v in aliases.items())
        named = {"SHIPWAY_REGISTRY_ALIASES": joined} if joined else {}  # Tekton steps' images
        return {"PATH": os.pathsep.join(path), "SHIPWAY_HOME": str(self.settings.home), **docker,
                **git_url, **named}  # fmt: skip

    def run_push(self, pipe: Resource, update: RefUpdate) -> None:
        """CI for a push; a branch push feeds releases of the pipeline's applications."""
        source = pipe.spec["source"]
        tracker = self.tracker if update.branch is not None else None
        if tracker is not None:
            apps = [namespaces.app_key(a) for a in pipe.spec.get("applications") or []]
            tracker.ci_started(update.after, source["repoURL"], apps)
        payload = {
            "ref": update.ref,
            "before": update.before,
            "after": update.after,
            "repository": {"clone_url": source["repoURL"], "name": pipe.name},
        }
        self.statuses.started(pipe, update.after, "push")
        try:
            records = self._run_event(
                pipe,
                "push",
                update.after,
                update.ref,
                payload,
                on_checkout=self._commit_timer(tracker, update.after),
            )
        except (ShipwayError, OSError) as exc:  # OSError: a full disk, at the adapter boundary
            message = f"CI could not run: {exc}"
            log.error("CI for %s %s failed: %s", update.ref, update.after[:12], exc)
            outcome.fail_unfinished(self.store, update.after, message)
            self.statuses.failed(pipe, update.after, str(exc))
            if tracker is not None:
                tracker.ci_error(update.after, message)
            return
        outcome.remove_checkouts(self.store, records)
        self.statuses.finished(pipe, update.after, "push", records)
        if tracker is None:
            return
        if not records:
            tracker.ci_error(update.after, "no workflow runs on this push")
        for record in records:
            tracker.ci_finished(update.after, record, outcome.first_error(self.store, record))

    def run_pull_request(self, pipe: Resource, event: GitEvent) -> None:
        """CI for a pull request, on the merge of its head into its base (no release)."""
        payload = pull_request_payload(event, pipe.spec["source"]["repoURL"], pipe.name)
        ref = f"refs/pull/{event.number}/merge"
        self.statuses.started(pipe, event.head_sha, "pull_request")
        try:
            records = self._run_event(pipe, "pull_request", event.head_sha, ref, payload,
                                      merge_into=event.base_ref, fork=event.fork)  # fmt: skip
        except ShipwayError as exc:
            log.error("CI for pull request #%s failed: %s", event.number, exc)
            runs.record_event(self.store, "controller", f"Pipeline/{pipe.name}",
                              "PullRequestCIFailed", f"#{event.number}: {exc}")  # fmt: skip
            self.statuses.failed(pipe, event.head_sha, str(exc))
            self.put(self.previews.ci_items(pipe, event.head_sha, None, f"CI could not run: {exc}"))
            return
        self.statuses.finished(pipe, event.head_sha, "pull_request", records)
        self.put(self.previews.ci_items(pipe, event.head_sha, records))
        for record in records:
            log.info("pull request #%s: run %s %s", event.number, record.get("id"),
                     record.get("conclusion"))  # fmt: skip

    @staticmethod
    def _commit_timer(tracker: ReleaseTracker | None, commit: str) -> Callable[[Path], None] | None:
        """What reads the commit's committer date in CI's checkout onto its releases (DORA's
        lead time starts there); a commit whose date cannot be read keeps the release's
        creation."""
        if tracker is None:
            return None

        def read(source: Path) -> None:
            try:
                out = git(["show", "-s", "--format=%cI", commit], source, subject=commit)
                at = dt.datetime.fromisoformat(out.strip())
            except (GitError, ValueError) as exc:
                log.warning("no commit time for %s: %s", commit[:12], exc)
                return
            tracker.commit_made(commit, at)

        return read

    def _run_event(
        self,
        pipe: Resource,
        event: str,
        commit: str,
        ref: str,
        payload: dict[str, Any],
        merge_into: str | None = None,
        fork: bool = False,
        on_checkout: Callable[[Path], None] | None = None,
    ) -> list[dict[str, Any]]:
        runner = pipe.spec.get("runner")
        if event == "pull_request":  # untrusted code: podman unless the Pipeline says host
            runner = pull_request_runner(runner)
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
            env=self.step_env(pipe),
            workflows=list(pipe.spec.get("workflows") or []) or None,
            merge_into=merge_into,
            runner=runner,
            pipeline=pipe.name,
            namespace=pipe.namespace,
            from_fork=fork,
            environments=ci_environments.from_data(
                pipe.spec.get("environments") or {}, self.settings.home, f"Pipeline/{pipe.name}"
            ),
            on_checkout=on_checkout,
        )
