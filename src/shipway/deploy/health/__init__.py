"""Health of live objects, with Argo CD's status names and severity order.

Pure: takes a live object (a dict with ``status``) and returns a status name
and message. Order of severity (worst last), as Argo CD's ``IsWorse``:
``Healthy < Suspended < Progressing < Missing < Degraded < Unknown``.
Kinds without health (ConfigMap, Secret, RBAC ...) return ``None``. Custom
checks register with ``register(kind, func)`` (a plugin is any module that
calls it; ``load_plugins`` imports the ones named by the engine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shipway.deploy.health import kinds as _kinds

HEALTHY, SUSPENDED, PROGRESSING = "Healthy", "Suspended", "Progressing"
MISSING, DEGRADED, UNKNOWN = "Missing", "Degraded", "Unknown"
ORDER = (HEALTHY, SUSPENDED, PROGRESSING, MISSING, DEGRADED, UNKNOWN)

Check = Callable[[dict[str, Any]], tuple[str, str] | None]

_CHECKS: dict[str, Check] = dict(_kinds.CHECKS)


def register(kind: str, check: Check) -> None:
    """Install a custom health check for ``kind`` (replaces the built-in one)."""
    _CHECKS[kind] = check


def checks() -> dict[str, Check]:
    return dict(_CHECKS)


def of(obj: dict[str, Any] | None) -> tuple[str, str] | None:
    """The health of one live object, or None when its kind has no health."""
    if obj is None:
        return MISSING, "object does not exist"
    check = _CHECKS.get(str(obj.get("kind")))
    if check is None:
        return None
    try:
        return check(obj)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return UNKNOWN, f"cannot assess health: {exc}"


def is_worse(a: str, b: str) -> bool:
    """True when ``a`` is more severe than ``b``."""
    return ORDER.index(a) > ORDER.index(b)


def aggregate(statuses: Iterable[str | None]) -> str:
    """The application's health: the worst of its resources' (Healthy when none)."""
    worst = HEALTHY
    for s in statuses:
        if s is not None and s in ORDER and is_worse(s, worst):
            worst = s
    return worst
