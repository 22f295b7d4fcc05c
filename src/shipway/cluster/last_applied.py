"""What a target applied last, per object, for targets with no API to read it back.

On Kubernetes the last applied configuration lives on the object (shipway's
managed fields, or the ``kubectl.kubernetes.io/last-applied-configuration``
annotation). A podman host has no such place, so its target records every
object it applied successfully here, under
``<base>/last-applied/<app>.json`` (``{key: manifest}``, mode 0600: Secrets
are in it), and forgets what it pruned. The reconciler compares three ways
with it, so a field removed from git is drift. Touches only that directory.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shipway.cluster import Result

Obj = dict[str, Any]


def _file(base: Path, app: str) -> Path:
    return base / "last-applied" / f"{app}.json"


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{group}/{obj.get('kind')}/{meta.get('namespace') or ''}/{meta.get('name')}"


def load(base: Path, app: str) -> dict[str, Obj]:
    """The recorded manifests of ``app`` by key (empty when none, or the file is unreadable)."""
    try:
        found = json.loads(_file(base, app).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _save(base: Path, app: str, records: dict[str, Obj]) -> None:
    f = _file(base, app)
    if not records:
        f.unlink(missing_ok=True)
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(records, fh)
    os.replace(tmp, f)


def record(base: Path, app: str, objects: Iterable[Obj], results: Iterable[Result]) -> None:
    """Remember each of ``objects`` whose result is ``Synced`` (without its ``status``)."""
    ok = {r.key for r in results if r.status == "Synced"}
    records = load(base, app)
    changed = False
    for obj in objects:
        key = _key(obj)
        if key in ok:
            records[key] = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
            changed = True
    if changed:
        _save(base, app, records)


def forget(base: Path, app: str, results: Iterable[Result]) -> None:
    """Drop the records of the objects ``results`` report pruned."""
    gone = {r.key for r in results if r.status == "Pruned"}
    records = load(base, app)
    if gone & set(records):
        _save(base, app, {k: v for k, v in records.items() if k not in gone})


def clear(base: Path, app: str | None = None) -> None:
    """Forget everything recorded for ``app`` (or for every app)."""
    for f in (base / "last-applied").glob(f"{app or '*'}.json"):
        f.unlink(missing_ok=True)
