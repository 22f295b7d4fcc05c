"""Group commit: the writers of one process share transactions, one batch at a time.

Callers queue items on a store's ``GroupWriter``. Whoever leads takes up to
``max_batch`` queued items (in queue order, its own among them), writes them
in one transaction with the ``write(conn, items)`` function the writer was
given (one result per item), commits, and only then tells each item's caller
its result: a caller learns its item's result once it is durable, never
before. One batch is under way at a time, so what a batch reads (the newest
position, a key's row) no other batch of this process changes meanwhile.

Two kinds of callers, one queue:

- ``call(item)``, a thread that waits: the first to find nobody leading leads,
  on its own thread (a lone caller writes with no hand-off). It writes batches
  until its own item's is written, then hands the lead to the oldest caller
  still waiting, who does the same; so a caller waits behind at most one batch
  ahead of its own's, and the queue holds at most one item per waiting thread
  (plus the submitted ones). While batches are shared (``SHARED_FOR`` after
  one held several items) a caller leading yields the GIL before each batch,
  so the callers just told queue their next into it; a lone caller does not
  (the yield would only cost it).
- ``submit(item)`` gives a ``concurrent.futures.Future`` (an event loop awaits
  it through ``asyncio.wrap_future``: no thread held while it waits). When
  nobody leads, or only submitted items are left when a caller hands the lead
  on, the writer's thread leads: it writes until the queue is empty, then
  waits ``IDLE`` seconds to be handed the lead again, and ends (a process with
  many stores, a test run, keeps no idle threads).

A batch refused by ``retry_on`` (SQLite's lock or another process's
transaction: ``OperationalError``; for a stream whose positions another
process may take, also ``IntegrityError``) is written again whole, after a
short pause, ``retries`` times (then ``busy`` names the failure); a batch that
fails otherwise is written again one item a transaction, so one bad item fails
only its own caller. A driver error raised on the transaction's DBAPI cursor
(a ``write`` may use it: ``store.event_sql``) is told as SQLAlchemy's, so the
same rule sorts it; database errors reach the caller as ``ExternalError``. A
leader interrupted (``KeyboardInterrupt``) amid a batch tells the batch's other
callers that their item may not be stored, and hands the lead on. On SQLite
the transaction is taken under the store's in-process write lock
(``Store.write_lock``): this process's writers take turns instead of SQLite's
busy-wait sleeps. With ``writes=False`` the same machinery groups reads (one
``SELECT ... IN`` for every caller that came meanwhile), without the write
lock. ``per_store`` keeps one writer per store. Touches only what ``write``
writes (or reads).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import nullcontext
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from shipway.model.errors import ExternalError
from shipway.store.db import Store

I = TypeVar("I")  # noqa: E741  the item type
R = TypeVar("R")  # what ``write`` returns for each item

IDLE = 2.0
"""Seconds the writer thread waits to be handed the lead before it ends."""
SHARED_FOR = 0.1
"""Seconds after a batch of several items during which a caller leading yields the GIL first."""


class _Pending(Generic[I, R]):
    """One queued item and, once its batch committed, its result (or error)."""

    __slots__ = ("done", "error", "finished", "future", "item", "lead", "result")

    def __init__(self, item: I, future: Future[R] | None) -> None:
        self.item, self.future = item, future  # a future: submitted, told through it
        self.done: threading.Event | None = None  # a caller's, made when it must wait
        self.lead = False  # handed the lead: write the queue's next batches
        self.finished = False
        self.result: R | None = None
        self.error: BaseException | None = None

    def tell(self, result: R | None, error: BaseException | None) -> None:
        self.finished = True
        if self.future is not None:
            if error is None:
                self.future.set_result(cast(R, result))
            else:
                self.future.set_exception(error)
            return
        self.result, self.error = result, error
        if self.done is not None:
            self.done.set()


class GroupWriter(Generic[I, R]):
    """Writes queued items in batches; ``write(conn, items)`` returns one result per item."""

    def __init__(
        self,
        store: Store,
        write: Callable[[Connection, Sequence[I]], list[R]],
        name: str,
        max_batch: int = 256,
        *,
        writes: bool = True,
        subject: str = "",
        retry_on: tuple[type[Exception], ...] = (OperationalError,),
        retries: int = 10,
        busy: Callable[[Sequence[I], ExternalError], Exception] | None = None,
    ) -> None:
        self.store, self.write, self.name, self.max_batch = store, write, name, max_batch
        self.writes = writes  # False: a group of reads (no write lock taken)
        self.subject = subject or name  # what a database error is about
        self.retry_on, self.retries, self.busy = retry_on, retries, busy
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the writer thread waits for the lead
        self._queue: deque[_Pending[I, R]] = deque()
        self._leading = False  # a caller or the thread leads (writes the next batches)
        self._thread_alive = False
        self._thread_leads = False  # the lead is the thread's
        self._shared = -SHARED_FOR  # when a batch last held several items (monotonic)
        self.batches = 0  # transactions committed (for benches and tests)

    def queued(self) -> int:
        """Items waiting for a batch (not those being written)."""
        return len(self._queue)

    def submit(self, item: I) -> Future[R]:
        """Queue ``item``; its future resolves once its batch committed (or fails with it)."""
        fut: Future[R] = Future()
        fut.set_running_or_notify_cancel()  # a waiter that gives up does not take it back
        with self._lock:
            self._queue.append(_Pending(item, fut))
            if not self._leading:
                self._leading = True
                self._to_thread()
        return fut

    def call(self, item: I) -> R:
        """Write ``item`` and return its result once committed: on this thread when nobody
        leads (or when handed the lead), else in the batch of the caller leading."""
        me: _Pending[I, R] = _Pending(item, None)
        if self._leading:  # likely to wait: its wake-up made before the lock is taken
            me.done = threading.Event()
        with self._lock:
            lead = not self._leading
            self._leading = True
            if not lead and me.done is None:  # made before it is queued: who tells it finds it
                me.done = threading.Event()
            self._queue.append(me)
        if not lead:
            self._wait(me)
            lead = me.lead
        if lead:
            self._lead(me)
        if me.error is not None:
            raise me.error
        return cast(R, me.result)

    def _wait(self, me: _Pending[I, R]) -> None:
        assert me.done is not None
        try:
            me.done.wait()
        except BaseException:  # interrupted while queued: out of the queue, the lead passed on
            with self._lock:
                if me.lead:
                    self._queue.remove(me)
                    self._hand_on()
                elif not me.finished and me in self._queue:
                    self._queue.remove(me)
            raise
        if me.lead:
            me.done = None  # it leads: it writes its own batch, nobody tells it

    def _lead(self, me: _Pending[I, R] | None) -> None:
        """Write batches until ``me``'s is written (the thread, ``me`` None: until the queue
        is empty), then hand the lead on or give it up."""
        batch: list[_Pending[I, R]] = []
        try:
            while me is None or not me.finished:
                # While batches are shared, let the callers just told queue their next: a
                # fuller batch. A lone caller's yield would only cost it; the thread's would
                # hand the GIL to an event loop for up to a switch interval, while the
                # batch's awaiting handlers wait.
                if me is not None and time.monotonic() - self._shared < SHARED_FOR:
                    time.sleep(0)
                with self._lock:
                    n = min(self.max_batch, len(self._queue))
                    if n == 0:
                        break  # the thread's queue is empty (a caller's own is always in it)
                    batch = [self._queue.popleft() for _ in range(n)]
                if n > 1:
                    self._shared = time.monotonic()
                self._write_batch(batch)
                batch = []
        finally:
            for p in batch:  # the leader interrupted (KeyboardInterrupt) amid a batch
                if not p.finished and p is not me:
                    p.tell(None, ExternalError(
                        f"{self.name}: the writer of this item's batch was interrupted; "
                        "it may not be stored", subject=self.subject))  # fmt: skip
            with self._lock:
                if me is None:
                    self._thread_leads = False
                elif not me.finished and me in self._queue:  # interrupted before its batch:
                    self._queue.remove(me)  # out, or the lead would be handed to it
                self._hand_on()

    def _hand_on(self) -> None:
        """(Under the lock.) The lead to the oldest waiting caller, else to the thread for
        submitted items, else nobody leads."""
        if not self._queue:
            self._leading = False
            return
        for p in self._queue:
            if p.future is None:  # a caller waiting
                assert p.done is not None
                p.lead = True
                p.done.set()
                return
        self._to_thread()

    def _to_thread(self) -> None:
        """(Under the lock.) The writer thread leads: woken, or started."""
        self._thread_leads = True
        if self._thread_alive:
            self._wake.notify()
            return
        self._thread_alive = True
        threading.Thread(target=self._run, name=f"shipway-{self.name}-writer",
                         daemon=True).start()  # fmt: skip

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._thread_leads:
                        self._wake.wait(IDLE)
                    if not self._thread_leads:
                        self._thread_alive = False
                        return
                self._lead(None)
        except BaseException:  # the batch's callers were told; the lead to a new thread
            with self._lock:
                self._thread_alive = False
                if self._thread_leads:
                    self._to_thread()
            raise

    def _write_batch(self, batch: list[_Pending[I, R]]) -> None:
        try:
            results = self._commit([p.item for p in batch])
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:  # one bad item fails only its own caller
                    self._write_batch([one])
                return
            batch[0].tell(None, exc)
            return
        for p, result in zip(batch, results, strict=True):
            p.tell(result, None)

    def _commit(self, items: list[I]) -> list[R]:
        """One transaction for the batch; again, whole, when ``retry_on`` refused it."""
        dbapi_error: type[Exception] = self.store.engine.dialect.loaded_dbapi.Error
        for attempt in range(self.retries):
            try:
                try:
                    lock = self.store.write_lock() if self.writes else nullcontext()
                    with lock, self.store.engine.begin() as conn:
                        results = self.write(conn, items)
                except dbapi_error as exc:  # raised on the DBAPI cursor: told as SQLAlchemy's
                    raise DBAPIError.instance(None, None, exc, dbapi_error) from exc
            except SQLAlchemyError as exc:
                err = ExternalError(f"database error: {exc}", subject=self.subject)
                if not isinstance(exc, self.retry_on):
                    raise err from exc
                if attempt == self.retries - 1:
                    raise (self.busy(items, err) if self.busy else err) from exc
                time.sleep(0.005 * (attempt + 1))
                continue
            self.batches += 1
            return results
        raise AssertionError("unreachable")


W = TypeVar("W", bound="GroupWriter[Any, Any]")


def per_store(make: Callable[[Store], W]) -> Callable[[Store], W]:
    """``make(store)`` once per store (kept while the store lives), then the same writer."""
    made: weakref.WeakKeyDictionary[Store, W] = weakref.WeakKeyDictionary()
    lock = threading.Lock()

    def writer(store: Store) -> W:
        w = made.get(store)  # the hot path takes no lock (a lock the GIL may convoy)
        if w is None:
            with lock:
                w = made.get(store)
                if w is None:
                    w = made[store] = make(store)
        return w

    return writer
