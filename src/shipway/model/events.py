"""The one event record every stage emits, shaped like a Kubernetes ``v1`` Event.

An ``Event`` names the object it is about (``involvedObject``: apiVersion,
kind, namespace, name, uid where known), a CamelCase ``reason``, a ``type``
(``Normal`` or ``Warning``), a ``message``, the release it belongs to
(``releaseId``, empty when none), the emitting component (``source``) and its
times: ``firstTimestamp``/``lastTimestamp`` (RFC 3339, UTC) and ``count``, as
kubectl aggregates repeats: an event whose stable fields (``key``) equal a
recent one's bumps that one's ``count`` and ``lastTimestamp`` instead of adding
a row. ``seq`` is the stream position (every write, a repeat too, takes the
next one): server-sent events use it as ``id:`` and a notification outbox reads
"everything after seq N", deduplicating by ``key`` and ``count``.

Also the kubectl-style presentation helpers (``short_age``, ``last_seen``,
``object_ref``) and the EventList shape. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from shipway.model.errors import InputError

NORMAL, WARNING = "Normal", "Warning"
TYPES = (NORMAL, WARNING)
AGGREGATE_WINDOW = dt.timedelta(minutes=10)  # kubectl's event aggregation interval

# Reasons the stages emit (Argo CD's and Kubernetes' names where they have one).
CI_RUN_STARTED, CI_RUN_SUCCEEDED, CI_RUN_FAILED = "RunStarted", "RunSucceeded", "RunFailed"
IMAGE_PUSHED = "ImagePushed"
UPDATE_COMMITTED = "UpdateCommitted"
SYNC_STARTED, SYNC_SUCCEEDED, SYNC_FAILED = "OperationStarted", "SyncSucceeded", "SyncFailed"
HEALTH_CHANGED = "HealthStatusChanged"
FREIGHT_CREATED = "FreightCreated"
PROMOTION_STARTED, PROMOTION_SUCCEEDED, PROMOTION_FAILED = (
    "PromotionStarted",
    "PromotionSucceeded",
    "PromotionFailed",
)
VERIFICATION_SUCCEEDED, VERIFICATION_FAILED = "VerificationSucceeded", "VerificationFailed"
ROLLBACK = "RolledBack"
PREVIEW_CREATED, PREVIEW_DELETED = "PreviewCreated", "PreviewDeleted"
IMAGE_SIGNED, SIGNING_FAILED = "ImageSigned", "SigningFailed"
SBOM_ATTACHED, SBOM_FAILED = "SbomAttached", "SbomFailed"

_GROUPS = {
    "Application": "argoproj.io/v1alpha1",
    "AppProject": "argoproj.io/v1alpha1",
    "ApplicationSet": "argoproj.io/v1alpha1",
    "Pipeline": "shipway.dev/v1alpha1",
    "CIRun": "shipway.dev/v1alpha1",
    "Image": "shipway.dev/v1alpha1",
    "Repository": "shipway.dev/v1alpha1",
    "Release": "shipway.dev/v1alpha1",
    "Freight": "kargo.akuity.io/v1alpha1",
    "Stage": "kargo.akuity.io/v1alpha1",
    "Promotion": "kargo.akuity.io/v1alpha1",
    "Warehouse": "kargo.akuity.io/v1alpha1",
}


def utc(t: dt.datetime) -> dt.datetime:
    """``t`` in UTC (a naive time, as SQLite hands back, is taken as UTC)."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def rfc3339(t: dt.datetime | None) -> str | None:
    """``2026-12-02T04:38:23Z``: seconds, UTC, as Kubernetes writes ``metav1.Time``."""
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def rfc3339_micro(t: dt.datetime | None) -> str | None:
    """``2026-12-02T04:38:23.123456Z``: as Kubernetes writes ``eventTime`` (MicroTime)."""
    return utc(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if t else None


def stamp(epoch: float) -> str:
    """Epoch seconds as ``rfc3339_micro`` writes them (a stored state's start, exactly)."""
    return utc(dt.datetime.fromtimestamp(epoch, dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_of(value: Any) -> float | None:
    """A stored start back as epoch seconds: RFC 3339 (``stamp``), or older states' number."""
    if isinstance(value, int | float) and value:
        return float(value)
    if isinstance(value, str) and value:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


@dataclass(frozen=True)
class ObjectRef:
    """``involvedObject``: what an event is about."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    uid: str = ""

    def __post_init__(self) -> None:
        if not self.api_version and self.kind in _GROUPS:
            object.__setattr__(self, "api_version", _GROUPS[self.kind])

    def to_dict(self) -> dict[str, str]:
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.uid:
            out["uid"] = self.uid
        return out

    @property
    def ref(self) -> str:
        """``Kind/name`` (the ``--for`` spelling)."""
        return f"{self.kind}/{self.name}" if self.kind else self.name


def parse_for(value: str) -> tuple[str, str]:
    """``--for KIND/NAME`` → (canonical kind, name); ``app/x`` and ``application/x`` agree."""
    from shipway.model.resources import canonical_kind

    kind, sep, name = value.partition("/")
    if not sep or not kind or not name:
        raise InputError(f"--for {value!r}: expected KIND/NAME", subject=value)
    return canonical_kind(kind), name


@dataclass
class Event:
    involved: ObjectRef
    reason: str
    message: str = ""
    type: str = NORMAL
    release_id: str = ""
    source: str = "shipway"
    first: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    last: dt.datetime | None = None
    count: int = 1
    seq: int = 0
    id: int = 0

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise InputError(f"event type {self.type!r}: expected Normal or Warning",
                             subject=self.reason)  # fmt: skip
        if not self.reason:
            raise InputError("an event needs a reason", subject=self.involved.ref)
        self.first = utc(self.first)
        self.last = utc(self.last) if self.last else self.first

    @property
    def key(self) -> str:
        """The aggregation key: the stable fields (never the times or the count)."""
        return aggregation_key(self.involved, self.type, self.reason, self.message,
                               self.source, self.release_id)  # fmt: skip

    @property
    def name(self) -> str:
        """The event's own name, ``<object name>.<row id in hex>`` as Kubernetes names them."""
        base = (self.involved.name or "shipway").replace("/", ".")
        return f"{base}.{self.id:x}"

    def to_dict(self) -> dict[str, Any]:
        """A ``v1`` Event (``resourceVersion`` is the stream position ``seq``)."""
        meta: dict[str, Any] = {
            "name": self.name,
            "resourceVersion": str(self.seq),
            "creationTimestamp": rfc3339(self.first),
        }
        if self.involved.namespace:
            meta["namespace"] = self.involved.namespace
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": meta,
            "involvedObject": self.involved.to_dict(),
            "reason": self.reason,
            "message": self.message,
            "type": self.type,
            "source": {"component": self.source},
            "reportingComponent": self.source,
            "firstTimestamp": rfc3339(self.first),
            "lastTimestamp": rfc3339(self.last),
            "eventTime": rfc3339_micro(self.first),
            "count": self.count,
            "releaseId": self.release_id,
        }


def aggregation_key(
    involved: ObjectRef, type_: str, reason: str, message: str, source: str, release_id: str
) -> str:
    parts = (involved.api_version, involved.kind, involved.namespace, involved.name,
             involved.uid, type_, reason, message, source, release_id)  # fmt: skip
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def repeats(previous: Event | None, new: Event, window: dt.timedelta = AGGREGATE_WINDOW) -> bool:
    """Whether ``new`` is a repeat of ``previous`` (same key, seen within the window)."""
    if previous is None or previous.key != new.key or previous.last is None:
        return False
    return new.first - previous.last <= window


def event_list(events: list[Event]) -> dict[str, Any]:
    """kubectl's ``EventList`` shape for ``-o json``."""
    return {
        "apiVersion": "v1",
        "kind": "EventList",
        "metadata": {"resourceVersion": str(max((e.seq for e in events), default=0))},
        "items": [e.to_dict() for e in events],
    }


def short_age(seconds: float) -> str:
    """kubectl's short durations (``duration.HumanDuration``, as every AGE column): ``45s``,
    ``90s``, ``5m3s``, ``3h``, ``2d``; as ``get`` shows ages (``selectors.age``)."""
    from shipway.model.selectors import human_duration

    return human_duration(seconds)


def last_seen(ev: Event, at: dt.datetime) -> str:
    """The LAST SEEN cell: ``5m``, or ``5m (x3 over 10m)`` for an aggregated event."""
    last = ev.last or ev.first
    age = short_age((utc(at) - last).total_seconds())
    if ev.count > 1:
        return f"{age} (x{ev.count} over {short_age((utc(at) - ev.first).total_seconds())})"
    return age


def object_ref(ev: Event) -> str:
    """The OBJECT cell: ``application/guestbook`` (kind in lower case, as kubectl)."""
    kind = ev.involved.kind.lower()
    return f"{kind}/{ev.involved.name}" if kind else ev.involved.name


def from_subject(source: str, subject: str) -> ObjectRef:
    """An ``ObjectRef`` from an older ``subject`` string (``Kind/name``, a run id, a repo URL)."""
    kind, sep, name = subject.partition("/")
    if sep and kind[:1].isupper() and "/" not in name and ":" not in kind:
        return ObjectRef(kind, name)
    if source == "ci":
        return ObjectRef("CIRun", subject)
    return ObjectRef("Repository" if "://" in subject or subject.startswith("/") else "", subject)
