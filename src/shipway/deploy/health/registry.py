"""Health checks keyed by API group and kind, with glob patterns (``*``, ``*.upbound.io``). Pure.

A key is exact (``("apps", "Deployment")``; ``""`` is the core group) or a
pattern in either part (``("*", "Service")``, ``("*.crossplane.io", "*")``).
``find`` prefers an exact key, then the newest matching pattern.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache

from shipway.deploy.health.util import Check

_GLOB = re.compile(r"[*?\[]")


def is_pattern(part: str) -> bool:
    return bool(_GLOB.search(part))


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def matches(pattern: str, value: str) -> bool:
    """Glob match, case-sensitive (``*`` also matches the empty core group)."""
    return pattern == value or (is_pattern(pattern) and bool(_compiled(pattern).match(value)))


@dataclass
class Registry:
    exact: dict[tuple[str, str], Check] = field(default_factory=dict)
    patterns: list[tuple[str, str, Check]] = field(default_factory=list)

    def add(self, group: str, kind: str, check: Check) -> None:
        """Install ``check`` for ``group``/``kind`` (replacing what that key had)."""
        self.remove(group, kind)
        if is_pattern(group) or is_pattern(kind):
            self.patterns.append((group, kind, check))
        else:
            self.exact[(group, kind)] = check

    def remove(self, group: str, kind: str) -> None:
        self.exact.pop((group, kind), None)
        self.patterns = [p for p in self.patterns if (p[0], p[1]) != (group, kind)]

    def find(self, group: str, kind: str) -> Check | None:
        found = self.exact.get((group, kind))
        if found is not None:
            return found
        for pgroup, pkind, check in reversed(self.patterns):
            if matches(pgroup, group) and matches(pkind, kind):
                return check
        return None

    def keys(self) -> list[tuple[str, str]]:
        return [*self.exact, *((g, k) for g, k, _ in self.patterns)]

    def copy(self) -> Registry:
        return Registry(dict(self.exact), list(self.patterns))
