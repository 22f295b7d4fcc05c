"""The rows of the everyday lists: ``get KIND``, ``app list``, ``release list``, ``ci list``.

Pure: records in, headers and rows out (``shipway.cli.output`` draws them). Apart from
the commands (which need click) so the quick reads (``shipway.cli.quick``) use the very
same columns without loading click. May touch: nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipway.cli import kargo_columns
from shipway.model import namespaces, selectors
from shipway.model.release import now

if TYPE_CHECKING:
    from shipway.cli.output import TableFn
    from shipway.model.resources import Resource


def summary_row(app: dict[str, Any]) -> list[Any]:
    """An Application's row in ``app list`` (argocd's columns)."""
    spec, status = app.get("spec") or {}, app.get("status") or {}
    src = spec.get("source") or (spec.get("sources") or [{}])[0]
    dest = spec.get("destination") or {}
    auto = "Auto" if (spec.get("syncPolicy") or {}).get("automated") is not None else "Manual"
    if auto == "Auto" and (spec.get("syncPolicy") or {}).get("automated", {}).get("prune"):
        auto += "-Prune"
    meta = app["metadata"]
    return [
        namespaces.qualified(meta.get("namespace") or "", meta["name"]),
        dest.get("name") or dest.get("server"),
        dest.get("namespace", ""),
        spec.get("project", "default"),
        (status.get("sync") or {}).get("status", "Unknown"),
        (status.get("health") or {}).get("status", "Unknown"),
        auto,
        src.get("repoURL"),
        src.get("path", ""),
        (status.get("pin") or {}).get("revision", "")[:12] or src.get("targetRevision", "HEAD"),
    ]


APP_COLUMNS = [
    "name",
    "cluster",
    "namespace",
    "project",
    "status",
    "health",
    "syncpolicy",
    "repo",
    "path",
    "target",
]


def app_name(a: dict[str, Any]) -> str:
    meta = a.get("metadata") or {}
    return f"application/{namespaces.qualified(meta.get('namespace', ''), meta.get('name', ''))}"


def app_table(apps: Sequence[dict[str, Any]], wide: bool) -> tuple[list[str], list[list[Any]]]:
    """``app list``'s columns (argocd's)."""
    return APP_COLUMNS, [summary_row(a) for a in apps]


def age_cell(stamp: Any) -> str:
    """The AGE cell of a record's RFC 3339 time (``<unknown>`` without one), as kubectl's."""
    import datetime as dt

    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return "<unknown>"
    return selectors.age(when, now())


def run_row(r: dict[str, Any]) -> list[Any]:
    """A stored CI run's row in ``ci list``."""
    return [r.get("id"), r.get("workflow"), r.get("event"), str(r.get("commit", ""))[:12],
            r.get("conclusion") or r.get("status"), len(r.get("jobs", [])),
            age_cell(r.get("started"))]  # fmt: skip


RUN_HEADERS = ["id", "workflow", "event", "commit", "conclusion", "jobs", "age"]


def release_row(r: dict[str, Any]) -> list[Any]:
    """A release record's row in ``release list``."""
    secs = r.get("seconds")
    duration = f"{secs:.1f}s" if isinstance(secs, int | float) else ""
    return [r.get("id"), r.get("app"), str(r.get("commit") or "")[:12], r.get("status"),
            str(r.get("image") or "")[-24:], duration, age_cell(r.get("created"))]  # fmt: skip


RELEASE_HEADERS = ["id", "app", "commit", "status", "image", "duration", "age"]


NOTHING = "No resources found"
"""kubectl's line (on stderr, no header) for an empty list of records (releases, CI runs)."""


def nothing_in(namespace: str | None) -> str:
    """``NOTHING`` for a list of records of one namespace (``release list -n NS``)."""
    return NOTHING if namespace is None else f"No resources found in {namespace} namespace."


def nothing_found(kind: str, namespace: str, every: bool) -> str:
    """kubectl's line for an empty ``get``: ``No resources found in NS namespace.``"""
    if every or not namespaces.namespaced(kind) or not namespace:
        return NOTHING
    return f"No resources found in {namespace} namespace."


def resource_table(kind: str, every: bool) -> TableFn[Resource]:
    """``get KIND``'s table: the kind's own columns (Kargo's...) or NAME SOURCE AGE."""

    def table(items: Sequence[Resource], wide: bool) -> tuple[list[str], list[list[Any]]]:
        with_ns = every and namespaces.namespaced(kind)
        own = kargo_columns.table(kind, list(items), wide)
        if own is not None:
            heads, rows = own
        else:
            t = now()
            heads = ["name", "source", "age"]
            rows = [[r.name, r.source, selectors.age(r.created, t)] for r in items]
        if with_ns:
            rows = [[r.namespace, *row] for r, row in zip(items, rows, strict=True)]
            heads = ["namespace", *heads]
        return heads, rows

    return table
