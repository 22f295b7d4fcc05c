"""A watch's feed on the local SQLite store: ``PRAGMA data_version`` (``shipway.cli.changes``).

SQLite bumps a connection's ``data_version`` whenever another connection
commits to the database, whatever it wrote; the feed keeps one connection
open (autocommit, so it holds no read transaction that would stall a WAL
checkpoint) and asks every ``TICK`` seconds: no table is read until it moves.
A database that does not exist yet is waited for (its file appearing is a
change). May touch: the database file, read only.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from shipway.cli.changes import TICK


class DataVersionFeed:
    def __init__(self, path: Path, tick: float = TICK) -> None:
        self.path, self.tick = path, tick
        self.conn: sqlite3.Connection | None = None
        self.version = self._version()

    def _version(self) -> int | None:
        if self.conn is None:
            if not self.path.exists():
                return None
            try:
                self.conn = sqlite3.connect(
                    f"{self.path.as_uri()}?mode=ro", uri=True, isolation_level=None,
                    check_same_thread=False)  # fmt: skip
            except sqlite3.Error:
                return None
        try:
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self.close()
            return None

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            was, now = self.version, self._version()
            if now != was:
                self.version = now
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.tick, left))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
