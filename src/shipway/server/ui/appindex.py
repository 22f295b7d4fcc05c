"""The applications page's index: one small summary per Application, kept in memory.

Each request asks the store ``count(*), max(updated)`` of the Applications (one
aggregate, read from migration 0013's index); when that moved it asks ``id, updated``
of every one and loads the full rows of those that are new or whose time moved (a
spec applied or a status written; ``store.resources`` bumps ``updated`` for both),
so 10,000 applications are not 10,000 JSON documents per page. ``visible`` keeps
what each caller may see until something changes; ``select`` filters, searches,
counts and pages them (pure; the filters' choices kept per visible list). Touches
the store, read only.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipway.model import namespaces
from shipway.store import reads
from shipway.store.db import Store

_CHUNK = 500
# Both read migration 0013's index (kind, updated, id) alone, never the rows.
_APPS = "kind = 'Application'"
_MARK_SQL = f"SELECT count(*), max(updated) FROM resources WHERE {_APPS}"
_STAMPS_SQL = f"SELECT id, updated FROM resources WHERE {_APPS}"


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
    qualified: str = ""  # ``name`` in argocd, else ``namespace/name``
    rbac_object: str = ""  # ``project/qualified``: what RBAC checks

    def __post_init__(self) -> None:
        qualified = namespaces.qualified(self.namespace, self.name)
        object.__setattr__(self, "qualified", qualified)
        object.__setattr__(self, "rbac_object", f"{self.project}/{qualified}")

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
    """The summaries of every stored Application, refreshed incrementally per call.

    A call first asks ``count(*), max(updated)`` of the Applications: unchanged, the
    summaries are reused as they are; changed (or every ``RESCAN`` seconds, for a
    clock that went backwards on another host), ``id, updated`` of every row tells
    which rows to load again.
    """

    RESCAN = 30.0

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._stamp: dict[int, Any] = {}
        self._rows: dict[int, Summary] = {}
        self._sorted: list[Summary] = []
        self._mark: tuple[Any, ...] = ()
        self._scanned = 0.0
        self.version = 0  # moves whenever the summaries changed
        self._visible: dict[Any, list[Summary]] = {}

    def summaries(self) -> list[Summary]:
        reader = reads.engine_reader(self.store.engine)
        mark = tuple(reader.rows(_MARK_SQL)[0])
        with self._lock:
            if mark == self._mark and time.monotonic() - self._scanned < self.RESCAN:
                return self._sorted
            self._load(reader)
            self._mark, self._scanned = mark, time.monotonic()
            return self._sorted

    def _load(self, reader: reads.Reader) -> None:
        stamps = {int(r[0]): r[1] for r in reader.rows(_STAMPS_SQL)}
        changed = [i for i, t in stamps.items() if self._stamp.get(i) != t]
        gone = set(self._stamp) - set(stamps)
        for i in gone:
            self._stamp.pop(i, None)
            self._rows.pop(i, None)
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
        if changed or gone or not self._sorted:
            self._sorted = sorted(self._rows.values(), key=lambda s: (s.namespace, s.name))
            self.version += 1
            self._visible.clear()

    def visible(self, who: Any, allowed: Callable[[str], bool]) -> list[Summary]:
        """The summaries ``allowed`` lets through, kept per ``who`` (an identity and the
        policy it was checked against) until the summaries change."""
        found = self.summaries()
        key = (self.version, who)
        with self._lock:
            hit = self._visible.get(key)
        if hit is None:
            hit = [s for s in found if allowed(s.rbac_object)]
            with self._lock:
                if len(self._visible) > 64:
                    self._visible.clear()
                self._visible[key] = hit
        return hit


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


_CHOICES: dict[int, tuple[list[Summary], dict[str, list[str]]]] = {}


def _choices(visible: list[Summary]) -> dict[str, list[str]]:
    """The filters' values over ``visible``, kept while that same list is what ``visible``
    answers (``AppIndex.visible`` hands back one list per caller until anything changes)."""
    hit = _CHOICES.get(id(visible))
    if hit is not None and hit[0] is visible:
        return hit[1]
    found = {
        "project": sorted({s.project for s in visible}),
        "cluster": sorted({s.cluster for s in visible}),
        "namespace": sorted({s.dest_namespace for s in visible}),
    }
    if len(_CHOICES) > 64:
        _CHOICES.clear()
    _CHOICES[id(visible)] = (visible, found)
    return found


def select(visible: list[Summary], q: Query) -> Selection:
    """The page of ``visible`` apps (those the caller may get) that match ``q``, with counts."""
    choices = _choices(visible)
    unfiltered = q == Query(page=q.page, per_page=q.per_page)
    hits = visible if unfiltered else [s for s in visible if _matches(s, q)]
    counts = {"sync": Counter(s.sync for s in hits), "health": Counter(s.health for s in hits)}
    per = max(1, min(q.per_page, 1000))
    pages = max(1, -(-len(hits) // per))
    page = min(max(1, q.page), pages)
    items = hits[(page - 1) * per : page * per]
    return Selection(items, len(hits), len(visible), page, pages, counts, choices)
