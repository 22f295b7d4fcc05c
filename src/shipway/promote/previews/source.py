"""Which ApplicationSets are previews, their pull-request generators, and their expiry. Pure.

An ApplicationSet is a preview set when it carries the annotation
``shipway.dev/previews: "true"`` (``model.preview.PREVIEWS_ANNOTATION``); the
ApplicationSet engine then leaves it to the preview engine. Its top-level
``pullRequest`` generators (read by ``deploy.appset``: providers, filters,
labels, ``requeueAfterSeconds``, parameters) say which pull requests get a
preview. Expiry is read from ``shipway.dev/preview-ttl`` (from creation) and
``shipway.dev/preview-idle`` (from the last push): ``72h``, ``7d``, ``1h30m``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.deploy.appset.engine import api_root
from shipway.model.errors import InputError
from shipway.model.preview import Expiry, parse_duration

PROVIDERS = ("github", "gitlab", "gitea")
REQUEUE_DEFAULT = 1800
TTL_ANNOTATION = "shipway.dev/preview-ttl"
IDLE_ANNOTATION = "shipway.dev/preview-idle"


@dataclass(frozen=True)
class Source:
    """One top-level ``pullRequest`` generator of a preview set."""

    index: int
    body: dict[str, Any]  # the generator as written (``{"pullRequest": …}``)
    provider: str
    project: str
    api: str  # the REST root the client calls
    token_ref: dict[str, str]
    requeue_seconds: int
    insecure: bool = False  # the provider's ``insecure``: TLS not verified


def sources(appset: dict[str, Any]) -> list[Source]:
    out = []
    for i, g in enumerate((appset.get("spec") or {}).get("generators") or []):
        if not isinstance(g, dict) or not isinstance(g.get("pullRequest"), dict):
            continue
        body = g["pullRequest"]
        kind = next((k for k in PROVIDERS if isinstance(body.get(k), dict)), None)
        if kind is None:
            name = (appset.get("metadata") or {}).get("name")
            raise InputError(f"spec.generators[{i}].pullRequest: give one of github, gitlab, gitea",
                             subject=f"ApplicationSet/{name}")  # fmt: skip
        p = body[kind]
        project = str(p.get("project") or f"{p.get('owner')}/{p.get('repo')}")
        out.append(Source(i, g, kind, project, api_root(kind, str(p.get("api") or "")),
                          {k: str(v) for k, v in (p.get("tokenRef") or {}).items()},
                          int(body.get("requeueAfterSeconds") or REQUEUE_DEFAULT),
                          bool(p.get("insecure"))))  # fmt: skip
    return out


def expiry(appset: dict[str, Any]) -> Expiry:
    ann = (appset.get("metadata") or {}).get("annotations") or {}
    subject = f"ApplicationSet/{(appset.get('metadata') or {}).get('name')}"
    out: dict[str, Any] = {}
    for key, attr in ((TTL_ANNOTATION, "ttl"), (IDLE_ANNOTATION, "idle")):
        if ann.get(key):
            try:
                out[attr] = parse_duration(str(ann[key]), key)
            except ValueError as exc:
                raise InputError(f"{subject}: {exc}", subject=subject) from None
    return Expiry(**out)
