"""Units of work and their keys: what makes two events the same work. Pure: no I/O.

The inbox keeps each key once, so these keys are the controller's idempotency:
one CI run per (pipeline, event, sha) (a tag push is an event of its own, per
tag), one pull request run per (pipeline, number, action, head sha), one
reconcile per (application, ref, before, after).
"""

from __future__ import annotations

from typing import Any

from shipway.controller.hooks import RefUpdate
from shipway.store.inbox import New


def ci_item(pipeline: str, update: RefUpdate) -> New:
    event = "push" if update.branch is not None else f"tag:{update.ref}"
    payload = {"pipeline": pipeline, "ref": update.ref, "before": update.before,
               "after": update.after}  # fmt: skip
    return New("ci", payload, f"ci|{pipeline}|{event}|{update.after}")


def pull_request_item(pipeline: str, event: dict[str, Any]) -> New:
    key = f"ci|{pipeline}|pull_request#{event.get('number')}:{event.get('action')}"
    return New("pr-ci", {"pipeline": pipeline, "event": event}, f"{key}|{event.get('head_sha')}")


def reconcile_item(app: str, update: RefUpdate) -> New:
    """Keyed by the whole move (before → after): a push back to an older sha still deploys."""
    key = f"reconcile|{app}|{update.ref}|{update.before}|{update.after}"
    return New("reconcile", {"app": app}, key)
