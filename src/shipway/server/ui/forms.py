"""The UI's form posts: the form, its CSRF token checked against the session.

A request signed in by the session cookie must carry the session's CSRF token
(the form's ``csrf`` field, or the ``X-CSRF-Token`` header the page's script
sends); a bearer-token request (a script) needs none. Bad fields are
``InputError`` naming the field. Touches nothing.
"""

from __future__ import annotations

from fastapi import Request

from shipway.model.errors import InputError, PermissionDeniedError
from shipway.server import session

Form = dict[str, str]


async def checked(request: Request) -> Form:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    token = str(getattr(request.state, "session_token", "") or "")
    if token:
        given = form.get("csrf") or request.headers.get(session.HEADER, "")
        if not session.csrf_ok(token, given):
            raise PermissionDeniedError(
                "CSRF token missing or wrong: reload the page", subject=request.url.path
            )
    return form


def integer(form: Form, name: str) -> int:
    value = form.get(name, "").strip()
    if not value.lstrip("-").isdigit():
        raise InputError(f"{name}: a number is required, not {value!r}", subject=name)
    return int(value)


def required(form: Form, name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise InputError(f"{name} is required", subject=name)
    return value
