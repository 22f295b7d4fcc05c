"""A small git image for the Tekton tests (busybox, the host's git and its libraries), no pull."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from shipway.runtime import busybox


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            found.append(path)
    return found


def git_rootfs(root: Path) -> None:
    busybox.populate(root, ("bin", "tmp", "etc", "root", "usr/bin", "usr/lib/git-core"))
    (root / "tmp").chmod(0o1777)
    git = shutil.which("git") or "/usr/bin/git"
    for path in [git, *_libraries(git)]:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(path), target)
    shutil.copy2(git, root / "usr/lib/git-core/git")
    templates = Path("/usr/share/git-core/templates")
    if templates.is_dir():
        shutil.copytree(templates, root / "usr/share/git-core/templates", dirs_exist_ok=True)


def build_git_image(podman: Mapping[str, str], work: Path, ref: str) -> str:
    """Build the git image as ``ref`` in the podman store of ``podman`` with buildah."""
    env = {**os.environ, **podman}

    def buildah(*args: str) -> str:
        done = subprocess.run(["buildah", *args], env=env, check=True, capture_output=True,
                              text=True)  # fmt: skip
        return done.stdout.strip()

    root = work / "git-rootfs"
    git_rootfs(root)
    ctr = buildah("from", "scratch")
    buildah("copy", ctr, str(root), "/")
    buildah("config", "--env", "PATH=/usr/bin:/bin", "--env", "HOME=/root", ctr)
    buildah("commit", "-q", "--rm", ctr, ref)
    return ref
