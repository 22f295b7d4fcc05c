"""Flux ``Alert`` matching and Flux's event payload, from shipway's events; pure.

``matches(alert, event, labels)`` is Flux's rule: an event source names the
kind, the ``name`` (or ``*``), the ``namespace`` (default: the Alert's) and
``matchLabels`` (with ``*``, against the involved object's labels). An
object without a namespace (a CI run, an image) matches any Alert namespace.
``eventSeverity: info`` takes every event, ``error`` only Warning ones;
``inclusionList`` (any must match the message, when set) and
``exclusionList`` (none may) are regular expressions; a suspended Alert
takes nothing.

``flux_event(event, metadata)`` is the body Flux's generic providers POST:
``involvedObject``, ``severity``, ``timestamp``, ``message``, ``reason``,
``metadata`` (the involved object's ``event.toolkit.fluxcd.io/`` annotations, the
Alert's ``eventMetadata`` and ``summary``, shipway's ``releaseId`` and
``revision``, where known; that order of precedence), ``reportingController``,
``reportingInstance``.

Aggregation (one message per sync or promotion): an event whose reason opens
an operation (``OperationStarted``, ``PromotionStarted``) starts a group
for (Alert, object); later events of that object fold into the group's
message, and the closing reason (``SyncSucceeded``/``SyncFailed``/...,
``PromotionSucceeded``/``PromotionFailed``/...) sends it, or the group's
``shipway.dev/aggregate-timeout`` (default 60s) does. ``fold`` merges one
event into a pending payload. The ``shipway.dev/alert-after-repeats: N``
annotation of an Alert sends an event only once it has been seen N times
(``count``, kubectl's aggregation of repeats), once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.model import events as ev
from shipway.model.flux_notify import AlertSpec, name_matches

OPENERS = frozenset({ev.SYNC_STARTED, ev.PROMOTION_STARTED})
CLOSERS = frozenset({ev.SYNC_SUCCEEDED, ev.SYNC_FAILED, "SyncError", "SyncTerminated",
                     ev.PROMOTION_SUCCEEDED, ev.PROMOTION_FAILED, "PromotionErrored",
                     "PromotionAborted"})  # fmt: skip
AFTER_REPEATS = "shipway.dev/alert-after-repeats"
AGGREGATE_TIMEOUT = "shipway.dev/aggregate-timeout"
RATE_LIMIT = "shipway.dev/rate-limit"
DEFAULT_AGGREGATE = 60.0
CONTROLLERS = {"reconciler": "shipway-reconciler", "ci": "shipway-ci",
               "notifier": "shipway-notifier"}  # fmt: skip


@dataclass(frozen=True)
class AlertView:
    """A stored Alert: where it is, its checked spec, its annotations."""

    namespace: str
    name: str
    spec: AlertSpec
    annotations: Mapping[str, str] = field(default_factory=dict)
    created: dt.datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def after_repeats(self) -> int:
        try:
            return max(1, int(self.annotations.get(AFTER_REPEATS, "1")))
        except ValueError:
            return 1


def severity(event: ev.Event) -> str:
    return "error" if event.type == ev.WARNING else "info"


def _source_matches(alert: AlertView, event: ev.Event, labels: Mapping[str, str]) -> bool:
    obj = event.involved
    for src in alert.spec.event_sources:
        if src.kind != obj.kind:
            continue
        ns = src.namespace or alert.namespace
        if obj.namespace and ns != "*" and ns != obj.namespace:
            continue
        if not name_matches(src.name, obj.name):
            continue
        if any(labels.get(k) != v for k, v in src.match_labels.items()):
            continue
        return True
    return False


def matches(alert: AlertView, event: ev.Event, labels: Mapping[str, str] | None = None) -> bool:
    """Whether ``alert`` takes ``event`` (severity, sources, inclusion and exclusion lists)."""
    spec = alert.spec
    if spec.suspend:
        return False
    if spec.event_severity == "error" and event.type != ev.WARNING:
        return False
    if not _source_matches(alert, event, labels or {}):
        return False
    if spec.inclusion_list and not any(re.search(p, event.message) for p in spec.inclusion_list):
        return False
    return not any(re.search(p, event.message) for p in spec.exclusion_list)


ANNOTATION_PREFIX = "event.toolkit.fluxcd.io/"


def annotated(annotations: Mapping[str, str]) -> dict[str, str]:
    """The involved object's ``event.toolkit.fluxcd.io/<key>`` annotations as ``{key: value}``."""
    return {k.removeprefix(ANNOTATION_PREFIX): str(v) for k, v in annotations.items()
            if k.startswith(ANNOTATION_PREFIX) and len(k) > len(ANNOTATION_PREFIX)}  # fmt: skip


def metadata(alert: AlertView, event: ev.Event, extra: Mapping[str, str],
             from_object: Mapping[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """The event's metadata, by Flux's precedence, highest first: shipway's (``releaseId``,
    ``revision``...), the Alert's ``summary``, its ``eventMetadata``, then the involved
    object's ``event.toolkit.fluxcd.io/`` annotations (``from_object``, see ``annotated``)."""
    out = {k: v for k, v in extra.items() if v}
    if event.release_id:
        out["releaseId"] = event.release_id
    if alert.spec.summary:
        out.setdefault("summary", alert.spec.summary)
    for key, value in alert.spec.event_metadata.items():
        out.setdefault(key, value)
    for key, value in (from_object or {}).items():
        out.setdefault(key, value)
    return out


def flux_event(event: ev.Event, meta: Mapping[str, str]) -> dict[str, Any]:
    """Flux's event body (``fluxcd/pkg`` ``Event``) for a shipway event."""
    obj = event.involved.to_dict()
    return {
        "involvedObject": obj,
        "severity": severity(event),
        "timestamp": ev.rfc3339(event.last or event.first),
        "message": event.message,
        "reason": event.reason,
        "metadata": dict(meta),
        "reportingController": CONTROLLERS.get(event.source, f"shipway-{event.source}"),
        "reportingInstance": "shipway",
    }


def fold(payload: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """One more event into a group's pending payload: its lines, the worst severity,
    the newest reason and time, metadata merged."""
    out = dict(payload)
    lines = list(out.get("lines") or [f"{out['reason']}: {out['message']}"])
    lines.append(f"{event['reason']}: {event['message']}")
    out["lines"] = lines
    out["message"] = "\n".join(lines)
    out["reason"], out["timestamp"] = event["reason"], event["timestamp"]
    if event["severity"] == "error":
        out["severity"] = "error"
    out["metadata"] = {**dict(out.get("metadata") or {}), **dict(event.get("metadata") or {})}
    return out


def wire(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as sent: shipway's bookkeeping (``lines``, ``suppressed``) left out."""
    return {k: v for k, v in payload.items() if k not in ("lines", "suppressed", "template")}


def parse_seconds(text: str, default: float) -> float:
    """``90``, ``30s``, ``5m``, ``1h``, ``1m30s`` as seconds (``default`` when unreadable)."""
    text = text.strip()
    if not text:
        return default
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return default
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)
