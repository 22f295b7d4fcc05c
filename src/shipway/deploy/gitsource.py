"""A config repository as the renderer reads it: a persistent bare mirror.

One mirror per repository URL under ``$SHIPWAY_HOME/work/config/<hash>``
(cloned and fetched through ``shipway.git.repo``; ``auth`` gives the
environment of those git processes, Argo CD's repository credentials
through ``deploy.repocreds``; a server that refuses them, or asks for a login
none was given for, is a ``GitError`` saying so and naming the repository). Per commit, one ``git
ls-tree -r -t`` gives every directory's tree id and every file's blob id
(memoised), so finding what a commit changed for an application is a dict
lookup; file contents come from one long-lived ``git cat-file --batch``
process; a whole tree is extracted (``git archive``) only for tools that need
files on disk (kustomize, Helm), once per commit. Errors are ``GitError``.
Threads of one process that fetch one mirror take turns (two ``git fetch``
runs into one repository fail on each other's ref locks).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shipway.git.repo import Repo, git
from shipway.model.errors import GitError, InputError
from shipway.settings import Settings


def norm_path(path: str) -> str:
    """A source path as git lists it: ``./apps/a/`` → ``apps/a``, ``.`` → ``""``."""
    p = path.strip().strip("/")
    while p.startswith("./"):
        p = p[2:]
    return "" if p in (".", "") else p.rstrip("/")


@dataclass
class Listing:
    """The tree of one commit: directory tree ids, file blob ids, children per directory."""

    trees: dict[str, str]
    blobs: dict[str, str]
    files_in: dict[str, list[str]] = field(default_factory=dict)
    dirs_in: dict[str, list[str]] = field(default_factory=dict)
    _indexed: bool = False
    _kustomized: set[str] | None = None

    def kustomized(self) -> set[str]:
        """Directories holding a kustomization file (computed once per listing)."""
        if self._kustomized is None:
            names = ("/kustomization.yaml", "/kustomization.yml", "/Kustomization")
            found = {p.rpartition("/")[0] for p in self.blobs if p.endswith(names)}
            if any(n[1:] in self.blobs for n in names):
                found.add("")  # a kustomization at the repository root
            self._kustomized = found
        return self._kustomized

    def _index(self) -> None:
        """Children per directory, built on first use (a refresh that renders nothing skips it)."""
        for path in self.trees:
            if path:
                self.dirs_in.setdefault(_parent(path), []).append(path)
        for path in self.blobs:
            self.files_in.setdefault(_parent(path), []).append(path)
        self._indexed = True

    def files_under(self, path: str, recurse: bool) -> list[str]:
        """Files directly in ``path`` (and below it when ``recurse``), repo-relative."""
        if not self._indexed:
            self._index()
        out = list(self.files_in.get(path, []))
        if recurse:
            for d in self.dirs_in.get(path, []):
                out += self.files_under(d, True)
        return out


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_FETCHING: dict[Path, threading.Lock] = {}  # one per mirror: its fetches take turns
_FETCHING_GUARD = threading.Lock()


def _fetch_lock(path: Path) -> threading.Lock:
    with _FETCHING_GUARD:
        return _FETCHING.setdefault(path, threading.Lock())


def _type(mode: str) -> str:
    """``t`` (tree), ``b`` (blob or symlink), ``c`` (a submodule's commit), ``""`` (none)."""
    if mode == "000000":
        return ""
    return "t" if mode == "040000" else "c" if mode == "160000" else "b"


def _derive(
    prev: Listing, root: str, rows: list[tuple[str, str, str, str, str]]
) -> tuple[Listing, set[str]]:
    """The listing ``rows`` (``ConfigRepo._diff_tree``) make of ``prev``; and the changed paths.

    The dicts are copied (a C-speed copy), then only the changed entries are
    touched; the child indexes and kustomized set are carried over the same way.
    """
    lst = Listing(dict(prev.trees), dict(prev.blobs))
    lst.trees[""] = root
    index = prev._indexed
    if index:
        lst.files_in, lst.dirs_in, lst._indexed = dict(prev.files_in), dict(prev.dirs_in), True
    owned: set[tuple[str, str]] = set()  # child lists already copied for this listing

    def children(table: dict[str, list[str]], name: str, parent: str) -> list[str]:
        if (name, parent) not in owned:
            table[parent] = list(table.get(parent, []))
            owned.add((name, parent))
        return table[parent]

    kust = set(prev._kustomized) if prev._kustomized is not None else None
    changed = {""}
    for old_mode, new_mode, new_id, status, path in rows:
        changed.add(path)
        was, now = _type(old_mode), ("" if status == "D" else _type(new_mode))
        table = {"t": lst.trees, "b": lst.blobs}
        if was in table and was != now:
            table[was].pop(path, None)
            if index:
                name = "dirs" if was == "t" else "files"
                kids = children(lst.dirs_in if was == "t" else lst.files_in, name, _parent(path))
                if path in kids:
                    kids.remove(path)
        if now in table:
            if now != was and index:
                name = "dirs" if now == "t" else "files"
                children(lst.dirs_in if now == "t" else lst.files_in, name, _parent(path)).append(
                    path
                )
            table[now][path] = new_id
        if kust is not None and path.rpartition("/")[2] in _KUSTOMIZATIONS:
            d = _parent(path)
            has = any((f"{d}/{n}" if d else n) in lst.blobs for n in _KUSTOMIZATIONS)
            (kust.add if has else kust.discard)(d)
    lst._kustomized = kust
    return lst, changed


class ConfigRepo:
    """A persistent bare mirror of one config repository."""

    def __init__(self, settings: Settings, url: str,
                 auth: Callable[[str], dict[str, str]] | None = None) -> None:  # fmt: skip
        self.url = url
        self.auth = auth
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.path = settings.work_dir / "config" / digest
        self.trees_dir = settings.home / "cache" / "trees" / digest
        self.repo = Repo(self.path)
        self.fetched = False
        self._listings: OrderedDict[str, Listing] = OrderedDict()
        self._resolved: dict[str, str] = {}
        self._batch: subprocess.Popen[bytes] | None = None
        self._blobs: dict[str, bytes] = {}
        self._changes: dict[tuple[str, str], set[str]] = {}

    def ensure(self) -> None:
        if not self.fetched and not (self.path / "HEAD").exists():
            tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            env = self._env()
            try:
                git(["clone", "-q", "--mirror", self.url, str(tmp)], subject=self.url, env=env)
            except GitError as exc:
                raise _refused(self.url, exc, env) from None
            os.replace(tmp, self.path)
            self.fetched = True

    def _env(self) -> dict[str, str]:
        return self.auth(self.url) if self.auth is not None else {}

    def fetch(self) -> None:
        with _fetch_lock(self.path):
            self.ensure()
            if not self.fetched:
                env = self._env()
                try:
                    self.repo.run("fetch", "-q", "--prune", "origin", "+refs/*:refs/*", env=env)
                except GitError as exc:
                    raise _refused(self.url, exc, env) from None
                self.fetched = True
                self._resolved.clear()

    def resolve(self, revision: str | None) -> str:
        """A branch, tag, ``HEAD`` or commit id → the commit id (after a fetch)."""
        self.fetch()
        rev = revision or "HEAD"
        if rev in self._resolved:
            return self._resolved[rev]
        for cand in (rev, f"refs/heads/{rev}", f"refs/tags/{rev}"):
            try:
                found = self.repo.run("rev-parse", "--verify", "-q", f"{cand}^{{commit}}").strip()
            except GitError:
                continue
            self._resolved[rev] = found
            return found
        raise GitError(f"revision {rev!r} not found", subject=self.url)

    def listing(self, commit: str, base: str | None = None) -> Listing:
        """The tree of ``commit`` (the last 8 kept).

        With ``base`` (an earlier commit whose listing is kept) it is derived from
        that one and ``git diff-tree`` (what changed between them), else read whole
        with ``git ls-tree``.
        """
        found = self._listings.get(commit)
        if found is not None:
            self._listings.move_to_end(commit)
            return found
        root = self.repo.run("rev-parse", f"{commit}^{{tree}}").strip()
        prev = self._listings.get(base) if base is not None and base != commit else None
        if prev is not None and base is not None:
            lst, changed = _derive(prev, root, self._diff_tree(base, commit))
            self._changes[(base, commit)] = changed
        else:
            lst = self._read_listing(commit, root)
        self._listings[commit] = lst
        while len(self._listings) > 8:
            self._listings.popitem(last=False)
        return lst

    def _read_listing(self, commit: str, root: str) -> Listing:
        lst = Listing({"": root}, {})
        out = self.repo.run(
            "ls-tree",
            "-r",
            "-t",
            "--full-tree",
            "--format=%(objecttype) %(objectname)\t%(path)",
            commit,
        )
        trees, blobs = lst.trees, lst.blobs
        for line in out.splitlines():
            meta, _, path = line.partition("\t")
            if meta[0] == "t":
                trees[path] = meta[5:]
            elif meta[0] == "b":
                blobs[path] = meta[5:]
        return lst

    def _diff_tree(self, old: str, new: str) -> list[tuple[str, str, str, str, str]]:
        """``(old mode, new mode, new id, status, path)`` of every tree and file that changed."""
        out = self.repo.run("diff-tree", "-r", "-t", "-z", "--no-renames", "--no-commit-id",
                            old, new)  # fmt: skip
        parts = out.split("\0")
        rows = []
        for i in range(0, len(parts) - 1, 2):
            meta = parts[i].lstrip(":").split()
            if len(meta) >= 5:
                rows.append((meta[0], meta[1], meta[3], meta[4][:1], parts[i + 1]))
        return rows

    def changed(self, old: str, new: str) -> set[str] | None:
        """The paths (directories and files) that differ between two commits; None: unknown.

        Known when ``new``'s listing was derived from ``old``'s (``listing(new, old)``).
        """
        if old == new:
            return set()
        return self._changes.get((old, new))

    def tree(self, commit: str, path: str) -> str:
        """The tree id of ``path`` at ``commit`` (what a directory render depends on)."""
        found = self.listing(commit).trees.get(norm_path(path))
        if found is None:
            raise InputError(f"path {path!r} does not exist at {commit[:12]}", subject=self.url)
        return found

    def prefetch(self, blobs: Iterable[str]) -> None:
        """Read many blobs in one ``git cat-file --batch`` run (kept until ``drop_blobs``)."""
        wanted = sorted({b for b in blobs if b not in self._blobs})
        if not wanted:
            return
        try:
            proc = subprocess.run(
                ["git", "cat-file", "--batch"],
                cwd=self.path,
                input="".join(f"{b}\n" for b in wanted).encode(),
                capture_output=True,
                check=True,
                timeout=300,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise GitError(f"git cat-file failed: {exc}", subject=self.url) from exc
        data, pos = proc.stdout, 0
        for _ in wanted:
            end = data.index(b"\n", pos)
            sha, _kind, size = data[pos:end].split()
            start = end + 1
            self._blobs[sha.decode()] = data[start : start + int(size)]
            pos = start + int(size) + 1

    def drop_blobs(self) -> None:
        self._blobs.clear()

    def read(self, blob: str) -> bytes:
        """The content of one blob (prefetched, or through a persistent ``cat-file --batch``)."""
        cached = self._blobs.get(blob)
        if cached is not None:
            return cached
        if self._batch is None or self._batch.poll() is not None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.path,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        proc = self._batch
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(blob.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise GitError(f"cannot read blob {blob}", subject=self.url)
        data = _read_exact(stdout, int(header[2]) + 1)
        return data[:-1]

    def checkout(self, commit: str) -> Path:
        """The whole tree of ``commit`` on disk (extracted once; the last 3 commits kept)."""
        dest = self.trees_dir / commit
        if (dest / ".complete").exists():
            return dest
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        tar = dest / ".archive.tar"
        self.repo.run("archive", "--format=tar", "-o", str(tar), commit)
        with tarfile.open(tar) as tf:
            tf.extractall(dest, filter="data")
        tar.unlink()
        (dest / ".complete").touch()
        old = sorted(self.trees_dir.iterdir(), key=lambda p: p.stat().st_mtime)[:-3]
        for d in old:
            shutil.rmtree(d, ignore_errors=True)
        return dest

    def close(self) -> None:
        if self._batch is not None:
            if self._batch.stdin:
                self._batch.stdin.close()
            self._batch.wait(timeout=5)
            if self._batch.stdout:
                self._batch.stdout.close()
            self._batch = None


_LOGIN = (
    "could not read Username",
    "Authentication failed",
    "terminal prompts disabled",
    "The requested URL returned error: 401",
    "The requested URL returned error: 403",
)


def _refused(url: str, exc: GitError, env: dict[str, str]) -> GitError:
    """``exc``, said plainly when the server wanted a login (git's words kept after it)."""
    if not any(s in exc.message for s in _LOGIN):
        return exc
    if any(v.startswith("Authorization:") for v in env.values()):
        why = "refused the credentials of the Argo CD Secret (repository or repo-creds) for it"
    else:
        why = ("needs credentials and no Argo CD repository or repo-creds Secret "
               "(argocd.argoproj.io/secret-type) in namespace argocd matches it")  # fmt: skip
    return GitError(f"repository {url} {why} ({exc.message})", subject=url)


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            raise GitError("git cat-file ended early", subject="git")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
