"""An Application's health from its resources', as Argo CD's controller aggregates it. Pure.

The worst health among the managed resources (``ORDER``), skipping:

- hooks (live or desired) and resources annotated
  ``argocd.argoproj.io/ignore-healthcheck: "true"``;
- resources nothing judges (``None``: ConfigMap, Secret, RBAC ...);
- missing resources (OutOfSync already says they are missing), unless no
  resource of the app exists at all: then the app is Missing;
- a child Argo CD Application that is Missing or Unknown.

The message is the first non-empty message of a resource at the worst status.
"""

from __future__ import annotations

from collections.abc import Iterable

from shipway.deploy.health.util import (
    HEALTHY,
    MISSING,
    ORDER,
    UNKNOWN,
    Obj,
    Result,
    annots,
    group_kind,
    is_hook,
)

IGNORE_HEALTHCHECK = "argocd.argoproj.io/ignore-healthcheck"


def application(resources: Iterable[tuple[Obj | None, Obj | None, Result]]) -> tuple[str, str]:
    """``(status, message)`` of an app from ``(desired, live, health)`` per managed resource."""
    worst, message = HEALTHY, ""
    any_resource = any_live = False
    for desired, live, found in resources:
        if (desired is not None and is_hook(desired)) or (live is not None and is_hook(live)):
            continue
        any_resource = True
        if live is None:
            continue  # Missing: counted only when nothing of the app exists
        any_live = True
        if found is None or annots(live).get(IGNORE_HEALTHCHECK) == "true":
            continue
        status, text = found
        if group_kind(live) == ("argoproj.io", "Application") and status in (MISSING, UNKNOWN):
            continue
        if status not in ORDER:
            continue
        if ORDER.index(status) > ORDER.index(worst):
            worst, message = status, text
        elif status == worst and not message:
            message = text
    if any_resource and not any_live and ORDER.index(MISSING) > ORDER.index(worst):
        return MISSING, ""
    return worst, "" if worst == HEALTHY else message
