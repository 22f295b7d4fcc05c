"""kubectl's label selectors (``-l/--selector``) and its short ages (``45s``, ``5m``, ``2d``).

A selector is requirements joined by commas, all of which must hold:
``key=value``, ``key==value``, ``key!=value`` (equality), ``key in (a,b)``,
``key notin (a,b)``, ``key`` (exists) and ``!key`` (does not exist)
(set-based). ``!=`` and ``notin`` match objects without the label, as in
Kubernetes.

A field selector (``--field-selector``) is ``path=value``, ``path==value`` or
``path!=value`` joined by commas; a path is dotted into the object as ``-o
json`` prints it (``status.sync.status``, ``metadata.name``, ``spec.project``);
a missing field reads as the empty string, numbers and booleans as JSON writes
them (``true``, ``3``). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shipway.model.errors import InputError

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The selector grammar, compiled on first use (a listing without ``-l`` never pays)."""
    return (
        re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^()]*)\)\s*$"),
        re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})\s*$"),
        re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$"),
        re.compile(rf"^{_VALUE}$"),
    )


Labels = Mapping[str, str]


@dataclass(frozen=True)
class Requirement:
    """One requirement of a label selector (``key in (a,b)``, ``!key``, ``key=v``)."""

    key: str
    op: str  # "in" | "notin" | "exists" | "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Labels) -> bool:
        has = self.key in labels
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op == "in":
            return has and labels[self.key] in self.values
        return not has or labels[self.key] not in self.values


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse(selector: str) -> list[Requirement]:
    """The requirements of ``selector``; an ``InputError`` naming the bad part otherwise."""
    reqs: list[Requirement] = []
    if not selector.strip():
        return reqs
    _SET, _EQ, _EXISTS, _VALUE_RE = _patterns()
    for part in _split(selector):
        if m := _SET.match(part):
            values = [v.strip() for v in m["values"].split(",")]
            if any(not _VALUE_RE.match(v) for v in values):
                raise InputError(f"invalid value in {part.strip()!r}", subject=selector)
            reqs.append(Requirement(m["key"], m["op"], frozenset(values)))
        elif m := _EQ.match(part):
            op = "notin" if m["op"] == "!=" else "in"
            reqs.append(Requirement(m["key"], op, frozenset([m["value"]])))
        elif m := _EXISTS.match(part):
            reqs.append(Requirement(m["key"], "!" if m["neg"] else "exists"))
        else:
            raise InputError(f"unable to parse requirement {part.strip()!r}", subject=selector)
    return reqs


def matcher(selector: str | None) -> Callable[[Labels], bool]:
    """A test of an object's labels against ``selector`` (everything matches ``None``)."""
    reqs = parse(selector or "")
    return lambda labels: all(r.matches(labels) for r in reqs)


_OBJECT_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def expressions_match(
    match_labels: Mapping[str, Any],
    expressions: Iterable[tuple[Any, Any, Iterable[Any]]],
    labels: Labels,
) -> bool:
    """Kubernetes' ``LabelSelector`` object on ``labels``: every ``matchLabels`` pair and every
    ``(key, operator, values)`` of ``matchExpressions`` must hold; an unknown operator holds
    for nothing."""
    if any(labels.get(k) != str(v) for k, v in match_labels.items()):
        return False
    for key, operator, values in expressions:
        op = _OBJECT_OPS.get(str(operator))
        if op is None or not Requirement(str(key), op, frozenset(map(str, values))).matches(labels):
            return False
    return True


def selector_matches(selector: Mapping[str, Any] | None, labels: Labels) -> bool:
    """A ``LabelSelector`` as plain data (``{"matchLabels": …, "matchExpressions": […]}``) on
    ``labels``; no selector, or an empty one, matches everything, as in Kubernetes."""
    if not selector:
        return True
    exprs = [
        (e.get("key"), e.get("operator"), e.get("values") or [])
        for e in selector.get("matchExpressions") or []
    ]
    return expressions_match(selector.get("matchLabels") or {}, exprs, labels)


_FIELD = r"^\s*(?P<path>\.?[A-Za-z0-9_][-A-Za-z0-9_./]*)\s*(?P<op>==|=|!=)\s*(?P<value>[^,]*?)\s*$"


def _field(obj: Any, path: str) -> str:
    """The text of ``path`` (dotted) in ``obj``; ``""`` when it is not there."""
    cur = obj
    for part in path.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return ""
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return cur if isinstance(cur, str) else str(cur)


def field_matcher(selector: str | None) -> Callable[[Any], bool]:
    """A test of an object (as ``-o json`` prints it) against a field selector."""
    reqs: list[tuple[str, bool, str]] = []  # (path, equal?, value)
    for part in (selector or "").split(","):
        if not part.strip():
            continue
        m = re.match(_FIELD, part)
        if m is None:
            raise InputError(
                f"invalid field selector {part.strip()!r}: expected path=value or path!=value",
                subject="--field-selector",
            )
        path = m["path"].removeprefix(".")
        reqs.append((path, m["op"] != "!=", m["value"]))
    return lambda obj: all((_field(obj, p) == v) == eq for p, eq, v in reqs)


def age(since: dt.datetime | None, now: dt.datetime) -> str:
    """kubectl's short age of something created at ``since``: ``45s``, ``5m3s``, ``3h``, ``2d``."""
    if since is None:
        return "<unknown>"
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    secs = int((now - since).total_seconds())
    if secs < -1:
        return "<invalid>"
    return human_duration(secs)


def human_duration(seconds: float) -> str:
    """kubectl's ``duration.HumanDuration``: ``90s``, ``5m3s``, ``15m``, ``3h20m``, ``2d``."""
    secs = max(int(seconds), 0)
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    years = days // 365
    if secs < 120:
        return f"{secs}s"
    if mins < 10:
        return f"{mins}m" + (f"{secs % 60}s" if secs % 60 else "")
    if hours < 3:
        return f"{mins}m"
    if hours < 8:
        return f"{hours}h" + (f"{mins % 60}m" if mins % 60 else "")
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d" + (f"{hours % 24}h" if hours % 24 else "")
    if years < 2:
        return f"{days}d"
    if years < 8:
        return f"{years}y" + (f"{days % 365}d" if days % 365 else "")
    return f"{years}y"
