"""A request budget shared by everything that talks to one registry host.

Polling many repositories must not trip a registry's rate limit, and when it
does (HTTP 429), every caller of that host must back off together, not each
on its own. ``Budget`` is a token bucket per host plus a pause set from
``Retry-After``; ``BudgetTransport`` wraps the httpx transport of a
``RegistryClient`` so each request draws from the budget and each 429
pauses the host. The clock and sleep are injectable for tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

DEFAULT_RATE = 100.0  # requests per second per registry host
DEFAULT_BURST = 200
DEFAULT_PAUSE = 5.0  # seconds after a 429 without Retry-After
MAX_PAUSE = 300.0


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    paused_until: float = 0.0
    requests: int = 0
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Budget:
    """Per-host token buckets; ``acquire`` blocks while the host is out of tokens or paused."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.burst = rate, burst
        self.clock, self.sleep = clock, sleep
        self._buckets: dict[str, _Bucket] = {}
        self._guard = threading.Lock()

    def _bucket(self, host: str) -> _Bucket:
        with self._guard:
            if host not in self._buckets:
                self._buckets[host] = _Bucket(tokens=float(self.burst), stamp=self.clock())
            return self._buckets[host]

    def acquire(self, host: str) -> float:
        """Take one request token for ``host``; return the seconds waited."""
        b = self._bucket(host)
        waited = 0.0
        while True:
            with b.lock:
                now = self.clock()
                b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
                b.stamp = now
                wait = max(b.paused_until - now, 0.0)
                if wait == 0.0 and b.tokens >= 1.0:
                    b.tokens -= 1.0
                    b.requests += 1
                    return waited
                if wait == 0.0:
                    wait = (1.0 - b.tokens) / self.rate
            self.sleep(wait)
            waited += wait

    def pause(self, host: str, seconds: float) -> None:
        """Stop every request to ``host`` for ``seconds`` (a 429's Retry-After)."""
        b = self._bucket(host)
        with b.lock:
            b.throttled += 1
            b.paused_until = max(b.paused_until, self.clock() + min(seconds, MAX_PAUSE))

    def stats(self, host: str) -> dict[str, int]:
        b = self._bucket(host)
        return {"requests": b.requests, "throttled": b.throttled}


def retry_after(resp: httpx.Response, now: float | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    value = resp.headers.get("retry-after", "").strip()
    if not value:
        return DEFAULT_PAUSE
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return DEFAULT_PAUSE
    return max(when - (now if now is not None else time.time()), 0.0)


class BudgetTransport(httpx.BaseTransport):
    """An httpx transport that draws each request from the host's budget."""

    def __init__(self, budget: Budget, host: str, inner: httpx.BaseTransport | None = None):
        self.budget, self.host = budget, host
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.budget.acquire(self.host)
        resp = self.inner.handle_request(request)
        if resp.status_code == 429:
            self.budget.pause(self.host, retry_after(resp))
        return resp

    def close(self) -> None:
        self.inner.close()


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


SHARED = Budget(rate=_env_float("SHIPWAY_REGISTRY_RATE", DEFAULT_RATE))
"""The process-wide budget remote registries share (``$SHIPWAY_REGISTRY_RATE`` req/s per host)."""

LOOPBACK = Budget(rate=1e9, burst=10**9)
"""A registry on this machine is not paced, but a 429 from it still pauses its callers."""
