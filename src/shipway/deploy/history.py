"""History, rollback and deletion of applications, on top of ``engine.reconcile``.

``rollback`` syncs to a history entry's revision; with automated sync on it
pins the application there (``status.pin``) so automation does not undo it,
and says so (``SyncResult.pinned``); ``shipway app sync NAME`` lifts the pin.
``delete_app`` runs the PreDelete hooks, removes what the application
deployed (except objects annotated ``Delete=false``), runs the PostDelete
hooks, then removes the Application (``delete_hooks``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shipway.deploy import appspec, delete_hooks
from shipway.deploy import compare as cmp
from shipway.deploy import status as st
from shipway.deploy import sync as syncmod
from shipway.deploy.compare import EventSink
from shipway.deploy.engine import ENGINE, reconcile
from shipway.deploy.status import ResourceResult, SyncResult
from shipway.model import namespaces
from shipway.model.errors import ClusterError, NotFoundError
from shipway.settings import Settings
from shipway.store import emitters, releases, runs
from shipway.store import resources as store_resources
from shipway.store.db import Store


def history(store: Store, app_name: str) -> list[dict[str, Any]]:
    """``app_name``: ``web``, ``dev/web`` or ``dev_web`` (``namespaces.split_app``)."""
    ns, name = namespaces.split_app(app_name)
    app = store_resources.get(store, "Application", name, ns)
    return list(app.status.get("history") or [])


def rollback(
    store: Store,
    app_name: str,
    history_id: int | None = None,
    *,
    settings: Settings | None = None,
    on_event: EventSink | None = None,
    prune: bool = False,
) -> SyncResult:
    """Sync to a history entry's revision (default: the one before the newest).

    With automated sync on, the application is pinned to that revision (its
    ``status.pin``) so automation does not undo the rollback; ``shipway app
    sync NAME`` (``reconcile(..., unpin=True)``) follows targetRevision again.
    """
    entries = history(store, app_name)
    if history_id is None:
        if len(entries) < 2:
            raise NotFoundError(
                "no earlier revision in the history", subject=f"Application/{app_name}"
            )
        entry = entries[-2]
    else:
        found = [h for h in entries if int(h["id"]) == history_id]
        if not found:
            raise NotFoundError(
                f"history id {history_id} not found", subject=f"Application/{app_name}"
            )
        entry = found[0]
    ns, name = namespaces.split_app(app_name)
    app = store_resources.get(store, "Application", name, ns)
    pinned = appspec.policy(app.spec).automated
    if pinned:
        status = dict(app.status)
        status["pin"] = {
            "revision": entry["revision"],
            "historyId": entry["id"],
            "since": st.now(),
            "reason": "rollback while automated sync is enabled",
        }
        store_resources.set_status(store, "Application", name, status, ns)
    res = reconcile(
        store,
        app_name,
        revision=entry["revision"],
        prune=prune,
        on_event=on_event,
        settings=settings,
    )
    res.pinned = pinned
    if not res.dry_run:
        ok = res.phase == "Succeeded"
        message = (f"rolled back to {entry['revision']} (history {entry['id']}): {res.phase}: "
                   f"{res.message}")  # fmt: skip
        rolled = None
        if ok:  # the release that was live is a change failure, restored now (DORA)
            at = dt.datetime.now(dt.UTC)
            rolled = releases.roll_back(store, namespaces.app_key(app_name),
                                        str(entry["revision"]), at, message)  # fmt: skip
        emitters.rollback(store, name, ns, message, ok=ok,
                          release_id=rolled.id if rolled else "")  # fmt: skip
    return res


def delete_app(
    store: Store, app_name: str, *, cascade: bool = True, settings: Settings | None = None
) -> list[ResourceResult]:
    """Delete an application: its live objects first (``cascade``), then the resource.

    With ``cascade``, the app's PreDelete hooks run first and PostDelete hooks
    after its objects are gone (``delete_hooks``); a failed hook (or hooks that
    cannot be rendered) stops the deletion with a ``ClusterError`` naming it.
    """
    ctx = cmp.context(store, app_name, settings, None)
    out: list[ResourceResult] = []
    hooks: list[dict[str, Any]] = []
    if cascade:
        status, _ = cmp.compare(ctx, None)
        hooks = delete_hooks.of_phase(status.hooks, "PreDelete", "PostDelete")
        if status.errors and not status.hooks:
            raise ClusterError(
                "cannot render the application to run its PreDelete/PostDelete hooks: "
                f"{status.errors[0]['message']}; nothing was deleted (--no-cascade deletes "
                "only the Application)",
                subject=f"Application/{app_name}",
            )
        out += _delete_hooks(ctx, hooks, "PreDelete", status.revision)
        live = ctx.target.live(ctx.name)
        objs = sorted(
            (o for o in live.values() if "Delete=false" not in syncmod.sync_options(o)),
            key=syncmod.sort_key,
            reverse=True,
        )
        out += [
            ResourceResult(r.key, "", r.status, r.message, r.action)
            for r in ctx.target.delete(ctx.name, objs)
        ]
        out += _delete_hooks(ctx, hooks, "PostDelete", status.revision)
    ns, name = namespaces.split_app(app_name)
    store_resources.delete(store, "Application", name, ns)
    runs.put_state(store, ENGINE, ctx.name, "Deleted", {})
    return out


def _delete_hooks(
    ctx: cmp.Ctx, hooks: list[dict[str, Any]], phase: str, revision: str
) -> list[ResourceResult]:
    """Run ``phase``'s hooks; raise ``ClusterError`` naming a failed one (nothing more is done)."""
    if not delete_hooks.of_phase(hooks, phase):
        return []
    results = delete_hooks.run(ctx, hooks, phase, revision)
    failed = delete_hooks.failure(results)
    if failed is not None:
        kept = (
            "the application and its resources are kept"
            if phase == "PreDelete"
            else ("the application's resources are deleted; the Application is kept")
        )
        raise ClusterError(
            f"{phase} hook {failed.key} failed: {failed.message}; {kept}",
            subject=f"Application/{ctx.name}",
        )
    delete_hooks.clean_up(ctx, hooks, results)
    return results
