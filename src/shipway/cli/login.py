"""``shipway login URL`` and ``shipway logout``, as ``argocd login``/``logout``.

``login`` exchanges ``--username``/``--password`` (prompted for when not
given; ``--password-stdin``) for a session token at ``POST /api/session``, or
takes an API token (``--token``); it checks the token against
``/api/session/userinfo`` and stores it as the current context in the CLI
config (mode 0600). ``logout`` revokes a session token at the controller
and removes the context.
"""

from __future__ import annotations

import click
import httpx

from shipway.cli import config, remote
from shipway.cli.account import read_password
from shipway.model.errors import ExternalError


@click.command("login")
@click.argument("server")
@click.option("--username", default=None, help="Account name (prompted for if not given).")
@click.option("--password", default=None, help="Password (prompted for if not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--token", default=None, help="An API token instead of a username and password.")
@click.option("--name", "context_name", default=None, help="Context name (default: the server).")
@click.option("--plaintext", is_flag=True, help="http:// for a server given as host:port.")
@click.option("--insecure", is_flag=True, help="Skip the server certificate verification.")
@click.option("--server-crt", type=click.Path(exists=True, dir_okay=False),
              help="CA certificate (PEM) to verify the server with.")  # fmt: skip
def login(
    server: str, username: str | None, password: str | None, password_stdin: bool,
    token: str | None, context_name: str | None, plaintext: bool, insecure: bool,
    server_crt: str | None,
) -> None:  # fmt: skip
    """Log in to a controller; later commands go through its API."""
    url = remote.normalise(server, plaintext)
    verify: bool | str = False if insecure else (server_crt or True)
    if not token:
        username = username or str(click.prompt("Username"))
        if password is None:
            password = read_password(password_stdin, confirm=False)
        anon = remote.Target(url, "", verify=verify)
        body = {"username": username, "password": password}
        token = str(remote.call(anon, "POST", "/api/session", json=body).json()["token"])
    info = remote.get_json(remote.Target(url, token, verify=verify), "/api/session/userinfo")
    cfg = config.load()
    ctx = config.Context(name=context_name or url.split("://", 1)[1], server=url,
                         user=str(info["username"]), auth_token=token, insecure=insecure,
                         server_crt=server_crt or "")  # fmt: skip
    cfg.put(ctx)
    path = config.save(cfg)
    click.echo(f"'{info['username']}' logged in successfully")
    click.echo(f"Context '{ctx.name}' updated ({path})")


@click.command("logout")
@click.argument("context", required=False)
def logout(context: str | None) -> None:
    """Log out of a context (default: the current one): its token is forgotten."""
    cfg = config.load()
    name = context or cfg.current
    found = cfg.find(name) if name else None
    if found is None:
        click.echo("not logged in")
        return
    t = remote.Target(found.server, found.auth_token,
                      verify=False if found.insecure else (found.server_crt or True))  # fmt: skip
    try:  # a session token is revoked at the controller; an API token stays valid
        with t.client(timeout=5) as c:
            c.delete("/api/session")
    except (httpx.HTTPError, ExternalError):
        pass
    cfg.remove(found.name)
    config.save(cfg)
    click.echo(f"Logged out from '{found.name}'")
