"""Shared vocabulary of the health checks: status names, field readers, conditions. Pure.

Every check takes a live object (a Kubernetes-shaped dict) and returns
``(status, message)`` or ``None`` (no opinion). Readers here never raise on
missing or mistyped fields: they return empty values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HEALTHY, SUSPENDED, PROGRESSING = "Healthy", "Suspended", "Progressing"
MISSING, DEGRADED, UNKNOWN = "Missing", "Degraded", "Unknown"
ORDER = (HEALTHY, SUSPENDED, PROGRESSING, MISSING, DEGRADED, UNKNOWN)
"""Severity, best first, as Argo CD's ``IsWorse``."""

Obj = dict[str, Any]
Result = tuple[str, str] | None
Check = Callable[[Obj], Result]

HOOK_ANNOTATION = "argocd.argoproj.io/hook"
HELM_HOOK_ANNOTATION = "helm.sh/hook"
HOOK_FINALIZER = "argocd.argoproj.io/hook-finalizer"


def group_kind(obj: Obj) -> tuple[str, str]:
    """``(group, kind)`` from ``apiVersion`` (``apps/v1`` → ``apps``; ``v1`` → core ``""``)."""
    api = str(obj.get("apiVersion") or "")
    group = api.rpartition("/")[0] if "/" in api else ""
    return group, str(obj.get("kind") or "")


def version(obj: Obj) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[2]


def mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Obj]:
    """The dict entries of a list (anything else in it, or a non-list, is skipped)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def meta(obj: Obj) -> Obj:
    return mapping(obj.get("metadata"))


def spec(obj: Obj) -> Obj:
    return mapping(obj.get("spec"))


def status(obj: Obj) -> Obj:
    return mapping(obj.get("status"))


def annots(obj: Obj) -> dict[str, Any]:
    return mapping(meta(obj).get("annotations"))


def num(value: Any, default: int = 0) -> int:
    """An integer field (``"3"`` and ``3.0`` too), else ``default``."""
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def text(value: Any) -> str:
    return "" if value is None else str(value)


def conditions(obj: Obj) -> list[Obj]:
    return items(status(obj).get("conditions"))


def condition(obj: Obj, ctype: str) -> Obj | None:
    """The first ``status.conditions`` entry of type ``ctype``."""
    return next((c for c in conditions(obj) if c.get("type") == ctype), None)


def is_true(cond: Obj | None) -> bool:
    return cond is not None and str(cond.get("status")) == "True"


def is_false(cond: Obj | None) -> bool:
    return cond is not None and str(cond.get("status")) == "False"


def generation_pending(obj: Obj) -> bool:
    """True while the controller has not observed ``metadata.generation`` yet.

    Objects without a ``generation`` (podman's live objects) never wait; a
    generation with no ``observedGeneration`` waits, as on a real API server.
    """
    gen = meta(obj).get("generation")
    if gen is None:
        return False
    observed = status(obj).get("observedGeneration")
    return observed is None or num(observed) < num(gen)


def is_hook(obj: Obj) -> bool:
    """True for an Argo CD hook (not only ``Skip``) or a Helm hook (not only ``crd-install``)."""
    ann = annots(obj)
    if HOOK_ANNOTATION in ann:
        types = {t.strip() for t in text(ann[HOOK_ANNOTATION]).split(",") if t.strip()}
        return types != {"Skip"}
    if HELM_HOOK_ANNOTATION in ann:
        types = {t.strip() for t in text(ann[HELM_HOOK_ANNOTATION]).split(",") if t.strip()}
        return bool(types) and types != {"crd-install"}
    return False


def suspended(obj: Obj, what: str) -> Result:
    """``Suspended`` when ``spec.suspend`` is true (Flux, KEDA-style objects)."""
    if spec(obj).get("suspend") is True:
        return SUSPENDED, f"{what} is suspended"
    return None
