"""``shipway account``: local accounts, their API tokens, and ``can-i``.

Accounts and tokens are managed on the controller's host, on the local store
(``create``, ``list``, ``delete``, ``update-password``, ``token
create|list|revoke``). ``can-i`` asks the controller one is logged in to, as
``argocd account can-i`` does (prints ``yes`` or ``no``, exit 0 either way),
or, with ``--as ACCOUNT``, evaluates the stored policy here.
``get-user-info`` says who the stored login is.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from shipway.cli import output as out
from shipway.cli import remote
from shipway.cli.context import store_from
from shipway.cli.groups import SuggestingGroup
from shipway.model.errors import InputError, UnauthenticatedError


def read_password(stdin: bool, confirm: bool = True) -> str:
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("no password on standard input", subject="--password-stdin")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


@click.group(cls=SuggestingGroup)
def account() -> None:
    """Local accounts, API tokens and permission checks (argocd account)."""


@account.command("create")
@click.argument("name")
@click.option("--role", default="", help="A role to bind the account to (e.g. admin, dev).")
@click.option("--group", "groups", multiple=True, help="A group claim (see scopes), repeatable.")
@click.option("--email", default="", help="An email claim (for scopes: '[groups, email]').")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="Token-only account: no password login.")
@out.output_option
@click.pass_context
def create_cmd(
    ctx: click.Context, name: str, role: str, groups: tuple[str, ...], email: str,
    password_stdin: bool, no_password: bool, output: str,
) -> None:  # fmt: skip
    """Create a local account (its password is stored as an argon2 hash)."""
    from shipway.auth import accounts

    store = store_from(ctx)
    password = None if no_password else read_password(password_stdin)
    acct = accounts.create(store, name, password, role=role, groups=groups, email=email)
    if not out.emit(acct.to_dict(), output, name="account"):
        click.echo(f"account '{acct.name}' created" + (f" with {acct.role}" if acct.role else ""))


@account.command("list")
@out.list_options
@click.pass_context
def list_cmd(ctx: click.Context, /, **_: Any) -> None:
    """List local accounts."""
    from shipway.store import accounts as store_accounts

    found = [a.to_dict() for a in store_accounts.list_accounts(store_from(ctx))]
    out.report(found, out.Options.of(ctx), name=lambda a: f"account/{a['name']}",
               table=out.rows_table(["name", "enabled", "role", "groups", "tokens", "age"],
                                    _account_row))  # fmt: skip


def _account_row(a: dict[str, Any]) -> list[Any]:
    from shipway.cli.list_views import age_cell

    return [a["name"], str(a["enabled"]).lower(), a["role"], ",".join(a["groups"]), a["tokens"],
            age_cell(a["created"])]  # fmt: skip


@account.command("delete")
@click.argument("name")
@click.pass_context
def delete_cmd(ctx: click.Context, name: str) -> None:
    """Delete an account and every token it has."""
    from shipway.store import accounts as store_accounts

    store_accounts.delete_account(store_from(ctx), name)
    click.echo(f"account '{name}' deleted")


@account.command("update-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.pass_context
def update_password_cmd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password for an account."""
    from shipway.auth import passwords
    from shipway.store import accounts as store_accounts

    store = store_from(ctx)
    store_accounts.get_account(store, name)
    hashed = passwords.hash_password(read_password(password_stdin), subject=f"account/{name}")
    store_accounts.set_password(store, name, hashed)
    click.echo(f"password of '{name}' updated")


@account.group("token")
def token() -> None:
    """API tokens of an account: create (shown once), list, revoke."""


@token.command("create")
@click.argument("name")
@click.option("--expires", default="0", show_default=True,
              help="Lifetime, e.g. 30m, 24h, 7d (0: never), as argocd's --expires-in.")  # fmt: skip
