"""Browser sessions: the login form, the session cookie, CSRF tokens, throttling, logout.

A successful ``POST /login`` issues a session token (``accounts.login``, 24 h) and
sets it as the ``shipway_session`` cookie (HttpOnly, SameSite=Lax, Secure when
the request came over TLS). The CSRF token of a session is derived from its
token (HMAC), so nothing more is stored: every form carries it as ``csrf`` and
the page's script sends it as ``X-CSRF-Token``; a cookie-authenticated request
that changes something without it is refused (403). The login form itself
carries a random double-submit token. Failed sign-ins are counted per
account and client address: after ``MAX_FAILURES`` within ``WINDOW`` seconds
that pair is refused (429) until the window has passed. ``next`` (where to go
after signing in) is only ever a path on this server. Touches the store
through ``shipway.auth.accounts``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from urllib.parse import quote

from fastapi import Request

COOKIE = "shipway_session"
LOGIN_CSRF = "shipway_login_csrf"
HEADER = "x-csrf-token"
MAX_FAILURES = 5
WINDOW = 300.0
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_for(token: str) -> str:
    """The CSRF token of a session (a keyed hash of its token; not the token)."""
    return hmac.new(token.encode(), b"shipway-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(token: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(csrf_for(token), given)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None) -> str:
    """A local path to return to (``/`` for anything else: no open redirects)."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="")


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


class Throttle:
    """Failed sign-ins per ``(account, address)`` in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW) -> None:
        self.max_failures, self.window = max_failures, window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def wait(self, account: str, address: str, now: float | None = None) -> float:
        """Seconds until this pair may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent((account, address), now)
            if len(times) < self.max_failures:
                return 0.0
            return max(0.0, self.window - (now - times[0]))

    def failed(self, account: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent((account, address), now).append(now)

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._failures.pop((account, address), None)
