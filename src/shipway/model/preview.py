"""Preview environments: the record of one pull request's running copy. Pure: no I/O.

A ``Preview`` is what the preview engine (``shipway.promote.previews``) keeps
per (ApplicationSet, pull request): the pull request it follows, the commit it
runs, its phase, its Applications, namespace, URL and image, the forge comment
it edits in place, and when it expires. The store keeps it in the ``previews``
table (``shipway.store.previews``, migration 0011); the CLI and API render it.

Phases: ``Building`` (the pull request's CI is running for the head),
``Deploying``, ``Ready``, ``Failed`` (CI or the deploy failed: ``message`` says
why) and ``Deleting`` (the pull request closed or the preview expired: being
torn down).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PHASES = ("Building", "Deploying", "Ready", "Failed", "Deleting")
PREVIEWS_ANNOTATION = "shipway.dev/previews"
"""On an ApplicationSet, ``"true"``: its pull requests get previews (the preview engine owns
it; the ApplicationSet engine leaves it alone)."""
LABEL_MAX = 63


def dns_label(text: str, max_size: int = LABEL_MAX) -> str:
    """A DNS label (RFC 1123) from any text: lowercase, ``-`` for other runs, at most
    ``max_size`` characters; a name that had to be cut keeps a short hash of the whole."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) <= max_size:
        return slug or "x"
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return slug[: max_size - 7].rstrip("-") + "-" + digest


def is_preview_set(body: dict[str, Any]) -> bool:
    ann = (body.get("metadata") or {}).get("annotations") or {}
    return str(ann.get(PREVIEWS_ANNOTATION, "")).lower() == "true"


def preview_name(appset: str, number: int) -> str:
    """``<appset>-pr-<number>``, a DNS label (also the default preview namespace)."""
    suffix = f"-pr-{number}"
    return dns_label(appset, LABEL_MAX - len(suffix)) + suffix


@dataclass
class Preview:
    """One pull request's preview, as stored and listed."""

    name: str
    appset_namespace: str
    appset: str
    number: int
    forge: str  # github, gitlab, gitea
    project: str  # owner/repo (GitLab's project path)
    api: str
    branch: str
    target_branch: str
    head_sha: str
    title: str = ""
    author: str = ""
    url: str = ""  # the pull request's page on the forge
    phase: str = "Building"
    message: str = ""
    namespace: str = ""
    applications: list[str] = field(default_factory=list)  # Application instance names
    preview_url: str = ""
    image: str = ""
    deployed_sha: str = ""
    comment_id: str = ""
    application: dict[str, Any] = field(default_factory=dict)
    """The Application the template rendered for the head (deployed once CI built it)."""
    created: dt.datetime | None = None
    updated: dt.datetime | None = None  # the last push (what idle expiry counts from)
    expires: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created", "updated", "expires"):
            value = out[key]
            out[key] = rfc3339(value) if value else None
        return out

    def evolve(self, **changes: Any) -> Preview:
        return replace(self, **changes)


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Expiry:
    """A time-to-live from creation and an idle limit from the last push (None: never)."""

    ttl: dt.timedelta | None = None
    idle: dt.timedelta | None = None

    def deadline(self, created: dt.datetime, updated: dt.datetime) -> dt.datetime | None:
        ends = [t for t in (created + self.ttl if self.ttl else None,
                            updated + self.idle if self.idle else None) if t]  # fmt: skip
        return min(ends) if ends else None

    def why(self, preview: Preview, at: dt.datetime) -> str:
        """Why ``preview`` has expired at ``at`` ('' when it has not)."""
        created, updated = preview.created or at, preview.updated or preview.created or at
        if self.ttl and at >= created + self.ttl:
            return f"its time-to-live of {duration(self.ttl)} ran out"
        if self.idle and at >= updated + self.idle:
            return f"no push for {duration(self.idle)}"
        return ""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, where: str = "duration") -> dt.timedelta:
    """``90s``, ``30m``, ``72h``, ``7d``, ``1h30m`` (Go's units plus days)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"{where}: {text!r} is not a duration like 30m, 72h or 7d")
    return dt.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def duration(td: dt.timedelta) -> str:
    """Short kubectl-style duration: ``45s``, ``12m``, ``5h``, ``3d``."""
    s = int(td.total_seconds())
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"
