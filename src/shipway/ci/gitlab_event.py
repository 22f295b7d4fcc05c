"""The controller's GitLab CI: a push or merge request runs the checkout's ``.gitlab-ci.yml``.

``run_checkout`` is called by ``ci.service.run_event`` beside the GitHub Actions
workflows and the ``.tekton/`` PipelineRuns. A push runs the pipeline with
``CI_PIPELINE_SOURCE=push``; a pull (merge) request runs it as GitLab's merged
results pipeline (``merge_request_event``, on the merge of the head into the
target branch, with the ``CI_MERGE_REQUEST_*`` variables), so ``rules`` and
``workflow:rules`` see which it is. A pipeline GitLab would refuse is stored as a
failed run naming every problem; one that ``workflow:rules`` does not create
gives no run. The ``Pipeline``'s ``vars`` are the project's CI/CD variables. On the
podman executor (a pull request's default) jobs without ``image:`` run in the
runner image (``spec.runner.image``, ``SHIPWAY_CI_IMAGE`` or the busybox one built
here), as a GitLab runner's default image, never on the host; on the kubernetes
executor every job is a Pod of its image (``spec.runner.cluster`` and friends).
``spec.runner.concurrent`` runs that many jobs at once. A ``Pipeline``'s run of a
ref auto-cancels the older runs of that ref as GitLab's "auto-cancel redundant
pipelines" does (``workflow:auto_cancel:on_new_commit``; ``ci.gitlab.autocancel``
decides, ``ci.concurrency.superseding`` tells them across processes). Touches the checkout
(read), the run directory under the batch (removed after the run), the GitLab
cache under ``$SHIPWAY_HOME``, the store, and what the executors start.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shipway import settings
from shipway.ci import concurrency
from shipway.ci.exec.base import ExecutorConfig, clear_leftovers
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.gitlab_run import PipelineRun, RunSpec, run_pipeline
from shipway.git.repo import git
from shipway.model.errors import GitError, InputError, NotFoundError
from shipway.runtime.host import Cancel, stop_leftovers
from shipway.runtime.textfiles import read_text
from shipway.store.db import Store
from shipway.store.runs import put_state, record_event, save_run

GITLAB_FILE = ".gitlab-ci.yml"
EXECUTORS = ("host", "podman", "kubernetes")


def git_or(root: Path, args: list[str], default: str) -> str:
    try:
        return git(args, root, subject=str(root)).strip()
    except GitError:
        return default


def repo_files(root: Path) -> list[str]:
    """The checkout's files (tracked and untracked, not ignored), for ``rules: exists``."""
    out = git_or(root, ["ls-files", "--cached", "--others", "--exclude-standard"], "")
    return [f for f in out.splitlines() if f]


def reader(root: Path) -> Callable[[str], str | None]:
    """Read a file of the checkout by its path (``include: local``); ``None`` outside it."""

    def read(name: str) -> str | None:
        path = (root / name).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            return None
        return read_text(path, name)

    return read


def _project_path(repo: str) -> str:
    tail = [t for t in repo.rstrip("/").removesuffix(".git").replace(":", "/").split("/") if t]
    return "/".join(tail[-2:]) if len(tail) >= 2 else f"local/{tail[-1] if tail else 'repo'}"


def merge_request_vars(payload: Mapping[str, Any], repo: str, commit: str) -> dict[str, str]:
    """GitLab's ``CI_MERGE_REQUEST_*`` variables of a merged results pipeline."""
    pr = payload.get("pull_request") if isinstance(payload.get("pull_request"), dict) else {}
    pr = pr or {}
    head = pr.get("head") if isinstance(pr.get("head"), dict) else {}
    base = pr.get("base") if isinstance(pr.get("base"), dict) else {}
    number = str(pr.get("number") or payload.get("number") or "")
    path = _project_path(repo)
    return {
        "CI_MERGE_REQUEST_ID": number, "CI_MERGE_REQUEST_IID": number,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": str((head or {}).get("ref") or ""),
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": str((head or {}).get("sha") or ""),
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": str((base or {}).get("ref") or ""),
        "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": str((base or {}).get("sha") or ""),
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": str((base or {}).get("sha") or ""),
        "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result",
        "CI_MERGE_REQUEST_PROJECT_PATH": path,
        "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": path,
        "CI_MERGE_REQUEST_TITLE": str(pr.get("title") or ""),
        "CI_OPEN_MERGE_REQUESTS": f"{path}!{number}" if number else "",
        "CI_COMMIT_SHA": commit,
    }  # fmt: skip


