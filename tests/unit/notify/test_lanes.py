"""The sender pool (``notify.lanes``): one lane's jobs one at a time in order, other lanes
meanwhile, a row queued once, and a sender's SystemExit handed to its waiter."""

from __future__ import annotations

import threading

from shipway.notify.lanes import Job, Lanes


def test_a_lane_runs_in_order_while_another_runs_beside_a_stalled_one() -> None:
    pool = Lanes(size=4)
    release, log = threading.Event(), []

    def stall() -> None:
        log.append("a1 start")
        release.wait(30)
        log.append("a1 end")

    first = Job(1, stall)
    second = Job(2, lambda: log.append("a2"))
    other = Job(3, lambda: log.append("b1"))
    assert pool.submit("a", first) and pool.submit("a", second) and pool.submit("b", other)
    assert other.done.wait(30)  # lane b is not behind lane a's stalled job
    assert not second.done.is_set() and "a2" not in log
    assert pool.busy() == {1, 2}
    assert not pool.submit("a", Job(2, lambda: log.append("again")))  # queued already
    release.set()
    assert second.done.wait(30)
    assert [x for x in log if x.startswith("a")] == ["a1 start", "a1 end", "a2"]
    assert pool.busy() == set()


def test_a_senders_system_exit_reaches_its_waiter_and_the_pool_goes_on() -> None:
    pool = Lanes(size=1)

    def die() -> None:
        raise SystemExit("killed")

    job = Job(1, die)
    pool.submit("a", job)
    assert job.done.wait(30)
    assert isinstance(job.interrupted, SystemExit)
    after = Job(2, lambda: None)
    pool.submit("a", after)
    assert after.done.wait(30)
