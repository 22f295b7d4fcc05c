"""The helper namespaces Argo CD notification templates and triggers see (``time``,
``strings``, ``sync``, ``repo``), as its notifications "Functions" page lists them.

``time`` also holds the constants that page documents: the durations
``Nanosecond`` to ``Hour`` (``time.Parse(x).Add(1 * time.Minute)``, as the
catalog's on-deployed trigger writes it) and Go's layouts (``time.RFC3339``,
``time.Kitchen``...).

Pure. ``notification_vars()`` returns values to merge into a template's data
or a trigger's environment: templates call them with ``call``
(``{{ call .repo.RepoURLToHTTPS .app.spec.source.repoURL }}``), conditions
directly (``time.Now().Sub(time.Parse(x)).Minutes() > 5``). The functions that
need I/O (``repo.GetCommitMetadata``, ``repo.GetAppDetails``) are the caller's
to add.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shipway.templates.goduration import GoDuration
from shipway.templates.gotemplate.funcs_builtin import query_escape
from shipway.templates.gotime import LAYOUTS, RFC3339, GoTime, parse_time

_SSH = re.compile(r"^(?:ssh://)?(?:[^@/]+@)?([^:/]+)[:/](.+?)(?:\.git)?/?$")


def repo_url_to_https(url: str) -> str:
    """``git@github.com:o/r.git`` -> ``https://github.com/o/r``."""
    if url.startswith(("http://", "https://")):
        return re.sub(r"\.git$", "", url)
    m = _SSH.match(url)
    if not m:
        return url
    return f"https://{m.group(1)}/{m.group(2)}"


def full_name_by_repo_url(url: str) -> str:
    """``<owner>/<repo>`` of a GitHub, GitLab or Bitbucket URL."""
    https = repo_url_to_https(url)
    m = re.match(r"https?://[^/]+/(.+?)/?$", https)
    return m.group(1) if m else ""


def get_info_item(app: Mapping[str, Any], name: str) -> str:
    """The value of the sync operation's info item ``name``."""
    op = (app.get("status") or {}).get("operationState") or {}
    items = ((op.get("operation") or {}).get("info")) or []
    for item in items:
        if item.get("name") == name:
            return str(item.get("value", ""))
    app_name = (app.get("metadata") or {}).get("name", "")
    raise ValueError(f"application '{app_name}' has no info item with name '{name}'")


_NS = 1
DURATIONS = {"Nanosecond": _NS, "Microsecond": 1000 * _NS, "Millisecond": 1000**2 * _NS,
             "Second": 1000**3 * _NS, "Minute": 60 * 1000**3 * _NS,
             "Hour": 3600 * 1000**3 * _NS}  # fmt: skip


def _time_namespace() -> dict[str, Any]:
    out: dict[str, Any] = {"Now": GoTime.now, "Parse": lambda s: parse_time(RFC3339, s)}
    out.update({k: GoDuration(v) for k, v in DURATIONS.items()})
    out.update(LAYOUTS)
    return out


def notification_vars() -> dict[str, dict[str, Any]]:
    """The namespaces, as data values holding functions (and ``time``'s constants)."""
    return {
        "time": _time_namespace(),
        "strings": {
            "ReplaceAll": lambda s, old, new: s.replace(old, new),
            "ToUpper": lambda s: s.upper(),
            "ToLower": lambda s: s.lower(),
        },
        "sync": {"GetInfoItem": get_info_item},
        "repo": {
            "RepoURLToHTTPS": repo_url_to_https,
            "FullNameByRepoURL": full_name_by_repo_url,
            "QueryEscape": query_escape,
        },
    }
