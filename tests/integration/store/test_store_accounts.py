"""Accounts and tokens on SQLite and a real PostgreSQL: the same answers, hashes only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.auth import accounts
from shipway.model.errors import ConflictError, NotFoundError, UnauthenticatedError
from shipway.model.release import now
from shipway.settings import Settings
from shipway.store import accounts as store_accounts
from shipway.store.db import Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    st = open_store(Settings(home=tmp_path / "home", database_url=url))
    with st.engine.begin() as conn:  # each test starts from empty tables
        for table in ("account_tokens", "accounts"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    yield st
    st.close()


def test_accounts_and_passwords(store: Store) -> None:
    acct = accounts.create(store, "alice", "alice-password", role="dev", groups=("team-a",))
    assert (acct.role, acct.groups) == ("role:dev", ("team-a",))
    with pytest.raises(ConflictError, match="account/alice: account already exists"):
        accounts.create(store, "alice", None)
    stored = store_accounts.get_account(store, "alice")
    assert stored.password_hash.startswith("$argon2id$")
    rec, token = accounts.login(store, "alice", "alice-password")
    assert rec.kind == "session" and rec.expires is not None
    assert accounts.authenticate(store, token).claims == {"groups": ["team-a"]}
    for name, password in (("alice", "wrong-password"), ("nobody", "alice-password")):
        with pytest.raises(UnauthenticatedError, match="invalid username or password"):
            accounts.login(store, name, password)
    accounts.create(store, "bot", None)
    with pytest.raises(UnauthenticatedError):
        accounts.login(store, "bot", "")  # token-only: no password matches


def test_tokens_expire_and_revoke(store: Store) -> None:
    accounts.create(store, "carol", None)
    rec, token = accounts.issue_token(store, "carol", expires_in=dt.timedelta(hours=1))
    assert token not in str(store_accounts.list_tokens(store, "carol"))
    who = accounts.authenticate(store, token)
    assert (who.name, who.token_id) == ("carol", rec.id)
    with pytest.raises(UnauthenticatedError, match="expired"):
        accounts.authenticate(store, token, at=now() + dt.timedelta(hours=2))
    store_accounts.revoke_token(store, "carol", rec.id)
    with pytest.raises(UnauthenticatedError, match="revoked"):
        accounts.authenticate(store, token)
    with pytest.raises(NotFoundError):
        store_accounts.revoke_token(store, "someone-else", rec.id)
    _rec2, other = accounts.issue_token(store, "carol")
    store_accounts.delete_account(store, "carol")
    with pytest.raises(UnauthenticatedError, match="invalid token"):
        accounts.authenticate(store, other)
    with pytest.raises(UnauthenticatedError, match="not a shipway token"):
        accounts.authenticate(store, "Bearer nonsense")


def test_bootstrap_admin_once(store: Store, tmp_path: Path) -> None:
    written = accounts.bootstrap_admin(store, tmp_path)
    assert written is not None and written.stat().st_mode & 0o777 == 0o600
    secret = accounts.initial_admin(tmp_path)
    assert secret is not None
    assert accounts.authenticate(store, secret["token"]).name == "admin"
    assert accounts.bootstrap_admin(store, tmp_path / "again") is None
