"""A watch's feed on PostgreSQL: the database's own change notifications (``shipway.cli.changes``).

Migration 0014's triggers ``pg_notify`` after every statement that writes a
watched table; the feed LISTENs on the channels of the tables its command
reads (``shipway.store.listen``: one connection, opened again when lost) and
wakes the watcher as soon as one arrives. Every ``FALLBACK_POLL`` seconds it
also reads the event stream's newest position (``changes_seq``: one indexed
query), so a notification that never comes (a trigger dropped, the
connection down) costs latency, not the change. May touch: the database,
LISTEN and that one query.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shipway.cli.changes_seq import EventSeqFeed
from shipway.store.listen import FALLBACK_POLL, Listener

if TYPE_CHECKING:
    from shipway.store.reads import Reader


class ListenFeed:
    def __init__(self, reader: Reader, url: str, tables: Sequence[str],
                 poll: float = FALLBACK_POLL) -> None:  # fmt: skip
        self.listener = Listener(url, tables)  # LISTENing before the token and the first fetch
        self.tables = self.listener.tables
        self.seen = self.listener.mark(self.tables)
        self.seq = EventSeqFeed(reader, tick=poll)
        self.poll = poll
        self.due = time.monotonic() + poll

    def _seq_moved(self) -> bool:
        now = self.seq.token()
        moved, self.seq.last = now != self.seq.last, now
        return moved

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if now >= self.due:
                self.due = now + self.poll
                if self._seq_moved():
                    return True
            left = end - now
            if left <= 0:
                return False
            mark = self.listener.wait(self.tables, self.seen, min(left, self.due - now))
            if mark != self.seen:
                self.seen = mark
                self._seq_moved()  # what the next fallback poll compares with
                self.due = time.monotonic() + self.poll
                return True

    def close(self) -> None:
        self.listener.close()
