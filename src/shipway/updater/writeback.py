"""Write picks into a config repository: edit files, commit, push, retry on a moved base.

One persistent checkout per (repository, branch) under ``<workdir>/repos``,
fetched and reset before every attempt, so an update is always re-applied
to the newest base: a non-fast-forward push (``ConflictError`` from
``shipway.git.repo``) refetches and re-edits, never dropping an update.
Writers of one checkout are serialised by a thread lock and an ``flock`` on a
lock file (so separate processes queue too). Edits are computed in memory and
written only when every edit of an item succeeded: a broken item leaves no
half-written file and does not stop the others. No commit when nothing changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import random
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shipway.git.repo import Repo
from shipway.model.errors import ConflictError, GitError, InputError, ShipwayError
from shipway.updater import gitauth, template
from shipway.updater.edit import argocd_source, helm, kustomize, markers
from shipway.updater.edit.yamltext import Change
from shipway.updater.resolve import Resolved
from shipway.updater.targets import GitTarget, Watch

MAX_ATTEMPTS = 20
_YAML = (".yaml", ".yml")


@dataclass
class Item:
    watch: Watch
    resolved: Resolved
    changes: list[Change] = field(default_factory=list)
    error: ShipwayError | None = None


@dataclass
class Outcome:
    commit: str | None
    attempts: int


class Checkouts:
    """Persistent working trees of config repositories, one lock each."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "repos"
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def dir_for(self, target: GitTarget) -> Path:
        digest = hashlib.sha256(target.repo_url.encode()).hexdigest()[:12]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", target.repo_url.rsplit("/", 1)[-1])[:40]
        return self.root / f"{slug}-{digest}"

    @contextlib.contextmanager
    def locked(self, target: GitTarget) -> Iterator[Repo]:
        path = self.dir_for(target)
        with self._guard:
            lock = self._locks.setdefault(str(path), threading.Lock())
        path.parent.mkdir(parents=True, exist_ok=True)
        with lock, open(f"{path}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield self._open(path, target)
            except BaseException:
                Path(f"{path}.dirty").touch()
                raise
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @staticmethod
    def _open(path: Path, target: GitTarget) -> Repo:
        if (path / ".git").exists():
            return gitauth.open_repo(target, path)
        if path.exists():  # a failed clone left debris
            shutil.rmtree(path)
        return gitauth.clone(target, path)


def sync(repo: Repo, target: GitTarget) -> None:
    """Fetch and reset the checkout to the remote branch."""
    repo.run(
        "fetch", "-q", "origin", f"+refs/heads/{target.branch}:refs/remotes/origin/{target.branch}"
    )
    base = f"refs/remotes/origin/{target.branch}"
    repo.run("checkout", "-q", "-B", target.branch, base)
    dirty = Path(f"{repo.path}.dirty")
    if dirty.exists():  # an earlier attempt died between writing files and committing
        repo.run("clean", "-qfdx")
        dirty.unlink()


def _read(root: Path, texts: dict[str, str], rel: str) -> str:
    if rel not in texts:
        f = root / rel
        if not f.is_file():
            return ""
        texts[rel] = f.read_bytes().decode()
    return texts[rel]


def _marker_files(root: Path, target: GitTarget) -> list[str]:
    base = root / target.path if target.path else root
    out = []
    for f in sorted(base.rglob("*")):
        if f.suffix in _YAML and f.is_file() and ".git" not in f.relative_to(root).parts:
            out.append(str(f.relative_to(root)))
    return out


@functools.lru_cache(maxsize=8192)
def _set_image(
    text: str, file: str, name: str, new_name: str | None, tag: str | None, digest: str | None
) -> tuple[str, tuple[Change, ...]]:
    """``kustomize.set_image``, memoised: a warm pass re-checks unchanged files for free."""
    out, changes = kustomize.set_image(
        text,
        file,
        name,
        new_name=new_name,
        new_tag=tag,
        digest=digest,
        tag_only_if_present=digest is not None,
    )
    return out, tuple(changes)


@functools.lru_cache(maxsize=8192)
def _set_values(
    text: str, file: str, values: tuple[tuple[str, str], ...]
) -> tuple[str, tuple[Change, ...]]:
    out, changes = helm.set_values(text, file, dict(values))
    return out, tuple(changes)


@functools.lru_cache(maxsize=8192)
def _markers(text: str, file: str, ref: str, pick: markers.Pick) -> tuple[str, tuple[Change, ...]]:
    out, changes = markers.apply(text, file, {ref: pick})
    return out, tuple(changes)


def _edit_one(root: Path, texts: dict[str, str], item: Item) -> list[Change]:
    """Apply one item's edits to ``texts`` (a working copy); raise on any failure."""
    w, r = item.watch, item.resolved
    t = w.target
    if t.kind == "markers":
        pick = markers.Pick(image=r.image, tag=r.tag, digest=r.digest, pin_digest=w.pin_digest)
        out: list[Change] = []
        for rel in _marker_files(root, t):
            text = _read(root, texts, rel)
            if "$imagepolicy" not in text:
                continue
            texts[rel], changes = _markers(text, rel, w.policy_ref, pick)
            out += changes
        return out
    text = _read(root, texts, t.file)
    if t.kind == "kustomization":
        if not text and not (root / t.file).exists():
            raise InputError("kustomization.yaml not found", file=t.file)
        texts[t.file], changes = _set_image(
            text,
            t.file,
            w.kustomize_name,
            r.image if r.image != w.kustomize_name else None,
            r.tag,
            r.digest if w.pin_digest else None,
        )
        return list(changes)
    if t.kind == "helmvalues":
        values = tuple(_helm_values(w, r).items())
        texts[t.file], changes = _set_values(text, t.file, values)
        return list(changes)
    if w.helm_keys:
        params = _helm_values(w, r)
        texts[t.file], listed = argocd_source.set_helm_parameters(text, t.file, params)
        return listed
    value = r.pinned if w.pin_digest else f"{r.image}:{r.tag}"
    texts[t.file], listed = argocd_source.set_kustomize_image(text, t.file, w.kustomize_name, value)
    return listed


def _helm_values(w: Watch, r: Resolved) -> dict[str, str]:
    pin = w.policy.strategy == "digest"
    values = {}
    for what, key in w.helm_keys or (("name", "image.repository"), ("tag", "image.tag")):
        if what == "name":
            values[key] = r.image
        elif what == "tag":
            values[key] = f"{r.tag}@{r.digest}" if pin else r.tag
        else:
            values[key] = r.pinned if pin else f"{r.image}:{r.tag}"
    return values


def apply_edits(root: Path, items: list[Item]) -> dict[str, str]:
    """Edit in memory; return the changed files' new texts. Items record changes or errors."""
    original: dict[str, str] = {}
    texts: dict[str, str] = {}
    for item in items:
        item.changes, item.error = [], None
        trial = dict(texts)
        try:
            item.changes = _edit_one(root, trial, item)
        except ShipwayError as exc:
            item.error = exc
            continue
        texts = trial
    for rel in texts:
        _read(root, original, rel)
    return {rel: text for rel, text in texts.items() if text != original.get(rel)}


def message(target: GitTarget, items: list[Item]) -> str:
    """A commit message listing every change, with Image and Source-Commit trailers."""
    changed = [i for i in items if i.changes]
    names = ", ".join(sorted({f"{i.watch.alias} {i.resolved.tag}" for i in changed}))
    lines = [f"Update images: {names}"[:200], ""]
    for i in changed:
        w, r = i.watch, i.resolved
        lines.append(f"{w.owner} {w.alias}: {r.image}:{r.tag} ({r.digest[:19]})")
        for c in i.changes:
            lines.append(f"  {c.file}:{c.line} {c.key}: {c.old or '(none)'} -> {c.new}")
    if target.message_template:
        lines = [_template(target, changed).rstrip("\n"), "", *lines[2:]]
    lines.append("")
    for i in changed:
        lines.append(f"Image: {i.resolved.pinned}")
    for sha in dict.fromkeys(i.resolved.source_commit for i in changed if i.resolved.source_commit):
        lines.append(f"Source-Commit: {sha}")
    return "\n".join(lines) + "\n"


def _template(target: GitTarget, items: list[Item]) -> str:
    """Render the target's message template (``{images}`` … or Flux's Go-template subset)."""
    data = template.Data(
        automation=target.app,
        images=[f"{i.resolved.image}:{i.resolved.tag}" for i in items],
        files=sorted({c.file for i in items for c in i.changes}),
        changes=[
            template.ChangeData(c.old or "", c.new, i.watch.policy_ref or i.watch.alias)
            for i in items
            for c in i.changes
        ],
        apps=sorted({i.watch.owner_name for i in items}),
        tags=[i.resolved.tag for i in items],
    )
    return template.render(target.message_template, data, subject=target.app or target.repo_url)


_PERSON = re.compile(r"^\s*(?P<name>[^<]+?)\s*<(?P<email>[^>]*)>\s*$")


def stage_and_commit(repo: Repo, target: GitTarget, files: dict[str, str], text: str) -> str:
    """Write ``files``, commit them as the target's author; return the commit id."""
    new = [rel for rel in files if not (repo.path / rel).exists()]
    for rel, content in files.items():
        dest = repo.path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content.encode())
    if new:
        repo.run("add", "--", *new)
    return commit(repo, target, text, all_tracked=True)


