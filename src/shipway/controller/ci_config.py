"""Config commits a CI run pushed itself, onto the release of that run.

A pipeline that writes the image it built into the config repository (the
Tekton catalog's ``git-update-deployment``, a GitHub Actions job that commits a
kustomization) makes the config commit the image updater would have made. After
the reconciler synced such a commit, ``link`` reads what the commit added
(``deploy.config_change``) and hands its digests to the tracker, which puts the
commit on the release whose CI run named that digest (now, or when the run
ends). A commit a release's update already made is left alone. Reads the store
and the reconciler's mirror of the config repository.
"""

from __future__ import annotations

import logging
from typing import Any

from shipway.controller.tracker import ReleaseTracker
from shipway.deploy import config_change
from shipway.model import namespaces
from shipway.model.errors import ShipwayError
from shipway.settings import Settings
from shipway.store import releases as release_store
from shipway.store import resources as resource_store
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")


def link(settings: Settings, store: Store, tracker: ReleaseTracker, app_name: str,
         revision: str) -> None:  # fmt: skip
    """Config ``revision`` of ``app_name`` was synced: when a CI run pushed it, link it."""
    recent = release_store.list_releases(store, app=app_name, limit=20)
    if any(r.config_commit == revision for r in recent):
        return  # the updater's commit, or one already linked
    ns, name = namespaces.split_app(app_name)
    app = resource_store.find(store, "Application", name, ns)
    for url in _git_sources(app.spec if app is not None else {}):
        try:
            change = config_change.read(settings, url, revision)
        except ShipwayError as exc:
            log.info("config commit %s of %s not read: %s", revision[:12], app_name, exc)
            continue
        if change.images and tracker.config_committed(
            app_name, revision, change.committed, change.images
        ):
            log.info("config commit %s of %s was pushed by CI", revision[:12], app_name)
            return


def _git_sources(spec: dict[str, Any]) -> list[str]:
    sources = list(spec.get("sources") or ([spec["source"]] if spec.get("source") else []))
    return [str(s["repoURL"]) for s in sources if s.get("repoURL") and not s.get("chart")]
