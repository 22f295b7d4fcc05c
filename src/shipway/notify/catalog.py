"""shipway's built-in triggers and templates, written from the semantics Argo CD's
catalog documents (names kept so existing annotations work); pure data.

A ConfigMap's ``trigger.<name>`` or ``template.<name>`` of the same name
replaces the built-in one. The sync triggers fire once per sync operation
(``oncePer`` its start time), on-deployed once per revision that became
healthy and synced, on-created once per object, on-health-degraded once per
degradation episode (it re-arms when the condition is false again).

The event triggers (shipway's; ``EVENT_TRIGGERS``: on-promotion-succeeded,
on-promotion-failed, on-verification-failed, on-rollback, on-ci-run-failed,
on-ci-run-succeeded, on-image-pushed, on-update-committed, on-freight-created,
on-preview-created, on-preview-deleted) test ``event`` instead of ``app`` and
send the ``shipway-event`` template; see ``notify.event_triggers``.
"""

from __future__ import annotations

from typing import Any

from shipway.notify.config import Condition, Trigger

_OP = "app.status?.operationState"

TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        Trigger("on-created", (Condition("true", ("app-created",), "app.metadata.name"),)),
        Trigger(
            "on-deleted",
            (
                Condition(
                    "app.metadata?.deletionTimestamp != nil", ("app-deleted",), "app.metadata.name"
                ),
            ),
        ),
        Trigger(
            "on-deployed",
            (
                Condition(
                    f"{_OP}?.phase == 'Succeeded' and app.status?.health?.status == 'Healthy'"
                    " and app.status?.sync?.status == 'Synced'",
                    ("app-deployed",),
                    f"{_OP}?.syncResult?.revision",
                ),
            ),
        ),
        Trigger(
            "on-health-degraded",
            (Condition("app.status?.health?.status == 'Degraded'", ("app-health-degraded",)),),
        ),
        Trigger(
            "on-sync-failed",
            (
                Condition(
                    f"{_OP}?.phase in ['Error', 'Failed']",
                    ("app-sync-failed",),
                    f"{_OP}?.startedAt",
                ),
            ),
        ),
        Trigger(
            "on-sync-running",
            (Condition(f"{_OP}?.phase == 'Running'", ("app-sync-running",), f"{_OP}?.startedAt"),),
        ),
        Trigger(
            "on-sync-status-unknown",
            (Condition("app.status?.sync?.status == 'Unknown'", ("app-sync-status-unknown",)),),
        ),
        Trigger(
            "on-sync-succeeded",
            (
                Condition(
                    f"{_OP}?.phase == 'Succeeded'", ("app-sync-succeeded",), f"{_OP}?.startedAt"
                ),
            ),
        ),
    )
}


def _on(reasons: str, name: str) -> Trigger:
    """A shipway event trigger (``notify.event_triggers``): fires once per matching event."""
    return Trigger(name, (Condition(f"event.reason in [{reasons}]", ("shipway-event",)),))


EVENT_TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        _on("'PromotionSucceeded'", "on-promotion-succeeded"),
        _on("'PromotionFailed', 'PromotionErrored'", "on-promotion-failed"),
        _on("'VerificationFailed'", "on-verification-failed"),
        _on("'RolledBack'", "on-rollback"),
        _on("'RunFailed'", "on-ci-run-failed"),
        _on("'RunSucceeded'", "on-ci-run-succeeded"),
        _on("'ImagePushed'", "on-image-pushed"),
        _on("'UpdateCommitted'", "on-update-committed"),
        _on("'FreightCreated'", "on-freight-created"),
        _on("'PreviewCreated'", "on-preview-created"),
        _on("'PreviewDeleted'", "on-preview-deleted"),
    )
}
TRIGGERS.update(EVENT_TRIGGERS)

_LINK = "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}"


def _tmpl(subject: str, body: str) -> dict[str, Any]:
    return {"message": f"{body}\n{_LINK}", "email": {"subject": subject}}


TEMPLATES: dict[str, dict[str, Any]] = {
    "app-created": _tmpl(
        "{{.app.metadata.name}} created", "Application {{.app.metadata.name}} was created."
    ),
    "app-deleted": _tmpl(
        "{{.app.metadata.name}} deleted", "Application {{.app.metadata.name}} was deleted."
    ),
    "app-deployed": _tmpl(
        "{{.app.metadata.name}} deployed",
        "Application {{.app.metadata.name}} is live at revision "
        "{{.app.status.sync.revision}}: synced and healthy.",
    ),
    "app-health-degraded": _tmpl(
        "{{.app.metadata.name}} degraded",
        "Application {{.app.metadata.name}} is Degraded: {{.app.status.health.message}}",
    ),
    "app-sync-failed": _tmpl(
        "{{.app.metadata.name}} sync failed",
        "Sync of {{.app.metadata.name}} failed at {{.app.status.operationState.finishedAt}}: "
        "{{.app.status.operationState.message}}",
    ),
    "app-sync-running": _tmpl(
        "{{.app.metadata.name}} sync started",
        "Sync of {{.app.metadata.name}} started at {{.app.status.operationState.startedAt}}.",
    ),
    "app-sync-status-unknown": _tmpl(
        "{{.app.metadata.name}} sync status unknown",
        "Sync status of {{.app.metadata.name}} is Unknown.",
    ),
    "shipway-event": {
        "message": "{{.event.involvedObject.kind}} {{.event.involvedObject.name}}: "
        "{{.event.reason}}: {{.event.message}}",
        "email": {"subject": "{{.event.reason}}: {{.event.involvedObject.name}}"},
    },
    "app-sync-succeeded": _tmpl(
        "{{.app.metadata.name}} synced",
        "Sync of {{.app.metadata.name}} succeeded at {{.app.status.operationState.finishedAt}} "
        "(revision {{.app.status.operationState.syncResult.revision}}).",
    ),
}
