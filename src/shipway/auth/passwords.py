"""Account passwords as argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shipway.model.errors import InputError

_hasher = PasswordHasher()

MIN_LENGTH = 8


def hash_password(password: str, *, subject: str = "password") -> str:
    """The argon2 string stored for ``password``; too short a password is refused."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"a password needs at least {MIN_LENGTH} characters", subject=subject)
    return _hasher.hash(password)


def verify(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (an empty hash matches nothing)."""
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