def commit(repo: Repo, target: GitTarget, text: str, *, all_tracked: bool = False) -> str:
    """Commit the staged edits (``-a``: and tracked changes) as the target's author."""
    env: dict[str, str] = {}
    m = _PERSON.match(target.author) if target.author else None
    if m:
        for role in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = m["name"], m["email"]
    elif target.author:
        raise InputError(f"commit author {target.author!r} is not 'Name <email>'")
    args = ["commit", "-q", "-F", "-"] + (["--signoff"] if target.signoff else [])
    args += ["-a"] if all_tracked else []
    repo.run(*args, input=text, env=env)
    return repo.head()


def preview(checkouts: Checkouts, target: GitTarget, items: list[Item]) -> None:
    """Compute the items' edits on the newest base, leaving the checkout as it was."""
    with checkouts.locked(target) as repo:
        sync(repo, target)
        apply_edits(repo.path, items)


def write(checkouts: Checkouts, target: GitTarget, items: list[Item]) -> Outcome:
    """Edit, commit and push ``items`` to ``target``; retry on a moved base."""
    last: GitError | None = None
    with checkouts.locked(target) as repo:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            sync(repo, target)
            files = apply_edits(repo.path, items)
            if not files:
                return Outcome(commit=None, attempts=attempt)
            sha = stage_and_commit(repo, target, files, message(target, items))
            force = "+" if target.push_branch != target.branch else ""
            try:
                repo.push("origin", f"{force}HEAD:refs/heads/{target.push_branch}")
            except ConflictError:
                _backoff(attempt)
                continue
            except GitError as exc:  # "[remote rejected] (cannot lock ref)": another push landed
                last = exc
                _backoff(attempt)
                continue
            return Outcome(commit=sha, attempts=attempt)
    why = f": {last.message}" if last else ""
    raise GitError(
        f"push still rejected after {MAX_ATTEMPTS} attempts{why}", subject=target.repo_url
    )


def _backoff(attempt: int) -> None:
    """A short random pause so racing writers do not collide again in lockstep."""
    time.sleep(random.uniform(0, 0.01 * min(attempt, 10)))
