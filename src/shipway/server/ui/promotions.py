"""The Promotions page: Warehouses and Stages as a graph, Freight, and the promotion actions.

``/promotions`` (every Kargo Project the caller may see) and
``/promotions/{project}``: Warehouses in the first column, each Stage in the
column after its furthest upstream; what Freight each Stage holds, its newest
verification, its promotion window, the Freight it may take (available or
why not, with the soak time left, from ``promote.gates``), the recent
Promotions. The form posts ``/promotions/{project}/{stage}/promote``,
``.../approve``, ``.../verify`` and ``/promotions/{project}/-/abort/{name}``
run ``shipway.server.promoting`` (the REST API's and the CLI's code paths,
RBAC-checked there). Touches the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from shipway.auth.policy import Authorizer
from shipway.model import kargo_stage
from shipway.model.errors import NotFoundError
from shipway.model.resources import Resource
from shipway.promote import gates, records
from shipway.server import promoting
from shipway.server.auth import identity
from shipway.server.ui import forms
from shipway.server.ui.render import page
from shipway.store import resources as store_resources
from shipway.store.db import Store


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


def candidates(stage: Resource, freights: list[Resource], now: dt.datetime) -> list[dict[str, Any]]:
    """Freight the Stage may take or is waiting for: from its Warehouse directly, verified or
    held upstream, or approved for it; whether it is available now (``promote.gates``, as
    ``shipway promote`` decides), why not, and the soak time that remains."""
    try:
        spec = kargo_stage.StageSpec.model_validate(stage.spec)
    except ValueError:
        return []
    out = []
    for req in spec.requested_freight:
        src = req.sources
        for f in freights:
            origin = f.body.get("origin") or {}
            if (origin.get("kind"), origin.get("name")) != (req.origin.kind, req.origin.name):
                continue
            st = f.status or {}
            seen = {**(st.get("currentlyIn") or {}), **(st.get("verifiedIn") or {})}
            via = [u for u in src.stages if u in seen]
            approved = stage.name in (st.get("approvedFor") or {})
            if not src.direct and not via and not approved:
                continue
            avail = gates.availability(req, stage.name, st, now)
            out.append({"freight": f, "via": via, "soak": src.required_soak_time or "",
                        "available": avail.ok, "reason": avail.reason,
                        "remaining": avail.soak_remaining, "approved": approved,
                        "verified": list(st.get("verifiedIn") or {})})  # fmt: skip
    return out


def verification(stage: Resource) -> dict[str, Any]:
    """The newest verification of the Freight the Stage holds (``verificationHistory``)."""
    hist = stage.status.get("freightHistory") or []
    runs = (hist[0] if hist else {}).get("verificationHistory") or []
    return dict(runs[0]) if runs else {}


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
            raise NotFoundError(f"Project {project!r} not found", subject=f"Project/{project}")
        freights = store_resources.list_kind(store, "Freight", project)
        now = records.now()
        cands = {s.name: candidates(s, freights, now) for s in stages}
        gate = {s.name: promoting.gates(store, project, s.name, now) for s in stages}
        shown = {s.name for s in stages}  # a Promotion shows to who may get its Stage
        promos = sorted(
            (
                p
                for p in store_resources.list_kind(store, "Promotion", project)
                if str(p.spec.get("stage") or "") in shown
            ),
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
            gate=gate,
            verification=verification,
            freights=freights,
            promotions=promos,
        )

    async def act(request: Request, fn: Any, *args: str) -> dict[str, Any]:
        """Run a ``server.promoting`` action (it checks RBAC) as the signed-in user."""
        return dict(await run_in_threadpool(fn, store, rbac, identity(request), *args))

    def done(request: Request, message: str) -> HTMLResponse:
        return page(request, rbac, "_done.html", message=message)

    @app.post("/promotions/{project}/{stage}/promote", response_class=HTMLResponse)
    async def promote(request: Request, project: str, stage: str) -> HTMLResponse:
        freight = forms.required(await forms.checked(request), "freight")
        got = await act(request, promoting.promote, project, stage, freight)
        return done(request, f"promotion {got['name']} created; the controller runs it")

    @app.post("/promotions/{project}/{stage}/approve", response_class=HTMLResponse)
    async def approve(request: Request, project: str, stage: str) -> HTMLResponse:
        freight = forms.required(await forms.checked(request), "freight")
        got = await act(request, promoting.approve, project, stage, freight)
        more = "" if got["approved"] else f" ({got['approvals']} of {got['required']} approvals)"
        return done(request, f"Freight {got['freight']} approved for {stage} by "
                             f"{got['approver']}{more}")  # fmt: skip

    @app.post("/promotions/{project}/{stage}/verify", response_class=HTMLResponse)
    async def verify(request: Request, project: str, stage: str) -> HTMLResponse:
        await forms.checked(request)
        got = await act(request, promoting.verify, project, stage)
        if not got["started"]:
            return done(request, f"stage {stage} has no verification: its Freight is verified")
        return done(request, f"verification {got['analysisRun']} of stage {stage} started")

    @app.post("/promotions/{project}/-/abort/{name}", response_class=HTMLResponse)
    async def abort(request: Request, project: str, name: str) -> HTMLResponse:
        await forms.checked(request)
        got = await act(request, promoting.abort, project, name)
        verb = "aborted" if got["aborted"] else f"abort requested (it is {got['phase']})"
        return done(request, f"promotion {name} {verb}")
