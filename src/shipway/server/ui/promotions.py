"""The Promotions page: Warehouses and Stages as a graph, Freight, promote and approve.

``/promotions`` (every Kargo Project the caller may see) and
``/promotions/{project}``: Warehouses in the first column, each Stage in the
column after its furthest upstream; what Freight each Stage holds, its
verification, the soak time still to run for Freight coming from upstream
Stages, the recent Promotions; ``POST /promotions/{project}/{stage}/promote``
(``promotions, promote``) starts one through ``shipway.promote.start`` and hands
it to the controller's promotion lane; ``.../approve`` (``promotions, approve``)
approves Freight for the Stage. Touches the store.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from shipway.auth.policy import Authorizer
from shipway.controller import promotions as lane
from shipway.model.resources import Resource
from shipway.promote import start as starter
from shipway.server.auth import identity
from shipway.server.ui import forms
from shipway.server.ui.render import page
from shipway.store import resources as store_resources
from shipway.store.db import Store

_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def go_duration(text: str) -> float | None:
    """Seconds of a Go duration (``1h30m``, ``90s``); None when it is not one."""
    text = (text or "").strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def _time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def held(stage: Resource) -> list[dict[str, Any]]:
    """The Freight references a Stage holds now (its newest ``freightHistory`` entry)."""
    hist = stage.status.get("freightHistory") or []
    return list(((hist[0] if hist else {}).get("items") or {}).values())


def columns(warehouses: list[Resource], stages: list[Resource]) -> list[list[dict[str, Any]]]:
    """Column 0: Warehouses; a Stage one column right of its furthest upstream."""
    by_name = {s.name: s for s in stages}
    depth: dict[str, int] = {}

    def level(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name in depth:
            return depth[name]
        ups = [u for u in upstreams(by_name[name]) if u in by_name and u not in seen]
        depth[name] = 1 + max((level(u, seen | {name}) for u in ups), default=0)
        return depth[name]

    cols: list[list[dict[str, Any]]] = [[{"kind": "Warehouse", "res": w} for w in warehouses]]
    for s in stages:
        d = level(s.name)
        while len(cols) <= d:
            cols.append([])
        cols[d].append({"kind": "Stage", "res": s})
    return cols


def upstreams(stage: Resource) -> list[str]:
    out: list[str] = []
    for req in stage.spec.get("requestedFreight") or []:
        out += [str(u) for u in (req.get("sources") or {}).get("stages") or []]
    return out


def origins(stage: Resource) -> list[str]:
    return [
        str((r.get("origin") or {}).get("name", ""))
        for r in stage.spec.get("requestedFreight") or []
    ]


def candidates(
    stage: Resource, freights: list[Resource], stages: dict[str, Resource], now: dt.datetime
) -> list[dict[str, Any]]:
    """Freight the Stage may take: from its Warehouse directly, or held by an upstream Stage
    (with the soak time that remains there)."""
    out = []
    for req in stage.spec.get("requestedFreight") or []:
        origin = str((req.get("origin") or {}).get("name", ""))
        src = req.get("sources") or {}
        soak = go_duration(str(src.get("requiredSoakTime") or ""))
        for f in freights:
            if str((f.body.get("origin") or {}).get("name", "")) != origin:
                continue
            via = [u for u in src.get("stages") or [] if u in (f.status.get("currentlyIn") or {})]
            if not src.get("direct") and not via:
                continue
            remaining = None
            if soak and via:
                up = stages.get(via[0])
                since = _time(
                    ((up.status.get("lastPromotion") or {}).get("finishedAt") if up else "") or ""
                )
                if since is not None:
                    remaining = max(0.0, soak - (now - since).total_seconds())
            out.append(
                {
                    "freight": f,
                    "via": via,
                    "soak": soak,
                    "remaining": remaining,
                    "approved": stage.name in (f.status.get("approvedFor") or {}),
                    "verified": list(f.status.get("verifiedIn") or {}),
                }
            )
    return out


def install(app: FastAPI, store: Store, rbac: Authorizer) -> None:
    def visible(request: Request, project: str) -> list[Resource]:
        allowed = rbac.object_filter(identity(request), "promotions", "get")
        return [
            s
            for s in store_resources.list_kind(store, "Stage", project)
            if allowed(f"{project}/{s.name}")
        ]

    @app.get("/promotions", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        projects = []
        for p in store_resources.list_kind(store, "Project"):
            projects.append(
                {
                    "name": p.name,
                    "stages": len(visible(request, p.name)),
                    "warehouses": len(store_resources.list_kind(store, "Warehouse", p.name)),
                }
            )
        return page(request, rbac, "promotions.html", projects=projects)

    @app.get("/promotions/{project}", response_class=HTMLResponse)
    def project_page(request: Request, project: str) -> HTMLResponse:
        stages = visible(request, project)
        warehouses = store_resources.list_kind(store, "Warehouse", project)
        if (
            not stages
            and not warehouses
            and store_resources.find(store, "Project", project) is None
        ):
            from shipway.model.errors import NotFoundError

            raise NotFoundError(f"Project {project!r} not found", subject=f"Project/{project}")
        freights = store_resources.list_kind(store, "Freight", project)
        by_name = {s.name: s for s in stages}
        now = dt.datetime.now(dt.UTC)
        cands = {s.name: candidates(s, freights, by_name, now) for s in stages}
        promos = sorted(
            store_resources.list_kind(store, "Promotion", project),
            key=lambda r: r.name,
            reverse=True,
        )[:30]
        return page(
            request,
            rbac,
            "project.html",
            project=project,
            cols=columns(warehouses, stages),
            held=held,
            upstreams=upstreams,
            origins=origins,
            cands=cands,
            freights=freights,
            promotions=promos,
        )

    @app.post("/promotions/{project}/{stage}/promote", response_class=HTMLResponse)
    async def promote(request: Request, project: str, stage: str) -> HTMLResponse:
        form = await forms.checked(request)
        rbac.require(identity(request), "promotions", "promote", f"{project}/{stage}")
        freight = forms.required(form, "freight")
        started = await run_in_threadpool(
            starter.start, store, project, stage, freight, source="shipway ui"
        )
        lane.enqueue(store, started.key)
        return page(
            request,
            rbac,
            "_done.html",
            message=f"promotion {started.name} created; the controller runs it",
        )

    @app.post("/promotions/{project}/{stage}/approve", response_class=HTMLResponse)
    async def approve(request: Request, project: str, stage: str) -> HTMLResponse:
        form = await forms.checked(request)
        who = identity(request)
        rbac.require(who, "promotions", "approve", f"{project}/{stage}")
        freight = forms.required(form, "freight")
        await run_in_threadpool(starter.approve, store, project, stage, freight, who.name)
        return page(
            request,
            rbac,
            "_done.html",
            message=f"Freight {freight} approved for {stage} by {who.name}",
        )
