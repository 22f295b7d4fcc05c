"""An Application source at a git revision → rendered manifests (with a cache).

The adapter behind ``shipway.deploy.render``: reads the config repository
through ``shipway.deploy.gitsource`` (a persistent mirror per repository),
and renders a source as Argo CD does: a plain directory (files read straight
from git blobs), kustomize (``kubectl kustomize DIR``) or Helm (``helm
template``, when the ``helm`` program is installed; a clear error otherwise).
Tool output is cached on disk under ``$SHIPWAY_HOME/cache/render``, keyed by
the exact inputs: the commit's root tree id, the path and the options. What
a render depends on (``scope``) is the path's tree id for a directory and
the root tree id for a tool, so a commit that does not touch an app's
directory does not re-render it. Git fetches carry the environment ``auth``
gives (Argo CD's repository credentials, set by each pass). Touches
``$SHIPWAY_HOME/work/config`` and ``$SHIPWAY_HOME/cache`` only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.deploy import render
from shipway.deploy.gitsource import ConfigRepo, norm_path
from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.settings import Settings

TOOL_TIMEOUT = 120
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass
class Rendered:
    """What one source rendered to, at which commit."""

    commit: str
    manifests: list[tuple[str, render.Manifest]]
    tool: str  # Directory | Kustomize | Helm
    cached: bool = False


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


def kustomize_image(spec: str) -> dict[str, str]:
    """Argo CD's ``kustomize.images`` entry (``name[=newName][:tag|@digest]``) for kustomize."""
    name, _, new = spec.partition("=")
    ref = new or name
    out: dict[str, str] = {}
    if "@" in ref:
        ref, out["digest"] = ref.split("@", 1)
    elif ":" in ref.rsplit("/", 1)[-1]:
        ref, out["newTag"] = ref.rsplit(":", 1)
    if new:
        out["newName"] = ref
        return {"name": name, **out}
    return {"name": ref, **out}


def kustomize_overlay(opts: dict[str, Any], path: str) -> dict[str, Any] | None:
    """A kustomization applying an Application's ``kustomize`` options to ``path`` (or None).

    Handles ``images``, ``namePrefix``, ``nameSuffix``, ``commonLabels``,
    ``commonAnnotations``, ``namespace`` and ``replicas``, as Argo CD does.
    """
    out: dict[str, Any] = {}
    if opts.get("images"):
        out["images"] = [kustomize_image(str(i)) for i in opts["images"]]
    for key in ("namePrefix", "nameSuffix", "commonLabels", "commonAnnotations", "namespace"):
        if opts.get(key):
            out[key] = opts[key]
    if opts.get("replicas"):
        out["replicas"] = [{"name": r["name"], "count": int(r["count"])} for r in opts["replicas"]]
    if not out:
        return None
    out["resources"] = [f"../{path}" if path != "." else ".."]  # from <root>/.shipway-kustomize-*
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **out}


def _render_tool(source: dict[str, Any], root: Path, app: str, kind: str) -> list[tuple[str, Any]]:
    path = norm_path(str(source.get("path") or "")) or "."
    where = root / path
    if not where.is_dir():
        raise InputError(f"path {path!r} is not a directory", subject=source["repoURL"])
    if kind == "Kustomize":
        overlay = kustomize_overlay(source.get("kustomize") or {}, path)
        if overlay is None:
            out = _run_tool(["kubectl", "kustomize", "."], where, f"{path}/kustomization.yaml")
        else:
            with tempfile.TemporaryDirectory(dir=root, prefix=".shipway-kustomize-") as tmp:
                (Path(tmp) / "kustomization.yaml").write_text(json.dumps(overlay))
                out = _run_tool(
                    ["kubectl", "kustomize", "."], Path(tmp), f"{path}/kustomization.yaml"
                )
        shown = f"{path} (kustomize)"
    else:
        out = _run_tool(_helm_args(source, app, root), where, f"{path}/Chart.yaml")
        shown = f"{path} (helm)"
    return [(shown, m) for m in render.parse(out, shown)]


