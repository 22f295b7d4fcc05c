"""Reading an Argo CD ``Application`` spec: sources, destination, policy, ignore rules.

Pure helpers over the stored resource body (already validated by
``shipway.model.kinds``); defaults follow Argo CD's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shipway.deploy.diff import IgnoreRule

Spec = dict[str, Any]


@dataclass(frozen=True)
class Policy:
    """The sync policy as the engine uses it."""

    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    options: frozenset[str] = field(default_factory=frozenset)
    retry_limit: int = 0
    backoff_seconds: float = 5.0
    backoff_factor: float = 2.0
    backoff_max_seconds: float = 180.0

    def option(self, name: str) -> bool:
        return f"{name}=true" in self.options

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based), as Argo CD computes it."""
        delay = self.backoff_seconds * self.backoff_factor ** (attempt - 1)
        return float(min(delay, self.backoff_max_seconds))


def sources(spec: Spec) -> list[dict[str, Any]]:
    """The sources that render manifests (``ref``-only sources only lend values files)."""
    if spec.get("sources"):
        return [s for s in spec["sources"] if s.get("path") or s.get("chart") or not s.get("ref")]
    return [spec["source"]]


def destination(spec: Spec) -> dict[str, Any]:
    return dict(spec.get("destination") or {})


def namespace(spec: Spec) -> str:
    return str(destination(spec).get("namespace") or "default")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def duration(text: str | None, default: float) -> float:
    """Argo CD (Go) durations: ``5s``, ``3m``, ``1h``, ``1m30s``, ``250ms``; bare numbers are s."""
    if not text:
        return default
    raw = str(text).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        return default
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * units[u] for n, u in parts)


def policy(spec: Spec) -> Policy:
    sp = spec.get("syncPolicy") or {}
    raw = sp.get("automated")
    auto: dict[str, Any] = raw if isinstance(raw, dict) else {}
    enabled = raw is not None and auto.get("enabled", True) is not False
    retry = sp.get("retry") or {}
    backoff = retry.get("backoff") or {}
    return Policy(
        automated=enabled,
        prune=bool(enabled and auto.get("prune")),
        self_heal=bool(enabled and auto.get("selfHeal")),
        allow_empty=bool(enabled and auto.get("allowEmpty")),
        options=frozenset(str(o).replace(" ", "") for o in sp.get("syncOptions") or []),
        retry_limit=int(retry.get("limit") or 0),
        backoff_seconds=duration(backoff.get("duration"), 5.0),
        backoff_factor=float(backoff.get("factor") or 2),
        backoff_max_seconds=duration(backoff.get("maxDuration"), 180.0),
    )


def ignore_rules(spec: Spec) -> list[IgnoreRule]:
    return [
        IgnoreRule(
            kind=str(r.get("kind", "*")),
            group=r.get("group"),
            name=r.get("name"),
            namespace=r.get("namespace"),
            json_pointers=tuple(r.get("jsonPointers") or ()),
            jq_paths=tuple(r.get("jqPathExpressions") or ()),
            managers=tuple(r.get("managedFieldsManagers") or ()),
            index=i,
        )
        for i, r in enumerate(spec.get("ignoreDifferences") or [])
    ]


def history_limit(spec: Spec) -> int:
    limit = spec.get("revisionHistoryLimit")
    return 10 if limit is None else max(int(limit), 1)
