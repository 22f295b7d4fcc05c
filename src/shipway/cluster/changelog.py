"""Which applications' live objects changed since a token: an append-only log of app names.

Targets that keep live state in memory (``MemoryTarget``, the Kubernetes
watch cache) note each app whose objects change; ``since(token)`` returns
the current token and the apps noted after ``token`` (None when the token is
unknown or older than what is kept), so a refresh pass over 10,000 apps asks
for the few that changed instead of every app's version. Not thread-safe by
itself: callers hold their own lock. Touches nothing.
"""

from __future__ import annotations


class ChangeLog:
    """App names in the order their live objects changed, the oldest dropped past ``keep``."""

    def __init__(self, keep: int = 100_000) -> None:
        self.keep = keep
        self._base = 0
        self._log: list[str] = []

    def note(self, app: str) -> None:
        self._log.append(app)
        if len(self._log) > 2 * self.keep:
            del self._log[: self.keep]
            self._base += self.keep

    def since(self, token: int | None) -> tuple[int, set[str] | None]:
        """``(now, apps changed after token)``; None instead of apps when it cannot say."""
        now = self._base + len(self._log)
        if token is None or token < self._base or token > now:
            return now, None
        return now, set(self._log[token - self._base :])
