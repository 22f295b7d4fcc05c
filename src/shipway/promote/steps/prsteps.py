"""git-open-pr, git-wait-for-pr and git-merge-pr through shipway's forge clients.

The forge comes from ``StepEnv.forge(repoURL, provider)``. git-open-pr
reuses an open pull request for the same branches (as Kargo does) and gives
``pr`` (``id``, ``url``) and the older ``prNumber``. git-wait-for-pr is
Running while the pull request is open, Succeeded with ``commit`` (the merge
commit) once merged, Failed when it was closed unmerged. git-merge-pr merges
now; if the forge refuses, it is Running with ``wait: true`` and Failed
without. ``createTargetBranch`` is accepted and ignored (Kargo deprecated it
as a no-op); ``labels`` are set on a new pull request where the forge client
``mergeMethod`` is passed to the
forge (``merge``, ``squash``, ``rebase``, as the forge names them).
"""

from __future__ import annotations

from typing import Any

from shipway.model import kargo_step_configs as c
from shipway.model.errors import ExternalError, NotFoundError
from shipway.promote.steps.base import StepEnv, StepError, StepFailed, StepResult


def _forge(env: StepEnv, repo_url: str, provider: str | None) -> Any:
    if env.forge is None:
        raise StepFailed(f"no forge client for {repo_url} (set provider and credentials)")
    return env.forge(repo_url, provider)


def _pr_output(pr: Any) -> dict[str, Any]:
    return {"pr": {"id": pr.number, "url": pr.url}, "prNumber": pr.number}


def git_open_pr(env: StepEnv, cfg: c.GitOpenPR) -> StepResult:
    forge = _forge(env, cfg.repo_url, cfg.provider)
    title = cfg.title or f"Promote to {env.stage}: {env.freight.get('name', '')[:7]}"
    body = cfg.description or f"Kargo promotion {env.promotion} of stage {env.stage}."
    try:
        found = forge.find_open(cfg.source_branch, cfg.target_branch)
        pr = found or forge.create(cfg.source_branch, cfg.target_branch, title, body)
        if cfg.labels and found is None:
            forge.add_labels(pr.number, list(cfg.labels))
    except ExternalError as exc:
        raise StepError(str(exc)) from None
    return StepResult(output=_pr_output(pr))


def git_wait_for_pr(env: StepEnv, cfg: c.GitWaitForPR) -> StepResult:
    forge = _forge(env, cfg.repo_url, cfg.provider)
    try:
        pr = forge.get(cfg.pr_number)
    except NotFoundError:
        raise StepFailed(f"pull request {cfg.pr_number} not found in {cfg.repo_url}") from None
    except ExternalError as exc:
        raise StepError(str(exc)) from None
    if pr.state == "merged":
        return StepResult(output={"commit": pr.merge_commit})
    if pr.state == "closed":
        raise StepFailed(f"pull request {cfg.pr_number} was closed without being merged")
    return StepResult("Running", message=f"waiting for pull request {cfg.pr_number} to be merged")


def git_merge_pr(env: StepEnv, cfg: c.GitMergePR) -> StepResult:
    forge = _forge(env, cfg.repo_url, cfg.provider)
    try:
        pr = forge.get(cfg.pr_number)
        if pr.state == "closed":
            raise StepFailed(f"pull request {cfg.pr_number} is closed")
        if pr.state != "merged":
            pr = forge.merge(cfg.pr_number, cfg.merge_method)
    except NotFoundError:
        raise StepFailed(f"pull request {cfg.pr_number} not found in {cfg.repo_url}") from None
    except ExternalError as exc:
        if cfg.wait:
            return StepResult("Running", message=f"pull request {cfg.pr_number}: {exc.message}")
        raise StepFailed(f"pull request {cfg.pr_number} cannot be merged: {exc.message}") from None
    return StepResult(output={"commit": pr.merge_commit})


RUNNERS: dict[str, Any] = {
    "git-open-pr": git_open_pr,
    "git-wait-for-pr": git_wait_for_pr,
    "git-merge-pr": git_merge_pr,
}
