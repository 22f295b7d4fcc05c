"""Go's ``time.Time`` and ``time.Duration`` as template values.

Pure: values, Go layout formatting (``2006-01-02T15:04:05Z07:00``) and
parsing. Durations (``time.ParseDuration``, ``Duration.String``) are
``templates.goduration``'s, re-exported here. The current time is
only ever read by ``GoTime.now()``, which callers may replace with a clock.

Both template languages call methods on these values by their Go names
(``(call .time.Now).Format "2006-01-02"``, ``time.Now().Sub(t).Minutes()``):
``go_method(value, name)`` finds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from shipway.templates.goduration import NS as _NS
from shipway.templates.goduration import GoDuration as GoDuration
from shipway.templates.goduration import GoTimeError as GoTimeError
from shipway.templates.goduration import duration_string as duration_string
from shipway.templates.goduration import parse_duration as parse_duration

_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"
LAYOUTS = {
    "Layout": "01/02 03:04:05PM '06 -0700",
    "ANSIC": "Mon Jan _2 15:04:05 2006",
    "UnixDate": "Mon Jan _2 15:04:05 MST 2006",
    "RubyDate": "Mon Jan 02 15:04:05 -0700 2006",
    "RFC822": "02 Jan 06 15:04 MST",
    "RFC822Z": "02 Jan 06 15:04 -0700",
    "RFC850": "Monday, 02-Jan-06 15:04:05 MST",
    "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST",
    "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700",
    "RFC3339": RFC3339,
    "RFC3339Nano": RFC3339_NANO,
    "Kitchen": "3:04PM",
    "Stamp": "Jan _2 15:04:05",
    "StampMilli": "Jan _2 15:04:05.000",
    "StampMicro": "Jan _2 15:04:05.000000",
    "StampNano": "Jan _2 15:04:05.000000000",
    "DateTime": "2006-01-02 15:04:05",
    "DateOnly": "2006-01-02",
    "TimeOnly": "15:04:05",
}


class GoTime:
    """A ``time.Time``: nanoseconds since the Unix epoch and a zone (offset, name)."""

    __slots__ = ("offset", "unix_ns", "zone")
    clock: Callable[[], int] | None = None

    def __init__(self, unix_ns: int, offset: int = 0, zone: str = "UTC") -> None:
        self.unix_ns = int(unix_ns)
        self.offset = offset
        self.zone = zone

    @classmethod
    def now(cls) -> GoTime:
        if cls.clock is not None:
            return cls(cls.clock())
        d = datetime.now(UTC)
        return cls.from_datetime(d)

    @classmethod
    def from_datetime(cls, d: datetime) -> GoTime:
        if d.tzinfo is None:
            d = d.replace(tzinfo=UTC)
        off = d.utcoffset() or timedelta(0)
        base = datetime(1970, 1, 1, tzinfo=UTC)
        delta = d - base
        ns = (delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000
        name = "UTC" if off == timedelta(0) and d.tzname() in ("UTC", None) else (d.tzname() or "")
        return cls(ns, int(off.total_seconds()), name)

    def _dt(self) -> datetime:
        secs, _ = divmod(self.unix_ns, _NS)
        tz = timezone(timedelta(seconds=self.offset))
        return datetime(1970, 1, 1, tzinfo=UTC).astimezone(tz) + timedelta(seconds=secs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other.unix_ns == self.unix_ns

    def __lt__(self, other: GoTime) -> bool:
        return self.unix_ns < other.unix_ns

    def __hash__(self) -> int:
        return hash(("time", self.unix_ns))

    def __repr__(self) -> str:
        return f"GoTime({self.String()})"

    def to_datetime(self) -> datetime:
        return self._dt() + timedelta(microseconds=(self.unix_ns % _NS) // 1000)

    def Format(self, layout: str) -> str:
        return format_time(self, layout)

    def String(self) -> str:
        return format_time(self, "2006-01-02 15:04:05.999999999 -0700 MST")

    __str__ = String

    def UTC(self) -> GoTime:
        return GoTime(self.unix_ns)

    def Local(self) -> GoTime:
        off = datetime.now().astimezone().utcoffset() or timedelta(0)
        name = datetime.now().astimezone().tzname() or "Local"
        return GoTime(self.unix_ns, int(off.total_seconds()), name)

    def Unix(self) -> int:
        return self.unix_ns // _NS

    def UnixMilli(self) -> int:
        return self.unix_ns // 1_000_000

    def UnixNano(self) -> int:
        return self.unix_ns

    def Add(self, d: GoDuration | int) -> GoTime:
        ns = d.ns if isinstance(d, GoDuration) else int(d)
        return GoTime(self.unix_ns + ns, self.offset, self.zone)

    def Sub(self, other: GoTime) -> GoDuration:
        return GoDuration(self.unix_ns - other.unix_ns)

    def AddDate(self, years: int, months: int, days: int) -> GoTime:
        d = self._dt()
        m0 = d.month - 1 + months
        y = d.year + years + m0 // 12
        first = d.replace(year=y, month=m0 % 12 + 1, day=1)
        moved = first + timedelta(days=d.day - 1 + days)
        out = GoTime.from_datetime(moved)
        return GoTime(out.unix_ns + self.unix_ns % _NS, self.offset, self.zone)

    def Before(self, other: GoTime) -> bool:
        return self.unix_ns < other.unix_ns

    def After(self, other: GoTime) -> bool:
        return self.unix_ns > other.unix_ns

    def Equal(self, other: GoTime) -> bool:
        return self.unix_ns == other.unix_ns

    def IsZero(self) -> bool:
        return self.unix_ns == _ZERO_NS

    def Year(self) -> int:
        return self._dt().year

    def Month(self) -> int:
        return self._dt().month

    def Day(self) -> int:
        return self._dt().day

    def Hour(self) -> int:
        return self._dt().hour

    def Minute(self) -> int:
        return self._dt().minute

    def Second(self) -> int:
        return self._dt().second

    def Nanosecond(self) -> int:
        return self.unix_ns % _NS

    def YearDay(self) -> int:
        return self._dt().timetuple().tm_yday

    def Weekday(self) -> str:
        return _DAYS[self._dt().weekday()]


_ZERO_NS = -62135596800 * _NS  # 0001-01-01T00:00:00Z, Go's zero Time

_METHODS = {
    GoTime: frozenset(n for n in dir(GoTime) if n[:1].isupper()),
    GoDuration: frozenset(n for n in dir(GoDuration) if n[:1].isupper()),
}


def go_method(value: Any, name: str) -> Callable[..., Any] | None:
    """The Go method ``name`` of a time value, or of a value whose class lists its Go methods
    in ``GO_METHODS`` (a mapping with methods, as Argo CD's ``AppDetail.Helm``), bound; None
    when it has none."""
    for cls, names in _METHODS.items():
        if isinstance(value, cls) and name in names:
            return getattr(value, name)  # type: ignore[no-any-return]
    if name in getattr(type(value), "GO_METHODS", ()):
        return getattr(value, name)  # type: ignore[no-any-return]
    return None


_CHUNKS = (
    "January", "Monday", "Jan", "Mon", "MST", "2006", "-07:00:00", "-070000", "-07:00",
    "-0700", "-07", "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07", "002", "__2", "_2",
    "01", "02", "03", "04", "05", "06", "15", "PM", "pm", "1", "2", "3", "4", "5",
)  # fmt: skip
_FRAC = re.compile(r"[.,](0+|9+)(?![0-9])")


def _chunks(layout: str) -> list[tuple[str, str]]:
    """Split a Go layout into (kind, text): kind "" is literal text."""
    out: list[tuple[str, str]] = []
    i = 0
    lit = ""
    while i < len(layout):
        m = _FRAC.match(layout, i)
        if m and i > 0 and layout[i - 1] in "0123456789":
            out += [("", lit), ("frac", m.group(0))]
            lit = ""
            i = m.end()
            continue
        for c in _CHUNKS:
            if layout.startswith(c, i):
                nxt = layout[i + len(c) : i + len(c) + 1]
                if c in ("Jan", "Mon") and nxt.islower():
                    continue
                out += [("", lit), (c, c)]
                lit = ""
                i += len(c)
                break
        else:
            lit += layout[i]
            i += 1
    out.append(("", lit))
    return [c for c in out if c[1]]


def _zone(offset: int, style: str, zulu: bool) -> str:
    if zulu and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    h, rest = divmod(abs(offset), 3600)
    m, s = divmod(rest, 60)
    body = style.lstrip("Z-")
    if body == "07":
        return f"{sign}{h:02d}"
    if body == "0700":
        return f"{sign}{h:02d}{m:02d}"
    if body == "07:00":
        return f"{sign}{h:02d}:{m:02d}"
    if body == "070000":
        return f"{sign}{h:02d}{m:02d}{s:02d}"
    return f"{sign}{h:02d}:{m:02d}:{s:02d}"


def format_time(t: GoTime, layout: str) -> str:
    """Go's ``Time.Format``."""
    d = t._dt()
    ns = t.unix_ns % _NS
    out = []
    for kind, text in _chunks(layout):
        h12 = d.hour % 12 or 12
        match kind:
            case "":
                out.append(text)
            case "January" | "Jan":
                out.append(_MONTHS[d.month - 1][: None if kind == "January" else 3])
            case "Monday" | "Mon":
                out.append(_DAYS[d.weekday()][: None if kind == "Monday" else 3])
            case "MST":
                out.append(t.zone or _zone(t.offset, "-0700", False))
            case "2006":
                out.append(f"{d.year:04d}")
            case "06":
                out.append(f"{d.year % 100:02d}")
            case "01" | "1":
                out.append(f"{d.month:02d}" if kind == "01" else str(d.month))
            case "02" | "2" | "_2":
                out.append({"02": f"{d.day:02d}", "2": str(d.day), "_2": f"{d.day:2d}"}[kind])
            case "002" | "__2":
                yd = d.timetuple().tm_yday
                out.append(f"{yd:03d}" if kind == "002" else f"{yd:3d}")
            case "15":
                out.append(f"{d.hour:02d}")
            case "03" | "3":
                out.append(f"{h12:02d}" if kind == "03" else str(h12))
            case "04" | "4":
                out.append(f"{d.minute:02d}" if kind == "04" else str(d.minute))
            case "05" | "5":
                out.append(f"{d.second:02d}" if kind == "05" else str(d.second))
            case "PM" | "pm":
                ampm = "PM" if d.hour >= 12 else "AM"
                out.append(ampm if kind == "PM" else ampm.lower())
            case "frac":
                digits = f"{ns:09d}"[: len(text) - 1]
                if text[1] == "9":
                    digits = digits.rstrip("0")
                    out.append(text[0] + digits if digits else "")
                else:
                    out.append(text[0] + digits)
            case _:
                out.append(_zone(t.offset, kind, kind.startswith("Z")))
    return "".join(out)


_PARSE_RE = {
    "January": "(?P<month_name>" + "|".join(_MONTHS) + ")",
    "Jan": "(?P<mon>" + "|".join(m[:3] for m in _MONTHS) + ")",
    "Monday": "(?:" + "|".join(_DAYS) + ")",
    "Mon": "(?:" + "|".join(d[:3] for d in _DAYS) + ")",
    "MST": r"(?P<zname>[A-Z]{3,5}|[+-]\d{2,4})",
    "2006": r"(?P<year>\d{4})",
    "06": r"(?P<year2>\d{2})",
    "01": r"(?P<month>\d{2})",
    "1": r"(?P<month>\d{1,2})",
    "02": r"(?P<day>\d{2})",
    "2": r"(?P<day>\d{1,2})",
    "_2": r" ?(?P<day>\d{1,2})",
    "002": r"(?P<yday>\d{3})",
    "__2": r" {0,2}(?P<yday>\d{1,3})",
    "15": r"(?P<hour>\d{1,2})",
    "03": r"(?P<hour12>\d{2})",
    "3": r"(?P<hour12>\d{1,2})",
    "04": r"(?P<minute>\d{2})",
    "4": r"(?P<minute>\d{1,2})",
    "05": r"(?P<second>\d{2})",
    "5": r"(?P<second>\d{1,2})",
    "PM": "(?P<ampm>AM|PM)",
    "pm": "(?P<ampm>am|pm)",
}


def parse_time(layout: str, value: str, default_offset: int = 0) -> GoTime:
    """Go's ``time.Parse`` for the common layouts (RFC 3339, dates, kitchen times)."""
    pattern = ""
    for kind, text in _chunks(layout):
        if kind == "":
            pattern += re.escape(text)
        elif kind == "frac":
            pattern += r"(?:[.,](?P<frac>\d+))" + ("?" if text[1] == "9" else "")
        elif kind in _PARSE_RE:
            if f"(?P<{_PARSE_RE[kind][4:].split('>')[0]}>" in pattern:
                pattern += r"\d+"
            else:
                pattern += _PARSE_RE[kind]
        else:
            zulu = "Z|" if kind.startswith("Z") else ""
            pattern += rf"(?P<zone>{zulu}[+-]\d{{2}}(?::?\d{{2}}(?::?\d{{2}})?)?)"
    if "frac" not in pattern:
        pattern = pattern.replace(r"(?P<second>\d{2})", r"(?P<second>\d{2})(?:[.,](?P<frac>\d+))?")
    m = re.fullmatch(pattern, value)
    if not m:
        raise GoTimeError(f'parsing time "{value}" as "{layout}": cannot parse')
    g = m.groupdict()
    year = int(g["year"]) if g.get("year") else 0
    if g.get("year2"):
        y2 = int(g["year2"])
        year = 1900 + y2 if y2 >= 69 else 2000 + y2
    month = 1
    if g.get("month"):
        month = int(g["month"])
    elif g.get("month_name"):
        month = _MONTHS.index(g["month_name"]) + 1
    elif g.get("mon"):
        month = [x[:3] for x in _MONTHS].index(g["mon"]) + 1
    day = int(g["day"]) if g.get("day") else 1
    hour = int(g["hour"]) if g.get("hour") else 0
    if g.get("hour12"):
        hour = int(g["hour12"]) % 12 + (12 if (g.get("ampm") or "").upper() == "PM" else 0)
    minute = int(g.get("minute") or 0)
    second = int(g.get("second") or 0)
    offset = default_offset
    zone = "UTC" if default_offset == 0 else ""
    if g.get("zone"):
        z = g["zone"]
        if z == "Z":
            offset = 0
        else:
            digits = z[1:].replace(":", "").ljust(6, "0")
            offset = int(digits[:2]) * 3600 + int(digits[2:4]) * 60 + int(digits[4:6])
            offset = -offset if z[0] == "-" else offset
            zone = ""
    elif g.get("zname"):
        zone = g["zname"]
    try:
        base = datetime(max(year, 1), month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as e:
        raise GoTimeError(f'parsing time "{value}": {e}') from None
    if year == 0:
        base = base.replace(year=1) - timedelta(days=366)
    t = GoTime.from_datetime(base)
    frac = (g.get("frac") or "")[:9].ljust(9, "0")
    zname = zone or _zone(offset, "-0700", False)
    return GoTime(t.unix_ns - offset * _NS + int(frac or "0"), offset, zname)
