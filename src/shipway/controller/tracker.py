"""Release tracking: engines report facts, the tracker writes them onto release records.

Facts arrive in any order (a registry push can be heard before the CI run that
made it has finished; a config-repo push reaches the reconciler before the
updater has returned). Each fact is stored as engine state keyed by what it is
about, and every report re-links the releases it can: so a release record is
complete once all facts are in, whatever their order. A release whose image a
Kargo Warehouse made Freight of links that Freight, whichever of the two was
recorded first. A config commit a CI run pushed itself (the run's image digest is
in the commit's change) is that run's release's update, whichever of the run's end
and the commit's sync is heard first (``config_committed``). Touches only the store.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from typing import Any

from shipway.model.errors import ShipwayError
from shipway.model.release import FAILED, RUNNING, Release, iso, now
from shipway.model.resources import Resource
from shipway.store import releases as release_store
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

_DEPLOY = "deploy-facts"
_BUILT = "ci-built"  # app|digest: the release whose CI run named that image digest
_CONFIG = "ci-config"  # app|digest: a config commit (not the updater's) that added it
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def built_images(record: dict[str, Any]) -> dict[str, str]:
    """The image digests a CI run's record names (its results and its jobs' outputs, such
    as Tekton's ``IMAGE_DIGEST``), each with the repository a sibling value names (an
    ``IMAGE_URL`` without its tag), '' when none does."""
    groups = [record.get("results"), *[j.get("outputs") for j in record.get("jobs") or []]]
    found: dict[str, str] = {}
    for values in groups:
        if not isinstance(values, dict):
            continue
        texts = [str(v) for v in values.values() if isinstance(v, (str, int, float))]
        repos = [_untagged(t) for t in texts if "/" in t and not _DIGEST.search(t)
                 and " " not in t.strip() and "://" not in t]  # fmt: skip
        name = repos[0] if len(repos) == 1 else ""
        for text in texts:
            for digest in _DIGEST.findall(text):
                found[digest] = found.get(digest) or name  # a named one wins
    return found


def _untagged(ref: str) -> str:
    """``host:5000/acme/app:tag`` → ``host:5000/acme/app``."""
    head, sep, tag = ref.strip().rpartition(":")
    return head if sep and "/" not in tag else ref.strip()


def freight_images(body: dict[str, Any]) -> set[str]:
    """A Freight's images as release records name them: ``repoURL@digest``."""
    return {f"{i.get('repoURL')}@{i.get('digest')}" for i in body.get("images") or []
            if i.get("digest")}  # fmt: skip


def freight_link(res: Resource) -> dict[str, Any]:
    origin = res.body.get("origin") or {}
    return {"project": res.namespace, "name": res.name, "alias": res.body.get("alias", ""),
            "warehouse": origin.get("name", "")}  # fmt: skip


