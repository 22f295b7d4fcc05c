"""``shipway hook``: the credentials of the controller's hooks, and the git hook itself.

- ``shipway hook token git URL``: the token the post-receive hook of the
  repository at URL sends (``Authorization: Bearer …``);
- ``shipway hook token registry`` / ``forge``: the secret to configure on a
  registry's notification endpoint (``headers: {Authorization: [Bearer …]}``,
  Docker Hub/Quay ``?token=``, GHCR/Harbor's secret) or a forge's webhook;
- ``shipway hook token tekton NAMESPACE/LISTENER``: the bearer token of a Tekton
  EventListener's hook (``/hooks/tekton/NAMESPACE/LISTENER``);
- ``shipway hook install BARE_REPO --repo-url URL``: write the post-receive
  hook (with its token) into a bare repository on this machine;
- ``shipway hook rotate``: a new key; every derived token stops working.
"""

from __future__ import annotations

from pathlib import Path

import click

from shipway.cli.context import state_from
from shipway.cli.groups import SuggestingGroup
from shipway.controller.hooks import install_post_receive
from shipway.controller.tokens import HookTokens
from shipway.model.errors import InputError


@click.group(cls=SuggestingGroup)
def hook() -> None:
    """Hook credentials and the git post-receive hook."""


def _tokens(ctx: click.Context) -> HookTokens:
    state = state_from(ctx)
    return HookTokens(state.settings, state.store)


@hook.command("token")
@click.argument("kind", type=click.Choice(["git", "registry", "forge", "tekton"]))
@click.argument("repo_url", required=False)
@click.pass_context
def token_cmd(ctx: click.Context, kind: str, repo_url: str | None) -> None:
    """Print the token a hook of KIND sends (git: of the repository REPO_URL; tekton: of
    the EventListener NAMESPACE/NAME)."""
    tokens = _tokens(ctx)
    if kind == "tekton":
        namespace, _, name = (repo_url or "").partition("/")
        if not namespace or not name:
            raise InputError("a tekton hook token is per EventListener: give NAMESPACE/NAME",
                             subject="hook")  # fmt: skip
        click.echo(tokens.tekton(namespace, name))
        return
    if kind == "git":
        if not repo_url:
            raise InputError("a git hook token is per repository: give its URL", subject="hook")
        click.echo(tokens.git(repo_url))
    else:
        click.echo(tokens.registry() if kind == "registry" else tokens.forge())


@hook.command("install")
@click.argument("bare_repo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--repo-url", required=True, help="The URL the Pipeline's source.repoURL uses.")
@click.option("--controller", "controller_url", help="Default: the running controller's URL.")
@click.pass_context
def install_cmd(
    ctx: click.Context, bare_repo: Path, repo_url: str, controller_url: str | None
) -> None:
    """Write BARE_REPO/hooks/post-receive, which tells the controller of every push."""
    state = state_from(ctx)
    url = controller_url or state.settings.resolved_controller_url()
    if not url:
        raise InputError("no controller URL: give --controller or start one", subject="hook")
    if not (bare_repo / "HEAD").is_file():
        raise InputError(f"{bare_repo} is not a bare git repository", subject=str(bare_repo))
    path = install_post_receive(bare_repo, url, repo_url, _tokens(ctx).git(repo_url))
    click.echo(str(path))


@hook.command("rotate")
@click.pass_context
def rotate_cmd(ctx: click.Context) -> None:
    """Replace the key hook tokens derive from: installed hooks need installing again."""
    _tokens(ctx).rotate()
    click.echo("hook key rotated: reinstall git hooks, reconfigure registry and forge secrets")
