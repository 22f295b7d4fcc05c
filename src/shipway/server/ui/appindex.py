"""The applications page's index: one small summary per Application, kept in memory.

Each request asks the store only ``id, updated`` of every Application (one narrow
query) and loads the full rows of those that are new or whose time moved (a spec
applied or a status written; ``store.resources`` bumps ``updated`` for both), so
10,000 applications cost one index scan, not 10,000 JSON documents. ``select``
filters, searches, counts and pages the summaries (pure). Touches the store,
read only.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shipway.model import namespaces
from shipway.store import reads
from shipway.store.db import Store

_CHUNK = 500


@dataclass(frozen=True)
class Summary:
    """What the tiles and the table show of one Application."""

    namespace: str
    name: str
    project: str
    cluster: str
    dest_namespace: str
    sync: str
    health: str
    labels: tuple[tuple[str, str], ...]
    repo: str
    path: str
    revision: str
    auto: bool

    @property
    def qualified(self) -> str:
        return namespaces.qualified(self.namespace, self.name)

    @property
    def rbac_object(self) -> str:
        return f"{self.project}/{namespaces.qualified(self.namespace, self.name)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "project": self.project,
            "cluster": self.cluster,
            "destNamespace": self.dest_namespace,
            "sync": self.sync,
            "health": self.health,
            "labels": dict(self.labels),
            "repo": self.repo,
            "path": self.path,
            "revision": self.revision,
            "auto": self.auto,
        }


def summarize(namespace: str, name: str, body: dict[str, Any], status: dict[str, Any]) -> Summary:
    spec = body.get("spec") or {}
    src = spec.get("source") or (spec.get("sources") or [{}])[0] or {}
    dest = spec.get("destination") or {}
    labels = (body.get("metadata") or {}).get("labels") or {}
    return Summary(
        namespace=namespace,
        name=name,
        project=str(spec.get("project") or "default"),
        cluster=str(dest.get("name") or dest.get("server") or ""),
        dest_namespace=str(dest.get("namespace") or ""),
        sync=str((status.get("sync") or {}).get("status") or "Unknown"),
        health=str((status.get("health") or {}).get("status") or "Unknown"),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        repo=str(src.get("repoURL") or ""),
        path=str(src.get("path") or src.get("chart") or ""),
        revision=str((status.get("sync") or {}).get("revision") or "")[:12],
        auto=(spec.get("syncPolicy") or {}).get("automated") is not None,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


class AppIndex:
    """The summaries of every stored Application, refreshed incrementally per call."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._stamp: dict[int, Any] = {}
        self._rows: dict[int, Summary] = {}

    def summaries(self) -> list[Summary]:
        reader = reads.engine_reader(self.store.engine)
        stamps = {
            int(r[0]): r[1]
            for r in reader.rows("SELECT id, updated FROM resources WHERE kind = 'Application'")
        }
        with self._lock:
            changed = [i for i, t in stamps.items() if self._stamp.get(i) != t]
            for gone in set(self._stamp) - set(stamps):
                self._stamp.pop(gone, None)
                self._rows.pop(gone, None)
            for start in range(0, len(changed), _CHUNK):
                ids = changed[start : start + _CHUNK]
                marks = ", ".join(f":i{n}" for n in range(len(ids)))
                got = reader.rows(
                    "SELECT id, namespace, name, body, status, updated FROM resources "
                    f"WHERE id IN ({marks})",
                    **{f"i{n}": v for n, v in enumerate(ids)},
                )
                for r in got:
                    self._rows[int(r[0])] = summarize(r[1], r[2], _json(r[3]), _json(r[4]))
                    self._stamp[int(r[0])] = r[5]
            found = list(self._rows.values())
        found.sort(key=lambda s: (s.namespace, s.name))
        return found


@dataclass(frozen=True)
class Query:
    """The page's filters: each an exact value, ``labels`` as ``k=v`` pairs, ``q`` a substring."""

    project: str = ""
    cluster: str = ""
    namespace: str = ""
    sync: str = ""
    health: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    q: str = ""
    page: int = 1
    per_page: int = 100


@dataclass
class Selection:
    items: list[Summary]
    total: int  # after the filters
    visible: int  # every app the caller may get
    page: int
    pages: int
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)


def parse_labels(text: str) -> tuple[tuple[str, str], ...]:
    """``a=b,c=d`` → pairs; a term without ``=`` asks only that the label exists (value ``*``)."""
    pairs = []
    for term in text.split(","):
        k, eq, v = term.strip().partition("=")
        if k.strip():
            pairs.append((k.strip(), v.strip() if eq else "*"))
    return tuple(pairs)


def _matches(s: Summary, q: Query) -> bool:
    if q.project and s.project != q.project:
        return False
    if q.cluster and s.cluster != q.cluster:
        return False
    if q.namespace and s.dest_namespace != q.namespace:
        return False
    if q.sync and s.sync != q.sync:
        return False
    if q.health and s.health != q.health:
        return False
    if q.labels:
        have = dict(s.labels)
        for k, v in q.labels:
            if k not in have or (v != "*" and have[k] != v):
                return False
    if q.q:
        needle = q.q.lower()
        return needle in s.qualified.lower() or needle in s.repo.lower()
    return True


def select(summaries: Iterable[Summary], q: Query, allowed: Callable[[str], bool]) -> Selection:
    """The page of apps the caller may get that match ``q``, with counts by status."""
    visible = [s for s in summaries if allowed(s.rbac_object)]
    choices = {
        "project": sorted({s.project for s in visible}),
        "cluster": sorted({s.cluster for s in visible}),
        "namespace": sorted({s.dest_namespace for s in visible}),
    }
    hits = [s for s in visible if _matches(s, q)]
    counts = {"sync": Counter(s.sync for s in hits), "health": Counter(s.health for s in hits)}
    per = max(1, min(q.per_page, 1000))
    pages = max(1, -(-len(hits) // per))
    page = min(max(1, q.page), pages)
    items = hits[(page - 1) * per : page * per]
    return Selection(items, len(hits), len(visible), page, pages, counts, choices)
