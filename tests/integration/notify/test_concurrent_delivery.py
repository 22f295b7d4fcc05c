"""Concurrent delivery (``notify.lanes``): a stalled receiver holds only its own lane, and one
lane's messages go one after another, in order, even when the first one stalls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from notify_receivers import Received, Receiver, _serve

from shipway.notify import deliver
from shipway.notify.config import ServiceConfig
from shipway.notify.deliver import Target
from shipway.notify.services import service_for
from shipway.settings import Settings
from shipway.store import outbox
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


@pytest.fixture
def stalling() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture
def fast() -> Iterator[Receiver]:
    yield from _serve(Receiver())


def _row(store: Store, key: str, service: str, path: str, recipient: str = "") -> None:
    payload = {"message": key, "webhook": {"method": "POST", "path": path, "body": key}}
    d = outbox.Delivery(key, "", "argocd", "guestbook", "on-sync-succeeded", service, recipient,
                        payload)  # fmt: skip
    assert outbox.enqueue(store, d)


def _resolve(urls: dict[str, str]) -> deliver.Resolve:
    def resolve(d: outbox.Delivery) -> Target:
        conf = ServiceConfig("webhook", d.service, {"url": urls[d.service]})
        return Target(service_for(conf), None, lambda _row, _err: None)

    return resolve


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_a_stalled_service_does_not_delay_another(
    store: Store, stalling: Receiver, fast: Receiver
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def stall(_got: Received) -> None:
        arrived.set()
        release.wait(30)

    stalling.on_request = stall
    _row(store, "slow-1", "webhook:slow", "/slow")  # first in the outbox
    _row(store, "fast-1", "webhook:fast", "/fast")
    resolve = _resolve({"webhook:slow": stalling.url, "webhook:fast": fast.url})
    results: list[deliver.PassResult] = []
    t = threading.Thread(target=lambda: results.append(deliver.deliver_due(store, resolve)))
    t.start()
    try:
        assert arrived.wait(20)
        # the fast service is sent to while the slow one still holds its request
        assert _wait(lambda: len(fast.requests) == 1)
        assert not release.is_set()
    finally:
        release.set()
        t.join(30)
    assert results and results[0].sent == 2
    assert {d.key: d.state for d in outbox.list_outbox(store)} == {
        "slow-1": outbox.SENT, "fast-1": outbox.SENT}  # fmt: skip


def test_one_lane_sends_in_order_even_when_its_first_stalls(
    store: Store, stalling: Receiver
) -> None:
    seen: list[str] = []
    second = threading.Event()

    def record(got: Received) -> None:
        seen.append(f"arrive {got.path}")
        if got.path == "/first":
            second.wait(3)  # a second request racing this one would arrive meanwhile
            seen.append("answer /first")
        else:
            second.set()

    stalling.on_request = record
    _row(store, "a", "webhook:hook", "/first", recipient="ops")
    _row(store, "b", "webhook:hook", "/second", recipient="ops")
    result = deliver.deliver_due(store, _resolve({"webhook:hook": stalling.url}))
    assert result.sent == 2
    assert seen == ["arrive /first", "answer /first", "arrive /second"]


def test_a_bounded_wait_leaves_a_stalled_row_to_finish_in_its_lane(
    store: Store, stalling: Receiver, fast: Receiver
) -> None:
    release = threading.Event()
    stalling.on_request = lambda _got: release.wait(30)
    _row(store, "slow-1", "webhook:slow", "/slow")
    _row(store, "fast-1", "webhook:fast", "/fast")
    resolve = _resolve({"webhook:slow": stalling.url, "webhook:fast": fast.url})
    try:
        deliver.deliver_due(store, resolve, wait=1)
        assert _wait(lambda: len(fast.requests) == 1)
        states = {d.key: d.state for d in outbox.list_outbox(store)}
        assert states["slow-1"] == outbox.PENDING  # still in its lane, under its lease
        again = deliver.deliver_due(store, resolve, wait=0)  # claims nothing of it
        assert again.sent == 0
    finally:
        release.set()
    assert _wait(lambda: {d.state for d in outbox.list_outbox(store)} == {outbox.SENT})
    assert len(stalling.requests) == 1
