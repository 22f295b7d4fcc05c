"""AppProject allow-lists, read as Argo CD defines them. Pure.

``sourceRepos`` (globs, ``*`` for any; a leading ``!`` denies), ``destinations``
(``server``/``name`` and ``namespace`` globs), ``clusterResourceWhitelist`` /
``clusterResourceBlacklist`` and ``namespaceResourceWhitelist`` /
``namespaceResourceBlacklist`` (``group``/``kind`` globs). An absent
whitelist allows everything for namespaced kinds and nothing for
cluster-scoped ones, as in Argo CD; the built-in ``default`` project (when no
AppProject of that name is stored) allows everything. Violations raise
``InputError`` naming the object.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from shipway.deploy.render import CLUSTER_SCOPED, group_of
from shipway.model.errors import InputError

Spec = Mapping[str, Any]
ALLOW_ALL: dict[str, Any] = {
    "sourceRepos": ["*"],
    "destinations": [{"server": "*", "name": "*", "namespace": "*"}],
    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
}


def _glob(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _allowed_by(value: str, patterns: Iterable[str]) -> bool:
    pats = list(patterns)
    if any(p.startswith("!") and _glob(value, p[1:]) for p in pats):
        return False
    return any(not p.startswith("!") and _glob(value, p) for p in pats)


def check_source(project: str, spec: Spec, repo_url: str) -> None:
    if not _allowed_by(repo_url, spec.get("sourceRepos") or []):
        raise InputError(
            f"application repo {repo_url} is not permitted in project '{project}'",
            subject=f"AppProject/{project}",
        )


def check_destination(project: str, spec: Spec, dest: Mapping[str, Any]) -> None:
    server, name = str(dest.get("server") or ""), str(dest.get("name") or "")
    namespace = str(dest.get("namespace") or "")
    for d in spec.get("destinations") or []:
        target_ok = (server and _glob(server, str(d.get("server") or ""))) or (
            name and _glob(name, str(d.get("name") or ""))
        )
        if target_ok and _glob(namespace, str(d.get("namespace") or "*")):
            return
    raise InputError(
        f"application destination {{{server or name} {namespace}}} is not permitted in "
        f"project '{project}'",
        subject=f"AppProject/{project}",
    )


def _matches(entries: Iterable[Mapping[str, Any]], group: str, kind: str) -> bool:
    return any(
        _glob(group, str(e.get("group", "*"))) and _glob(kind, str(e.get("kind", "*")))
        for e in entries
    )


def check_kinds(project: str, spec: Spec, manifests: Iterable[Mapping[str, Any]]) -> None:
    """Refuse the first object whose group/kind the project does not permit."""
    for m in manifests:
        kind, group = str(m.get("kind")), group_of(str(m.get("apiVersion", "")))
        if kind in CLUSTER_SCOPED:
            allow = spec.get("clusterResourceWhitelist") or []
            deny = spec.get("clusterResourceBlacklist") or []
            ok = _matches(allow, group, kind) and not _matches(deny, group, kind)
        else:
            allow = spec.get("namespaceResourceWhitelist")
            deny = spec.get("namespaceResourceBlacklist") or []
            ok = (allow is None or _matches(allow, group, kind)) and not _matches(deny, group, kind)
        if not ok:
            name = (m.get("metadata") or {}).get("name")
            raise InputError(
                f"resource {group}:{kind} is not permitted in project '{project}'",
                subject=f"{kind}/{name}",
            )
