"""Health of live objects, with Argo CD's status names, severity order and precedence.

Pure: takes a live object and returns ``(status, message)``, or ``None`` when
nothing judges its kind (ConfigMap, Secret, RBAC ...): such objects do not
count in an application's health. Severity, best first, as Argo CD's
``IsWorse``: ``Healthy < Suspended < Progressing < Missing < Degraded < Unknown``.

``of(obj, custom)`` decides, in Argo CD's order:

1. no object: Missing; a ``deletionTimestamp`` (and no hook finalizer):
   Progressing, "Pending deletion";
2. a Lua health customization from ``argocd-cm`` that matches the object's
   group and kind (``custom``, see ``health.custom``; run by ``health.lua``);
3. a check registered with ``register(group, kind, check)`` (plugins:
   modules named in ``SHIPWAY_HEALTH_PLUGINS``), an exact key before ``*``;
4. the built-in check for the group and kind (``health.builtin``: Kubernetes,
   Argo, cert-manager, external-secrets, Flux, KEDA, Gateway API, Crossplane);
5. the generic rule for objects with standard conditions (``health.generic``).

Checks are keyed by API group and kind: a ``serving.knative.dev`` Service is
not the core (``""`` group) Service. A check that raises on malformed input
gives Unknown with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipway.deploy.health import builtin, crossplane, generic
from shipway.deploy.health.apphealth import application
from shipway.deploy.health.custom import Customizations, from_configmap, single
from shipway.deploy.health.registry import Registry
from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    HOOK_FINALIZER,
    MISSING,
    ORDER,
    PROGRESSING,
    SUSPENDED,
    UNKNOWN,
    Check,
    Obj,
    Result,
    group_kind,
    meta,
)

__all__ = [
    "DEGRADED",
    "HEALTHY",
    "MISSING",
    "ORDER",
    "PROGRESSING",
    "SUSPENDED",
    "UNKNOWN",
    "Check",
    "Customizations",
    "Result",
    "aggregate",
    "application",
    "find_check",
    "from_configmap",
    "group_kind",
    "is_worse",
    "of",
    "register",
    "single",
    "unregister",
]

PENDING_DELETION = "Pending deletion"

_BUILTIN = builtin.registry()
_USER = Registry()


def register(*args: Any) -> None:
    """``register(group, kind, check)``: install ``check`` for ``group``/``kind``.

    ``group`` is ``""`` for the core group, or a glob (``*`` any group,
    ``*.example.com``); ``kind`` may be a glob too. A registered check takes
    precedence over the built-in one. The older ``register(kind, check)``
    means ``register("*", kind, check)``: that kind in any group, as before.
    """
    if len(args) == 2:
        kind, check = args
        group = "*"
    elif len(args) == 3:
        group, kind, check = args
    else:
        raise TypeError("register(group, kind, check) takes three arguments")
    if not isinstance(group, str) or not isinstance(kind, str) or not callable(check):
        raise TypeError("register(group, kind, check): group and kind are strings")
    _USER.add(group, kind, check)


def unregister(group: str, kind: str) -> None:
    """Remove a check installed with ``register`` (the built-in one applies again)."""
    _USER.remove(group, kind)


def find_check(group: str, kind: str) -> Check | None:
    """The Python check for ``group``/``kind``: registered, else built-in (None: none)."""
    return _USER.find(group, kind) or _BUILTIN.find(group, kind)


def _fallback(obj: Obj) -> Result:
    if crossplane.is_managed(obj):
        return crossplane.managed(obj)
    return generic.standard(obj)


def of(obj: Obj | None, custom: Customizations | None = None) -> Result:
    """The health of one live object, or None when nothing judges its kind."""
    if obj is None:
        return MISSING, "object does not exist"
    metadata = meta(obj)
    finalizers = metadata.get("finalizers")
    if metadata.get("deletionTimestamp") and not (
        isinstance(finalizers, list) and HOOK_FINALIZER in finalizers
    ):
        return PROGRESSING, PENDING_DELETION
    group, kind = group_kind(obj)
    if custom is not None:
        applied, result = custom.health(obj, group, kind)
        if applied:
            return result
    check = find_check(group, kind) or _fallback
    try:
        return check(obj)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        return UNKNOWN, f"cannot assess health: {exc}"


def is_worse(a: str, b: str) -> bool:
    """True when ``a`` is more severe than ``b``."""
    return ORDER.index(a) > ORDER.index(b)


def aggregate(statuses: Iterable[str | None]) -> str:
    """The application's health: the worst of its resources' (Healthy when none).

    ``None`` (a kind nothing judges) does not count.
    """
    worst = HEALTHY
    for s in statuses:
        if s is not None and s in ORDER and is_worse(s, worst):
            worst = s
    return worst
