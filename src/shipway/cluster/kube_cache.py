"""A watch-based cache of the objects shipway manages on a Kubernetes cluster.

Per watched kind: one list (label selector ``app.kubernetes.io/instance``)
then a watch from its resource version in a daemon thread, re-listing on
``410 Gone``. Objects are indexed by application (the label's value) and
each change bumps that application's version, so a refresh can skip apps
whose live state did not change. ``put``/``drop`` write through after
shipway's own apply/delete, so a comparison right after a sync sees it.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from shipway.cluster import INSTANCE_LABEL
from shipway.cluster.changelog import ChangeLog

Obj = dict[str, Any]
Lister = Callable[[str], tuple[list[Obj], str]]  # kind → (items, resourceVersion)
Watcher = Callable[[str, str], Iterator[tuple[str, Obj]]]  # kind, rv → (type, obj)


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{group}/{obj.get('kind')}/{meta.get('namespace') or ''}/{meta.get('name')}"


class LiveCache:
    """Objects by app and key, kept fresh by watches once ``watch`` is called per kind."""

    def __init__(self, lister: Lister, watcher: Watcher | None) -> None:
        self._list, self._watch = lister, watcher
        self._lock = threading.Lock()
        self._by_app: dict[str, dict[str, Obj]] = {}
        self._versions: dict[str, int] = {}
        self._changes = ChangeLog()
        self._kinds: set[str] = set()
        self._threads: list[threading.Thread] = []
        self.stopped = threading.Event()

    def ensure(self, kinds: Iterable[str]) -> None:
        """List (and, with a watcher, watch) every kind not yet cached."""
        for kind in sorted(set(kinds) - self._kinds):
            items, rv = self._list(kind)
            with self._lock:
                for obj in items:
                    self._store("ADDED", obj)
                self._kinds.add(kind)
            if self._watch is not None:
                t = threading.Thread(
                    target=self._run, args=(kind, rv), daemon=True, name=f"shipway-watch-{kind}"
                )
                t.start()
                self._threads.append(t)

    def _run(self, kind: str, rv: str) -> None:
        assert self._watch is not None
        while not self.stopped.is_set():
            try:
                for etype, obj in self._watch(kind, rv):
                    if self.stopped.is_set():
                        return
                    rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                    with self._lock:
                        self._store(etype, obj)
            except _Gone:
                items, rv = self._list(kind)
                with self._lock:
                    self._replace_kind(kind, items)
            except Exception:  # a dropped connection: retry after a pause
                time.sleep(1.0)

    def _store(self, etype: str, obj: Obj) -> None:
        app = ((obj.get("metadata") or {}).get("labels") or {}).get(INSTANCE_LABEL)
        if not app:
            return
        mine = self._by_app.setdefault(app, {})
        if etype == "DELETED":
            mine.pop(key_of(obj), None)
        else:
            mine[key_of(obj)] = obj
        self._versions[app] = self._versions.get(app, 0) + 1
        self._changes.note(app)

    def _replace_kind(self, kind: str, items: list[Obj]) -> None:
        for app, objs in self._by_app.items():
            for k in [k for k, o in objs.items() if o.get("kind") == kind]:
                del objs[k]
            self._versions[app] = self._versions.get(app, 0) + 1
            self._changes.note(app)
        for obj in items:
            self._store("ADDED", obj)

    def put(self, obj: Obj) -> None:
        with self._lock:
            self._store("MODIFIED", copy.deepcopy(obj))

    def drop(self, obj: Obj) -> None:
        with self._lock:
            self._store("DELETED", obj)

    def find(self, key: str) -> Obj | None:
        with self._lock:
            for objs in self._by_app.values():
                if key in objs:
                    return copy.deepcopy(objs[key])
        return None

    def objects(self, app: str) -> dict[str, Obj]:
        with self._lock:
            return {k: copy.deepcopy(v) for k, v in self._by_app.get(app, {}).items()}

    def version(self, app: str) -> str:
        with self._lock:
            return str(self._versions.get(app, 0))

    def changes(self, token: int | None) -> tuple[int, set[str] | None]:
        """The apps whose objects changed since ``token`` (``ChangeLog.since``)."""
        with self._lock:
            return self._changes.since(token)

    def stop(self) -> None:
        self.stopped.set()


class _Gone(Exception):
    """The watch's resource version is too old (410): list again."""


Gone = _Gone
