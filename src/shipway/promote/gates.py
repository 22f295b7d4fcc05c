"""Promotion gates as data: soak, availability, promotion windows, approval policies. Pure: no I/O.

- ``soaked(freight_status, stage, now)``: how long a Freight has been in a
  stage: the longest completed stay (``verifiedIn[stage].longestSoak``) or its
  current one (``currentlyIn[stage].since`` to now), whichever is longer.
- ``availability(request, stage, freight_status, now)``: whether a Freight
  may be promoted to a stage under one ``requestedFreight`` entry, as Kargo
  decides: approved for the stage (``approvedFor``), or ``direct``, or
  verified in the upstream stages (``availabilityStrategy`` OneOf: any, All:
  every one) and soaked there for ``requiredSoakTime``. The answer says why
  not, with the soak time remaining.
- ``window_state(windows, stage, labels, now)``: ProjectConfig's
  ``promotionWindows`` (RRULE occurrences of ``dtend - dtstart``, or one-shot
  windows): a Deny window that is open closes promotion; when Allow windows
  select the stage, promotion is open only inside one of them. The answer
  names the window and the next time promotion opens.
- ``window_status(windows, stage, labels, now)``: the same schedule as Kargo
  shapes a Stage's ``status.promotionWindowStatus`` (``closed``, ``reason``,
  ``nextOpen``; while open ``nextClose`` and ``nextCloseReason``), or None when
  no window selects the stage.
- ``ApprovalPolicy`` (the shipway extension, read from Stage annotations
  ``shipway.dev/approvals-required``, ``shipway.dev/approver-roles`` and
  ``shipway.dev/allow-self-approval``) and ``approval_problems``.
- ``go_duration``: seconds as Go prints a ``time.Duration`` (``1h2m3s``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from shipway.model.kargo import duration_seconds
from shipway.model.kargo_project import PromotionWindow, parse_ical_time
from shipway.model.kargo_stage import FreightRequest

APPROVALS_REQUIRED = "shipway.dev/approvals-required"
APPROVER_ROLES = "shipway.dev/approver-roles"
ALLOW_SELF = "shipway.dev/allow-self-approval"


def parse_time(text: Any) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def go_duration(seconds: float) -> str:
    """``3723`` → ``1h2m3s``; ``0`` → ``0s`` (whole seconds, as Kargo writes durations)."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def soaked(status: dict[str, Any], stage: str, now: dt.datetime) -> float:
    """Seconds the Freight has soaked in ``stage`` (longest completed stay or the current one)."""
    longest = 0.0
    verified = (status.get("verifiedIn") or {}).get(stage) or {}
    if verified.get("longestSoak"):
        longest = duration_seconds(str(verified["longestSoak"]))
    since = parse_time(((status.get("currentlyIn") or {}).get(stage) or {}).get("since"))
    if since is not None:
        longest = max(longest, (now - since).total_seconds())
    return longest


@dataclass
class Availability:
    ok: bool
    reason: str = ""
    soak_remaining: float = 0.0
    """Seconds of soak still needed (0 when soaked or no soak is required)."""


def availability(
    request: FreightRequest, stage: str, status: dict[str, Any], now: dt.datetime
) -> Availability:
    """Whether a Freight with ``status`` may go to ``stage`` under ``request``."""
    if stage in (status.get("approvedFor") or {}):
        return Availability(True, "approved")
    src = request.sources
    if src.direct:
        return Availability(True, "direct")
    need = duration_seconds(src.required_soak_time) if src.required_soak_time else 0.0
    verified = status.get("verifiedIn") or {}
    results = []
    for up in src.stages:
        if up not in verified:
            results.append(Availability(False, f"not verified in stage {up}"))
            continue
        left = max(0.0, need - soaked(status, up, now))
        if left > 0:
            results.append(Availability(False, f"soaking in stage {up}: {go_duration(left)} of "
                                        f"{src.required_soak_time} left", left))  # fmt: skip
            continue
        results.append(Availability(True, f"verified in stage {up}"))
    good = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok]
    if src.strategy == "All":
        if not bad:
            return Availability(True, "; ".join(r.reason for r in good))
        return Availability(False, "; ".join(r.reason for r in bad),
                            max(r.soak_remaining for r in bad))  # fmt: skip
    if good:
        return Availability(True, good[0].reason)
    soaking = [r.soak_remaining for r in bad if r.soak_remaining > 0]
    return Availability(False, "; ".join(r.reason for r in bad), min(soaking, default=0.0))


