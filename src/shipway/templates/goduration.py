"""Go's ``time.Duration`` as a template value. Pure.

``GoDuration`` (an int count of nanoseconds, with Go's methods: ``Hours``,
``Round``, ``String``...), ``duration_string`` (Go's ``Duration.String``) and
``parse_duration`` (``time.ParseDuration``). ``GoTimeError`` is what Go would
refuse, here and in ``templates.gotime``, which re-exports all of these.
"""

from __future__ import annotations

import re

NS = 1_000_000_000  # nanoseconds in a second
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": NS,
    "m": 60 * NS,
    "h": 3600 * NS,
}


class GoTimeError(ValueError):
    """A layout, time or duration text Go would refuse; the message is Go's."""


class GoDuration:
    """A ``time.Duration``: an int count of nanoseconds."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        self.ns = int(ns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other.ns == self.ns

    def __lt__(self, other: GoDuration) -> bool:
        return self.ns < other.ns

    def __hash__(self) -> int:
        return hash(("dur", self.ns))

    def __repr__(self) -> str:
        return f"GoDuration({self.String()})"

    def String(self) -> str:
        return duration_string(self.ns)

    __str__ = String

    def Hours(self) -> float:
        return self.ns / (3600 * NS)

    def Minutes(self) -> float:
        return self.ns / (60 * NS)

    def Seconds(self) -> float:
        return self.ns / NS

    def Milliseconds(self) -> int:
        return int(self.ns / 1_000_000)

    def Nanoseconds(self) -> int:
        return self.ns

    def Round(self, m: GoDuration | int) -> GoDuration:
        unit = m.ns if isinstance(m, GoDuration) else int(m)
        if unit <= 0:
            return self
        q, r = divmod(abs(self.ns), unit)
        if r + r >= unit:
            q += 1
        return GoDuration(q * unit if self.ns >= 0 else -q * unit)

    def Truncate(self, m: GoDuration | int) -> GoDuration:
        unit = m.ns if isinstance(m, GoDuration) else int(m)
        if unit <= 0:
            return self
        return GoDuration(self.ns - int(self.ns % unit if self.ns >= 0 else -(-self.ns % unit)))

    def Abs(self) -> GoDuration:
        return GoDuration(abs(self.ns))


def _frac(v: int, prec: int) -> str:
    whole, part = divmod(v, 10**prec)
    digits = str(part).rjust(prec, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def duration_string(ns: int) -> str:
    """Go's ``Duration.String``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < NS:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_frac(u, 3)}µs"
        return f"{sign}{_frac(u, 6)}ms"
    hours, rest = divmod(u, 3600 * NS)
    minutes, secs = divmod(rest, 60 * NS)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{_frac(secs, 9)}s"


_DUR_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)")


def parse_duration(text: str) -> GoDuration:
    """Go's ``time.ParseDuration``: ``1h30m``, ``-1.5h``, ``300ms``, ``0``."""
    s = text
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return GoDuration(0)
    if not s:
        raise GoTimeError(f'time: invalid duration "{text}"')
    total = 0
    pos = 0
    while pos < len(s):
        m = _DUR_PART.match(s, pos)
        if not m or m.group(1) in ("", "."):
            raise GoTimeError(f'time: invalid duration "{text}"')
        unit = _UNITS.get(m.group(2))
        if unit is None:
            raise GoTimeError(f'time: unknown unit "{m.group(2)}" in duration "{text}"')
        num = m.group(1)
        whole, _, frac = num.partition(".")
        total += int(whole or "0") * unit
        if frac:
            total += int(frac) * unit // 10 ** len(frac)
        pos = m.end()
    return GoDuration(sign * total)
