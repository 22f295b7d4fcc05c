"""``.dockerignore`` patterns: Go ``filepath.Match`` syntax plus ``**`` and ``!`` exceptions.

Pure. The last matching pattern wins; a pattern that matches a directory
excludes everything below it (unless a later ``!`` pattern brings a path back).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    negate: bool
    regex: re.Pattern[str]
    pattern: str


def _to_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def parse(text: str) -> list[Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        line = posixpath.normpath(line.lstrip("/")) if line.lstrip("/") else "."
        rules.append(Rule(negate, _to_regex(line), line))
    return rules


def excluded(rules: list[Rule], rel: str) -> bool:
    """True when the context-relative path ``rel`` is ignored."""
    if not rules or rel in ("", "."):
        return False
    parts = rel.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for rule in rules:
        if any(rule.regex.match(c) for c in candidates):
            result = not rule.negate
    return result
