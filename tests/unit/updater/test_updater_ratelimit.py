"""The shared per-registry budget: token bucket pacing and a common pause after 429."""

from __future__ import annotations

import httpx

from shipway.updater.ratelimit import Budget, BudgetTransport, retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_paces_requests_per_host() -> None:
    clock = FakeClock()
    budget = Budget(rate=10.0, burst=2, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        budget.acquire("a")
    budget.acquire("b")  # another host has its own bucket
    assert round(clock.now, 3) == 0.2  # two from the burst, two at 10/s
    assert budget.stats("a") == {"requests": 4, "throttled": 0}


def test_429_pauses_every_caller_of_the_host() -> None:
    clock = FakeClock()
    budget = Budget(rate=1000.0, burst=10, clock=clock, sleep=clock.sleep)
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"tags": []})

    one = httpx.Client(transport=BudgetTransport(budget, "r", httpx.MockTransport(handler)))
    two = httpx.Client(transport=BudgetTransport(budget, "r", httpx.MockTransport(handler)))
    assert one.get("http://r/v2/a/tags/list").status_code == 429
    assert two.get("http://r/v2/b/tags/list").status_code == 200  # waited for the pause
    assert clock.now >= 7.0 and budget.stats("r")["throttled"] == 1


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    date = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(date, now=1445412470.0) == 10.0
    assert retry_after(httpx.Response(429)) > 0
