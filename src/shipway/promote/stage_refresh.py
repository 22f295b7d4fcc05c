"""Write each Stage's health, conditions and Freight summary (``stage_health``) into the store.

``refresh(store, project=None, stage=None)`` reads the Stages (all, one
project's, or one), their unfinished promotions (the runner's engine state), the
Argo CD Applications their last promotion's health checks name and whether their
current Freight is verified there (for a Stage without verification), and writes
the status ``stage_health.summarize`` makes, with Kargo's
``lastHandledRefresh`` (the Stage's ``kargo.akuity.io/refresh`` token, once
handled: ``promote.refreshes``) and ``promotionWindowStatus`` (the project's
``promotionWindows`` as they gate the Stage now, ``gates.window_status``; absent
when none selects it), when it differs from the stored one; it returns how many
it wrote. The
controller's promotion tick calls it on every pass; the runner and the
verification engine call it for their stage when something ends.

Touches the store only.
"""

from __future__ import annotations

import logging
from typing import Any

from shipway.model import kargo_project
from shipway.promote import gates, records, refreshes, runner, stage_health
from shipway.promote import start as start_mod
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

log = logging.getLogger("shipway.promote")


def _running(store: Store) -> dict[tuple[str, str], stage_health.Running]:
    out: dict[tuple[str, str], stage_health.Running] = {}
    for _key, phase, state in runs.states(store, runner.ENGINE):
        if phase not in ("Pending", "Running"):
            continue
        ref = {"name": str((state.get("freight") or {}).get("name") or "")}
        out.setdefault((str(state.get("project")), str(state.get("stage"))),
                       stage_health.Running(str(state.get("name")), phase, ref))  # fmt: skip
    return out


def _apps(store: Store) -> dict[tuple[str, str], dict[str, Any] | None]:
    return {(a.namespace, a.name): {"status": a.status or {}}
            for a in store_resources.list_kind(store, "Application")}  # fmt: skip


def refresh(store: Store, project: str | None = None, stage: str | None = None) -> int:
    if stage is not None and project is not None:
        one = store_resources.find(store, "Stage", stage, project)
        stages = [one] if one is not None else []
    else:
        stages = store_resources.list_kind(store, "Stage", project)
    if not stages:
        return 0
    running, apps = _running(store), _apps(store)
    windows: dict[str, list[kargo_project.PromotionWindow]] = {}
    written = 0
    for res in stages:
        if (res.spec or {}).get("requestedFreight") is None:
            continue
        if res.namespace not in windows:
            windows[res.namespace] = _windows(store, res.namespace)

        def put(cur: dict[str, Any], r: Any = res, rn: Any = running, a: Any = apps,
                now: str = records.iso(),
                w: list[Any] = windows[res.namespace]) -> dict[str, Any] | None:  # fmt: skip
            new = _summary(store, r, rn, a, now, cur)
            new = _kargo_fields(r, cur if new is None else new, w, now)
            return new if new != cur else None

        if records.update(store, "Stage", res.name, res.namespace, put) is not None:
            written += 1
    return written


def _windows(store: Store, project: str) -> list[kargo_project.PromotionWindow]:
    try:
        return list(start_mod.project_config(store, project).promotion_windows)
    except ValueError:  # refused at apply; a stored one that no longer reads gates nothing here
        return []


def _kargo_fields(res: Any, status: dict[str, Any], windows: list[kargo_project.PromotionWindow],
                  now: str) -> dict[str, Any]:  # fmt: skip
    """``status`` with ``lastHandledRefresh`` and ``promotionWindowStatus`` as Kargo writes them."""
    out = refreshes.handled(status, res.body)
    at = gates.parse_time(now)
    labels = dict((res.body.get("metadata") or {}).get("labels") or {})
    state = gates.window_status(windows, res.name, labels, at) if at is not None else None
    if state is None:
        out = {k: v for k, v in out.items() if k != "promotionWindowStatus"}
    elif out.get("promotionWindowStatus") != state:
        out = {**out, "promotionWindowStatus": state}
    return out


def _summary(store: Store, res: Any, running: dict[tuple[str, str], stage_health.Running],
             apps: dict[tuple[str, str], dict[str, Any] | None], now: str,
             status: dict[str, Any] | None = None) -> dict[str, Any] | None:  # fmt: skip
    status = dict(res.status or {}) if status is None else status
    current = stage_health.current_freight(status)
    verified = False  # without verification, a promotion's success verifies it (Kargo)
    if current and not ((res.spec.get("verification") or {}).get("analysisTemplates")):
        found = store_resources.find(store, "Freight", current[0], res.namespace)
        verified = found is not None and res.name in ((found.status or {}).get("verifiedIn") or {})
    new = stage_health.summarize(
        status, generation=res.generation or 1,
        requested=len(res.spec.get("requestedFreight") or []),
        running=running.get((res.namespace, res.name)), apps=apps, verified_here=verified,
        now=now,
    )  # fmt: skip
    return None if new == status else new
