"""Crossplane: managed resources, claims and composites (``*.crossplane.io``, ``*.upbound.io``,
or any object shaped like a managed resource), and its configuration kinds. Pure.

``Synced`` false (the provider could not reconcile) or ``LastAsyncOperation``
false is Degraded; ``Ready`` true is Healthy; anything else is still being
provisioned (Progressing). Kinds that never carry a status (ProviderConfig,
Composition, ...) are Healthy without one. Packages (``pkg.crossplane.io``
Provider, Configuration, Function) are Healthy when ``Installed`` and
``Healthy`` are true and Degraded when ``Healthy`` is false.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    condition,
    conditions,
    is_false,
    is_true,
    mapping,
    spec,
    status,
    text,
)

STATUSLESS = {
    "ProviderConfig",
    "ClusterProviderConfig",
    "ProviderConfigUsage",
    "ClusterProviderConfigUsage",
    "Composition",
    "CompositionRevision",
    "DeploymentRuntimeConfig",
    "ControllerConfig",
    "EnvironmentConfig",
}


def is_managed(obj: Obj) -> bool:
    """A managed resource of any provider: ``spec.forProvider`` and a ``Synced`` condition."""
    return isinstance(spec(obj).get("forProvider"), dict) and condition(obj, "Synced") is not None


def managed(obj: Obj) -> Result:
    kind = text(obj.get("kind"))
    st = status(obj)
    if not conditions(obj):
        if kind in STATUSLESS and (not st or st.get("users") is not None):
            return HEALTHY, "configuration (no status)" if not st else "configuration in use"
        return PROGRESSING, "provisioning"
    for ctype in ("LastAsyncOperation", "Synced"):
        c = condition(obj, ctype)
        if c is not None and is_false(c):
            return DEGRADED, text(c.get("message")) or f"{ctype}: {text(c.get('reason'))}"
    ready = condition(obj, "Ready")
    if ready is not None and is_true(ready):
        return HEALTHY, "resource is up to date"
    reason = text(mapping(ready).get("reason"))
    return PROGRESSING, f"provisioning ({reason})" if reason else "provisioning"


def package(obj: Obj) -> Result:
    healthy, installed = condition(obj, "Healthy"), condition(obj, "Installed")
    if healthy is not None and is_false(healthy):
        return DEGRADED, text(healthy.get("message")) or text(healthy.get("reason"))
    if installed is not None and is_false(installed):
        return PROGRESSING, text(installed.get("message")) or "installing the package"
    if is_true(healthy) and (installed is None or is_true(installed)):
        return HEALTHY, ""
    return PROGRESSING, "waiting for the package to be installed and healthy"


PATTERNS = {
    ("*.crossplane.io", "*"): managed,
    ("*.upbound.io", "*"): managed,
}
CHECKS = {
    ("pkg.crossplane.io", k + rev): package
    for k in ("Provider", "Configuration", "Function")
    for rev in ("", "Revision")
}
