"""The store's group commit alone (``store.group_commit``): its two callers, in process.

1. Inbox ``put`` (a thread waits): N items from 1 writer thread, then from 8.
2. Inbox ``put_future`` awaited from one event loop, ``--concurrency`` at a time (as the
   async ``/hooks`` handlers do): per-put latency p50/p99 beside the rate; then the same
   while 2 threads work as the controller's lanes (take, emit an event, complete).
3. Event ``emit``: N events from 1 writer thread, then from 4 and 8 (distinct objects, so
   every event is a new row).

Each line gives the rate (wall), the process's CPU time per item (other load on a shared
machine changes the wall figures, much less the CPU ones), and the transactions
committed per item (the grouping). The load average is printed first.

    .venv/bin/python bench/group_commit.py [-n 4000] [--concurrency 50] [--repeat 3]
        [--backend postgresql] [--only inbox|events]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event

from shipway.model.events import ObjectRef
from shipway.settings import Settings
from shipway.store import events, inbox
from shipway.store.db import Store, open_store


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


class Commits:
    def __init__(self, store: Store) -> None:
        self.n = 0
        sa_event.listen(store.engine, "commit", self._count)

    def _count(self, _conn: Any) -> None:
        self.n += 1


def threads(n: int, writers: int, one: Callable[[int, int], object]) -> None:
    """``n`` calls of ``one(writer, i)`` shared by ``writers`` threads, started together."""
    per = n // writers
    start = threading.Barrier(writers)

    def run(k: int) -> None:
        start.wait()
        for i in range(per):
            one(k, i)

    ts = [threading.Thread(target=run, args=(k,)) for k in range(writers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def measured(label: str, n: int, commits: Commits, run: Callable[[], str]) -> dict[str, Any]:
    c0, w0, k0 = time.process_time(), time.perf_counter(), commits.n
    extra = run()
    wall, cpu, k = time.perf_counter() - w0, time.process_time() - c0, commits.n - k0
    return {"rate": n / wall, "cpu_us": cpu / n * 1e6, "commits": k / n, "label": label,
            "extra": extra}  # fmt: skip


def awaited(store: Store, n: int, concurrency: int, tag: str) -> str:
    lat: list[float] = []

    async def one(i: int, sem: asyncio.Semaphore) -> None:
        async with sem:
            t0 = time.perf_counter()
            await asyncio.wrap_future(inbox.put_future(store, "bench", {"i": i}, f"{tag}-{i}"))
            lat.append(time.perf_counter() - t0)

    async def main() -> None:
        sem = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(one(i, sem) for i in range(n)))

    asyncio.run(main())
    return f"{statistics.median(lat) * 1e3:.2f} {pct(lat, 99) * 1e3:.2f}"


def beside_lanes(store: Store, n: int, concurrency: int, tag: str) -> str:
    """``awaited`` while 2 threads work as the controller's lanes do: take an item, emit an
    event, complete it (the store's write lock shared with the inbox's writer)."""
    stop = threading.Event()

    def lane(k: int) -> None:
        owner, i = inbox.owner_id(), 0
        while not stop.is_set():
            item = inbox.take(store, owner, ["bench"])
            events.emit(store, ObjectRef("Freight", f"{tag}-lane{k}-{i}", "bench"), "Bench", "m")
            if item is not None:
                inbox.complete(store, item.id, owner)
            i += 1

    lanes = [threading.Thread(target=lane, args=(k,)) for k in range(2)]
    for t in lanes:
        t.start()
    try:
        return awaited(store, n, concurrency, tag)
    finally:
        stop.set()
        for t in lanes:
            t.join()


def rounds(store: Store, n: int, concurrency: int, r: int, only: str) -> list[dict[str, Any]]:
    commits = Commits(store)
    out = []

    def put(k: int, i: int) -> None:
        inbox.put(store, "bench", {"k": k, "i": i})

    def emit(k: int, i: int) -> None:
        events.emit(store, ObjectRef("Freight", f"r{r}-{k}-{i}", "bench"), "Bench", "m")

    def writing(writers: int, one: Callable[[int, int], object]) -> Callable[[], str]:
        def run() -> str:
            threads(n, writers, one)
            return ""

        return run

    for writers in (1, 8) if only != "events" else ():
        out.append(measured(f"inbox put, {writers} writer(s)", n, commits, writing(writers, put)))
    if only != "events":
        out.append(measured(f"inbox put_future, {concurrency} awaited at a time", n, commits,
                            lambda: awaited(store, n, concurrency, f"r{r}")))  # fmt: skip
        out.append(measured(f"inbox put_future, {concurrency} awaited at a time, while 2 "
                            "threads emit events and take + complete inbox items", n, commits,
                            lambda: beside_lanes(store, n, concurrency, f"l{r}")))  # fmt: skip
    for writers in (1, 4, 8) if only != "inbox" else ():
        out.append(measured(f"event emit, {writers} writer(s)", n, commits, writing(writers, emit)))
    return out


def latency(rows: list[dict[str, Any]]) -> str:
    if not rows[0]["extra"]:
        return ""
    p50, p99 = zip(*(map(float, x["extra"].split()) for x in rows), strict=True)
    return (f"; a put's latency, median of the rounds: p50 {statistics.median(p50):.1f} ms, "
            f"p99 {statistics.median(p99):.1f} ms")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--only", choices=["inbox", "events", ""], default="")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-gc-"))
    if args.backend == "postgresql":
        sys.path.insert(0, str(Path(__file__).parent))
        from webhooks import postgres  # the same throwaway server as the webhook bench

        ctx: Any = postgres()
    else:
        ctx = nullcontext("")
    with ctx as url:
        store = open_store(Settings(home=home, database_url=url))
        print(f"store: {args.backend}; load {os.getloadavg()[0]:.1f} (1 min), "
              f"{os.cpu_count()} cores; n={args.n}, best and median of {args.repeat}")  # fmt: skip
        results = [
            rounds(store, args.n, args.concurrency, r, args.only) for r in range(args.repeat)
        ]
        for i, first in enumerate(results[0]):
            rows = [res[i] for res in results]
            rate = [x["rate"] for x in rows]
            cpu = [x["cpu_us"] for x in rows]
            print(f"{first['label']}: {max(rate):.0f}/{statistics.median(rate):.0f} items/s, "
                  f"{min(cpu):.0f}/{statistics.median(cpu):.0f} us CPU an item, "
                  f"{statistics.median(x['commits'] for x in rows):.3f} commits an item"
                  + latency(rows))  # fmt: skip
        print(f"load after: {os.getloadavg()[0]:.1f} (1 min)")
        store.close()


if __name__ == "__main__":
    main()
