"""Typed helpers over ``events.emit`` for the stages' events, so every stage records the
same reasons and shapes (and a Flux Alert or the notifier can route them).

For the stages other engines build (previews, verification), call these:

- ``preview_created(store, app, namespace, message, release_id=)`` / ``preview_deleted``:
  ``PreviewCreated`` / ``PreviewDeleted`` on the preview's Application;
- ``verification(store, stage, namespace, ok, message, release_id=)``:
  ``VerificationSucceeded`` (Normal) or ``VerificationFailed`` (Warning) on the Stage;
- ``rollback(store, app, namespace, message, ok=, release_id=)``: ``RolledBack`` on the
  Application (Warning when the rollback's sync did not succeed);
- ``image_pushed(store, image, tag, source=)``: ``ImagePushed`` on the Image.

Touches only the events table (through ``shipway.store.events``).
"""

from __future__ import annotations

from shipway.model import events as ev
from shipway.store import events
from shipway.store.db import Store


def preview_created(
    store: Store, app: str, namespace: str, message: str, *, release_id: str = ""
) -> ev.Event:
    return events.emit(store, ev.ObjectRef("Application", app, namespace), ev.PREVIEW_CREATED,
                       message, release_id=release_id, source="previews")  # fmt: skip


def preview_deleted(
    store: Store, app: str, namespace: str, message: str, *, release_id: str = ""
) -> ev.Event:
    return events.emit(store, ev.ObjectRef("Application", app, namespace), ev.PREVIEW_DELETED,
                       message, release_id=release_id, source="previews")  # fmt: skip


def verification(
    store: Store, stage: str, namespace: str, ok: bool, message: str, *, release_id: str = ""
) -> ev.Event:
    reason = ev.VERIFICATION_SUCCEEDED if ok else ev.VERIFICATION_FAILED
    return events.emit(store, ev.ObjectRef("Stage", stage, namespace), reason, message,
                       type=ev.NORMAL if ok else ev.WARNING, release_id=release_id,
                       source="verification")  # fmt: skip


def rollback(
    store: Store, app: str, namespace: str, message: str, *, ok: bool = True,
    release_id: str = "",
) -> ev.Event:  # fmt: skip
    return events.emit(store, ev.ObjectRef("Application", app, namespace), ev.ROLLBACK, message,
                       type=ev.NORMAL if ok else ev.WARNING, release_id=release_id,
                       source="reconciler")  # fmt: skip


def image_pushed(store: Store, image: str, tag: str, *, source: str = "shipway") -> ev.Event:
    return events.emit(store, ev.ObjectRef("Image", image), ev.IMAGE_PUSHED, f"{image}:{tag}",
                       source=source)  # fmt: skip