# --- promotion windows ----------------------------------------------------------------------


@dataclass
class WindowState:
    open: bool
    reason: str = ""
    next_open: dt.datetime | None = None
    windows: list[str] = field(default_factory=list)


def _zone(text: str) -> dt.tzinfo:
    _when, zone = parse_ical_time(text)
    return zoneinfo.ZoneInfo(zone) if zone else dt.UTC


def _start(w: PromotionWindow) -> dt.datetime:
    when, _zone_name = parse_ical_time(w.dtstart)
    return when.replace(tzinfo=_zone(w.dtstart))


def occurrence_at(w: PromotionWindow, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The occurrence of ``w`` that contains ``now``, if any (start, end, aware)."""
    start, length = _start(w), w.occurrence
    if not w.rrule:
        return (start, start + length) if start <= now < start + length else None
    from dateutil import rrule

    rule = rrule.rrulestr(w.rrule.removeprefix("RRULE:"), dtstart=start)
    local_now = now.astimezone(start.tzinfo)
    begun = rule.before(local_now, inc=True)
    if begun is not None and begun <= local_now < begun + length:
        return begun, begun + length
    return None


def next_start(w: PromotionWindow, now: dt.datetime) -> dt.datetime | None:
    start = _start(w)
    if not w.rrule:
        return start if start > now else None
    from dateutil import rrule

    rule = rrule.rrulestr(w.rrule.removeprefix("RRULE:"), dtstart=start)
    found = rule.after(now.astimezone(start.tzinfo), inc=False)
    return found.astimezone(dt.UTC) if found is not None else None


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_state(
    windows: list[PromotionWindow], stage: str, labels: dict[str, str], now: dt.datetime
) -> WindowState:
    """Whether promotion to ``stage`` is open at ``now`` under ``windows``."""
    mine = [
        w for w in windows if not w.disabled
        and (w.stage_selector is None or w.stage_selector.matches(stage, labels))
    ]  # fmt: skip
    for w in mine:
        if w.kind != "Deny":
            continue
        occ = occurrence_at(w, now)
        if occ is not None:
            return WindowState(False, f"deny window {w.name} is open until {_iso(occ[1])}",
                               occ[1], [w.name])  # fmt: skip
    allows = [w for w in mine if w.kind == "Allow"]
    if not allows:
        return WindowState(True)
    for w in allows:
        if occurrence_at(w, now) is not None:
            return WindowState(True, f"allow window {w.name} is open", windows=[w.name])
    nexts = [t for t in (next_start(w, now) for w in allows) if t is not None]
    when = min(nexts) if nexts else None
    names = ", ".join(w.name for w in allows)
    tail = f"; next opens at {_iso(when)}" if when else "; none opens again"
    return WindowState(False, f"outside the allow window(s) {names}{tail}", when,
                       [w.name for w in allows])  # fmt: skip


def _ends(w: PromotionWindow, now: dt.datetime) -> dt.datetime | None:
    occ = occurrence_at(w, now)
    return occ[1] if occ is not None else None


def window_status(
    windows: list[PromotionWindow], stage: str, labels: dict[str, str], now: dt.datetime
) -> dict[str, Any] | None:
    """Kargo's ``PromotionWindowStatus`` of ``stage`` at ``now``; None when no window selects
    it. ``reason`` is the refusal a promotion would get; ``nextOpen`` (closed) and
    ``nextClose`` (open) are left out when no such time is known."""
    mine = [
        w for w in windows if not w.disabled
        and (w.stage_selector is None or w.stage_selector.matches(stage, labels))
    ]  # fmt: skip
    if not mine:
        return None
    state = window_state(mine, stage, labels, now)
    if not state.open:
        out: dict[str, Any] = {"closed": True, "reason": state.reason}
        if state.next_open is not None:
            out["nextOpen"] = _iso(state.next_open)
        return out
    closes: list[tuple[dt.datetime, str]] = []
    for w in mine:
        start = next_start(w, now) if w.kind == "Deny" else None
        if start is not None:
            closes.append((start, f"deny window {w.name} opens"))
    allows = [w for w in mine if w.kind == "Allow"]
    if allows:  # open inside an Allow window: it closes when the last open one ends
        ending = [(end, w.name) for w in allows if (end := _ends(w, now)) is not None]
        if ending:
            end, name = max(ending)
            closes.append((end, f"allow window {name} ends"))
    out = {"closed": False}
    if closes:
        when, why = min(closes)
        out |= {"nextClose": _iso(when), "nextCloseReason": why}
    return out


# --- approval policies (shipway extension) --------------------------------------------------


@dataclass(frozen=True)
class ApprovalPolicy:
    required: int = 1
    roles: tuple[str, ...] = ()
    allow_self: bool = False

    @classmethod
    def from_annotations(cls, annotations: dict[str, str]) -> ApprovalPolicy | None:
        """The Stage's policy, or None when it sets none (then one approval by anyone)."""
        keys = (APPROVALS_REQUIRED, APPROVER_ROLES, ALLOW_SELF)
        if not any(k in annotations for k in keys):
            return None
        raw = annotations.get(APPROVALS_REQUIRED, "1").strip() or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"annotation {APPROVALS_REQUIRED} {raw!r} is not a count >= 1")
        roles = tuple(r.strip() for r in annotations.get(APPROVER_ROLES, "").split(",")
                      if r.strip())  # fmt: skip
        allow = annotations.get(ALLOW_SELF, "false").strip().lower()
        if allow not in ("true", "false"):
            raise ValueError(f"annotation {ALLOW_SELF} {allow!r} must be true or false")
        return cls(int(raw), roles, allow == "true")


