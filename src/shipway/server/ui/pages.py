"""The UI's list pages and the login form: applications, releases, CI runs, previews.

``/login`` (form; ``POST``: a session cookie, throttled), ``POST /logout``,
``/`` and ``/applications`` (tiles or table, filters, search, counts, pages;
``/applications/list`` is the live part the page's script reloads), ``/releases``
and ``/releases/{id}`` (the timeline), ``/ci/runs`` and ``/ci/runs/{id}`` (jobs by
``needs``, step log, approvals with approve and reject); ``/previews`` is ``ui.previews``. Lists
leave out what the caller may not ``get``. Touches the store through the engines'
store modules.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from shipway.auth import accounts
from shipway.auth.policy import Authorizer
from shipway.model.errors import UnauthenticatedError
from shipway.model.release import Release
from shipway.server import session
from shipway.server.api import app_object, run_pipeline
from shipway.server.auth import identity
from shipway.server.ui import appindex, forms
from shipway.server.ui.render import enforcer_of, page
from shipway.store import accounts as store_accounts
from shipway.store import ci_coord, releases, runs
from shipway.store.db import Store


def _login_page(
    request: Request,
    rbac: Authorizer,
    error: str = "",
    status: int = 200,
    username: str = "",
    next_: str | None = None,
) -> HTMLResponse:
    token = session.new_login_csrf()
    resp = page(
        request,
        rbac,
        "login.html",
        status_code=status,
        error=error,
        login_csrf=token,
        next=session.safe_next(next_ or request.query_params.get("next")),
        username=username,
    )
    resp.set_cookie(
        session.LOGIN_CSRF,
        token,
        httponly=True,
        samesite="lax",
        secure=session.secure(request),
        path="/login",
    )
    return resp


def install_login(app: FastAPI, store: Store, rbac: Authorizer) -> None:
    throttle = session.Throttle()

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return _login_page(request, rbac)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        raw = await request.form()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        user = form.get("username", "").strip()
        address = request.client.host if request.client else "?"
        cookie = request.cookies.get(session.LOGIN_CSRF, "")
        back = form.get("next")
        if not cookie or form.get("csrf") != cookie:
            return _login_page(request, rbac, "the form expired: sign in again", 403, user, back)
        wait = throttle.wait(user, address)
        if wait > 0:
            refused = _login_page(
                request,
                rbac,
                f"too many failed sign-ins: try again in {int(wait) + 1} s",
                429,
                user,
                back,
            )
            refused.headers["Retry-After"] = str(int(wait) + 1)
            return refused
        try:
            _rec, token = await run_in_threadpool(
                accounts.login, store, user, form.get("password", "")
            )
        except UnauthenticatedError as exc:
            throttle.failed(user, address)
            return _login_page(request, rbac, str(exc), 401, user, back)
        throttle.succeeded(user, address)
        target = session.safe_next(form.get("next"))
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie(
            session.COOKIE,
            token,
            httponly=True,
            samesite="lax",
            path="/",
            secure=session.secure(request),
            max_age=int(accounts.SESSION_TTL.total_seconds()),
        )
        resp.delete_cookie(session.LOGIN_CSRF, path="/login")
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await forms.checked(request)
        who = identity(request)
        if who.token_kind == "session":
            store_accounts.revoke_token(store, who.name, who.token_id)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(session.COOKIE, path="/")
        return resp


def _query(request: Request) -> appindex.Query:
    p = request.query_params

    def num(name: str, default: int) -> int:
        value = p.get(name, "")
        return int(value) if value.isdigit() else default

    return appindex.Query(
        project=p.get("project", ""),
        cluster=p.get("cluster", ""),
        namespace=p.get("namespace", ""),
        sync=p.get("sync", ""),
        health=p.get("health", ""),
        labels=appindex.parse_labels(p.get("labels", "")),
        q=p.get("q", ""),
        page=num("page", 1),
        per_page=num("per", 100),
    )


def install(app: FastAPI, store: Store, rbac: Authorizer) -> None:
    index = appindex.AppIndex(store)

    def selection(request: Request) -> appindex.Selection:
        who = identity(request)
        enforcer = enforcer_of(request, rbac)
        allowed = enforcer.object_filter(who.name, who.claims, "applications", "get")
        key = (enforcer.policy, who.name, repr(sorted(who.claims.items())))
        return appindex.select(index.visible(key, allowed), _query(request))

    def apps_context(request: Request) -> dict[str, Any]:
        view = request.query_params.get("view", "tiles")
        query = {k: v for k, v in request.query_params.items() if k != "page"}
        return {
            "sel": selection(request),
            "view": "table" if view == "table" else "tiles",
            "query": query,
            "q": _query(request),
        }

    @app.get("/", response_class=HTMLResponse)
    @app.get("/applications", response_class=HTMLResponse)
    def applications(request: Request) -> HTMLResponse:
        return page(request, rbac, "apps.html", **apps_context(request))

    @app.get("/applications/list", response_class=HTMLResponse)
    def applications_list(request: Request) -> HTMLResponse:
        return page(request, rbac, "_apps_list.html", **apps_context(request))

    @app.get("/releases", response_class=HTMLResponse)
    def releases_page(request: Request, app: str | None = None) -> HTMLResponse:
        who = identity(request)
        allowed = rbac.object_filter(who, "applications", "get")
        rels = [
            r
            for r in releases.list_releases(store, app=app or None, limit=100)
            if allowed(app_object(store, r.app))
        ]
        return page(request, rbac, "releases.html", releases=rels, app_filter=app or "")

    @app.get("/releases/{release_id}", response_class=HTMLResponse)
    def release_page(request: Request, release_id: str) -> HTMLResponse:
        rel = releases.get(store, release_id)
        rbac.require(identity(request), "applications", "get", app_object(store, rel.app))
        return page(request, rbac, "release.html", rel=rel, promotions=_promotions_of(store, rel))

    def run_obj(record: dict[str, Any]) -> str:
        return f"{run_pipeline(record)}/{record.get('id')}"

    @app.get("/ci/runs", response_class=HTMLResponse)
    def runs_page(request: Request) -> HTMLResponse:
        allowed = rbac.object_filter(identity(request), "ci-runs", "get")
        found = [r for r in runs.list_runs(store, limit=100) if allowed(run_obj(r))]
        return page(request, rbac, "runs.html", runs=found)

    def run_context(request: Request, run_id: str) -> dict[str, Any]:
        """What the run page and its live fragment show (the caller may ``get`` the run)."""
        record, _log = runs.get_run(store, run_id)
        rbac.require(identity(request), "ci-runs", "get", run_obj(record))
        return {
            "run": record,
            "columns": job_columns(record),
            "waiting": ci_coord.waiting(store, str(record["id"])),
            "pipeline": run_pipeline(record),
            "obj": run_obj(record),
        }

    @app.get("/ci/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        return page(request, rbac, "run.html", **run_context(request, run_id))

    @app.get("/ci/runs/{run_id}/live", response_class=HTMLResponse)
    def run_live(request: Request, run_id: str) -> HTMLResponse:
        return page(request, rbac, "_run_live.html", **run_context(request, run_id))

    @app.get("/ci/runs/{run_id}/log", response_class=PlainTextResponse)
    def run_log(request: Request, run_id: str, job: str = "") -> str:
        record, log = runs.get_run(store, run_id)
        rbac.require(identity(request), "ci-runs", "logs", run_obj(record))
        if not job:
            return log
        return "\n".join(line for line in log.splitlines() if _log_job(line) == job)

    @app.post("/ci/runs/{run_id}/review", response_class=HTMLResponse)
    async def review(request: Request, run_id: str) -> Response:
        from shipway.ci.environments import decide

        form = await forms.checked(request)
        who = identity(request)
        record, _log = runs.get_run(store, run_id)
        env = forms.required(form, "environment")
        rbac.require(who, "ci-runs", "approve", f"{run_pipeline(record)}/{env}")
        approve = form.get("decision") != "reject"
        done = await run_in_threadpool(
            decide, store, str(record["id"]), env, approve, who.name, form.get("comment", "")
        )
        return page(request, rbac, "_reviewed.html", done=done, approve=approve, who=who.name)


def _log_job(line: str) -> str:
    """The job a log line belongs to (lines read ``[job] ...`` or ``job | ...``)."""
    if line.startswith("["):
        return line[1:].partition("]")[0].partition(" / ")[0].strip()
    return line.partition(" | ")[0].strip() if " | " in line else ""


def job_columns(record: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The run's jobs in columns by ``needs``: column N holds jobs that need column N-1's."""
    jobs = list(record.get("jobs") or [])
    ids = {str(j.get("id")) for j in jobs}
    depth: dict[str, int] = {}

    def level(jid: str, seen: frozenset[str] = frozenset()) -> int:
        if jid in depth:
            return depth[jid]
        job: dict[str, Any] = next((j for j in jobs if str(j.get("id")) == jid), {})
        needs = [n for n in job.get("needs") or [] if n in ids and n not in seen]
        depth[jid] = 1 + max((level(n, seen | {jid}) for n in needs), default=-1)
        return depth[jid]

    columns: list[list[dict[str, Any]]] = []
    for j in jobs:
        d = level(str(j.get("id")))
        while len(columns) <= d:
            columns.append([])
        columns[d].append(j)
    return columns


def _promotions_of(store: Store, rel: Release) -> list[dict[str, Any]]:
    """The Stages holding Freight with the release's image, stage by stage."""
    from shipway.store import resources as store_resources

    if not rel.image:
        return []
    digest = rel.image.rpartition("@")[2]
    out = []
    for freight in store_resources.list_kind(store, "Freight"):
        imgs = freight.body.get("images") or []
        if not any(digest and digest == str(i.get("digest", "")) for i in imgs):
            continue
        for stage in sorted(freight.status.get("currentlyIn") or {}):
            found = store_resources.find(store, "Stage", stage, freight.namespace)
            last = (found.status.get("lastPromotion") or {}) if found else {}
            out.append(
                {
                    "project": freight.namespace,
                    "stage": stage,
                    "freight": freight.name,
                    "alias": freight.body.get("alias", ""),
                    "promotion": last.get("name", ""),
                    "phase": (last.get("status") or {}).get("phase", ""),
                    "finishedAt": last.get("finishedAt", ""),
                }
            )
    return out
