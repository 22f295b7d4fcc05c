"""``permissions:``: validate a spec and compute a job's effective ``GITHUB_TOKEN`` scopes. Pure.

GitHub's rules: a job's ``permissions`` replaces the workflow's; a spec names
some scopes and every scope it leaves out is ``none`` (``metadata`` stays
``read``); ``read-all``/``write-all`` set every scope; ``{}`` sets none. With
no spec anywhere, the repository default applies (``permissive`` or
``restricted``, as GitHub documents them). A called reusable workflow can
keep or lower, never raise, what its caller job was given.
"""

from __future__ import annotations

from typing import Any

LEVELS = ("none", "read", "write")
_RANK = {name: i for i, name in enumerate(LEVELS)}
# scope -> the levels GitHub accepts for it (id-token has no read, models has no write)
SCOPES: dict[str, tuple[str, ...]] = {
    "actions": LEVELS,
    "attestations": LEVELS,
    "checks": LEVELS,
    "contents": LEVELS,
    "deployments": LEVELS,
    "discussions": LEVELS,
    "id-token": ("none", "write"),
    "issues": LEVELS,
    "models": ("none", "read"),
    "packages": LEVELS,
    "pages": LEVELS,
    "pull-requests": LEVELS,
    "repository-projects": LEVELS,
    "security-events": LEVELS,
    "statuses": LEVELS,
}
# GitHub's documented defaults for the GITHUB_TOKEN of a repository.
DEFAULTS: dict[str, dict[str, str]] = {
    "permissive": {**{s: "write" for s in SCOPES}, "id-token": "none", "models": "read"},
    "restricted": {
        **{s: "none" for s in SCOPES},
        **{"contents": "read", "packages": "read", "models": "read"},
    },
}
_TITLES = {
    "id-token": "IdToken",
    "pull-requests": "PullRequests",
    "repository-projects": "RepositoryProjects",
    "security-events": "SecurityEvents",
}

Perms = dict[str, str]


def problems(spec: Any) -> list[tuple[tuple[str, ...], str]]:
    """What is wrong with a ``permissions`` value: (path below it, message) pairs."""
    if isinstance(spec, str):
        if spec in ("read-all", "write-all"):
            return []
        expected = "expected 'read-all', 'write-all' or a mapping"
        return [((), f"invalid permissions {spec!r}: {expected}")]
    if not isinstance(spec, dict):
        return [((), "'permissions' must be 'read-all', 'write-all' or a mapping of scopes")]
    found: list[tuple[tuple[str, ...], str]] = []
    for scope, level in spec.items():
        key = str(scope)
        if key not in SCOPES:
            known = ", ".join(SCOPES)
            found.append(((key,), f"unknown permission scope {key!r} (expected one of: {known})"))
        elif not isinstance(level, str) or level not in SCOPES[key]:
            allowed = ", ".join(repr(x) for x in SCOPES[key])
            found.append(((key,), f"invalid level {level!r} for scope {key!r}: use {allowed}"))
    return found


def expand(spec: Any) -> Perms:
    """Every scope's level under a valid ``spec`` (``metadata`` excluded)."""
    if spec == "read-all":
        return {s: ("read" if "read" in ok else "none") for s, ok in SCOPES.items()}
    if spec == "write-all":
        return {s: ok[-1] for s, ok in SCOPES.items()}
    given = spec if isinstance(spec, dict) else {}
    return {s: str(given.get(s, "none")) for s in SCOPES}


def lower(perms: Perms, cap: Perms) -> Perms:
    """``perms`` with no scope above what ``cap`` allows."""
    return {s: min(v, cap.get(s, "none"), key=_RANK.__getitem__) for s, v in perms.items()}


def effective(
    workflow_spec: Any, job_spec: Any, default: str = "permissive", cap: Perms | None = None
) -> Perms:
    """The token scopes of one job; ``default`` names the repository default.

    ``cap`` is a calling job's scopes (for a reusable workflow): the called
    workflow inherits them when it declares none and can only lower them.
    """
    spec = job_spec if job_spec is not None else workflow_spec
    if spec is not None:
        perms = expand(spec)
    elif cap is not None:
        perms = dict(cap)
    else:
        perms = dict(DEFAULTS.get(default, DEFAULTS["permissive"]))
    if cap is not None:
        perms = lower(perms, cap)
    return perms


def allows(perms: Perms, scope: str, need: str) -> bool:
    """True when ``perms`` grant ``need`` (read or write) on ``scope``."""
    if scope == "metadata":
        return need in ("none", "read")
    return _RANK.get(perms.get(scope, "none"), 0) >= _RANK[need]


def log_lines(perms: Perms, verbose: bool = False) -> list[str]:
    """The ``GITHUB_TOKEN Permissions`` GitHub prints when a job starts: one line, or (verbose)
    its group."""
    rows = {**perms, "metadata": "read"}
    body = [
        f"{_TITLES.get(s, s.capitalize())}: {rows[s]}" for s in sorted(rows) if rows[s] != "none"
    ]
    if not verbose:
        return [f"GITHUB_TOKEN Permissions: {', '.join(body)}"]
    return ["::group::GITHUB_TOKEN Permissions", *body, "::endgroup::"]
