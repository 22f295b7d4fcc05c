"""``on:`` triggers: decide whether a workflow runs for an event. Pure.

Implements GitHub's filter patterns (``*``, ``**``, ``?``, ``+``, ``[...]``
and ``!`` negation, later patterns overriding earlier ones) for branches,
tags and paths (with their ``-ignore`` forms) and ``types``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

DEFAULT_TYPES = {
    "pull_request": ["opened", "synchronize", "reopened"],
    "pull_request_target": ["opened", "synchronize", "reopened"],
}


@lru_cache(maxsize=1024)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c in "?+" and out:
            out[-1] = f"(?:{out[-1]}){c}"
        elif c == "[":
            end = pattern.find("]", i)
            if end < 0:
                out.append(re.escape(c))
            else:
                out.append(pattern[i : end + 1])
                i = end + 1
                continue
        elif c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def matches(patterns: Sequence[str], value: str) -> bool:
    """True when the last pattern matching ``value`` is a positive one."""
    result = False
    for p in patterns:
        p = str(p)
        if p.startswith("!"):
            if pattern_regex(p[1:]).match(value):
                result = False
        elif pattern_regex(p).match(value):
            result = True
    return result


def _list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def _filter(spec: dict[str, Any], key: str, value: str) -> bool | None:
    """Apply ``key`` / ``key-ignore``; None when neither is present."""
    if key in spec:
        return matches(_list(spec[key]), value)
    if f"{key}-ignore" in spec:
        return not matches(_list(spec[f"{key}-ignore"]), value)
    return None


def _paths_ok(spec: dict[str, Any], changed: Sequence[str] | None) -> bool:
    if "paths" not in spec and "paths-ignore" not in spec:
        return True
    if changed is None:
        return True  # unknown changes: GitHub runs when it cannot compute the diff
    if "paths" in spec:
        pats = _list(spec["paths"])
        return any(matches(pats, f) for f in changed)
    ignore = _list(spec["paths-ignore"])
    return any(not matches(ignore, f) for f in changed)


def workflow_runs(
    on: dict[str, Any], event: str, payload: dict[str, Any], changed: Sequence[str] | None = None
) -> bool:
    """Whether a workflow with normalised ``on`` runs for ``event`` with ``payload``."""
    if event not in on:
        return False
    spec = on[event] if isinstance(on[event], dict) else {}
    if event == "push":
        ref = str(payload.get("ref", ""))
        has_b = "branches" in spec or "branches-ignore" in spec
        has_t = "tags" in spec or "tags-ignore" in spec
        if ref.startswith("refs/tags/"):
            if has_b and not has_t:
                return False
            ok = _filter(spec, "tags", ref[len("refs/tags/") :])
        else:
            if has_t and not has_b:
                return False
            ok = _filter(spec, "branches", ref.removeprefix("refs/heads/"))
        return ok is not False and _paths_ok(spec, changed)
    if event in ("pull_request", "pull_request_target"):
        types = _list(spec.get("types")) or DEFAULT_TYPES[event]
        action = str(payload.get("action", "opened"))
        if action not in types:
            return False
        pr = payload.get("pull_request") or {}
        base = str((pr.get("base") or {}).get("ref", "") or payload.get("base_ref", ""))
        ok = _filter(spec, "branches", base.removeprefix("refs/heads/"))
        return ok is not False and _paths_ok(spec, changed)
    if "types" in spec and "action" in payload:
        return str(payload["action"]) in _list(spec["types"])
    return True