def _t(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class ReleaseTracker:
    """Writes stage facts onto release records; thread-safe within one process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.RLock()

    def ci_started(self, commit: str, source_repo: str, apps: list[str]) -> list[Release]:
        """A release per application for CI of ``commit``; one already under way is kept, so a
        push handled again (a worker died and the inbox handed it over) makes no second one."""
        with self._lock:
            out = []
            for app in apps:
                current = [r for r in release_store.for_commit(self.store, commit, app)
                           if r.status == RUNNING and r.stage("ci").status == RUNNING]  # fmt: skip
                if current:
                    out.append(current[-1])
                    continue
                rel = Release(
                    id=uuid.uuid4().hex[:12], app=app, commit=commit, source_repo=source_repo
                )
                rel.start("ci")
                release_store.save(self.store, rel)
                out.append(rel)
            return out

    def commit_made(self, commit: str, at: dt.datetime) -> None:
        """When ``commit`` was made (its committer date), onto its releases that lack it."""
        with self._lock:
            for rel in release_store.for_commit(self.store, commit):
                if rel.commit_time is None:
                    rel.commit_time = at
                    release_store.save(self.store, rel)

    def ci_finished(self, commit: str, record: dict[str, Any], reason: str = "") -> None:
        """CI of ``commit`` ended; ``reason`` (the run's first error) goes into a failure."""
        ok = record.get("conclusion") == "success"
        with self._lock:
            for rel in release_store.for_commit(self.store, commit):
                if rel.stage("ci").status != RUNNING:
                    continue
                rel.ci_run = rel.ci_run or record.get("id")
                msg = (
                    "" if ok else f"CI run {record.get('id')} concluded {record.get('conclusion')}"
                )
                if reason and not ok:
                    msg += f": {reason}"
                rel.finish("ci", ok, msg)
                release_store.save(self.store, rel)
                if ok:
                    self._built(rel, record)

    def _built(self, rel: Release, record: dict[str, Any]) -> None:
        """Keep the digests the run named; one a config commit already added links it."""
        for digest, name in built_images(record).items():
            key = f"{rel.app}|{digest}"
            runs.put_state(self.store, _BUILT, key, "built",
                           {"release": rel.id, "run": rel.ci_run, "image": name})  # fmt: skip
            found = runs.get_state(self.store, _CONFIG, key)
            if found and not rel.config_commit:
                facts = found[1]
                self._link_config(rel, digest, facts.get("image") or name, facts)
                return

    def config_committed(
        self, app: str, commit: str, committed: dt.datetime, images: dict[str, str]
    ) -> Release | None:
        """The reconciler synced config ``commit`` of ``app``, which no release's update
        made: when it added (``images``: digest → image name) a digest a CI run of ``app``'s
        named, it is that run's update (the run pushed it, as the Tekton catalog's
        ``git-update-deployment`` does); kept either way for a run that ends later."""
        with self._lock:
            recent = release_store.list_releases(self.store, app=app, limit=20)
            if any(r.config_commit == commit for r in recent):
                return None
            for digest, name in images.items():
                key = f"{app}|{digest}"
                facts = {"config_commit": commit, "committed": iso(committed), "image": name}
                runs.put_state(self.store, _CONFIG, key, "committed", facts)
                built = runs.get_state(self.store, _BUILT, key)
                if built is None:
                    continue
                try:
                    rel = release_store.get(self.store, str(built[1]["release"]))
                except ShipwayError:
                    continue
                if rel.status == RUNNING and not rel.config_commit:
                    self._link_config(rel, digest, name or str(built[1].get("image") or ""),
                                      facts)  # fmt: skip
                    return rel
            return None

    def _link_config(self, rel: Release, digest: str, name: str, facts: dict[str, Any]) -> None:
        """``rel``'s CI run pushed config commit ``facts['config_commit']`` with ``digest``:
        its image, update (made by the run, which says so) and sync stages follow."""
        at = _t(facts.get("committed")) or now()
        rel.image = f"{name}@{digest}" if name else digest
        rel.freight = rel.freight or self._freight_of(rel.image)
        rel.start("image", at)
        rel.finish("image", True, f"pushed by CI run {rel.ci_run}", at=at)
        rel.start("update", at)
        rel.config_commit = str(facts["config_commit"])
        rel.finish("update", True,
                   f"config commit {rel.config_commit[:12]} made by CI run {rel.ci_run}",
                   at=at)  # fmt: skip
        rel.start("sync", at)
        release_store.save(self.store, rel)
        self._apply_deploy_facts(rel)

    def ci_error(self, commit: str, message: str) -> None:
        with self._lock:
            for rel in release_store.for_commit(self.store, commit):
                if rel.stage("ci").status == RUNNING:
                    rel.finish("ci", False, message)
                    release_store.save(self.store, rel)

    def image_signed(self, commit: str, facts: dict[str, Any]) -> None:
        """The controller signed the image CI built of ``commit`` (``facts``: the image,
        the CI run, the attestations' predicate types and the SBOM's digest), onto every
        release of that commit, under ``security.signing``."""
        with self._lock:
            for rel in release_store.for_commit(self.store, commit):
                rel.security["signing"] = dict(facts)
                release_store.save(self.store, rel)

    def image_sbom(self, commit: str, facts: dict[str, Any]) -> None:
        """An unsigned SBOM was attached to the image CI built of ``commit`` (no signing
        key), onto every release of that commit, under ``security.sbom``."""
        with self._lock:
            for rel in release_store.for_commit(self.store, commit):
                rel.security["sbom"] = dict(facts)
                release_store.save(self.store, rel)

    def image_updated(
        self,
        app: str,
        source_commit: str | None,
        image: str,
        config_commit: str | None,
        pushed_at: dt.datetime,
        update_started: dt.datetime,
        update_finished: dt.datetime,
        error: str = "",
    ) -> Release:
        """The updater wrote (or failed to write) ``image`` for ``app`` into the config repo."""
        with self._lock:
            rel = self._release_for_image(app, source_commit, image)
            if (
                not config_commit
                and rel.image == image
                and rel.config_commit
                and rel.stage("update").status == "Succeeded"
            ):
                # The same image heard again (another registry event of that repository,
                # such as its SBOM or signature being pushed): the config already holds it
                # since this release's own commit, so the release keeps its progress.
                return rel
            rel.image = image
            rel.freight = rel.freight or self._freight_of(image)
            rel.start("image", pushed_at)
            rel.finish("image", True, at=max(pushed_at, update_started))
            rel.start("update", update_started)
            if error:
                rel.finish("update", False, error, at=update_finished)
            else:
                rel.config_commit = config_commit
                rel.finish(
                    "update",
                    True,
                    "" if config_commit else "config already current",
                    at=update_finished,
                )
                rel.start("sync", update_finished)
            release_store.save(self.store, rel)
            if config_commit:
                self._apply_deploy_facts(rel)
            return rel

    def _freight_of(self, image: str) -> dict[str, Any]:
        """The Freight (any project) holding ``image`` (``repo@sha256:…``), as a link."""
        for res in store_resources.list_kind(self.store, "Freight", None):
            if image in freight_images(res.body):
                return freight_link(res)
        return {}

    def freight_created(self, project: str, name: str) -> None:
        """A Warehouse made Freight ``name``: link the releases whose image it holds."""
        res = store_resources.find(self.store, "Freight", name, project)
        if res is None:
            return
        images = freight_images(res.body)
        with self._lock:
            for rel in release_store.list_releases(self.store, limit=50):
                if rel.image in images and not rel.freight:
                    rel.freight = freight_link(res)
                    release_store.save(self.store, rel)

    def _release_for_image(self, app: str, commit: str | None, image: str) -> Release:
        if commit:
            for rel in reversed(release_store.for_commit(self.store, commit, app)):
                if rel.image in (None, image) and rel.status in (RUNNING, FAILED):
                    return rel
        # An image nobody's CI announced (pushed by hand, or another system): a new release,
        # with the commit's time when another app's release of that commit knows it.
        rel = Release(id=uuid.uuid4().hex[:12], app=app, commit=commit or "")
        rel.stage("ci").status = "Skipped"
        if commit:
            rel.commit_time = next((r.commit_time for r in release_store.for_commit(
                self.store, commit) if r.commit_time), None)  # fmt: skip
        return rel

    def deployed(
        self,
        app: str,
        revision: str,
        *,
        sync_started: dt.datetime,
        sync_finished: dt.datetime,
        sync_ok: bool,
        sync_message: str = "",
        health: str | None = None,
        health_finished: dt.datetime | None = None,
        policy: dict[str, Any] | None = None,
    ) -> None:
        """The reconciler synced ``revision`` of ``app`` (and, when known, its health)."""
        with self._lock:
            key = f"{app}@{revision}"
            found = runs.get_state(self.store, _DEPLOY, key)
            facts = found[1] if found else {}
            facts.update(
                {
                    "sync_started": iso(sync_started),
                    "sync_finished": iso(sync_finished),
                    "sync_ok": sync_ok,
                    "sync_message": sync_message,
                }
            )
            if health is not None:
                facts.update({"health": health, "health_finished": iso(health_finished or now())})
            if policy:
                facts["policy"] = policy
            runs.put_state(self.store, _DEPLOY, key, "known", facts)
            for rel in release_store.list_releases(self.store, app=app, limit=20):
                if rel.config_commit == revision and rel.status == RUNNING:
                    self._apply_deploy_facts(rel)

    def _apply_deploy_facts(self, rel: Release) -> None:
        found = runs.get_state(self.store, _DEPLOY, f"{rel.app}@{rel.config_commit}")
        if not found or rel.status != RUNNING:
            return
        facts = found[1]
        if facts.get("policy"):
            rel.security["policy"] = facts["policy"]
        sync = rel.stage("sync")
        started, finished = _t(facts.get("sync_started")), _t(facts.get("sync_finished"))
        if sync.status in ("Pending", RUNNING) and finished:
            rel.start("sync", started)
            rel.finish("sync", bool(facts["sync_ok"]), facts.get("sync_message", ""), at=finished)
            if facts["sync_ok"]:
                rel.revision = rel.config_commit
                rel.start("health", finished)
        health = facts.get("health")
        if rel.stage("health").status == RUNNING and health:
            ok = health == "Healthy"
            rel.finish(
                "health",
                ok,
                "" if ok else f"application is {health}",
                at=_t(facts.get("health_finished")),
            )
        release_store.save(self.store, rel)
