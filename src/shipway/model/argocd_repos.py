"""Argo CD's repository Secrets and credential templates, and which one serves a repository.

Argo CD users keep repository connections as Secrets in the ``argocd``
namespace labelled ``argocd.argoproj.io/secret-type: repository`` (``url``,
``username``, ``password``, ``type``, ``project``, ``insecure``...) and
credential templates labelled ``repo-creds`` (their ``url`` a prefix of the
repositories they serve). ``choose`` is Argo CD's look-up for one repository
URL: a ``repository`` Secret whose ``url`` is the repository's (one spelling:
lower case, no trailing ``/`` or ``.git``), one scoped to the application's
``project`` before an unscoped one, in name order (with no project given, a
scoped one when no unscoped one matches); when it holds no
credentials (or there is none), the ``repo-creds`` template with the longest
``url`` prefix of the repository's (ties by name). Secrets of ``type: helm``
or ``oci`` serve chart repositories, not git. ``unsupported`` names the
credential forms and settings shipway cannot use (SSH keys, GitHub App keys,
TLS client certificates, a proxy, Git LFS...) that a chosen Secret holds. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SECRET_TYPE = "argocd.argoproj.io/secret-type"
REPOSITORY = "repository"
REPO_CREDS = "repo-creds"

UNSUPPORTED = {
    "sshPrivateKey": "an SSH private key",
    "githubAppPrivateKey": "a GitHub App private key",
    "tlsClientCertData": "a TLS client certificate",
    "tlsClientCertKey": "a TLS client certificate key",
    "gcpServiceAccountKey": "a GCP service account key",
    "bearerToken": "a bearer token",
    "useAzureWorkloadIdentity": "Azure workload identity",
    "proxy": "a proxy setting",
    "enableLfs": "Git LFS",
}
"""Credential forms and settings Argo CD knows and shipway does not use (key -> what it is)."""
_FLAGS = frozenset({"useAzureWorkloadIdentity", "enableLfs"})
"""Keys of ``UNSUPPORTED`` that are booleans: only ``"true"`` asks for them."""
_CREDENTIAL_KEYS = ("username", "password", *(k for k in UNSUPPORTED if k not in _FLAGS))


@dataclass(frozen=True)
class Chosen:
    """The Secret whose credentials serve a repository (``kind``: repository or repo-creds),
    its decoded ``data``, and whether TLS is not verified (``insecure``)."""

    name: str
    kind: str
    data: Mapping[str, str]
    insecure: bool


def secret_type(obj: Mapping[str, Any]) -> str:
    """A Secret's ``argocd.argoproj.io/secret-type`` label (``""`` when it has none)."""
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(SECRET_TYPE, ""))


def normalise(url: str) -> str:
    """A repository URL in one spelling: lower case, no trailing ``/`` or ``.git``."""
    out = url.strip().rstrip("/")
    if out.endswith(".git"):
        out = out[:-4]
    return out.lower()


def _flag(data: Mapping[str, str], key: str) -> bool:
    return str(data.get(key, "")).strip().lower() == "true"


def _is_git(data: Mapping[str, str]) -> bool:
    return str(data.get("type", "") or "git").strip().lower() == "git"


def _has_credentials(data: Mapping[str, str]) -> bool:
    return any(str(data.get(key, "")).strip() for key in _CREDENTIAL_KEYS)


def _repository(secrets: list[tuple[str, Mapping[str, str]]], repo_url: str,
                project: str | None) -> tuple[str, Mapping[str, str]] | None:  # fmt: skip
    want = normalise(repo_url)
    same = [(n, d) for n, d in secrets
            if _is_git(d) and d.get("url") and normalise(str(d["url"])) == want]  # fmt: skip
    scoped = [(n, d) for n, d in same if project and str(d.get("project", "")) == project]
    unscoped = [(n, d) for n, d in same if not str(d.get("project", ""))]
    found = scoped or unscoped or (same if project is None else [])
    return min(found, key=lambda c: c[0]) if found else None


def _template(secrets: list[tuple[str, Mapping[str, str]]],
              repo_url: str) -> tuple[str, Mapping[str, str]] | None:  # fmt: skip
    want = normalise(repo_url)
    best: tuple[int, str, Mapping[str, str]] | None = None
    for name, data in secrets:
        prefix = normalise(str(data.get("url", "")))
        if not prefix or not _is_git(data) or not want.startswith(prefix):
            continue
        if best is None or (-len(prefix), name) < (-best[0], best[1]):
            best = (len(prefix), name, data)
    return (best[1], best[2]) if best is not None else None


def choose(repositories: Iterable[tuple[str, Mapping[str, str]]],
           templates: Iterable[tuple[str, Mapping[str, str]]], repo_url: str,
           project: str | None = None) -> Chosen | None:  # fmt: skip
    """The Secret whose credentials serve ``repo_url`` for an application of ``project``;
    None when no Secret has credentials for it."""
    repo = _repository(list(repositories), repo_url, project)
    insecure = repo is not None and _flag(repo[1], "insecure")
    if repo is not None and _has_credentials(repo[1]):
        return Chosen(repo[0], REPOSITORY, repo[1], insecure)
    found = _template(list(templates), repo_url)
    if found is not None:
        return Chosen(found[0], REPO_CREDS, found[1], insecure or _flag(found[1], "insecure"))
    if insecure and repo is not None:
        return Chosen(repo[0], REPOSITORY, repo[1], True)
    return None


def unsupported(data: Mapping[str, str]) -> list[str]:
    """What the Secret holds that shipway cannot use, in words (empty: nothing)."""
    return [what for key, what in UNSUPPORTED.items()
            if (_flag(data, key) if key in _FLAGS else str(data.get(key, "")).strip())]  # fmt: skip
