"""Release records of Kargo promotions, so DORA sees every stage, the last one too.

A promotion's ``argocd-update`` steps sync Applications themselves (not through the
controller's reconcile, which tells the release tracker), so without this a stage after the
first has no release records. ``record(store, state)``, after a promotion succeeded: for
each Application its ``argocd-update`` steps synced (Kargo's ``healthChecks``), one release
of the promoted Freight: the source commit, its repository and its time from the release of
that Freight's image (the first stage's, CI's), else the Freight's first commit; ``ci`` and
``image`` skipped (they happened once, upstream); ``update`` from the promotion's start to
its end, ``sync`` and ``health`` at its end (the step waited for Healthy), so the release is
live when the promotion succeeded; the Freight linked. An app that already has a release of
that revision gets no second one. A rollback promotion (``rollbackOf``) first marks the
failed Freight's live release of each app ``RolledBack``. Touches the store only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shipway.model import namespaces
from shipway.model.release import SKIPPED, SUCCEEDED, Release
from shipway.store import releases as release_store
from shipway.store import resources as store_resources
from shipway.store.db import Store


def _time(text: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _synced(state: dict[str, Any]) -> list[tuple[str, str]]:
    """``(app key, revision)`` of each Application the promotion's argocd-update steps synced."""
    out = []
    for step in state.get("steps") or []:
        if step.get("uses") != "argocd-update":
            continue
        check = (state.get("stepState") or {}).get(step.get("alias"), {}).get("healthCheck")
        for app in (check or {}).get("apps") or []:
            revs = app.get("desiredRevisions") or []
            if app.get("name") and revs:
                key = namespaces.instance(str(app.get("namespace") or ""), str(app["name"]))
                out.append((key, str(revs[0])))
    return list(dict.fromkeys(out))


def _freight(store: Store, state: dict[str, Any]) -> tuple[dict[str, Any], set[str], str]:
    """The Freight's link, its images (``repo@digest``) and first commit (the runner's copy
    of the Freight, else the stored one)."""
    data = dict(state.get("freight") or {})
    name = str(data.get("name") or (data.get("metadata") or {}).get("name") or "")
    project = str(state.get("project") or "")
    if not data.get("images") and name:
        res = store_resources.find(store, "Freight", name, project)
        data = {**(res.body if res is not None else {}), **data}
    origin = data.get("origin") or {}
    link = {"project": project, "name": name, "alias": data.get("alias", ""),
            "warehouse": origin.get("name", "")} if name else {}  # fmt: skip
    images = {f"{i.get('repoURL')}@{i.get('digest')}" for i in data.get("images") or []
              if i.get("digest")}  # fmt: skip
    commits = [c for c in data.get("commits") or [] if c.get("id")]
    return link, images, str(commits[0]["id"]) if commits else ""


def record(store: Store, state: dict[str, Any], at: dt.datetime | None = None) -> list[Release]:
    """The release records of a promotion that succeeded (see the module's docstring)."""
    at = at or dt.datetime.now(dt.UTC)
    synced = _synced(state)
    if not synced:
        return []
    link, images, first_commit = _freight(store, state)
    known = release_store.list_releases(store, limit=500)
    source = next((r for r in known if r.image in images and r.commit), None)
    failed = str(state.get("rollbackOf") or "")
    out = []
    for app, revision in synced:
        mine = [r for r in known if r.app == app]
        if failed:
            for r in mine:
                if r.status == SUCCEEDED and (r.freight or {}).get("name") == failed:
                    if r.roll_back(at, f"rolled back to Freight {link.get('name', '')} "
                                       f"(promotion {state.get('name', '')})"):  # fmt: skip
                        release_store.save(store, r)
                    break
        if any(r.config_commit == revision for r in mine):
            continue
        rel = Release(id=uuid.uuid4().hex[:12], app=app,
                      commit=source.commit if source else first_commit,
                      source_repo=source.source_repo if source else "",
                      created=_time(state.get("startedAt")) or at,
                      commit_time=source.commit_time if source else None,
                      image=source.image if source else None, freight=dict(link),
                      config_commit=revision)  # fmt: skip
        for name in ("ci", "image"):
            rel.stage(name).status = SKIPPED
        rel.start("update", rel.created)
        rel.finish("update", True, f"promotion {state.get('name', '')}", at=at)
        rel.finish("sync", True, at=at)
        rel.revision = revision
        rel.finish("health", True, at=at)
        release_store.save(store, rel)
        out.append(rel)
    return out
