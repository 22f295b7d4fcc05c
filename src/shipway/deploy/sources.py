"""An Application source at a git revision → rendered manifests (with a cache).

The adapter behind ``shipway.deploy.render``: keeps one persistent bare
mirror per config repository under ``$SHIPWAY_HOME/work/config/<hash>``
(through ``shipway.git.repo``), fetches it, resolves ``targetRevision`` to a
commit, extracts the tree with ``git archive``, and renders it: a plain
directory (read here), kustomize (``kubectl kustomize DIR``) or Helm (``helm
template`` when the ``helm`` program is installed). Rendered output is cached
on disk under ``$SHIPWAY_HOME/cache/render`` keyed by the exact inputs: the
git tree id of what the render can read (the source path for a directory,
the whole commit for kustomize and Helm) plus the options. A commit that
leaves an app's path unchanged therefore hits the cache.
Touches only ``$SHIPWAY_HOME/work/config`` and ``$SHIPWAY_HOME/cache``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.deploy import render
from shipway.git.repo import Repo, git
from shipway.model.errors import GitError, InputError
from shipway.settings import Settings

TOOL_TIMEOUT = 120


def norm_path(path: str) -> str:
    """A source path as git lists it: ``./apps/a/`` → ``apps/a``, ``.`` → ``""``."""
    p = path.strip().strip("/")
    while p.startswith("./"):
        p = p[2:]
    return "" if p in (".", "") else p.rstrip("/")


@dataclass
class Rendered:
    """What one source rendered to, at which commit."""

    commit: str
    manifests: list[tuple[str, render.Manifest]]
    tool: str  # Directory | Kustomize | Helm
    cached: bool = False


class ConfigRepo:
    """A persistent bare mirror of one config repository."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.url = url
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.path = settings.work_dir / "config" / digest
        self.repo = Repo(self.path)
        self._fetched = False
        self._listings: dict[str, tuple[dict[str, str], frozenset[str]]] = {}
        self._resolved: dict[str, str] = {}

    def ensure(self) -> None:
        if not (self.path / "HEAD").exists():
            tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            git(["clone", "-q", "--mirror", self.url, str(tmp)], subject=self.url)
            os.replace(tmp, self.path)
            self._fetched = True

    def fetch(self) -> None:
        self.ensure()
        if not self._fetched:
            self.repo.run("fetch", "-q", "--prune", "origin", "+refs/*:refs/*")
            self._fetched = True
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

    def listing(self, commit: str) -> tuple[dict[str, str], frozenset[str]]:
        """Every directory's tree id (``""`` is the root) and every file path at ``commit``.

        One ``git ls-tree`` per commit, memoised: this is what makes finding the
        apps a commit touched cheap in a monorepo.
        """
        if commit not in self._listings:
            trees = {"": self.repo.run("rev-parse", f"{commit}^{{tree}}").strip()}
            files: set[str] = set()
            for line in self.repo.run("ls-tree", "-r", "-t", "--full-tree", commit).splitlines():
                meta, _, path = line.partition("\t")
                _mode, kind, sha = meta.split()
                if kind == "tree":
                    trees[path] = sha
                else:
                    files.add(path)
            if len(self._listings) > 64:
                self._listings.clear()
            self._listings[commit] = (trees, frozenset(files))
        return self._listings[commit]

    def tree(self, commit: str, path: str) -> str:
        """The tree id of ``path`` at ``commit`` (what a directory render depends on)."""
        trees, _ = self.listing(commit)
        found = trees.get(norm_path(path))
        if found is None:
            raise InputError(f"path {path!r} does not exist at {commit[:12]}", subject=self.url)
        return found

    def extract(self, commit: str, dest: Path, path: str = "") -> None:
        """Write the tree of ``commit`` (only ``path`` when given) under ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        tar = dest / ".archive.tar"
        args = ["archive", "--format=tar", "-o", str(tar), commit]
        if path.strip("/. "):
            args += ["--", path.strip("/")]
        self.repo.run(*args)
        with tarfile.open(tar) as tf:
            tf.extractall(dest, filter="data")
        tar.unlink()


def _declared_kind(source: dict[str, Any]) -> str:
    if source.get("chart") or source.get("helm"):
        return "Helm"
    if source.get("kustomize"):
        return "Kustomize"
    return "Directory"


def _run_tool(argv: list[str], cwd: Path, subject: str) -> str:
    if shutil.which(argv[0]) is None:
        raise InputError(
            f"{argv[0]} is not installed on this machine; it is needed to render this source",
            subject=subject,
        )
    try:
        proc = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{argv[0]} failed: {exc}", subject=subject) from exc
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise InputError(f"{' '.join(argv[:2])}: {msg[-1] if msg else 'failed'}", subject=subject)
    return proc.stdout


def _helm_args(source: dict[str, Any], name: str, root: Path) -> list[str]:
    helm = source.get("helm") or {}
    args = ["helm", "template", helm.get("releaseName") or name, "."]
    for f in helm.get("valueFiles") or []:
        args += ["--values", str(f)]
    for p in helm.get("parameters") or []:
        args += ["--set", f"{p['name']}={p['value']}"]
    if helm.get("values"):
        inline = root / ".shipway-values.yaml"
        inline.write_text(str(helm["values"]))
        args += ["--values", str(inline)]
    return args


def _render_tree(source: dict[str, Any], root: Path, app: str, kind: str) -> list[tuple[str, Any]]:
    path = str(source.get("path") or ".").strip("/") or "."
    where = root / path
    if not where.is_dir():
        raise InputError(f"path {path!r} is not a directory", subject=source["repoURL"])
    if kind == "Kustomize":
        out = _run_tool(["kubectl", "kustomize", "."], where, f"{path}/kustomization.yaml")
        return [(f"{path} (kustomize)", m) for m in render.parse(out, f"{path} (kustomize)")]
    if kind == "Helm":
        out = _run_tool(_helm_args(source, app, root), where, f"{path}/Chart.yaml")
        return [(f"{path} (helm)", m) for m in render.parse(out, f"{path} (helm)")]
    directory = source.get("directory") or {}
    files = {
        str(p.relative_to(where)): p.read_text()
        for p in where.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json")
    }
    pairs = render.from_files(
        files,
        recurse=bool(directory.get("recurse")),
        include=directory.get("include"),
        exclude=directory.get("exclude"),
        prefix="" if path == "." else path,
    )
    return pairs


class Renderer:
    """Renders sources with an on-disk cache; one per process is enough."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache_dir = settings.home / "cache" / "render"
        self._repos: dict[str, ConfigRepo] = {}
        self.renders = 0  # how many renders missed the cache (for tests and benchmarks)

    def forget_fetches(self) -> None:
        """Make the next resolve of every repository fetch again (call once per pass)."""
        for repo in self._repos.values():
            repo._fetched = False

    def repo(self, url: str) -> ConfigRepo:
        if url not in self._repos:
            self._repos[url] = ConfigRepo(self.settings, url)
        return self._repos[url]

    def kind(self, source: dict[str, Any], commit: str) -> str:
        """Helm, Kustomize (declared or a kustomization file at the path) or Directory."""
        declared = _declared_kind(source)
        if declared != "Directory":
            return declared
        _, files = self.repo(source["repoURL"]).listing(commit)
        p = norm_path(str(source.get("path") or ""))
        for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            if (f"{p}/{name}" if p else name) in files:
                return "Kustomize"
        return "Directory"

    def input_key(self, source: dict[str, Any], commit: str, app: str, kind: str) -> str:
        """A directory depends on its path's tree; kustomize and Helm on the whole commit's."""
        repo = self.repo(source["repoURL"])
        path = str(source.get("path") or "")
        scope = repo.tree(commit, path) if kind == "Directory" else repo.tree(commit, "")
        opts = {k: source.get(k) for k in ("directory", "kustomize", "helm", "chart", "path")}
        raw = json.dumps([source["repoURL"], kind, scope, opts, app if kind == "Helm" else ""])
        return hashlib.sha256(raw.encode()).hexdigest()

    def render(self, source: dict[str, Any], app: str, revision: str | None = None) -> Rendered:
        """Render one source at ``revision`` (default: its ``targetRevision``)."""
        repo = self.repo(source["repoURL"])
        commit = repo.resolve(revision or source.get("targetRevision"))
        repo.tree(commit, str(source.get("path") or ""))
        kind = self.kind(source, commit)
        key = self.input_key(source, commit, app, kind)
        cached = self.cache_dir / key[:2] / f"{key}.json"
        if cached.exists():
            data = json.loads(cached.read_text())
            pairs = [(f, m) for f, m in data["manifests"]]
            return Rendered(commit, pairs, kind, cached=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
            only = str(source.get("path") or "") if kind == "Directory" else ""
            repo.extract(commit, Path(tmp), only)
            pairs = _render_tree(source, Path(tmp), app, kind)
        self.renders += 1
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmpfile = cached.with_suffix(f".tmp{os.getpid()}")
        tmpfile.write_text(json.dumps({"tool": kind, "manifests": pairs}))
        os.replace(tmpfile, cached)
        return Rendered(commit, pairs, kind)
