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
from concurrent.futures import Future
from dataclasses import dataclass

from shipway.git import repo as git_repo
from shipway.model.errors import GitError, ShipwayError

Flight = Future[dict[str, str]]


@dataclass
class _Repo:
    running: Flight | None = None
    next: Flight | None = None


def is_tip(refs: dict[str, str], ref: str, sha: str) -> bool:
    """Whether ``ref`` points at ``sha`` (for an annotated tag, the tag or its commit)."""
    return bool(sha) and sha in (refs.get(ref), refs.get(ref + "^{}"))


class Tips:
    """Shared ``ls-remote`` look-ups, one at a time per repository, each on a thread of its own.

    ``future(url)`` is the look-up a caller joins (an async handler waits on it
    with ``asyncio.wrap_future``, holding no thread); ``refs(url)`` waits for it.
    """

    def __init__(
        self, timeout: float = 60.0, lookup: Callable[[str], dict[str, str]] | None = None
    ) -> None:
        self._lookup = lookup or (lambda url: git_repo.ls_remote(url, timeout=timeout))
        self._lock = threading.Lock()
        self._repos: dict[str, _Repo] = {}
        self.lookups = 0

    def refs(self, url: str) -> dict[str, str]:
        """The server's refs of ``url``, from a look-up that started after this call."""
        return self.future(url).result()

    def future(self, url: str) -> Flight:
        """The next look-up of ``url`` to start (started now when none is under way)."""
        with self._lock:
            state = self._repos.setdefault(url, _Repo())
            if state.next is None:
                state.next = Future()
                state.next.set_running_or_notify_cancel()  # shared: no waiter may cancel it
            mine = state.next
            start = state.running is None
            if start:
                state.running, state.next = mine, None
        if start:
            threading.Thread(target=self._fly, args=(url, state, mine), daemon=True,
                             name="shipway-ls-remote").start()  # fmt: skip
        return mine

    def _fly(self, url: str, state: _Repo, flight: Flight | None) -> None:
        """Run ``flight``, then the look-up callers joined meanwhile, until none is waiting."""
        while flight is not None:
            refs: dict[str, str] | None = None
            error: ShipwayError | None = None
            try:
                self.lookups += 1
                refs = self._lookup(url)
            except ShipwayError as exc:
                error = exc
            except Exception as exc:  # a lookup that breaks must not leave waiters hanging
                error = GitError(f"ls-remote failed: {exc}", subject=url)
            with self._lock:
                done, flight = flight, state.next
                state.running, state.next = flight, None
            if error is not None:
                done.set_exception(error)
            else:
                assert refs is not None
                done.set_result(refs)
