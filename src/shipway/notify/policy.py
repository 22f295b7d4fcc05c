"""Delivery policy: per-service rate limits, pure.

A rate limit is ``N/DURATION`` (``10/1m``: at most 10 messages a minute),
written as ``rateLimit`` in an ``argocd-notifications-cm`` service (a shipway
field) or as the ``shipway.dev/rate-limit`` annotation of a Flux Provider.
Messages over the limit are held until the window has room; then one message
goes out for all that were held, the oldest with "(and N more)" appended,
and the others are recorded ``suppressed`` (``shipway_notifications`` counts
them). ``summary_line`` is that suffix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.model.errors import InputError

_RATE = re.compile(r"^\s*([0-9]+)\s*/\s*(([0-9]+(\.[0-9]+)?(ms|s|m|h))+|[0-9]+)\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class RateLimit:
    count: int
    per: float  # seconds

    def __str__(self) -> str:
        return f"{self.count}/{self.per:g}s"


def parse_rate(text: str, *, subject: str) -> RateLimit:
    """``10/1m``, ``5/30s``, ``100/1h``, ``3/90`` (seconds); an ``InputError`` otherwise."""
    m = _RATE.match(str(text))
    if not m or int(m[1]) < 1:
        raise InputError(f"rate limit {text!r}: expected N/DURATION such as 10/1m",
                         subject=subject)  # fmt: skip
    dur = m[2]
    if dur.isdigit():
        per = float(dur)
    else:
        per = sum(float(n) * _UNIT[u] for n, u in re.findall(r"([0-9.]+)(ms|s|m|h)", dur))
    if per <= 0:
        raise InputError(f"rate limit {text!r}: the duration must be positive", subject=subject)
    return RateLimit(int(m[1]), per)


def summary_line(more: int, limit: RateLimit) -> str:
    return f"(and {more} more, held by the rate limit of {limit.count} per {limit.per:g}s)"
