"""The Previews page: the open pull requests' preview environments, from the previews store.

``/previews`` lists what ``shipway.store.previews`` holds (the records the
preview engine, ``shipway.promote.previews``, keeps per pull request): the pull
request (number, title, author, its page on the forge), the preview's URL,
phase and message, its age and when it expires. A preview being torn down
(``Deleting``: its pull request closed or it expired) is left out. RBAC: a
preview is shown when the caller may ``get`` its ApplicationSet
(``applicationsets``, ``<project>/<name>``, the project of the set's template).
Touches the store, read only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from shipway.auth.policy import Authorizer
from shipway.model.preview import Preview
from shipway.server.auth import identity
from shipway.server.ui.render import page
from shipway.store import previews as store_previews
from shipway.store import resources as store_resources
from shipway.store.db import Store


def rows(store: Store, allowed: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """The open previews the caller may see, newest pull request first."""
    projects: dict[tuple[str, str], str] = {}

    def project(p: Preview) -> str:
        ref = (p.appset_namespace, p.appset)
        if ref not in projects:
            res = store_resources.find(
                store, "ApplicationSet", p.appset, p.appset_namespace or None
            )
            tpl = ((res.spec.get("template") or {}).get("spec") or {}) if res else {}
            projects[ref] = str(tpl.get("project") or "default")
        return projects[ref]

    out = []
    for p in store_previews.list_all(store):
        if p.phase == "Deleting" or not allowed(f"{project(p)}/{p.appset}"):
            continue
        out.append({
            **p.to_dict(),
            "age": (now - p.created).total_seconds() if p.created else None,
            "left": (p.expires - now).total_seconds() if p.expires else None,
        })  # fmt: skip
    out.sort(key=lambda r: (r["appset"], -int(r["number"])))
    return out


def install(app: FastAPI, store: Store, rbac: Authorizer) -> None:
    @app.get("/previews", response_class=HTMLResponse)
    def previews(request: Request) -> HTMLResponse:
        allowed = rbac.object_filter(identity(request), "applicationsets", "get")
        found = rows(store, allowed, dt.datetime.now(dt.UTC))
        return page(request, rbac, "previews.html", previews=found)