def authors(freight: dict[str, Any], actors: list[str]) -> set[str]:
    """Who made a Freight: its commits' authors and committers, and who promoted it upstream.

    Names and e-mail addresses, lower-cased: ``A U Thor <a@x>`` gives both.
    """
    out: set[str] = set()
    people = [*(str(c.get(k) or "") for c in freight.get("commits") or []
                for k in ("author", "committer")), *actors]  # fmt: skip
    for person in people:
        person = person.strip()
        if not person:
            continue
        if "<" in person and person.endswith(">"):
            name, _, mail = person[:-1].partition("<")
            out |= {name.strip().lower(), mail.strip().lower()}
        else:
            out.add(person.removeprefix("email:").removeprefix("subject:").lower())
    out.discard("")
    return out


def approval_problems(
    policy: ApprovalPolicy | None,
    approver: str,
    approver_roles: set[str],
    makers: set[str],
    earlier: list[str],
) -> list[str]:
    """Why ``approver`` may not approve (empty: the approval counts)."""
    if policy is None:
        return []
    problems = []
    if policy.roles and not approver_roles & set(policy.roles):
        problems.append(f"{approver} has none of the approver roles {', '.join(policy.roles)}")
    if not policy.allow_self and approver.lower() in makers:
        problems.append(f"{approver} made this Freight (commit author or upstream promoter) "
                        "and may not approve it")  # fmt: skip
    if approver in earlier:
        problems.append(f"{approver} has already approved it")
    return problems