class Renderer:
    """Renders sources; one per state directory per process (keeps mirrors and listings)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache_dir = settings.home / "cache" / "render"
        self._repos: dict[str, ConfigRepo] = {}
        self.auth: Callable[[str], dict[str, str]] | None = None
        """``repo_url -> environment`` of git fetches (``deploy.repocreds``; set per pass)."""
        self.renders = 0  # renders that missed every cache (for tests and benchmarks)

    def forget_fetches(self) -> None:
        """Make the next resolve of every repository fetch again (call once per pass)."""
        for repo in self._repos.values():
            repo.fetched = False

    def repo(self, url: str) -> ConfigRepo:
        if url not in self._repos:
            self._repos[url] = ConfigRepo(self.settings, url, self._auth)
        return self._repos[url]

    def _auth(self, url: str) -> dict[str, str]:
        return self.auth(url) if self.auth is not None else {}

    def close(self) -> None:
        for repo in self._repos.values():
            repo.close()

    def kind(self, source: dict[str, Any], commit: str) -> str:
        """Helm, Kustomize (declared or a kustomization file at the path) or Directory."""
        declared = _declared_kind(source)
        if declared != "Directory":
            return declared
        blobs = self.repo(source["repoURL"]).listing(commit).blobs
        p = norm_path(str(source.get("path") or ""))
        for name in KUSTOMIZATION_FILES:
            if (f"{p}/{name}" if p else name) in blobs:
                return "Kustomize"
        return "Directory"

    def scope(self, source: dict[str, Any], commit: str) -> str:
        """What a render of ``source`` at ``commit`` depends on, as a short string.

        A directory: its own tree. Kustomize: the trees of its directory and of
        every local directory its kustomizations reference (``resources``,
        ``bases``, ``components``), and the blobs of files referenced outside
        them; anything remote or unreadable, the whole commit. Helm: the whole
        commit (value files may live anywhere).
        """
        repo = self.repo(source["repoURL"])
        path = norm_path(str(source.get("path") or ""))
        tree = repo.tree(commit, path)
        kind = self.kind(source, commit)
        if kind == "Directory":
            return f"D:{tree}"
        if kind == "Kustomize":
            deps = kustomize_deps(repo, commit, path)
            if deps is not None:
                return "K:" + ",".join(deps)
        return f"{kind[0]}:{repo.tree(commit, '')}:{tree}"

    def render(self, source: dict[str, Any], app: str, revision: str | None = None) -> Rendered:
        """Render one source at ``revision`` (default: its ``targetRevision``)."""
        repo = self.repo(source["repoURL"])
        commit = repo.resolve(revision or source.get("targetRevision"))
        repo.tree(commit, str(source.get("path") or ""))
        kind = self.kind(source, commit)
        if kind == "Directory":
            self.renders += 1
            return Rendered(commit, self._directory(repo, source, commit), kind)
        opts = {k: source.get(k) for k in ("kustomize", "helm", "chart", "path")}
        raw = json.dumps([source["repoURL"], kind, self.scope(source, commit), opts, app])
        key = hashlib.sha256(raw.encode()).hexdigest()
        cached = self.cache_dir / key[:2] / f"{key}.json"
        if cached.exists():
            pairs = [(f, m) for f, m in json.loads(cached.read_text())]
            return Rendered(commit, pairs, kind, cached=True)
        pairs = _render_tool(source, repo.checkout(commit), app, kind)
        self.renders += 1
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmpfile = cached.with_suffix(f".tmp{os.getpid()}")
        tmpfile.write_text(json.dumps(pairs))
        os.replace(tmpfile, cached)
        return Rendered(commit, pairs, kind)

    def _chosen(self, repo: ConfigRepo, source: dict[str, Any], commit: str) -> dict[str, str]:
        """The manifest files a directory source reads: relative path → repo path."""
        listing = repo.listing(commit)
        path = norm_path(str(source.get("path") or ""))
        directory = source.get("directory") or {}
        recurse = bool(directory.get("recurse"))
        cut = len(path) + 1 if path else 0
        rel = {p[cut:]: p for p in listing.files_under(path, recurse)}
        chosen = render.select_files(
            rel, recurse=recurse, include=directory.get("include"), exclude=directory.get("exclude")
        )
        return {r: rel[r] for r in chosen}

    def prefetch(self, work: list[tuple[dict[str, Any], str]]) -> None:
        """Read the files of many directory sources ``(source, commit)``: one git call a repo."""
        by_repo: dict[str, list[str]] = {}
        for source, commit in work:
            try:
                if self.kind(source, commit) != "Directory":
                    continue
                repo = self.repo(source["repoURL"])
                blobs = repo.listing(commit).blobs
                chosen = self._chosen(repo, source, commit)
            except InputError:
                continue
            by_repo.setdefault(source["repoURL"], []).extend(blobs[p] for p in chosen.values())
        for url, shas in by_repo.items():
            self.repo(url).prefetch(shas)

    def drop_blobs(self) -> None:
        for repo in self._repos.values():
            repo.drop_blobs()

    def _directory(
        self, repo: ConfigRepo, source: dict[str, Any], commit: str
    ) -> list[tuple[str, dict[str, Any]]]:
        blobs = repo.listing(commit).blobs
        chosen = self._chosen(repo, source, commit)
        texts = {r: _decode(repo.read(blobs[p]), p) for r, p in chosen.items()}
        path = norm_path(str(source.get("path") or ""))

        def read(repo_path: str) -> str | None:
            sha = blobs.get(repo_path)
            return None if sha is None else _decode(repo.read(sha), repo_path)

        options = (source.get("directory") or {}).get("jsonnet") or {}
        return render.from_files(texts, recurse=True, prefix=path, jsonnet_options=options,
                                 read=read)  # fmt: skip


_REF_KEYS = ("resources", "bases", "components")


def kustomize_deps(repo: ConfigRepo, commit: str, path: str) -> list[str] | None:
    """Sorted ``path=id`` of every tree and outside file a kustomization reads; None: unknown."""
    listing = repo.listing(commit)
    seen: dict[str, str] = {}
    todo = [path]
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen[d] = listing.trees[d]
        kfile = next(
            (
                f"{d}/{n}" if d else n
                for n in KUSTOMIZATION_FILES
                if (f"{d}/{n}" if d else n) in listing.blobs
            ),
            None,
        )
        if kfile is None:
            continue
        try:
            doc = render.parse(_decode(repo.read(listing.blobs[kfile]), kfile), kfile)
        except InputError:
            return None
        kust = doc[0] if doc else {}
        for key in _REF_KEYS:
            refs = kust.get(key)
            for ref in refs if isinstance(refs, list) else []:
                target = _join(d, str(ref))
                if target is None:
                    return None
                if target in listing.trees:
                    todo.append(target)
                elif target in listing.blobs:
                    if not any(target.startswith(s + "/") for s in seen if s):
                        seen[target] = listing.blobs[target]
                else:
                    return None
    return sorted(f"{p}={i}" for p, i in seen.items())


def _join(base: str, ref: str) -> str | None:
    """``base`` + a relative reference, normalised; None for remote or escaping references."""
    if "://" in ref or ref.startswith(("git@", "github.com/", "/")):
        return None
    parts = [p for p in base.split("/") if p]
    for piece in ref.split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(piece)
    return "/".join(parts)


def _decode(data: bytes, path: str) -> str:
    return bounded.read_bytes_limited(data, path)
