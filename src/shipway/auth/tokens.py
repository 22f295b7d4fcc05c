"""Token strings and lifetimes (pure).

A token is ``shw_<id>_<secret>``: the id names it in ``token list`` and
``token revoke``; the store keeps only the SHA-256 of the whole string (the
secret is 256 random bits, so a fast hash is enough, unlike passwords).
Lifetimes are Go durations as ``argocd account generate-token --expires-in``
takes them (``90m``, ``24h``, ``1h30m``), plus ``d`` for days; ``0`` means
never.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from shipway.model.errors import InputError

PREFIX = "shw_"

_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def new_token() -> tuple[str, str]:
    """A fresh ``(id, token)``."""
    token_id = secrets.token_hex(8)
    return token_id, f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_duration(text: str, *, subject: str = "--expires") -> dt.timedelta | None:
    """``24h`` → 24 hours; ``0``/``0s``/empty → None (never expires)."""
    text = text.strip()
    if text in ("", "0"):
        return None
    pos, seconds = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise InputError(
            f"invalid duration {text!r}: use e.g. 30m, 24h, 7d or 1h30m (0 for never)",
            subject=subject,
        )
    return dt.timedelta(seconds=seconds) if seconds > 0 else None
