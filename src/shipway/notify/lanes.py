"""Concurrent delivery in lanes: a small bounded pool of sender threads, one lane a key.

A lane is an ordered queue of jobs for one key (``deliver`` uses the service
and recipient, or the service alone when it has a rate limit). At most one job
of a lane runs at a time, in the order submitted, so a message and its
update in place (one Slack thread, one PR comment) never race; jobs of
different lanes run at once on up to ``size`` threads. A lane takes one job a
turn and goes to the back of the ready queue, so a lane with a backlog does
not hold a thread while others wait, and a stalled service stalls only its
own lane (and one thread, until the service's timeout).

Each row is queued once: ``submit`` refuses a row id already queued or
running in this process (a row claimed again after its lease ran out while
its lane was busy). ``busy()`` gives those ids, for the claim to leave out.
The threads are daemons started when lanes need them, ending after ``IDLE``
seconds without work; a job interrupted by
``SystemExit`` or ``KeyboardInterrupt`` leaves it in ``Job.interrupted`` for
its waiter to raise (the thread goes on). Pure threading: touches
nothing but the jobs it is given.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

SIZE = 8
"""Sender threads a store's pool runs at most."""
IDLE = 30.0
"""Seconds a sender thread waits for work before it ends."""


@dataclass(eq=False)
class Job:
    row_id: int
    run: Callable[[], None]
    done: threading.Event = field(default_factory=threading.Event)
    interrupted: BaseException | None = None  # SystemExit, KeyboardInterrupt in its sender


class Lanes:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._lanes: dict[Hashable, deque[Job]] = {}
        self._ready: queue.SimpleQueue[Hashable] = queue.SimpleQueue()
        self._queued: set[int] = set()
        self._threads: list[threading.Thread] = []
        self.summarised: set[int] = set()  # rows a rate limit's summary stood for (deliver)

    def submit(self, lane: Hashable, job: Job) -> bool:
        """Queue ``job`` behind its lane's; False (not queued) when its row is queued already."""
        with self._lock:
            if job.row_id in self._queued:
                return False
            self._queued.add(job.row_id)
            jobs = self._lanes.get(lane)
            if jobs is None:
                self._lanes[lane] = deque([job])
                self._ready.put(lane)
            else:
                jobs.append(job)
            if len(self._threads) < min(self.size, len(self._lanes)):
                t = threading.Thread(target=self._work, name="notify-sender", daemon=True)
                self._threads.append(t)
                t.start()
        return True

    def busy(self) -> set[int]:
        """The row ids queued or being sent."""
        with self._lock:
            return set(self._queued)

    def _work(self) -> None:
        while True:
            try:
                lane = self._ready.get(timeout=IDLE)
            except queue.Empty:
                with self._lock:  # submit starts a thread again when lanes need one
                    if self._ready.empty():
                        self._threads.remove(threading.current_thread())
                        return
                continue
            with self._lock:
                job = self._lanes[lane].popleft()
            try:
                job.run()
            except Exception:  # a job records its own outcome; this is a bug in one
                log.exception("notification sender job for row %s failed", job.row_id)
            except BaseException as exc:  # the process is going down: its waiter re-raises
                job.interrupted = exc
            finally:
                with self._lock:
                    self._queued.discard(job.row_id)
                    if self._lanes[lane]:
                        self._ready.put(lane)  # its next job, after the other lanes' turns
                    else:
                        del self._lanes[lane]
                job.done.set()


_pools: weakref.WeakKeyDictionary[object, Lanes] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()


def for_store(store: object) -> Lanes:
    """The pool of ``store`` (one per store object in this process)."""
    with _pools_lock:
        found = _pools.get(store)
        if found is None:
            found = _pools[store] = Lanes()
        return found
