"""Token lifetimes as argocd's --expires-in durations, and token strings."""

from __future__ import annotations

import datetime as dt

import pytest

from shipway.auth import passwords, tokens
from shipway.model.errors import InputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("90m", 5400), ("1h30m", 5400), ("7d", 604800), ("1.5h", 5400),
     ("10s", 10), ("250ms", 0.25)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert tokens.parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "", "0s", "0h0m"])
def test_zero_is_never(text: str) -> None:
    assert tokens.parse_duration(text) is None


@pytest.mark.parametrize("text", ["24", "h", "1y", "-1h", "1h 30m", "soon"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError, match="invalid duration"):
        tokens.parse_duration(text)


def test_tokens_are_unique_and_hashed() -> None:
    (id1, t1), (id2, t2) = tokens.new_token(), tokens.new_token()
    assert id1 != id2 and t1 != t2
    assert t1.startswith(f"shw_{id1}_") and len(t1) > 50
    assert tokens.digest(t1) != tokens.digest(t2) and t1 not in tokens.digest(t1)


def test_passwords() -> None:
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert passwords.verify(stored, "correct horse")
    assert not passwords.verify(stored, "correct horsE")
    assert not passwords.verify("", "")
    assert not passwords.verify("not a hash", "x")
    with pytest.raises(InputError, match="at least 8"):
        passwords.hash_password("short")
