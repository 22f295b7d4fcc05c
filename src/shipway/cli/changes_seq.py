"""The event stream's newest position as a change signal: the PostgreSQL watch's fallback poll.

Every stage records what it does as an event (``shipway.store.events``),
whose ``seq`` is gapless in commit order: ``max(seq)`` moving (one indexed
query) says something happened. ``changes_listen`` reads it every
``shipway.store.listen.FALLBACK_POLL`` seconds beside the database's
notifications, in case one is lost; writes that record no event and whose
notification is lost show at the watcher's fallback fetch
(``shipway.cli.changes``). May touch: the database, read only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.cli.changes import TICK, Polled

if TYPE_CHECKING:
    from shipway.store.reads import Reader


class EventSeqFeed(Polled):
    def __init__(self, reader: Reader, tick: float = TICK) -> None:
        self.reader, self.tick = reader, tick
        self.last = self.token()

    def token(self) -> int:
        rows = self.reader.rows("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(rows[0][0] or 0) if rows else 0
