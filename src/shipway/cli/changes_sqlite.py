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
from pathlib import Path

from shipway.cli.changes import TICK, Polled


class DataVersionFeed(Polled):
    def __init__(self, path: Path, tick: float = TICK) -> None:
        self.path, self.tick = path, tick
        self.conn: sqlite3.Connection | None = None
        self.last: object = self.token()

    def token(self) -> int | None:
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

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
