"""Files between GitLab jobs: the project copy, artifacts, ``reports: dotenv`` and caches.

Touches only the run's directories (``base_dir``): each job gets a fresh copy
of the checkout (as GitLab clones one per job) with a git directory of its own
(``job_git``: its own HEAD, refs, config and index over the run's shared
objects), so jobs running at once never share an index; artifacts are kept per job under
``artifacts/`` and copied into the jobs that depend on them, caches live under
the cache directory by key and are restored before and saved after a job.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

_DOTENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
DOTENV_LIMIT = 20  # GitLab's default maximum variables per dotenv report


def shared_git(source: Path, target: Path) -> Path | None:
    """One repository for the run's jobs: a ``--shared`` clone of the checkout's (objects
    borrowed, not copied) with its index at HEAD; None when the source has no git."""
    if not (source / ".git").exists():
        return None
    if not target.exists():

        def run(*argv: str) -> None:
            subprocess.run(argv, check=True, capture_output=True)

        run("git", "clone", "-q", "--bare", "--shared", str(source), str(target))
        run("git", "--git-dir", str(target), "config", "core.bare", "false")
        head = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
        run("git", "--git-dir", str(target), "update-ref", "--no-deref", "HEAD", head)
        run("git", "--git-dir", str(target), "read-tree", "HEAD")
    return target


def job_git(shared: Path | None, target: Path) -> Path | None:
    """One job's git directory over the run's ``shared`` repository, as a clone of its own
    would be (GitLab clones per job): a copy of its HEAD, refs, config and index (at HEAD),
    its objects borrowed through ``objects/info/alternates``. Jobs that run at once each
    stage, commit, configure and check out in their own repository; nothing is copied but
    those few small files."""
    if shared is None:
        return None
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(shared, target, symlinks=True,
                    ignore=shutil.ignore_patterns("objects", "hooks", "logs"))  # fmt: skip
    (target / "objects" / "info").mkdir(parents=True)
    (target / "objects" / "pack").mkdir()
    (target / "objects" / "info" / "alternates").write_text(f"{(shared / 'objects').resolve()}\n")
    return target


def object_stores(gitdir: Path | None) -> list[Path]:
    """The object directories ``gitdir`` borrows from (its ``alternates``, followed): what a
    job container must see at the same paths for git to work in it."""
    found: list[Path] = []
    todo = [gitdir / "objects"] if gitdir is not None else []
    while todo:
        info = todo.pop() / "info" / "alternates"
        if not info.is_file():
            continue
        for line in info.read_text().splitlines():
            path = Path(line.strip())
            if line.strip() and not line.startswith("#") and path.is_absolute() \
                    and path not in found:  # fmt: skip
                found.append(path)
                todo.append(path)
    return found


def fresh_project(source: Path, target: Path, gitdir: Path | None) -> Path:
    """A copy of the checkout's files for one job (as GitLab clones one per job); its
    ``.git`` points at the job's own git directory (``job_git``: jobs may run git)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".gitlab-ci-local"))  # fmt: skip
    if gitdir is not None:
        (target / ".git").write_text(f"gitdir: {gitdir}\n")
    return target


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _matches(project: Path, patterns: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        pattern = pattern.lstrip("/")
        for hit in sorted(glob.glob(str(project / pattern), recursive=True)):
            path = Path(hit)
            if path.resolve().is_relative_to(project.resolve()):
                found.append(path)
    return found


def _copy(path: Path, project: Path, target: Path) -> None:
    rel = path.relative_to(project)
    dest = target / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.copytree(path, dest, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(path, dest, follow_symlinks=False)


def save_paths(project: Path, patterns: Iterable[str], target: Path) -> int:
    """Copy what ``patterns`` match under ``project`` into ``target``; the count copied."""
    hits = _matches(project, patterns)
    target.mkdir(parents=True, exist_ok=True)
    for path in hits:
        _copy(path, project, target)
    return len(hits)


def restore(source: Path, project: Path) -> bool:
    if not source.is_dir():
        return False
    shutil.copytree(source, project, symlinks=True, dirs_exist_ok=True)
    return True


def read_dotenv(path: Path) -> tuple[dict[str, str], list[str]]:
    """GitLab's dotenv report: ``KEY=VALUE`` lines (no quotes processing beyond stripping
    one pair); returns the variables and the problems found."""
    out: dict[str, str] = {}
    problems: list[str] = []
    if not path.is_file():
        return out, [f"dotenv report {path.name} not found"]
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _DOTENV.match(line.strip())
        if m is None:
            problems.append(f"{path.name}:{n}: not KEY=VALUE")
            continue
        value = m.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[m.group(1)] = value
    if len(out) > DOTENV_LIMIT:
        problems.append(f"dotenv report has {len(out)} variables (at most {DOTENV_LIMIT})")
        out = dict(list(out.items())[:DOTENV_LIMIT])
    return out, problems


def cache_dir(root: Path, key: str) -> Path:
    return root / safe(key or "default")


def remove(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
