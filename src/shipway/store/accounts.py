"""Stored local accounts and their API tokens (tables ``accounts`` and ``account_tokens``).

Only hashes are kept: a password as its argon2 string (``shipway.auth.passwords``
makes it), a token as the SHA-256 of its secret. This module neither hashes
nor decides who may do what (``shipway.auth`` does); it reads and writes rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shipway.model.errors import ConflictError, NotFoundError
from shipway.model.events import rfc3339
from shipway.model.release import now
from shipway.store.db import Store
from shipway.store.recorded import aware
from shipway.store.tables import Base


class AccountRow(Base):
    """A local account: its password hash, the role ``--role`` gave it and its groups."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text, default="")  # "" = no password login
    role: Mapped[str] = mapped_column(String(253), default="")
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str] = mapped_column(String(253), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TokenRow(Base):
    """An API or session token of an account: its id, the SHA-256 of its secret, its life."""

    __tablename__ = "account_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(
        String(253), ForeignKey("accounts.name", ondelete="CASCADE"), index=True
    )
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="api")  # api | session
    description: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    role: str
    groups: tuple[str, ...]
    email: str
    enabled: bool
    created: dt.datetime
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "groups": list(self.groups),
                "email": self.email, "enabled": self.enabled,
                "created": rfc3339(self.created), "tokens": self.tokens,
                "password": bool(self.password_hash)}  # fmt: skip


@dataclass(frozen=True)
class Token:
    id: str
    account: str
    kind: str
    description: str
    created: dt.datetime
    expires: dt.datetime | None
    revoked: dt.datetime | None
    last_used: dt.datetime | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        iso = rfc3339
        return {"id": self.id, "account": self.account, "kind": self.kind,
                "description": self.description, "issuedAt": iso(self.created),
                "expiresAt": iso(self.expires), "revokedAt": iso(self.revoked),
                "lastUsed": iso(self.last_used)}  # fmt: skip


def _account(row: AccountRow, tokens: int = 0) -> Account:
    return Account(row.name, row.password_hash, row.role, tuple(row.groups or ()), row.email,
                   row.enabled, aware(row.created) or now(), tokens)  # fmt: skip


def _token(row: TokenRow) -> Token:
    return Token(row.id, row.account, row.kind, row.description, aware(row.created) or now(),
                 aware(row.expires), aware(row.revoked), aware(row.last_used))  # fmt: skip


def create_account(
    store: Store, name: str, password_hash: str, role: str = "",
    groups: tuple[str, ...] = (), email: str = "",
) -> Account:  # fmt: skip
    """Add an account; ``ConflictError`` when the name is taken."""
    t = now()
    try:
        with store.session() as s:
            if s.get(AccountRow, name) is not None:
                raise ConflictError("account already exists", subject=f"account/{name}")
            row = AccountRow(name=name, password_hash=password_hash, role=role,
                             groups=list(groups), email=email, enabled=True, created=t,
                             updated=t)  # fmt: skip
            s.add(row)
            s.flush()
            return _account(row)
    except IntegrityError:
        raise ConflictError("account already exists", subject=f"account/{name}") from None


def find_account(store: Store, name: str) -> Account | None:
    with store.session() as s:
        row = s.get(AccountRow, name)
        return _account(row) if row is not None else None


def get_account(store: Store, name: str) -> Account:
    found = find_account(store, name)
    if found is None:
        raise NotFoundError("no such account", subject=f"account/{name}")
    return found


def list_accounts(store: Store) -> list[Account]:
    with store.session() as s:
        rows = list(s.scalars(select(AccountRow).order_by(AccountRow.name)))
        counts: dict[str, int] = {}
        for tok in s.scalars(select(TokenRow).where(TokenRow.revoked.is_(None))):
            counts[tok.account] = counts.get(tok.account, 0) + 1
        return [_account(r, counts.get(r.name, 0)) for r in rows]


def set_password(store: Store, name: str, password_hash: str) -> None:
    with store.session() as s:
        row = s.get(AccountRow, name)
        if row is None:
            raise NotFoundError("no such account", subject=f"account/{name}")
        row.password_hash, row.updated = password_hash, now()


def delete_account(store: Store, name: str) -> None:
    """Remove an account and every token it had."""
    with store.session() as s:
        row = s.get(AccountRow, name)
        if row is None:
            raise NotFoundError("no such account", subject=f"account/{name}")
        s.execute(delete(TokenRow).where(TokenRow.account == name))
        s.delete(row)


def add_token(
    store: Store, account: str, token_id: str, secret_sha256: str, *,
    kind: str = "api", description: str = "", expires: dt.datetime | None = None,
) -> Token:  # fmt: skip
    with store.session() as s:
        if s.get(AccountRow, account) is None:
            raise NotFoundError("no such account", subject=f"account/{account}")
        if s.get(TokenRow, token_id) is not None:
            raise ConflictError("token id already used", subject=f"account/{account}/{token_id}")
        row = TokenRow(id=token_id, account=account, secret_sha256=secret_sha256, kind=kind,
                       description=description, created=now(), expires=expires)  # fmt: skip
        s.add(row)
        s.flush()
        return _token(row)


def token_by_secret(store: Store, secret_sha256: str) -> tuple[Token, Account] | None:
    """The token with this secret hash and its account (marking it used), else None."""
    with store.session() as s:
        row = s.scalars(select(TokenRow).where(TokenRow.secret_sha256 == secret_sha256)).first()
        if row is None:
            return None
        acct = s.get(AccountRow, row.account)
        if acct is None:
            return None
        row.last_used = now()
        return _token(row), _account(acct)


def list_tokens(store: Store, account: str) -> list[Token]:
    with store.session() as s:
        if s.get(AccountRow, account) is None:
            raise NotFoundError("no such account", subject=f"account/{account}")
        rows = s.scalars(
            select(TokenRow).where(TokenRow.account == account).order_by(TokenRow.created)
        )
        return [_token(r) for r in rows]


def revoke_token(store: Store, account: str, token_id: str) -> Token:
    """Mark a token revoked (kept, so ``token list`` shows when); NotFound if not this account's."""
    with store.session() as s:
        row = s.get(TokenRow, token_id)
        if row is None or row.account != account:
            raise NotFoundError("no such token", subject=f"account/{account}/{token_id}")
        if row.revoked is None:
            row.revoked = now()
        return _token(row)
