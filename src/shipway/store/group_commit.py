"""Group commit through one writer thread: many callers' items, one transaction per batch.

A caller ``submit``s an item and gets a ``concurrent.futures.Future``; a
thread of callers waits on ``result()``, an event loop on
``asyncio.wrap_future`` (so an async handler holds no thread while it waits).
One writer thread per ``GroupWriter`` takes what is queued (up to
``max_batch``, in queue order), writes it in one transaction with the
``write`` function it was given, commits, and only then resolves each
item's future: a future's result means the item is durable, never before.
The writer thread starts on the first item and ends after ``IDLE`` seconds
with nothing queued (a process with many stores, a test run, keeps no idle
threads). ``call`` is the synchronous form: a caller that finds nothing being
written or queued writes its item on its own thread (a lone writer pays no
hand-off); otherwise it queues and waits like the others.

A batch that SQLite's lock or another process's transaction refused
(``OperationalError``) is written again whole, a few times, after a short
pause; a batch that fails otherwise is written again one item a transaction,
so one bad item fails only its own future. On SQLite the transaction is
taken under the store's in-process write lock (``Store.write_lock``): the
writers of this process take turns instead of SQLite's busy-wait sleeps.

The same shape as ``event_writer`` (queue, batch, commit, then tell each
writer), with a thread of its own instead of a leading caller, so async
callers can wait without a thread. With ``writes=False`` the same machinery
groups reads (one ``SELECT ... IN`` for every caller that came meanwhile),
without the write lock. Touches only what ``write`` writes (or reads).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import nullcontext
from typing import Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from shipway.model.errors import ExternalError
from shipway.store.db import Store

I = TypeVar("I")  # noqa: E741  the item type
R = TypeVar("R")  # what ``write`` returns for each item

IDLE = 2.0
"""Seconds the writer thread waits for more items before it ends."""
_RETRIES = 10


class GroupWriter(Generic[I, R]):
    """Writes submitted items in batches; ``write(conn, items)`` returns one result per item."""

    def __init__(
        self,
        store: Store,
        write: Callable[[Connection, Sequence[I]], list[R]],
        name: str,
        max_batch: int = 256,
        *,
        writes: bool = True,
    ) -> None:
        self.store, self.write, self.name, self.max_batch = store, write, name, max_batch
        self.writes = writes  # False: a group of reads (no write lock taken)
        self._cond = threading.Condition()
        self._queue: deque[tuple[I, Future[R]]] = deque()
        self._running = False  # the writer thread is alive
        self._busy = False  # a batch is being written (by the thread or a caller's own)
        self.batches = 0  # transactions committed (for benches and tests)

    def submit(self, item: I) -> Future[R]:
        """Queue ``item``; its future resolves once its batch committed (or fails with it)."""
        fut: Future[R] = Future()
        fut.set_running_or_notify_cancel()  # a waiter that gives up does not take it back
        with self._cond:
            self._queue.append((item, fut))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name=f"shipway-{self.name}-writer",
                                 daemon=True).start()  # fmt: skip
            else:
                self._cond.notify()
        return fut

    def call(self, item: I) -> R:
        """Write ``item`` and return its result, on this thread when nothing else is being
        written (no hand-off to the writer thread), else in the writer's next batch."""
        with self._cond:
            inline = not self._busy and not self._queue
            if inline:
                self._busy = True
        if not inline:
            return self.submit(item).result()
        fut: Future[R] = Future()
        fut.set_running_or_notify_cancel()
        try:
            self._write_batch([(item, fut)])
        finally:
            with self._cond:
                self._busy = False
                if self._queue:  # queued meanwhile: the thread (alive, see submit) takes it
                    self._cond.notify()
        return fut.result()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait(IDLE)
                if not self._queue:
                    self._running = False
                    return
                n = min(self.max_batch, len(self._queue))
                batch = [self._queue.popleft() for _ in range(n)]
                self._busy = True
            try:
                self._write_batch(batch)
            finally:
                with self._cond:
                    self._busy = False

    def _write_batch(self, batch: list[tuple[I, Future[R]]]) -> None:
        try:
            results = self._commit([item for item, _ in batch])
        except BaseException as exc:
            if len(batch) > 1 and isinstance(exc, Exception):
                for one in batch:  # one bad item fails only its own caller
                    self._write_batch([one])
                return
            for _, fut in batch:
                fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, fut), result in zip(batch, results, strict=True):
            fut.set_result(result)

    def _commit(self, items: list[I]) -> list[R]:
        for attempt in range(_RETRIES):
            try:
                lock = self.store.write_lock() if self.writes else nullcontext()
                with lock, self.store.engine.begin() as conn:
                    results = self.write(conn, items)
                self.batches += 1
                return results
            except OperationalError as exc:  # locked by another process: the batch again
                if attempt == _RETRIES - 1:
                    raise ExternalError(f"database error: {exc}", subject=self.name) from exc
                time.sleep(0.005 * (attempt + 1))
            except SQLAlchemyError as exc:
                raise ExternalError(f"database error: {exc}", subject=self.name) from exc
        raise AssertionError("unreachable")
