"""What an object's annotations say about its sync: wave, hook types, delete policies. Pure.

Argo CD's annotations, and Helm's as Argo CD maps them (Helm's apply only
where the object has no Argo CD hook annotation):

- ``argocd.argoproj.io/sync-wave`` (an integer), else ``helm.sh/hook-weight``,
  else 0;
- ``argocd.argoproj.io/hook``: a comma-separated list of ``PreSync``, ``Sync``,
  ``PostSync``, ``SyncFail``, ``PreDelete``, ``PostDelete``, ``Skip``; else
  ``helm.sh/hook``: ``pre-install``/``pre-upgrade`` → ``PreSync``,
  ``post-install``/``post-upgrade`` → ``PostSync``, ``pre-delete`` →
  ``PreDelete``, ``post-delete`` → ``PostDelete``; other Helm hooks (``test``,
  ``test-success``, ``pre-rollback`` ...) have no Argo CD equivalent: the object
  is a hook that never runs in a sync. ``crd-install`` is not a hook (a CRD
  applied as any other object);
- ``argocd.argoproj.io/hook-delete-policy`` (``HookSucceeded``, ``HookFailed``,
  ``BeforeHookCreation``) plus ``helm.sh/hook-delete-policy``
  (``hook-succeeded``, ``hook-failed``, ``before-hook-creation``);
  ``BeforeHookCreation`` when neither names one;
- ``argocd.argoproj.io/sync-options`` (``Prune=false``, ``PruneLast=true`` ...);
  ``helm.sh/resource-policy: keep`` counts as ``Delete=false``.
"""

from __future__ import annotations

from typing import Any

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
DELETE_POLICY_ANNOTATION = "argocd.argoproj.io/hook-delete-policy"
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
HELM_HOOK = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"
HELM_RESOURCE_POLICY = "helm.sh/resource-policy"

PRE_SYNC, SYNC, POST_SYNC, SYNC_FAIL = "PreSync", "Sync", "PostSync", "SyncFail"
PRE_DELETE, POST_DELETE, SKIP = "PreDelete", "PostDelete", "Skip"
SYNC_PHASES = (PRE_SYNC, SYNC, POST_SYNC, SYNC_FAIL)
HOOK_TYPES = (*SYNC_PHASES, PRE_DELETE, POST_DELETE, SKIP)

HOOK_SUCCEEDED, HOOK_FAILED = "HookSucceeded", "HookFailed"
BEFORE_HOOK_CREATION = "BeforeHookCreation"
DELETE_POLICIES = (HOOK_SUCCEEDED, HOOK_FAILED, BEFORE_HOOK_CREATION)

HELM_HOOK_TYPES = {
    "pre-install": PRE_SYNC,
    "pre-upgrade": PRE_SYNC,
    "post-install": POST_SYNC,
    "post-upgrade": POST_SYNC,
    "pre-delete": PRE_DELETE,
    "post-delete": POST_DELETE,
}
HELM_DELETE_POLICIES = {
    "before-hook-creation": BEFORE_HOOK_CREATION,
    "hook-succeeded": HOOK_SUCCEEDED,
    "hook-failed": HOOK_FAILED,
}


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}


def _csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def wave_of(obj: dict[str, Any]) -> int:
    """The sync wave: the Argo CD annotation, else the Helm hook weight, else 0."""
    ann = annotations_of(obj)
    wave = _int(ann.get(WAVE_ANNOTATION))
    if wave is None:
        wave = _int(ann.get(HELM_WEIGHT))
    return wave if wave is not None else 0


def is_hook(obj: dict[str, Any]) -> bool:
    """A hook (never compared nor pruned): an Argo CD hook annotation other than a
    lone ``Skip``, or a Helm hook annotation other than ``crd-install``."""
    ann = annotations_of(obj)
    if HOOK_ANNOTATION in ann:
        return hook_types(obj) != [SKIP]
    return HELM_HOOK in ann and ann[HELM_HOOK].strip() != "crd-install"


def hook_types(obj: dict[str, Any]) -> list[str]:
    """The object's known hook types, Argo CD's, else Helm's mapped (duplicates dropped)."""
    ann = annotations_of(obj)
    found = [t for t in _csv(ann.get(HOOK_ANNOTATION)) if t in HOOK_TYPES]
    if not found:
        found = [HELM_HOOK_TYPES[t] for t in _csv(ann.get(HELM_HOOK)) if t in HELM_HOOK_TYPES]
    return list(dict.fromkeys(found))


def hook_phases(obj: dict[str, Any]) -> list[str]:
    """The sync phases a hook runs in (``[]`` for ``Skip``, delete and unsupported hooks)."""
    return [t for t in hook_types(obj) if t in SYNC_PHASES] if is_hook(obj) else []


def hook_of(obj: dict[str, Any]) -> str | None:
    """None for an object that is not a hook (applied and compared as a resource);
    for a hook its first hook type, ``Skip`` when it has none this engine knows
    (a Helm test hook, an unknown value) or is a lone ``Skip``: never applied."""
    ann = annotations_of(obj)
    if not is_hook(obj):
        return SKIP if HOOK_ANNOTATION in ann else None
    types = hook_types(obj)
    return types[0] if types else SKIP


def delete_policies(obj: dict[str, Any]) -> set[str]:
    """A hook's delete policies (``BeforeHookCreation`` when it names none)."""
    ann = annotations_of(obj)
    found = {p for p in _csv(ann.get(DELETE_POLICY_ANNOTATION)) if p in DELETE_POLICIES}
    found |= {
        HELM_DELETE_POLICIES[p]
        for p in _csv(ann.get(HELM_DELETE_POLICY))
        if p in HELM_DELETE_POLICIES
    }
    return found or {BEFORE_HOOK_CREATION}


def sync_options(obj: dict[str, Any]) -> set[str]:
    """The object's own ``argocd.argoproj.io/sync-options`` (``Prune=false`` …)."""
    ann = annotations_of(obj)
    found = {o.replace(" ", "") for o in _csv(ann.get(SYNC_OPTIONS_ANNOTATION))}
    if ann.get(HELM_RESOURCE_POLICY, "").strip() == "keep":
        found.add("Delete=false")
    return found
