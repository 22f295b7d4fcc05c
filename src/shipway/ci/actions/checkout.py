"""Native ``actions/checkout``: a repository at a ref into the workspace, as the real action does.

The run's own repository comes from the run's source (a local path or git
URL) at ``github.sha``; any other ``repository:`` from the run's git source
(``shipway.ci.remote``). Inputs: ``repository``, ``ref`` (branch, tag or sha),
``path``, ``fetch-depth`` (0 = all history), ``fetch-tags``, ``submodules``,
``clean``, ``lfs``, ``persist-credentials``, ``sparse-checkout``,
``sparse-checkout-cone-mode`` and ``token`` (sent as an http extraheader for
http(s) sources only, masked). A local run of the working tree (``shipway ci
run`` without ``--commit``: ``RunInfo.worktree``) gets the working tree's files
over the checkout of HEAD, uncommitted changes included, as act runs it.
Touches only the target directory.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from shipway.ci import remote
from shipway.ci.actions import ActionContext, ActionFailed, bool_input, list_input
from shipway.ci.plan.refs import Resolved, auth_header, is_http, is_sha, short_name
from shipway.ci.remote import RemoteError
from shipway.git.repo import clear_worktree, git
from shipway.model.errors import GitError


@dataclass
class Plan:
    url: str
    shown: str  # owner/name@ref for messages
    res: Resolved | None  # None: the run's own commit or a ref fetched as given
    rev: str
    token: str  # sent to http(s) sources ('' when the source took no token)


def run(ctx: ActionContext) -> None:
    repository = ctx.input("repository")
    own = not repository or repository.lower() == ctx.info.repository_name.lower()
    github = getattr(ctx.job, "github", None) or {}  # github.token: the run's GITHUB_TOKEN
    token = ctx.input("token") or str(
        github.get("token") or ctx.info.secrets.get("GITHUB_TOKEN") or ""
    )
    if token:
        ctx.secrets += [token, auth_header(token).split(" ")[-1]]
    sub = ctx.input("path", ".")
    target = (ctx.workspace / sub).resolve()
    if not target.is_relative_to(ctx.workspace.resolve()):
        raise ActionFailed(f"actions/checkout: path {sub!r} is outside the workspace")
    try:
        depth = int(ctx.input("fetch-depth", "1"))
    except ValueError:
        raise ActionFailed(
            f"actions/checkout: fetch-depth {ctx.input('fetch-depth')!r} is not a number"
        ) from None
    plan = _own(ctx, token) if own else _other(ctx, repository, token)
    if bool_input(ctx.input("lfs")) and shutil.which("git-lfs") is None:
        raise ActionFailed(
            f"actions/checkout: {plan.shown}: lfs: true needs git-lfs, which is not installed"
        )
    token = plan.token
    env = _env(plan.url, token)
    ctx.log(f"Checking out {plan.shown} from {plan.url} into {target}")
    try:
        _prepare(target, plan.url, bool_input(ctx.input("clean"), True))
        _sparse(ctx, target)
        _fetch(target, plan, depth, bool_input(ctx.input("fetch-tags")), env)
        _checkout(target, plan)
        _submodules(target, ctx.input("submodules"), depth, env)
        if plan.res is None and ctx.info.worktree is not None and plan.rev == ctx.info.commit:
            changed = overlay_worktree(ctx.info.worktree, target)
            ctx.log(f"Applied the working tree of {ctx.info.worktree} ({changed} file(s) "
                    "differ from HEAD or are untracked)")  # fmt: skip
        if bool_input(ctx.input("lfs")):
            git(["lfs", "install", "--local"], target, subject=plan.shown, env=env)
            git(["lfs", "pull", "origin"], target, subject=plan.shown, env=env)
        if token and is_http(plan.url) and bool_input(ctx.input("persist-credentials"), True):
            _persist(target, plan.url, token)
        sha = git(["rev-parse", "HEAD"], target, subject=plan.shown).strip()
    except GitError as exc:
        raise ActionFailed(f"actions/checkout: {plan.shown}: {exc.message}") from None
    ctx.outputs["ref"] = plan.rev
    ctx.outputs["commit"] = sha
    ctx.log(f"HEAD is now at {sha}")


def _own(ctx: ActionContext, token: str) -> Plan:
    rev = ctx.input("ref") or ctx.info.commit
    return Plan(ctx.info.repo, f"{ctx.info.repository_name}@{rev}", None, rev, token)


def _other(ctx: ActionContext, repository: str, token: str) -> Plan:
    base = remote.git_source(ctx.info)
    if not base:
        raise ActionFailed(
            f"actions/checkout: repository {repository!r} is not this run's repository and no "
            f"git source is set to fetch it from ({remote.HOW_TO_SET})"
        )
    ref = ctx.input("ref")
    try:
        url, listing, token = remote.locate(base, repository, token)
        res = remote.resolve(listing, ref, repository)
    except RemoteError as exc:
        raise ActionFailed(f"actions/checkout: {exc}") from None
    rev = ref or short_name(res.full)
    return Plan(url, f"{repository}@{rev}", res, rev, token)


def _env(url: str, token: str) -> dict[str, str]:
    pairs = [("protocol.file.allow", "always"), ("advice.detachedHead", "false")]
    if token and is_http(url):
        pairs.append(("http.extraheader", auth_header(token)))
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    return env


def _prepare(target: Path, url: str, clean: bool) -> None:
    if (target / ".git").exists():
        try:
            same = git(["remote", "get-url", "origin"], target, subject=str(target)).strip() == url
        except GitError:
            same = False
        if not same:  # another repository was here: start again, as the real action does
            shutil.rmtree(target)
    if target.exists() and clean:
        clear_worktree(target)
    if not (target / ".git").exists():
        target.mkdir(parents=True, exist_ok=True)
        git(["init", "-q", str(target)], subject=str(target))
        git(["remote", "add", "origin", url], target, subject=url)


def _sparse(ctx: ActionContext, target: Path) -> None:
    patterns = list_input(ctx.input("sparse-checkout"))
    if not patterns:
        return
    cone = bool_input(ctx.input("sparse-checkout-cone-mode"), True)
    git(["sparse-checkout", "set", "--cone" if cone else "--no-cone", *patterns], target,
        subject=str(target))  # fmt: skip


def _fetch(target: Path, plan: Plan, depth: int, tags: bool, env: dict[str, str]) -> None:
    opts = ["-q", "--prune", "--force"] + ([f"--depth={depth}"] if depth > 0 else [])
    opts += [] if tags or depth <= 0 else ["--no-tags"]
    res = plan.res
    if res is None:  # the run's own repository: the commit, else the ref as given
        try:
            git(["fetch", *opts, "origin", plan.rev], target, subject=plan.url, env=env)
            git(["update-ref", "refs/shipway/checkout", "FETCH_HEAD"], target, subject=plan.url)
            return
        except GitError:
            refspecs = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
            git(["fetch", *opts, "origin", *refspecs], target, subject=plan.url, env=env)
            for name in (plan.rev, f"refs/remotes/origin/{plan.rev}"):
                try:
                    git(["update-ref", "refs/shipway/checkout", name], target, subject=plan.url)
                    return
                except GitError:
                    continue
            raise GitError(f"ref {plan.rev!r} not found", subject=plan.url) from None
    if depth <= 0:
        refspecs = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
    elif res.kind == "branch":
        name = short_name(res.full)
        refspecs = [f"+{res.full}:refs/remotes/origin/{name}"]
    elif res.kind == "tag":
        refspecs = [f"+{res.full}:{res.full}"]
    else:
        refspecs = [res.sha]
    git(["fetch", *opts, "origin", *refspecs], target, subject=plan.url, env=env)
    git(["update-ref", "refs/shipway/checkout", res.sha if is_sha(res.sha) else res.full], target,
        subject=plan.url)  # fmt: skip


def _checkout(target: Path, plan: Plan) -> None:
    res = plan.res
    if res is not None and res.kind == "branch":
        name = short_name(res.full)
        git(["checkout", "-q", "--force", "-B", name, "refs/shipway/checkout"], target,
            subject=plan.url)  # fmt: skip
        git(["branch", "-q", "--set-upstream-to", f"origin/{name}"], target, subject=plan.url)
        return
    git(["checkout", "-q", "--force", "--detach", "refs/shipway/checkout"], target,
        subject=plan.url)  # fmt: skip


def _submodules(target: Path, mode: str, depth: int, env: dict[str, str]) -> None:
    mode = mode.strip().lower()
    if mode not in ("true", "recursive"):
        return
    rec = ["--recursive"] if mode == "recursive" else []
    git(["submodule", "sync", *rec], target, subject=str(target), env=env)
    args = ["submodule", "update", "--init", "--force", *rec]
    args += [f"--depth={depth}"] if depth > 0 else []
    git(args, target, subject=str(target), env=env)


def _persist(target: Path, url: str, token: str) -> None:
    """The token in the repository's own config, as the real action leaves it for later steps."""
    scheme, _, rest = url.partition("://")
    origin = f"{scheme}://{rest.split('/', 1)[0]}/"
    with open(target / ".git" / "config", "a") as handle:
        handle.write(f'[http "{origin}"]\n\textraheader = {auth_header(token)}\n')


def overlay_worktree(source: Path, target: Path) -> int:
    """Make ``target`` (a checkout of HEAD) hold ``source``'s working tree, as act copies it:
    tracked and untracked files (not ignored ones), deletions too; returns how many differ."""
    listed = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], source,
                 subject=str(source)).split("\0")  # fmt: skip
    deleted = set(git(["ls-files", "-z", "--deleted"], source, subject=str(source)).split("\0"))
    changed = 0
    for rel in dict.fromkeys(p for p in listed if p):
        src, dst = source / rel, target / rel
        if rel in deleted or not (src.is_file() or src.is_symlink()):
            if rel in deleted and (dst.is_file() or dst.is_symlink()):
                dst.unlink()
                changed += 1
            continue
        if dst.is_symlink() or dst.is_file():
            if not src.is_symlink() and not dst.is_symlink() and _same(src, dst):
                continue
            dst.unlink()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)
        changed += 1
    return changed


def _same(a: Path, b: Path) -> bool:
    sa, sb = a.stat(), b.stat()
    if sa.st_size != sb.st_size or sa.st_mode != sb.st_mode:
        return False
    return a.read_bytes() == b.read_bytes()
