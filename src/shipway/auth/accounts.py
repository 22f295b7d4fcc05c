"""Accounts and tokens as a service: create, log in, issue, authenticate, revoke, bootstrap.

``authenticate`` turns a bearer token into an ``Identity`` or raises
``UnauthenticatedError`` (unknown, expired, revoked, or its account
disabled or deleted). Session tokens (``shipway login`` with a password)
are tokens of kind ``session`` that expire after ``SESSION_TTL``. Touches
the store, and ``$SHIPWAY_HOME/initial-admin.json`` (mode 0600) when it
bootstraps ``admin``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.auth import passwords, tokens
from shipway.auth.rbac import role_name
from shipway.model.errors import ConflictError, InputError, UnauthenticatedError
from shipway.model.events import rfc3339
from shipway.model.release import now
from shipway.store import accounts as store_accounts
from shipway.store.db import Store

SESSION_TTL = dt.timedelta(hours=24)
ADMIN = "admin"
INITIAL_SECRET = "initial-admin.json"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9_.@]{0,251}[a-z0-9])?")


@dataclass(frozen=True)
class Identity:
    """Who a request is: the account, its ``--role``, and the claims ``scopes`` may name."""

    name: str
    role: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    token_id: str = ""
    token_kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"loggedIn": True, "username": self.name, "iss": "shipway",
                "groups": list(self.claims.get("groups") or []), "role": self.role,
                "tokenId": self.token_id, "tokenKind": self.token_kind}  # fmt: skip


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(
            "an account name is lower-case letters, digits and - _ . @ (at most 253)",
            subject=f"account/{name}",
        )
    return name


def create(
    store: Store, name: str, password: str | None, *, role: str = "",
    groups: tuple[str, ...] = (), email: str = "",
) -> store_accounts.Account:  # fmt: skip
    """A new account; ``password`` None means token-only (no ``shipway login`` by password)."""
    check_name(name)
    hashed = passwords.hash_password(password, subject=f"account/{name}") if password else ""
    return store_accounts.create_account(store, name, hashed, role_name(role), groups, email)


def issue_token(
    store: Store, account: str, *, expires_in: dt.timedelta | None = None,
    kind: str = "api", description: str = "",
) -> tuple[store_accounts.Token, str]:  # fmt: skip
    """A new token of ``account``: its record, and the token itself (shown once, never stored)."""
    token_id, token = tokens.new_token()
    expires = now() + expires_in if expires_in else None
    rec = store_accounts.add_token(store, account, token_id, tokens.digest(token), kind=kind,
                                   description=description, expires=expires)  # fmt: skip
    return rec, token


def login(store: Store, username: str, password: str) -> tuple[store_accounts.Token, str]:
    """A session token for a username and password; the same error for every failure."""
    acct = store_accounts.find_account(store, username)
    # verify against a dummy hash too, so an unknown name costs as long as a wrong password
    stored = acct.password_hash if acct is not None and acct.enabled else _dummy()
    if not passwords.verify(stored, password) or acct is None or not acct.enabled:
        raise UnauthenticatedError("invalid username or password", subject=username or "login")
    return issue_token(store, username, expires_in=SESSION_TTL, kind="session")


@functools.cache
def _dummy() -> str:
    return passwords.hash_password(secrets.token_hex(16))


def authenticate(store: Store, token: str, *, at: dt.datetime | None = None) -> Identity:
    """The identity behind a bearer token; ``UnauthenticatedError`` saying why not."""
    if not token.startswith(tokens.PREFIX):
        raise UnauthenticatedError("not a shipway token", subject="token")
    found = store_accounts.token_by_secret(store, tokens.digest(token))
    if found is None:
        raise UnauthenticatedError("invalid token", subject="token")
    rec, acct = found
    subject = f"account/{acct.name}/token/{rec.id}"
    if rec.revoked is not None:
        raise UnauthenticatedError(f"token revoked at {rfc3339(rec.revoked)}", subject=subject)
    if rec.expires is not None and (at or now()) >= rec.expires:
        raise UnauthenticatedError(f"token expired at {rfc3339(rec.expires)}", subject=subject)
    if not acct.enabled:
        raise UnauthenticatedError("account disabled", subject=subject)
    claims: dict[str, Any] = {"groups": list(acct.groups)}
    if acct.email:
        claims["email"] = acct.email
    return Identity(acct.name, acct.role, claims, rec.id, rec.kind)


def bootstrap_admin(store: Store, home: Path) -> Path | None:
    """On a store with no accounts: create ``admin`` (role:admin via the built-in policy)
    with a random password and a token, written to ``home/initial-admin.json`` (0600),
    as Argo CD's ``argocd-initial-admin-secret``. Returns the file when it was written."""
    if store_accounts.list_accounts(store):
        return None
    password = secrets.token_urlsafe(18)
    try:
        create(store, ADMIN, password)
    except ConflictError:  # another process bootstrapped at the same moment
        return None
    _rec, token = issue_token(store, ADMIN, description="initial admin token")
    home.mkdir(parents=True, exist_ok=True)
    path = home / INITIAL_SECRET
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"username": ADMIN, "password": password, "token": token}, f)
        f.write("\n")
    os.chmod(path, 0o600)
    return path


def initial_admin(home: Path) -> dict[str, str] | None:
    """What ``bootstrap_admin`` wrote (username, password, token), if the file is there."""
    path = home / INITIAL_SECRET
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else None
