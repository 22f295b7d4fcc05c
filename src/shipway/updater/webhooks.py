"""Registry push webhooks: payloads in, ``PushEvent`` records out. Pure: no I/O.

Shapes read, as each service documents them:

- CNCF distribution notifications (``application/vnd.docker.distribution.
  events.v1+json``): ``events[]`` with ``action: push``, ``target.repository``,
  ``target.tag``, ``target.digest``, ``target.mediaType``, ``request.host``.
  Only manifest pushes count (blob pushes are skipped). Auth: the endpoint's
  configured ``Authorization`` header (``Bearer <secret>`` or the bare secret).
- GitHub Container Registry: the ``package`` (and older ``registry_package``)
  event, checked with ``X-Hub-Signature-256`` (HMAC-SHA256 of the body).
- Harbor: ``PUSH_ARTIFACT`` with ``event_data.resources[]``; Harbor sends its
  configured auth header value verbatim in ``Authorization``.
- Docker Hub (``push_data`` + ``repository``) and Quay (``docker_url`` +
  ``updated_tags``): neither signs its payloads, so the secret travels as the
  ``token`` query parameter of the hook URL.

``parse(body, headers, secret=…, query=…)`` detects the shape; a failed check
raises ``WebhookAuthError``, a body that is no known shape ``InputError``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from shipway.git.webhooks import WebhookAuthError
from shipway.model import bounded
from shipway.model.errors import InputError

__all__ = ["PushEvent", "WebhookAuthError", "detect", "parse"]

DISTRIBUTION_TYPE = "application/vnd.docker.distribution.events.v1+json"
_MANIFEST_HINTS = ("manifest", "image.index", "manifest.list")


@dataclass(frozen=True)
class PushEvent:
    """A tag (or digest) pushed to ``host/repository``; fields the payload lacks are None."""

    repository: str
    tag: str | None = None
    digest: str | None = None
    host: str = ""
    media_type: str = ""
    source: str = "distribution"

    @property
    def image(self) -> str:
        return f"{self.host}/{self.repository}" if self.host else self.repository

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "image": self.image}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _check_bearer(headers: dict[str, str], secret: str | None, what: str) -> None:
    if not secret:
        return
    got = headers.get("authorization", "")
    if not (_same(got, secret) or _same(got, f"Bearer {secret}")):
        raise WebhookAuthError(f"{what} webhook: Authorization does not match", subject=what)


def _check_token(query: Mapping[str, str] | None, secret: str | None, what: str) -> None:
    if secret and not _same((query or {}).get("token", ""), secret):
        raise WebhookAuthError(
            f"{what} webhook: token query parameter does not match", subject=what
        )


def check_github_signature(body: bytes, header: str, secret: str) -> None:
    """Verify ``X-Hub-Signature-256: sha256=<hex hmac>``."""
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not _same(header or "", want):
        raise WebhookAuthError("GitHub webhook: X-Hub-Signature-256 does not match", subject="ghcr")


def _json(body: bytes, what: str) -> Any:
    try:
        return bounded.load_json(body, f"{what} webhook", bounded.body_limits())
    except InputError as exc:
        raise InputError(f"{what} webhook: body is not JSON: {exc.message}",
                         subject=exc.subject) from None  # fmt: skip


def _object(body: bytes, what: str) -> dict[str, Any]:
    data = _json(body, what)
    if not isinstance(data, dict):
        raise InputError(f"{what} webhook: body is not a JSON object", subject=f"{what} webhook")
    return data


def parse_distribution(
    body: bytes, headers: Mapping[str, str] | None = None, *, secret: str | None = None
) -> list[PushEvent]:
    """CNCF distribution notifications: one PushEvent per manifest push."""
    _check_bearer(_lower(headers or {}), secret, "distribution")
    data = _object(body, "distribution")
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise InputError("distribution webhook: no events list", subject="distribution")
    out = []
    for ev in data["events"]:
        if not isinstance(ev, dict) or ev.get("action") != "push":
            continue
        target = ev.get("target") or {}
        media = str(target.get("mediaType") or "")
        if media and not any(h in media for h in _MANIFEST_HINTS):
            continue
        repo = target.get("repository")
        if not repo:
            continue
        out.append(
            PushEvent(
                repository=str(repo),
                tag=target.get("tag") or None,
                digest=target.get("digest") or None,
                host=str((ev.get("request") or {}).get("host") or ""),
                media_type=media,
                source="distribution",
            )
        )
    return out


def parse_dockerhub(
    body: bytes, *, secret: str | None = None, query: Mapping[str, str] | None = None
) -> list[PushEvent]:
    _check_token(query, secret, "dockerhub")
    data = _object(body, "dockerhub")
    repo = str((data.get("repository") or {}).get("repo_name") or "")
    tag = (data.get("push_data") or {}).get("tag")
    if not repo:
        raise InputError("dockerhub webhook: no repository.repo_name", subject="dockerhub")
    if "/" not in repo:
        repo = f"library/{repo}"
    return [PushEvent(repository=repo, tag=tag or None, host="docker.io", source="dockerhub")]


def parse_ghcr(
    body: bytes, headers: Mapping[str, str] | None = None, *, secret: str | None = None
) -> list[PushEvent]:
    """GitHub ``package`` / ``registry_package`` events for container packages."""
    hdrs = _lower(headers or {})
    if secret:
        check_github_signature(body, hdrs.get("x-hub-signature-256", ""), secret)
    data = _object(body, "ghcr")
    pkg = data.get("package") or data.get("registry_package") or {}
    if data.get("action") not in ("published", "updated", None) or not pkg:
        return []
    if str(pkg.get("package_type", "container")).lower() not in ("container", "docker"):
        return []
    owner = str(pkg.get("namespace") or (pkg.get("owner") or {}).get("login") or "")
    name = str(pkg.get("name") or "")
    version = pkg.get("package_version") or {}
    meta = (version.get("container_metadata") or {}).get("tag") or {}
    digest = meta.get("digest") or version.get("version") or version.get("name")
    host = str((pkg.get("registry") or {}).get("url") or "https://ghcr.io").split("://")[-1]
    return [
        PushEvent(
            repository=f"{owner}/{name}".lower().strip("/"),
            tag=meta.get("name") or None,
            digest=digest if isinstance(digest, str) and digest.startswith("sha256:") else None,
            host=host.rstrip("/"),
            source="ghcr",
        )
    ]


def parse_harbor(
    body: bytes, headers: Mapping[str, str] | None = None, *, secret: str | None = None
) -> list[PushEvent]:
    _check_bearer(_lower(headers or {}), secret, "harbor")
    data = _object(body, "harbor")
    if data.get("type") not in ("PUSH_ARTIFACT", "pushImage"):
        return []
    ev = data.get("event_data") or {}
    repo = str((ev.get("repository") or {}).get("repo_full_name") or "")
    out = []
    for res in ev.get("resources") or []:
        url = str(res.get("resource_url") or "")
        host = url.split("/", 1)[0] if "/" in url else ""
        out.append(
            PushEvent(
                repository=repo,
                tag=res.get("tag") or None,
                digest=res.get("digest") or None,
                host=host,
                source="harbor",
            )
        )
    return out


def parse_quay(
    body: bytes, *, secret: str | None = None, query: Mapping[str, str] | None = None
) -> list[PushEvent]:
    _check_token(query, secret, "quay")
    data = _object(body, "quay")
    url = str(data.get("docker_url") or "")
    host, _, repo = url.partition("/")
    if not repo:
        repo, host = str(data.get("repository") or ""), "quay.io"
    return [
        PushEvent(repository=repo, tag=t, host=host, source="quay")
        for t in data.get("updated_tags") or []
    ]


def detect(body: bytes, headers: Mapping[str, str]) -> str:
    """Name the payload's shape: distribution, ghcr, harbor, dockerhub or quay."""
    hdrs = _lower(headers)
    if DISTRIBUTION_TYPE in hdrs.get("content-type", ""):
        return "distribution"
    if "x-github-event" in hdrs:
        return "ghcr"
    data = _json(body, "webhook")
    if isinstance(data, dict):
        if "events" in data:
            return "distribution"
        if "event_data" in data:
            return "harbor"
        if "push_data" in data:
            return "dockerhub"
        if "docker_url" in data or "updated_tags" in data:
            return "quay"
        if "package" in data or "registry_package" in data:
            return "ghcr"
    raise InputError("webhook: unknown payload shape", subject="webhook")


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    query: Mapping[str, str] | None = None,
    kind: str | None = None,
) -> list[PushEvent]:
    """Parse any supported payload (``kind`` forces a shape) into push events.

    A body of the wrong shape is an ``InputError`` naming the problem, never another exception.
    """
    try:
        return _parse(body, headers, secret=secret, query=query, kind=kind)
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        raise InputError(f"webhook: malformed payload ({type(exc).__name__}: {exc})",
                         subject="webhook") from None  # fmt: skip


def _parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None,
    query: Mapping[str, str] | None,
    kind: str | None,
) -> list[PushEvent]:
    shape = kind or detect(body, headers)
    if shape == "distribution":
        return parse_distribution(body, headers, secret=secret)
    if shape == "ghcr":
        return parse_ghcr(body, headers, secret=secret)
    if shape == "harbor":
        return parse_harbor(body, headers, secret=secret)
    if shape == "dockerhub":
        return parse_dockerhub(body, secret=secret, query=query)
    if shape == "quay":
        return parse_quay(body, secret=secret, query=query)
    raise InputError(f"webhook: unknown kind {shape!r}", subject="webhook")
