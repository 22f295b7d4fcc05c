"""Where a repository's refs point now, asked of its git server (``git ls-remote``).

The controller never trusts a pushed sha: it asks the server. Many hooks for
one repository at once share look-ups, without ever using an answer older
than the question: a caller joins the next look-up to *start*, never one
already under way (which could predate its push), so a burst of any size
costs at most two ``ls-remote`` calls per repository. Touches only the git
server, through ``shipway.git.repo``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from shipway.git import repo as git_repo
from shipway.model.errors import GitError, ShipwayError


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    refs: dict[str, str] | None = None
    error: ShipwayError | None = None


@dataclass
class _Repo:
    running: _Flight | None = None
    next: _Flight | None = None


def is_tip(refs: dict[str, str], ref: str, sha: str) -> bool:
    """Whether ``ref`` points at ``sha`` (for an annotated tag, the tag or its commit)."""
    return bool(sha) and sha in (refs.get(ref), refs.get(ref + "^{}"))


class Tips:
    """Shared ``ls-remote`` look-ups, one at a time per repository."""

    def __init__(
        self, timeout: float = 60.0, lookup: Callable[[str], dict[str, str]] | None = None
    ) -> None:
        self._lookup = lookup or (lambda url: git_repo.ls_remote(url, timeout=timeout))
        self._lock = threading.Lock()
        self._repos: dict[str, _Repo] = {}
        self.lookups = 0

    def refs(self, url: str) -> dict[str, str]:
        """The server's refs of ``url``, from a look-up that started after this call."""
        with self._lock:
            state = self._repos.setdefault(url, _Repo())
            if state.next is None:
                state.next = _Flight()
            mine = state.next
        while True:
            with self._lock:
                if mine.done.is_set():
                    break
                run = state.running is None
                if run:
                    state.running, state.next = mine, None
                wait_for = state.running
            if run:
                self._fly(url, state, mine)
                break
            assert wait_for is not None
            wait_for.done.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.refs is not None
        return mine.refs

    def _fly(self, url: str, state: _Repo, flight: _Flight) -> None:
        try:
            self.lookups += 1
            flight.refs = self._lookup(url)
        except ShipwayError as exc:
            flight.error = exc
        except Exception as exc:  # a lookup that breaks must not leave waiters hanging
            flight.error = GitError(f"ls-remote failed: {exc}", subject=url)
        finally:
            with self._lock:
                state.running = None
            flight.done.set()
