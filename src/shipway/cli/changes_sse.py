"""A watch's feed on a controller: its event stream (``GET /api/events/stream``, SSE).

A thread reads the stream (``shipway.server.sse``: ``id: SEQ`` and ``data:``
per event, ``: heartbeat`` comments) and each event wakes the watcher at once.
A stream that drops is opened again with ``Last-Event-ID`` (what happened
meanwhile wakes it too) after ``RETRY`` seconds; a controller that refuses it
(no such endpoint, no right to read events) leaves only the watcher's bounded
fallback fetch (``shipway.cli.changes``). May touch: the controller, GET only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipway.cli.remote import Target

RETRY = 2.0
HEARTBEAT = 15.0


class SseFeed:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.changed = threading.Event()
        self.stopping = threading.Event()
        self.refused = False
        self.last = ""
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._read, name="shipway-sse", daemon=True)
        self.thread.start()
        self.opened.wait(5.0)  # the stream is open (or refused) before the first fetch

    def _read(self) -> None:
        import httpx

        while not self.stopping.is_set():
            headers = {"Last-Event-ID": self.last} if self.last else {}
            try:
                with self.target.client(timeout=HEARTBEAT * 2) as client, client.stream(
                    "GET", "/api/events/stream", params={"heartbeat": HEARTBEAT},
                    headers=headers) as resp:  # fmt: skip
                    if resp.status_code != 200:
                        self.refused = resp.status_code in (401, 403, 404, 405)
                        self.opened.set()
                        if self.refused:
                            return
                    else:
                        self.opened.set()
                        self._lines(resp.iter_lines())
            except httpx.HTTPError:
                self.opened.set()
            if self.last:  # it dropped: whatever happened meanwhile is a change
                self.changed.set()
            self.stopping.wait(RETRY)

    def _lines(self, lines: Iterator[str]) -> None:
        for line in lines:
            if self.stopping.is_set():
                return
            if line.startswith("id:"):
                self.last = line[3:].strip()
                self.changed.set()

    def wait(self, timeout: float) -> bool:
        woke = self.changed.wait(timeout)
        self.changed.clear()
        return woke

    def close(self) -> None:
        self.stopping.set()