@click.option("--description", default="", help="A note kept with the token.")
@out.output_option
@click.pass_context
def token_create_cmd(
    ctx: click.Context, name: str, expires: str, description: str, output: str
) -> None:
    """Issue an API token for NAME and print it; only its hash is kept."""
    from shipway.auth import accounts, tokens

    lifetime = tokens.parse_duration(expires)
    rec, secret = accounts.issue_token(store_from(ctx), name, expires_in=lifetime,
                                       description=description)  # fmt: skip
    if not out.emit(rec.to_dict() | {"token": secret}, output, name="token"):
        click.echo(secret)


@token.command("list")
@click.argument("name")
@out.list_options
@click.pass_context
def token_list_cmd(ctx: click.Context, /, name: str, **_: Any) -> None:
    """List the tokens of NAME (ids and lifetimes, never the tokens)."""
    from shipway.store import accounts as store_accounts

    found = [t.to_dict() for t in store_accounts.list_tokens(store_from(ctx), name)]
    headers = ["id", "kind", "issued at", "expires at", "revoked at", "description"]
    out.report(found, out.Options.of(ctx), name=lambda t: f"token/{t['id']}",
               table=out.rows_table(headers, _token_row))  # fmt: skip


def _token_row(t: dict[str, Any]) -> list[Any]:
    return [t["id"], t["kind"], t["issuedAt"], t["expiresAt"] or "never", t["revokedAt"] or "",
            t["description"]]  # fmt: skip


@token.command("revoke")
@click.argument("name")
@click.argument("token_id")
@click.pass_context
def token_revoke_cmd(ctx: click.Context, name: str, token_id: str) -> None:
    """Revoke a token of NAME by its id: it is refused from now on."""
    from shipway.store import accounts as store_accounts

    store_accounts.revoke_token(store_from(ctx), name, token_id)
    click.echo(f"token {token_id} of '{name}' revoked")


@account.command("can-i")
@click.argument("action")
@click.argument("resource")
@click.argument("subresource")
@click.option("--as", "as_subject", default=None,
              help="Evaluate the local store's policy for this account or subject.")  # fmt: skip
@remote.server_option
@click.pass_context
def can_i_cmd(
    ctx: click.Context, action: str, resource: str, subresource: str,
    as_subject: str | None, server: str | None,
) -> None:  # fmt: skip
    """Print yes or no: may I do ACTION on RESOURCE SUBRESOURCE (e.g. sync applications
    default/web)? Exits 0 either way, as argocd account can-i."""
    if as_subject is None:
        t = remote.target(ctx, server)
        if t is None:
            raise UnauthenticatedError("not logged in to a controller: shipway login URL, or "
                                       "--as ACCOUNT to check the local policy",
                                       subject="can-i")  # fmt: skip
        path = f"/api/account/can-i/{resource}/{action}/{subresource}"
        click.echo(remote.get_json(t, path)["value"])
        return
    from shipway.auth.accounts import Identity
    from shipway.auth.policy import Authorizer
    from shipway.store import accounts as store_accounts

    store = store_from(ctx)
    acct = store_accounts.find_account(store, as_subject)
    claims = {"groups": list(acct.groups), "email": acct.email} if acct else {}
    who = Identity(as_subject, acct.role if acct else "", claims)
    click.echo("yes" if Authorizer(store).allowed(who, resource, action, subresource) else "no")


@account.command("get-user-info")
@remote.server_option
@out.data_output_option
@click.pass_context
def user_info_cmd(ctx: click.Context, server: str | None, output: str) -> None:
    """Who the stored login is, as the controller sees it."""
    t = remote.target(ctx, server)
    if t is None:
        raise UnauthenticatedError("not logged in to a controller: shipway login URL",
                                   subject="account")  # fmt: skip
    info = remote.get_json(t, "/api/session/userinfo")
    if not out.emit(info, output):
        click.echo(f"Logged In: true\nUsername: {info['username']}\n"
                   f"Groups: {','.join(info.get('groups') or [])}")  # fmt: skip
