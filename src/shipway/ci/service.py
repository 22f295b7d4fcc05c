"""The CI service: the API the controller and the CLI call to run workflows.

``run_event`` checks out a commit, finds the workflows that trigger on an
event, runs each and stores each run (record plus masked log) in the store;
the checkout's ``.tekton/`` PipelineRuns (``ci.tekton_run.trigger``) and its
``.gitlab-ci.yml`` (``ci.gitlab_event``) run for the same event.
``run_workflow`` runs one parsed workflow and stores it. Touches only the
run directories under ``workdir`` and the store.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipway import settings
from shipway.ci import environments as ci_environments
from shipway.ci.engine import Engine
from shipway.ci.plan import permissions
from shipway.ci.plan.model import Workflow
from shipway.ci.plan.triggers import workflow_runs
from shipway.ci.runinfo import RunInfo
from shipway.ci.runner import fork_safe, runner_settings
from shipway.ci.syntax.github import parse_workflow
from shipway.git.repo import git
from shipway.model.errors import ConflictError, GitError, InputError, NotFoundError
from shipway.runtime.host import Cancel, stop_leftovers
from shipway.runtime.textfiles import read_text
from shipway.store.db import Store
from shipway.store.runs import get_run, get_state, put_state, save_run, states

WORKFLOW_DIR = ".github/workflows"
ZERO_SHA = "0" * 40


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def checkout(repo: str, commit: str, target: Path) -> Path:
    """Check out ``commit`` of ``repo`` (URL or path) into a fresh ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    git(["init", "-q", str(target)], subject=str(target))
    git(["remote", "add", "origin", repo], target, subject=repo)
    try:
        git(["fetch", "-q", "origin", commit], target, subject=repo)
        rev = "FETCH_HEAD"
    except GitError:
        git(["fetch", "-q", "origin", "+refs/*:refs/remotes/origin/*"], target, subject=repo)
        rev = commit
    git(["checkout", "-q", "--force", "--detach", rev], target, subject=repo)
    return target


def merge_for_pull_request(source: Path, base_ref: str, head: str) -> tuple[str, str]:
    """Make GitHub's ``refs/pull/N/merge`` commit in ``source``: ``head`` merged into the base.

    ``source`` is a checkout of ``head``; afterwards it holds the merge commit
    (or the base tip when the head is already merged). Returns the merge and
    base commits. A conflict raises ``ConflictError`` and leaves the checkout
    at ``head``.
    """
    branch = base_ref.removeprefix("refs/heads/")
    tracking = f"refs/remotes/origin/{branch}"
    git(["fetch", "-q", "origin", f"+refs/heads/{branch}:{tracking}"], source, subject=branch)
    git(["checkout", "-q", "--force", "--detach", tracking], source, subject=branch)
    base = git(["rev-parse", "HEAD"], source, subject=branch).strip()
    ident = ["-c", "user.name=shipway", "-c", "user.email=shipway@localhost"]
    try:
        git([*ident, "merge", "-q", "--no-ff", "--no-edit", "-m",
             f"Merge {head} into {branch}", head], source, subject=branch)  # fmt: skip
    except GitError as exc:
        with contextlib.suppress(GitError):
            git(["merge", "--abort"], source, subject=branch)
        git(["checkout", "-q", "--force", "--detach", head], source, subject=head)
        raise ConflictError(
            f"pull request head {head[:12]} does not merge cleanly into {branch}: {exc}",
            subject=branch,
        ) from None
    return git(["rev-parse", "HEAD"], source, subject=branch).strip(), base


