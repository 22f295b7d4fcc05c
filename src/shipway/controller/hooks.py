"""Git server hooks that tell the controller about pushes, and their payloads.

``install_post_receive`` writes a ``post-receive`` hook into a bare repository:
a stdlib-only Python script (fast to start) that POSTs ``{"repo", "updates":
[{"ref", "before", "after"}]}`` to ``<controller>/hooks/git`` with the
repository's token (``Authorization: Bearer …``, see ``controller.tokens``;
the hook file is readable by its owner only). A controller that is down does
not block the push: the hook reports and exits 0, and the controller's
polling pass catches up later. Touches only the hook file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.git.webhooks import GitEvent
from shipway.model.errors import InputError

_HOOK = """#!{python} -I
# Installed by shipway: tells the controller about this push.
import json, sys, urllib.error, urllib.request
url = {url!r}
updates = []
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 3:
        updates.append({{"before": parts[0], "after": parts[1], "ref": parts[2]}})
body = json.dumps({{"repo": {repo!r}, "updates": updates}}).encode()
headers = {{"Content-Type": "application/json", "Authorization": "Bearer " + {token!r}}}
req = urllib.request.Request(url, data=body, headers=headers)
try:
    urllib.request.urlopen(req, timeout=5).read()
except urllib.error.HTTPError as exc:
    detail = exc.read().decode(errors="replace")[:500]
    print("shipway: controller refused this push (" + str(exc.code) + " " + detail + ")",
          file=sys.stderr)
except Exception as exc:
    print("shipway: controller not told of this push (" + str(exc) + ")", file=sys.stderr)
"""


def install_post_receive(bare_repo: Path, controller_url: str, repo_url: str, token: str) -> Path:
    """Write the hook; ``token`` is the repository's (``HookTokens.git(repo_url)``)."""
    hook = bare_repo / "hooks" / "post-receive"
    hook.parent.mkdir(parents=True, exist_ok=True)
    text = _HOOK.format(python=sys.executable, url=controller_url.rstrip("/") + "/hooks/git",
                        repo=repo_url, token=token)  # fmt: skip
    tmp = hook.with_name(".post-receive.tmp")
    tmp.touch(mode=0o700)
    tmp.chmod(0o700)  # the token is a secret: never world-readable, not even for a moment
    tmp.write_text(text)
    tmp.replace(hook)
    return hook


@dataclass(frozen=True)
class RefUpdate:
    ref: str
    before: str
    after: str

    @property
    def deleted(self) -> bool:
        return set(self.after) == {"0"}

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


@dataclass(frozen=True)
class GitPush:
    repo: str
    updates: list[RefUpdate]


_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def parse_git_push(body: Any) -> GitPush:
    """Validate the hook's JSON body: a repository URL and updates with full hex shas."""
    if not isinstance(body, dict) or not isinstance(body.get("repo"), str) or not body["repo"]:
        raise InputError("git push payload needs a 'repo' string", subject="hooks/git")
    raw = body.get("updates") or []
    if not isinstance(raw, list):
        raise InputError("'updates' must be a list", subject="hooks/git")
    updates = []
    for n, u in enumerate(raw):
        if not isinstance(u, dict) or not all(
            isinstance(u.get(k), str) for k in ("ref", "before", "after")
        ):
            raise InputError(f"updates[{n}] needs ref, before and after strings",
                             subject="hooks/git")  # fmt: skip
        for key in ("before", "after"):
            if not _SHA.match(u[key]):
                raise InputError(f"updates[{n}].{key} is not a full hex sha: {u[key][:80]!r}",
                                 subject="hooks/git")  # fmt: skip
        if not u["ref"].startswith("refs/") or len(u["ref"]) > 1000:
            raise InputError(f"updates[{n}].ref is not a ref: {u['ref'][:80]!r}",
                             subject="hooks/git")  # fmt: skip
        updates.append(RefUpdate(u["ref"], u["before"], u["after"]))
    return GitPush(repo=body["repo"], updates=updates)


def same_repo(a: str, b: str) -> bool:
    """Compare repository URLs the way Argo CD does: ignore a trailing ``.git`` and slash."""

    def norm(u: str) -> str:
        u = u.strip().rstrip("/")
        return u[:-4] if u.endswith(".git") else u

    return norm(a).lower() == norm(b).lower()


def pull_request_payload(event: GitEvent, repo_url: str, name: str) -> dict[str, Any]:
    """GitHub's ``pull_request`` event payload for a forge's pull/merge request event."""
    merged = event.action == "merged"
    number = event.number or 0
    return {
        "action": "closed" if merged else event.action,
        "number": number,
        "pull_request": {
            "number": number,
            "merged": merged,
            "head": {"ref": event.head_ref, "sha": event.head_sha},
            "base": {"ref": event.base_ref},
        },
        "repository": {"clone_url": repo_url, "name": name},
        "sender": {"login": event.sender},
    }
