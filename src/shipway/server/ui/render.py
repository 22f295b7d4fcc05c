"""Rendering the UI's pages: the Jinja2 environment, filters, and the page context.

Templates and static files are package data (``templates/``, ``static/``): nothing
is loaded from anywhere else. ``page`` fills what every page needs (the signed-in
user, the session's CSRF token, ``can(resource, action, object)`` to hide what
the user may not do) and returns the HTML response. Touches nothing but the
package's files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from shipway.auth.accounts import Identity
from shipway.auth.policy import Authorizer
from shipway.auth.rbac import Enforcer
from shipway.model import namespaces
from shipway.server import session

HERE = Path(__file__).parent
STATIC = HERE / "static"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def rfc3339(value: Any) -> str:
    """A time as RFC 3339 UTC ending in ``Z`` (strings are parsed first)."""
    if value in (None, ""):
        return ""
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return str(value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def duration(seconds: Any) -> str:
    if seconds in (None, ""):
        return ""
    s = float(seconds)
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(s), 60)
    return f"{m}m{sec:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def status_class(value: Any) -> str:
    """A CSS class for a status word (the colour is never the only cue: the word is shown)."""
    v = str(value or "").lower()
    if v in (
        "healthy",
        "synced",
        "succeeded",
        "success",
        "approved",
        "completed",
        "verified",
        "ready",
        "successful",
    ):
        return "ok"
    if v in (
        "degraded",
        "failed",
        "failure",
        "outofsync",
        "rejected",
        "error",
        "missing",
        "errored",
        "aborted",
    ):
        return "bad"
    if v in (
        "progressing",
        "running",
        "in_progress",
        "waiting",
        "pending",
        "suspended",
        "building",
        "deploying",
    ):
        return "busy"
    return "unknown"


def qs(base: dict[str, Any], **changes: Any) -> str:
    """A query string: ``base`` with ``changes`` (a page link keeps the filters)."""
    return urlencode({**base, **{k: v for k, v in changes.items()}})


def app_path(key: str) -> str:
    """The page of an application named by its engine key (``web``, ``dev_web``)."""
    ns, name = namespaces.split_app(key)
    return f"/applications/{quote(ns)}/{quote(name)}"


env.globals["qs"] = qs
env.globals["app_path"] = app_path
env.filters["rfc3339"] = rfc3339
env.filters["duration"] = duration
env.filters["status_class"] = status_class


def enforcer_of(request: Request, rbac: Authorizer) -> Enforcer:
    """The policy's enforcer, read once per request (the page's list and its buttons share it)."""
    found = getattr(request.state, "enforcer", None)
    if not isinstance(found, Enforcer):
        found = rbac.enforcer()
        request.state.enforcer = found
    return found


def page(
    request: Request, rbac: Authorizer, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    who = getattr(request.state, "identity", None)
    token = str(getattr(request.state, "session_token", "") or "")
    enforcer = enforcer_of(request, rbac) if isinstance(who, Identity) else None

    def can(res: str, act: str, obj: str) -> bool:
        if enforcer is None or not isinstance(who, Identity):
            return False
        return enforcer.allowed(who.name, who.claims, res, act, obj)

    html = env.get_template(template).render(
        request=request,
        user=who,
        csrf=session.csrf_for(token) if token else "",
        can=can,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