def _invalid(store: Store, file: str, event: str, commit: str, exc: InputError,
             pipeline: str, run_id: str) -> dict[str, Any]:  # fmt: skip
    record = {"id": run_id, "syntax": "gitlab", "workflow": file, "file": file,
              "event": event, "commit": commit, "conclusion": "failure", "error": str(exc),
              "jobs": [], "pipeline": pipeline}  # fmt: skip
    save_run(store, record, f"error: {exc}", commit)
    return record


def run_checkout(
    store: Store,
    source: Path,
    *,
    repo: str,
    commit: str,
    ref: str,
    event: str,
    payload: Mapping[str, Any],
    batch: Path,
    changed: list[str] | None,
    executor: str = "host",
    variables: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    pipeline: str = "",
    runner_image: str | None = None,
    concurrency: int = 1,
    kube: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run ``source``'s ``.gitlab-ci.yml`` for a ``push`` or ``pull_request`` event at
    ``commit`` (a pull request's merge commit); return the stored run records."""
    say = on_line or (lambda _line: None)
    if not (source / GITLAB_FILE).is_file():
        return []
    if event == "push":
        gl_source, extra = "push", {}
    elif event.startswith("pull_request"):
        gl_source, extra = "merge_request_event", merge_request_vars(payload, repo, commit)
    else:
        return []
    if executor not in EXECUTORS:
        say(f"note: {GITLAB_FILE} is not run on the {executor} executor yet")
        return []
    is_tag = ref.startswith("refs/tags/")
    name = ref.removeprefix("refs/tags/").removeprefix("refs/heads/")
    if gl_source == "merge_request_event":
        name = str(extra["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] or name)
    before = str(payload.get("before") or "0" * 40) if gl_source == "push" else (
        extra["CI_MERGE_REQUEST_DIFF_BASE_SHA"] or "0" * 40)  # fmt: skip
    run_id = uuid.uuid4().hex[:16]
    facts = Facts(sha=commit, ref=name, tag=is_tag, default_branch=default_branch(source),
                  message=git_or(source, ["log", "-1", "--format=%B", commit], "").strip(),
                  project_path=_project_path(repo), pipeline_id=run_id, source=gl_source,
                  before_sha=before, extra=extra)  # fmt: skip
    resume = {"syntax": "gitlab", "source": str(source), "base_dir": str(batch / run_id),
              "repo": repo, "commit": commit, "ref": ref, "event": gl_source,
              "changed": changed, "executor": executor, "variables": dict(variables or {}),
              "env": dict(env or {}), "pipeline": pipeline, "runner_image": runner_image,
              "concurrency": concurrency, "kube": dict(kube or {}),
              "facts": {**facts.__dict__, "extra": dict(extra)}}  # fmt: skip
    return _run(store, source, run_id, facts, resume, say, None)


def _run(store: Store, source: Path, run_id: str, facts: Facts, resume: dict[str, Any],
         say: Callable[[str], None], prior: dict[str, Any] | None,
         cancel: Cancel | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Plan and run the pipeline; after each job the run's state is stored (phase
    ``running``, with ``resume``) so ``resume`` can finish it after a restart."""
    files = repo_files(source)
    values = {str(k): str(v) for k, v in (resume.get("variables") or {}).items()}
    base_dir = Path(str(resume["base_dir"]))
    executor, pipeline = str(resume["executor"]), str(resume.get("pipeline") or "")
    file = str(resume.get("file") or GITLAB_FILE)
    try:
        pipe = parse_pipeline(file, reader(source), files)
        plan = plan_pipeline(pipe, Context(facts, files=files, changed=resume.get("changed"),
                                           variables=values))  # fmt: skip
        if not plan.created:
            say(f"{GITLAB_FILE}: workflow:rules create no pipeline for this {facts.source}")
            if prior is not None:
                put_state(store, "ci", run_id, "done", {"resume": resume})
            return []
        from shipway.runtime import podman_env

        home = settings.load().home
        podman = podman_env.for_home(home)
        config = ExecutorConfig(podman_env=podman, kube=dict(resume.get("kube") or {}))
        if prior is not None:  # resuming: the containers the killed run left go first
            clear_leftovers(executor, run_id, config, say)
        default_image = None
        if executor in ("podman", "kubernetes"):  # untrusted code stays in a container
            default_image = resume.get("runner_image") or os.environ.get("SHIPWAY_CI_IMAGE")
            if not default_image:
                from shipway.ci import runner_image as built

                default_image = built.ensure(podman, base_dir.parent)
            resume["runner_image"] = default_image

        def stored(state: dict[str, Any]) -> None:
            put_state(store, "ci", run_id, "running", {**state, "resume": resume})

        spec = RunSpec(run_id=run_id, source=source, base_dir=base_dir,
                       cache_root=home / "ci-cache" / "gitlab", facts=facts, executor=executor,
                       variables=values, config=config, on_line=say,
                       env=dict(resume.get("env") or {}), default_image=default_image,
                       concurrency=int(resume.get("concurrency") or 1), on_state=stored,
                       cancel=cancel or Cancel(), only_job=resume.get("only_job"))  # fmt: skip
        stored({})
        with _auto_cancel(store, resume, run_id, facts.sha, prior is not None, say) as watch:
            record, log = run_pipeline(pipe, plan, spec, prior, started=watch.started)
    except InputError as exc:
        say(f"error: {exc}")
        shutil.rmtree(base_dir, ignore_errors=True)
        record = _invalid(store, file, facts.source, facts.sha, exc, pipeline, run_id)
        put_state(store, "ci", run_id, "done", {"resume": resume})
        return [record]
    if not resume.get("keep"):  # a controller's run; the CLI's stays with its work dir
        shutil.rmtree(base_dir, ignore_errors=True)  # the log and record are stored
    record["pipeline"] = pipeline
    save_run(store, record, log, facts.sha)
    # done: nothing to resume; the controller removes the event's checkout after it
    put_state(store, "ci", run_id, "done", {"resume": resume})
    return [record]


class _Watch:
    """The run a newer pipeline of its ref may supersede (the ask may come before it starts)."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.run: PipelineRun | None = None
        self.asked: str | None = None  # the newer sha, when asked before the run started
        self.lock = threading.Lock()

    def started(self, run: PipelineRun) -> None:
        with self.lock:
            self.run, sha = run, self.asked
        if sha is not None:
            self.supersede(sha)

    def asked_by(self, asker: str) -> None:
        sha = asker.split("#", 1)[0].rpartition("@")[2]
        with self.lock:
            if self.run is None:
                self.asked = sha
                return
        self.supersede(sha)

    def supersede(self, sha: str) -> None:
        assert self.run is not None
        decision = self.run.supersede(sha)
        newer = f"newer pipeline of its ref at {sha or 'an unknown commit'}"
        if decision.cancels:
            what = "every job left" if decision.whole else ", ".join(decision.jobs)
            record_event(self.store, "ci", self.run_id, "AutoCanceled",
                         f"superseded by the {newer}: canceled {what}")  # fmt: skip
        else:
            record_event(self.store, "ci", self.run_id, "Superseded",
                         f"a {newer} started; not canceled: {decision.reason}")  # fmt: skip


@contextmanager
def _auto_cancel(store: Store, resume: dict[str, Any], run_id: str, sha: str, resumed: bool,
                 say: Callable[[str], None]) -> Iterator[_Watch]:  # fmt: skip
    """GitLab's auto-cancel of redundant pipelines for a ``Pipeline``'s runs (the CLI's
    have none): the run joins its ref's group, asks the older runs of other commits to
    give way (a resumed run asks nobody) and is told when a newer one asks it."""
    watch = _Watch(store, run_id)
    owner = str(resume.get("pipeline") or "")
    if not owner or resume.get("keep"):
        yield watch
        return
    group = f"gitlab/{owner}/{resume.get('ref') or ''}"

    def spares(holder: str) -> bool:  # GitLab keeps the pipelines of the ref's newest sha
        return resumed or holder.split("#", 1)[0].rpartition("@")[2] == sha

    with concurrency.superseding(store, group, f"{run_id}@{sha}", spares,
                                 watch.asked_by) as asked:  # fmt: skip
        if asked:
            say(f"auto-cancel: asked {len(asked)} older pipeline(s) of "
                f"{resume.get('ref')} to give way")  # fmt: skip
        yield watch


def resume(store: Store, run_id: str, state: dict[str, Any], *,
           on_line: Callable[[str], None] | None = None,
           cancel: Cancel | None = None) -> dict[str, Any]:  # fmt: skip
    """Finish a GitLab run a stopped controller left: jobs that ended keep their status,
    records, artifacts and dotenv; the others run (a job that was running runs again)."""
    data = dict(state.get("resume") or {})
    source = Path(str(data.get("source") or ""))
    if not (source / str(data.get("file") or GITLAB_FILE)).is_file():
        raise NotFoundError(f"the checkout {source} of GitLab run {run_id} is gone",
                            subject=run_id)  # fmt: skip
    base = Path(str(data.get("base_dir") or ""))
    say = on_line or (lambda _line: None)
    stop_leftovers(base / "jobs", run_id, say)
    facts = Facts(**{**data["facts"], "extra": dict(data["facts"].get("extra") or {})})
    records = _run(store, source, run_id, facts, data, say, state, cancel)
    if not records:
        return {"id": run_id, "syntax": "gitlab", "conclusion": "skipped", "jobs": []}
    return records[0]


def default_branch(root: Path) -> str:
    head = git_or(root, ["symbolic-ref", "--short", "refs/remotes/origin/HEAD"], "")
    return head.removeprefix("origin/") or "main"
