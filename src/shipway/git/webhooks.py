"""Forge webhooks: GitHub, GitLab and Gitea push and pull request payloads. Pure: no I/O.

``parse(headers, body, secret=…)`` detects the forge from its event header
(``X-GitHub-Event``, ``X-Gitlab-Event``, ``X-Gitea-Event``), checks the
signature or token the forge defines, and returns a ``GitEvent``:

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``.
- Gitea (and Forgejo): ``X-Gitea-Signature: <hex HMAC-SHA256 of the body>``.
- GitLab: ``X-Gitlab-Token`` equal to the secret (GitLab does not sign).

Events other than push and pull/merge request come back with ``kind`` set
to the forge's event name and no details. A failed check raises
``WebhookAuthError``; a body that is not the forge's shape ``InputError``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from shipway.model import bounded
from shipway.model.errors import InputError, ShipwayError

ZERO = "0" * 40


class WebhookAuthError(InputError):
    """The payload's signature or token does not match the configured secret."""


@dataclass(frozen=True)
class GitEvent:
    """A push (``ref``, ``before``, ``after``) or a pull request (``number``, head, base)."""

    forge: str
    kind: str  # "push", "pull_request" or the forge's own event name
    repo_urls: tuple[str, ...] = ()  # clone URLs the repository is known by
    ref: str = ""
    before: str = ""
    after: str = ""
    commits: tuple[str, ...] = ()
    number: int | None = None
    action: str = ""  # opened, synchronize, closed, merged, reopened …
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    sender: str = ""
    fork: bool = False  # a pull request whose head is in another repository
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else ""

    @property
    def deleted(self) -> bool:
        return self.kind == "push" and self.after == ZERO

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        return out


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _json(body: bytes, forge: str) -> dict[str, Any]:
    try:
        data = bounded.load_json(body, f"{forge} webhook", bounded.body_limits())
    except InputError as exc:
        raise InputError(f"{forge} webhook: body is not JSON: {exc.message}",
                         subject=exc.subject) from None  # fmt: skip
    if not isinstance(data, dict):
        raise InputError(f"{forge} webhook: body is not an object", subject=forge)
    return data


def _urls(repo: Mapping[str, Any], *keys: str) -> tuple[str, ...]:
    return tuple(str(repo[k]) for k in keys if repo.get(k))


def _github_like(forge: str, event: str, data: dict[str, Any]) -> GitEvent:
    repo = data.get("repository") or {}
    urls = _urls(repo, "clone_url", "ssh_url", "git_url", "html_url")
    sender = str((data.get("sender") or {}).get("login") or "")
    if event == "push":
        return GitEvent(
            forge=forge,
            kind="push",
            repo_urls=urls,
            ref=str(data.get("ref") or ""),
            before=str(data.get("before") or ""),
            after=str(data.get("after") or ""),
            commits=tuple(str(c.get("id")) for c in data.get("commits") or [] if c.get("id")),
            sender=sender,
        )
    if event == "pull_request":
        pr = data.get("pull_request") or {}
        action = str(data.get("action") or "")
        if action == "closed" and pr.get("merged"):
            action = "merged"
        return GitEvent(
            forge=forge,
            kind="pull_request",
            repo_urls=urls,
            number=int(pr.get("number") or data.get("number") or 0),
            action=action,
            head_ref=str((pr.get("head") or {}).get("ref") or ""),
            head_sha=str((pr.get("head") or {}).get("sha") or ""),
            base_ref=str((pr.get("base") or {}).get("ref") or ""),
            sender=sender,
            fork=_repo_of(pr, "head") != _repo_of(pr, "base"),
        )
    return GitEvent(forge=forge, kind=event, repo_urls=urls, sender=sender)


def _repo_of(pr: dict[str, Any], side: str) -> str:
    """``full_name`` of a pull request side's repository ('' when the payload has none)."""
    repo = (pr.get(side) or {}).get("repo") or {}
    return str(repo.get("full_name") or "") if isinstance(repo, dict) else ""


def _gitlab(event: str, data: dict[str, Any]) -> GitEvent:
    project = data.get("project") or data.get("repository") or {}
    urls = _urls(project, "git_http_url", "git_ssh_url", "http_url", "ssh_url", "web_url")
    kind = str(data.get("object_kind") or event)
    sender = str(data.get("user_username") or (data.get("user") or {}).get("username") or "")
    if kind == "push":
        return GitEvent(
            forge="gitlab",
            kind="push",
            repo_urls=urls,
            ref=str(data.get("ref") or ""),
            before=str(data.get("before") or ""),
            after=str(data.get("after") or data.get("checkout_sha") or ""),
            commits=tuple(str(c.get("id")) for c in data.get("commits") or [] if c.get("id")),
            sender=sender,
        )
    if kind == "merge_request":
        attrs = data.get("object_attributes") or {}
        actions = {"open": "opened", "update": "synchronize", "close": "closed", "merge": "merged"}
        action = str(attrs.get("action") or "")
        return GitEvent(
            forge="gitlab",
            kind="pull_request",
            repo_urls=urls,
            number=int(attrs.get("iid") or 0),
            action=actions.get(action, action),
            head_ref=str(attrs.get("source_branch") or ""),
            head_sha=str((attrs.get("last_commit") or {}).get("id") or ""),
            base_ref=str(attrs.get("target_branch") or ""),
            sender=sender,
            fork=attrs.get("source_project_id") != attrs.get("target_project_id"),
        )
    return GitEvent(forge="gitlab", kind=kind, repo_urls=urls, sender=sender)


def parse(headers: Mapping[str, str], body: bytes, *, secret: str | None = None) -> GitEvent:
    """Parse a forge webhook, checking its signature or token when ``secret`` is set.

    A body of the wrong shape (an object where a string belongs, …) is an
    ``InputError`` naming the problem, never another exception.
    """
    try:
        return _parse(headers, body, secret=secret)
    except ShipwayError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise InputError(f"webhook: malformed payload ({type(exc).__name__}: {exc})",
                         subject="webhook") from None  # fmt: skip


def _parse(headers: Mapping[str, str], body: bytes, *, secret: str | None = None) -> GitEvent:
    h = {k.lower(): v for k, v in headers.items()}
    if "x-gitea-event" in h or "x-forgejo-event" in h:
        if secret and not _same(
            h.get("x-gitea-signature", h.get("x-forgejo-signature", "")), _hmac(secret, body)
        ):
            raise WebhookAuthError(
                "gitea webhook: X-Gitea-Signature does not match", subject="gitea"
            )
        event = h.get("x-gitea-event") or h.get("x-forgejo-event") or ""
        return _github_like("gitea", event, _json(body, "gitea"))
    if "x-github-event" in h:
        if secret and not _same(h.get("x-hub-signature-256", ""), "sha256=" + _hmac(secret, body)):
            raise WebhookAuthError(
                "github webhook: X-Hub-Signature-256 does not match", subject="github"
            )
        return _github_like("github", h["x-github-event"], _json(body, "github"))
    if "x-gitlab-event" in h:
        if secret and not _same(h.get("x-gitlab-token", ""), secret):
            raise WebhookAuthError(
                "gitlab webhook: X-Gitlab-Token does not match", subject="gitlab"
            )
        event = h["x-gitlab-event"].lower().replace(" hook", "").replace(" ", "_")
        return _gitlab(event, _json(body, "gitlab"))
    raise InputError(
        "webhook: no X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event header", subject="webhook"
    )
