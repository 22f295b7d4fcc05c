"""A ``.gitlab-ci.yml`` committed to a fresh checkout, planned and run: the one setup of the
GitLab runner tests (host, podman, Kubernetes, jobs at once, resumed runs)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

from shipway.ci.gitlab.model import Pipeline
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.gitlab_run import PipelineRun, RunSpec

FILE = ".gitlab-ci.yml"


def facts() -> Facts:
    """The commit every run here is of."""
    return Facts(sha="1" * 40, ref="main")


def committed(src: Path, text: str) -> Pipeline:
    """``text`` (dedented) as ``src``'s ``.gitlab-ci.yml``, committed on ``main`` of a new
    repository there; the parsed pipeline."""
    src.mkdir(parents=True, exist_ok=True)
    (src / FILE).write_text(textwrap.dedent(text))
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "-C", str(src), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(src), *ident, "commit", "-qm", "x"], check=True)
    return parse_pipeline(FILE, lambda p: (src / p).read_text(), [FILE])


def run_pipeline(
    tmp_path: Path,
    text: str,
    run_id: str,
    plan_variables: dict[str, str] | None = None,
    **spec: Any,
) -> tuple[dict[str, Any], PipelineRun]:
    """Commit ``text`` to ``tmp_path/src``, plan it (with ``plan_variables``) and run it
    (``spec``: the rest of the ``RunSpec``; runs in ``tmp_path/run``, caches in
    ``tmp_path/cache``); the record and the run."""
    src = tmp_path / "src"
    pipe = committed(src, text)
    found = facts()
    plan = plan_pipeline(pipe, Context(found, files=[FILE], variables=plan_variables or {}))
    run = PipelineRun(pipe, plan, RunSpec(run_id=run_id, source=src, base_dir=tmp_path / "run",
                                          cache_root=tmp_path / "cache", facts=found,
                                          **spec))  # fmt: skip
    return run.run(), run
