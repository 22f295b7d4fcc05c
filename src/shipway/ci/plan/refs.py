"""Other repositories a workflow names: ``uses:`` references, clone URLs, refs, auth headers.

Pure: turns ``owner/repo[/path]@ref`` and ``git ls-remote`` text into data.
The git I/O that uses it lives in ``shipway.ci.remote``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class RefError(Exception):
    """A reference that cannot be read or resolved; the message is for the user."""


@dataclass(frozen=True)
class RemoteUses:
    """``owner/repo[/path]@ref`` split into its parts."""

    owner: str
    name: str
    path: str  # inside the repository, '' for its root
    ref: str

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def cache_entry(self) -> str:
        """The action cache directory of this repository at this ref (relative)."""
        return f"{self.owner}/{self.name}@{self.ref}"


def parse_uses(uses: str) -> RemoteUses:
    """Split a remote ``uses:`` value; raise ``RefError`` when it is not one."""
    name, at, ref = uses.partition("@")
    parts = name.split("/")
    if not at or not ref or len(parts) < 2 or not all(parts):
        raise RefError(f"invalid reference {uses!r} (expected owner/repo[/path]@ref)")
    if not all(_NAME.match(p) for p in parts[:2]) or ".." in parts:
        raise RefError(f"invalid reference {uses!r} (expected owner/repo[/path]@ref)")
    if ref.startswith(("-", "/")) or ".." in ref:
        raise RefError(f"invalid ref {ref!r} in {uses!r}")
    return RemoteUses(parts[0], parts[1], "/".join(parts[2:]), ref)


def is_sha(ref: str) -> bool:
    """A full commit id (SHA-1 or SHA-256), which never moves."""
    return bool(_SHA.match(ref))


def clone_urls(base: str, repo: str) -> list[str]:
    """Where ``owner/name`` may live under a git source: with and without ``.git``."""
    base = base.rstrip("/")
    if not base:
        return []
    return [f"{base}/{repo}", f"{base}/{repo}.git"]


def is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def auth_env(url: str, token: str) -> dict[str, str]:
    """Git config (as environment) sending ``token`` as GitHub's checkout does, http(s) only.

    The header goes through ``GIT_CONFIG_*`` variables, never on a command line.
    """
    if not token or not is_http(url):
        return {}
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": auth_header(token),
    }


def auth_header(token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"AUTHORIZATION: basic {basic}"


@dataclass(frozen=True)
class Listing:
    """What ``git ls-remote --symref`` says about a repository."""

    refs: dict[str, str]  # full ref name -> commit (peeled for annotated tags)
    head: str  # the default branch's full ref, '' when unknown


def parse_ls_remote(text: str) -> Listing:
    refs: dict[str, str] = {}
    head = ""
    for line in text.splitlines():
        left, _, name = line.partition("\t")
        if left.startswith("ref: "):
            if name == "HEAD":
                head = left[len("ref: ") :].strip()
            continue
        if not name:
            continue
        if name.endswith("^{}"):
            refs[name[:-3]] = left.strip()  # the commit an annotated tag points to
        elif name not in refs:
            refs[name] = left.strip()
    return Listing(refs, head)


@dataclass(frozen=True)
class Resolved:
    kind: str  # "branch", "tag" or "sha"
    full: str  # refs/heads/x, refs/tags/x, or the sha
    sha: str


def resolve_ref(listing: Listing, ref: str, repo: str) -> Resolved:
    """A ref as git resolves a short name: tag, then branch; a full sha as itself.

    An empty ``ref`` means the default branch. Raises ``RefError`` naming the
    repository and the ref when there is no such ref.
    """
    if not ref:
        if not listing.head or listing.head not in listing.refs:
            raise RefError(f"repository {repo} has no default branch")
        ref = listing.head
    if is_sha(ref):
        return Resolved("sha", ref, ref)
    candidates = [ref] if ref.startswith("refs/") else [f"refs/tags/{ref}", f"refs/heads/{ref}"]
    for full in candidates:
        if full in listing.refs:
            kind = "tag" if full.startswith("refs/tags/") else "branch"
            if not full.startswith(("refs/tags/", "refs/heads/")):
                kind = "sha"
            return Resolved(kind, full, listing.refs[full])
    raise RefError(f"ref {ref!r} not found in repository {repo}")


def short_name(full: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if full.startswith(prefix):
            return full[len(prefix) :]
    return full
