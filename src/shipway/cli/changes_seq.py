"""A watch's feed on a server database (PostgreSQL): the event stream's newest position.

Every stage records what it does as an event (``shipway.store.events``),
whose ``seq`` is gapless in commit order: ``max(seq)`` moving (one indexed
query every ``TICK`` seconds) says something happened. Writes that record no
event show at the watcher's fallback fetch (``shipway.cli.changes``). May
touch: the database, read only.
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
