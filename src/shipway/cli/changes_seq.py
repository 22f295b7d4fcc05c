"""A watch's feed on a server database (PostgreSQL): the event stream's newest position.

Every stage records what it does as an event (``shipway.store.events``),
whose ``seq`` is gapless in commit order: ``max(seq)`` moving (one indexed
query every ``TICK`` seconds) says something happened. Writes that record no
event show at the watcher's fallback fetch (``shipway.cli.changes``). May
touch: the database, read only.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from shipway.cli.changes import TICK

if TYPE_CHECKING:
    from shipway.store.reads import Reader


class EventSeqFeed:
    def __init__(self, reader: Reader, tick: float = TICK) -> None:
        self.reader, self.tick = reader, tick
        self.seq = self._seq()

    def _seq(self) -> int:
        rows = self.reader.rows("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(rows[0][0] or 0) if rows else 0

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            now = self._seq()
            if now != self.seq:
                self.seq = now
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.tick, left))

    def close(self) -> None:
        pass