def workflow_files(root: Path, only: list[str] | None = None) -> list[Path]:
    """The ``.github/workflows/*.yml|yaml`` files under ``root`` (only the named ones if given)."""
    wdir = root / WORKFLOW_DIR
    files = sorted(p for p in wdir.glob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    if only is not None:
        wanted = {Path(n).name for n in only}
        files = [p for p in files if p.name in wanted]
    return files


def changed_files(root: Path, event: str, payload: dict[str, Any], commit: str) -> list[str] | None:
    """Files the event changed, for ``paths`` filters; None when unknown."""
    base = ""
    if event == "push":
        base = str(payload.get("before") or "")
    elif event.startswith("pull_request"):
        base = str(((payload.get("pull_request") or {}).get("base") or {}).get("sha") or "")
    if not base or base == ZERO_SHA:
        return None
    with contextlib.suppress(GitError):  # the base may be gone; then git diff fails too
        git(["fetch", "-q", "origin", base], root, subject=str(root))
    try:
        out = git(["diff", "--name-only", base, commit], root, subject=str(root))
    except GitError:
        return None
    return [line for line in out.splitlines() if line]


TEKTON_API = re.compile(r"^apiVersion:\s*['\"]?tekton\.dev/", re.MULTILINE)


def shared_dirs() -> tuple[Path, Path]:
    """Directories shared by runs: vendored actions and the actions/cache store."""
    home = settings.load().home
    return home / "actions", home / "ci-cache"


def run_workflow(
    store: Store | None,
    workflow: Workflow,
    info: RunInfo,
    *,
    inputs: dict[str, Any] | None = None,
    prior: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one workflow, store the run (masked log, no secrets), return its record.

    While it runs, the engine state (finished jobs, their outputs and records)
    and the partial record are stored after every job, so ``resume_run`` can
    finish a run whose process died.
    """
    engine = Engine(workflow, info, inputs=inputs, prior=prior, store=store)
    if store is not None:
        resume = _resume_info(workflow, info)

        def hook(phase: str, state: dict[str, Any]) -> None:
            put_state(store, "ci", info.run_id, phase, {**state, "resume": resume})
            if phase != "done":
                save_run(store, engine.snapshot(), "\n".join(engine.rs.lines), info.commit)

        engine.on_state = hook
        _run_event(store, info, workflow, None)
    record = engine.run()
    if store is not None:
        save_run(store, record, "\n".join(engine.rs.lines), info.commit)
        _run_event(store, info, workflow, record)
    if not info.keep_workspace:  # the record and log are stored; artifacts stay
        for below in ("jobs", "called"):
            shutil.rmtree(info.base_dir / below, ignore_errors=True)
    return record


def _run_event(
    store: Store, info: RunInfo, workflow: Workflow, record: dict[str, Any] | None
) -> None:
    """``RunStarted``, then ``RunSucceeded`` or ``RunFailed`` (a Warning) with the conclusion."""
    from shipway.model import events as ev
    from shipway.store import events as store_events

    what = f"workflow {workflow.name or workflow.file} on {info.commit[:12] or info.ref}"
    obj = ev.ObjectRef("CIRun", info.run_id, namespace=info.pipeline or "")
    if record is None:
        store_events.emit(store, obj, ev.CI_RUN_STARTED, f"{what} started", source="ci")
        return
    conclusion = str(record.get("conclusion") or "unknown")
    ok = conclusion in ("success", "skipped", "neutral")
    store_events.emit(store, obj, ev.CI_RUN_SUCCEEDED if ok else ev.CI_RUN_FAILED,
                      f"{what}: {conclusion}", type=ev.NORMAL if ok else ev.WARNING,
                      source="ci")  # fmt: skip


_INFO_FIELDS = ("run_id", "repo", "commit", "ref", "event", "payload", "vars", "env",
                "repository", "actor", "run_number", "job_filter", "executor", "server_url",
                "workflow_ref", "runner_image", "platforms", "keep_workspace", "kube",
                "token_default", "git_url", "pipeline", "token_cap", "verbose", "note")  # fmt: skip
_PATH_FIELDS = ("base_dir", "source_dir", "action_cache", "cache_dir", "artifact_dir",
                "worktree")  # fmt: skip


def _resume_info(workflow: Workflow, info: RunInfo) -> dict[str, Any]:
    """What a resume needs, secrets excluded (the caller supplies them again)."""
    data: dict[str, Any] = {k: getattr(info, k) for k in _INFO_FIELDS}
    for key in _PATH_FIELDS:
        value = getattr(info, key)
        data[key] = str(value) if value else None
    root = info.source_root
    data["workflow_path"] = str(root / workflow.file) if root else workflow.file
    data["environments"] = ci_environments.to_stored(info.environments)  # rules, no secrets
    data["workflow_file"] = workflow.file
    return data


def unfinished_runs(store: Store) -> list[str]:
    """Ids of runs whose engine stopped before they completed."""
    return [key for key, phase, _ in states(store, "ci") if phase != "done"]


def resume_run(
    store: Store,
    run_id: str,
    *,
    secrets: dict[str, str],
    on_line: Callable[[str], None] | None = None,
    environments: dict[str, Any] | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Finish a run from its stored state: jobs that completed keep their results
    (GitHub Actions workflows, GitLab pipelines, Tekton TaskRuns and PipelineRuns).

    ``environments`` (name -> ``plan.environments.Environment``) may be given
    again like ``secrets``; without them the run's stored definitions apply
    (protection rules, vars and ``secretsFile``s, not inline secrets).
    """
    found = get_state(store, "ci", run_id)
    if found is None:
        raise NotFoundError(f"no engine state for CI run {run_id!r}", subject=run_id)
    phase, state = found
    if phase == "done":
        return get_run(store, run_id)[0]
    data = dict(state.get("resume") or {})
    if data.get("syntax") == "gitlab":  # a .gitlab-ci.yml pipeline: its scheduler state
        from shipway.ci import gitlab_event

        return gitlab_event.resume(store, run_id, state, on_line=on_line, cancel=cancel)
    if data.get("syntax") == "tekton":  # a TaskRun or PipelineRun: its scheduler state
        from shipway.ci.tekton_run import service as tekton_service

        return tekton_service.resume(store, run_id, state, on_line=on_line, cancel=cancel)
    path = Path(str(data.get("workflow_path", "")))
    if not path.is_file():
        raise NotFoundError(f"workflow file {path} of run {run_id} is gone", subject=run_id)
    workflow = parse_workflow(read_text(path), str(data.get("workflow_file", path.name)))
    fields: dict[str, Any] = {k: data[k] for k in _INFO_FIELDS if k in data}
    for key in _PATH_FIELDS:
        fields[key] = Path(data[key]) if data.get(key) else None
    if fields.get("base_dir") is None:
        raise NotFoundError(f"run {run_id} has no run directory to resume in", subject=run_id)
    if environments is None:  # the stored rules still hold; secretsFile values are read again
        subject = f"CI run {run_id}"
        environments = ci_environments.from_data(data.get("environments") or {}, Path("/"), subject)
    say = on_line or (lambda _line: None)
    stop_leftovers(Path(fields["base_dir"]) / "jobs", run_id, say)
    _clear_containers(run_id, str(fields.get("executor") or "host"), fields.get("kube"), say)
    info = RunInfo(**fields, secrets=dict(secrets), on_line=on_line, cancel=cancel,
                   environments=dict(environments))  # fmt: skip
    return run_workflow(store, workflow, info, prior=state)


def _clear_containers(run_id: str, executor: str, kube: Any, say: Callable[[str], None]) -> None:
    """What the executors still run for a run killed outright (job and service containers)."""
    from shipway.ci.exec.base import ExecutorConfig, clear_leftovers
    from shipway.runtime import podman_env

    home = settings.load().home
    config = ExecutorConfig(podman_env=podman_env.for_home(home), kube=dict(kube or {}))
    clear_leftovers(executor, run_id, config, say)


def invalid_run(
    store: Store | None, file: str, event: str, commit: str, error: InputError, run_id: str
) -> dict[str, Any]:
    """A failed run record for a workflow file that does not parse (as GitHub shows one)."""
    record = {"id": run_id, "workflow": file, "file": file, "event": event, "commit": commit,
              "conclusion": "failure", "error": str(error), "jobs": []}  # fmt: skip
    if store is not None:
        save_run(store, record, f"error: {error}", commit)
    return record


def run_event(
    store: Store,
    *,
    repo: str,
    commit: str,
    ref: str,
    event: str,
    payload: dict[str, Any],
    workdir: Path,
    vars: dict[str, str],
    secrets: dict[str, str],
    env: dict[str, str] | None = None,
    workflows: list[str] | None = None,
    on_line: Callable[[str], None] | None = None,
    merge_into: str | None = None,
    environments: dict[str, Any] | None = None,
    runner: Mapping[str, Any] | None = None,
    pipeline: str = "",
    from_fork: bool = False,
    namespace: str | None = None,
    on_checkout: Callable[[Path], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every workflow of ``commit`` that triggers on ``event``; return the stored records.

    ``on_checkout`` is called with the checkout of ``commit`` before any run (the controller
    reads the commit's time there for the release record).

    With ``merge_into`` (a pull request's base branch) the runs see the merge
    commit of ``commit`` into that branch, as GitHub's ``pull_request`` runs do.
    ``runner`` (a ``Pipeline``'s ``spec.runner``) picks the executor, images and
    cluster. A pull request ``from_fork`` gets no secrets (its environments' neither) and a
    read-only ``GITHUB_TOKEN``, as on GitHub. The Tekton EventListeners of ``namespace``
    (the Pipeline's) see the event too.
    """
    where = runner_settings(store, runner)
    if from_fork:
        secrets, environments = {}, fork_safe(environments or {})
        where["token_cap"] = permissions.expand("read-all")
    batch = workdir / f"event-{new_run_id()}"
    source = checkout(repo, commit, batch / "source")
    if on_checkout is not None:
        on_checkout(source)
    head = commit  # a pull request's head: what a Tekton run fetches as {{ revision }}
    if merge_into:
        commit, base = merge_for_pull_request(source, merge_into, commit)
        pr = payload.get("pull_request")
        if isinstance(pr, dict) and isinstance(pr.get("base"), dict):
            pr["base"].setdefault("sha", base)
    changed = changed_files(source, event, payload, commit)
    records: list[dict[str, Any]] = []
    for path in workflow_files(source, workflows):
        rel = str(path.relative_to(source))
        run_id = new_run_id()
        try:
            text = read_text(path, rel)
            if TEKTON_API.search(text):
                raise InputError("a Tekton file among the GitHub workflows: the controller "
                                 "runs Tekton PipelineRuns from .tekton/ (Pipelines-as-Code "
                                 f"annotations); run this one with 'shipway ci run -f {rel}'",
                                 subject=rel)  # fmt: skip
            wf = parse_workflow(text, rel)
        except InputError as exc:
            if on_line is not None:
                on_line(f"error: {exc}")
            records.append(invalid_run(store, rel, event, commit, exc, run_id))
            continue
        if not workflow_runs(wf.on, event, payload, changed):
            continue
        info = RunInfo(run_id=run_id, repo=str(source), commit=commit, ref=ref, event=event,
                       payload=payload, base_dir=batch / run_id, vars=dict(vars),
                       secrets=dict(secrets), env=dict(env or {}), repository=repository_name(repo),
                       on_line=on_line, workflow_ref=f"{rel}@{ref}", source_dir=source,
                       action_cache=shared_dirs()[0], cache_dir=shared_dirs()[1],
                       environments=dict(environments or {}), pipeline=pipeline,
                       **where)  # fmt: skip
        records.append(run_workflow(store, wf, info))
    records += _tekton_runs(store, source, repo, head, ref, event, merge_into, batch,
                            where, on_line, pipeline, env or {}, dict(vars),
                            namespace, payload)  # fmt: skip
    if workflows is None or ".gitlab-ci.yml" in workflows:
        from shipway.ci import gitlab_event

        records += gitlab_event.run_checkout(
            store, source, repo=repo, commit=commit, ref=ref, event=event, payload=payload,
            batch=batch, changed=changed, executor=str(where.get("executor") or "host"),
            variables=vars, env=env, on_line=on_line, pipeline=pipeline,
            runner_image=where.get("runner_image"), kube=where.get("kube"),
            concurrency=int((runner or {}).get("concurrent") or 1))  # fmt: skip
    return records


def _tekton_runs(store: Store, source: Path, repo: str, commit: str, ref: str, event: str,
                 merge_into: str | None, batch: Path, where: dict[str, Any],
                 on_line: Callable[[str], None] | None, pipeline: str, env: dict[str, str],
                 values: dict[str, str], namespace: str | None,
                 payload: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    """The checkout's ``.tekton/`` PipelineRuns this event selects and the runs of the
    EventListeners in the Pipeline's ``namespace`` (``ci.tekton_run.trigger``); the
    Pipeline's ``vars`` are Pipelines-as-Code's custom params (``{{ NAME }}``)."""
    from shipway.ci.tekton_run import trigger
    from shipway.ci.tekton_run.service import RunOptions
    from shipway.store import resources as stored

    listens = namespace is not None and bool(stored.list_kind(store, "EventListener", namespace))
    if not trigger.tekton_files(source) and not listens:
        return []
    executor = str(where.get("executor") or "host")
    branch = merge_into or ref.removeprefix("refs/heads/")
    home = settings.load().home
    opts = RunOptions(executor=executor, base_dir=batch, pvc_dir=home / "work" / "tekton" / "pvc",
                      podman_home=home / "podman", commit=commit, ref=ref, event=event,
                      on_line=on_line or (lambda _line: None), pipeline=pipeline,
                      env=dict(env), kube=dict(where.get("kube") or {}))  # fmt: skip
    return trigger.run_checkout(
        store,
        source,
        event=event,
        branch=branch,
        commit=commit,
        repo_url=repo,
        values=values,
        opts=opts,
        pipeline=pipeline,
        namespace=namespace if listens else None,
        payload=payload,
    )


def origin_repository(root: Path) -> str:
    """``owner/name`` from the ``origin`` remote's URL of the checkout ``root`` ('' if none)."""
    try:
        url = git(["remote", "get-url", "origin"], root, subject=str(root)).strip()
    except GitError:
        return ""
    return repository_name(url, local=False)


def repository_name(url: str, *, local: bool = True) -> str:
    """``owner/name`` of a repository URL or path (its last two parts, ``.git`` dropped);
    one with fewer parts is ``local/<name>`` (``local/repo``), or '' unless ``local``."""
    tail = [t for t in url.rstrip("/").removesuffix(".git").replace(":", "/").split("/") if t]
    if len(tail) >= 2:
        return "/".join(tail[-2:])
    return f"local/{tail[-1] if tail else 'repo'}" if local else ""
