"""The event stream against a real controller process and the CLI in its own process.

Server-sent events at ``/api/events/stream`` (ids, ``Last-Event-ID`` resume,
heartbeats, ``?for=`` and ``?namespace=`` filters, a bearer token required);
``shipway get events --watch`` printing events another process writes; and
events written by several processes at once taking gapless, unique positions.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_controller import Controller, cli, running

from shipway.model.events import ObjectRef
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

WEB = ObjectRef("Application", "web", "argocd")
API = ObjectRef("Application", "api", "team")


@pytest.fixture
def ctl(shipway_home: Path) -> Iterator[tuple[Controller, Store]]:
    with running(shipway_home) as c:
        store = open_store(Settings(home=shipway_home))
        try:
            yield c, store
        finally:
            store.close()


def _sse(c: Controller, path: str, headers: dict[str, str] | None = None,
         want: int = 1, beats: int = 0) -> tuple[list[dict[str, object]], int]:  # fmt: skip
    """Read ``want`` events (and at least ``beats`` heartbeats) from the stream, then close."""
    got: list[dict[str, object]] = []
    seen_beats = 0
    hdrs = {"Authorization": f"Bearer {c.admin_token}", **(headers or {})}
    with httpx.stream("GET", c.url + path, headers=hdrs, timeout=30) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        current: dict[str, object] = {}
        for line in resp.iter_lines():
            if line.startswith(":"):
                seen_beats += 1
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                got.append(current)
                current = {}
            if len(got) >= want and seen_beats >= beats:
                break
    return got, seen_beats


def test_sse_resumes_with_last_event_id(ctl: tuple[Controller, Store]) -> None:
    c, store = ctl
    assert httpx.get(c.url + "/api/events/stream").status_code == 401
    first = [store_events.emit(store, WEB, "SyncSucceeded", f"sync {i}") for i in range(3)]
    got, _ = _sse(c, "/api/events/stream?since=0&heartbeat=0.1", want=3, beats=1)
    assert [g["id"] for g in got] == [e.seq for e in first]
    data = got[0]["data"]
    assert isinstance(data, dict) and data["involvedObject"]["name"] == "web"
    assert data["kind"] == "Event" and data["metadata"]["resourceVersion"] == str(first[0].seq)

    later = [store_events.emit(store, API, "SyncFailed", "boom", type="Warning"),
             store_events.emit(store, WEB, "HealthStatusChanged", "Healthy")]  # fmt: skip
    resumed, _ = _sse(c, "/api/events/stream", {"Last-Event-ID": str(first[-1].seq)}, want=2)
    assert [r["id"] for r in resumed] == [e.seq for e in later]

    # a repeat takes a new position and comes again, counted
    again = store_events.emit(store, API, "SyncFailed", "boom", type="Warning")
    assert again.count == 2 and again.seq > later[-1].seq
    filtered, _ = _sse(c, "/api/events/stream?since=0&for=app/api&namespace=team", want=1)
    assert [f["id"] for f in filtered] == [again.seq]  # the row moved to its new position
    data = filtered[0]["data"]
    assert isinstance(data, dict) and data["count"] == 2 and data["type"] == "Warning"

    bad = httpx.get(c.url + "/api/events/stream", headers={
        "Authorization": f"Bearer {c.admin_token}", "Last-Event-ID": "x"})  # fmt: skip
    assert bad.status_code == 400
    listed = httpx.get(c.url + "/api/events?for=app/web&types=Normal",
                       headers={"Authorization": f"Bearer {c.admin_token}"}).json()  # fmt: skip
    assert listed["kind"] == "EventList"
    assert {i["involvedObject"]["name"] for i in listed["items"]} == {"web"}


def test_live_events_reach_an_open_stream(ctl: tuple[Controller, Store]) -> None:
    c, store = ctl
    store_events.emit(store, WEB, "Old", "before the stream")
    results: queue.Queue[list[dict[str, object]]] = queue.Queue()

    def reader() -> None:
        results.put(_sse(c, "/api/events/stream", want=1)[0])

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    # the stream starts at the newest event when it opens; write until the reader has one
    new = None
    for _ in range(600):
        new = store_events.emit(store, WEB, "New", "after the stream opened")
        try:
            got = results.get(timeout=0.1)
            break
        except queue.Empty:
            continue
    else:
        raise AssertionError("the stream never delivered a live event")
    assert new is not None
    assert got[0]["data"]["reason"] == "New"  # type: ignore[index]
    assert "Old" not in [g["data"]["reason"] for g in got]  # type: ignore[index]


def test_get_events_watch_prints_new_events(shipway_home: Path) -> None:
    store = open_store(Settings(home=shipway_home))
    store_events.emit(store, WEB, "SyncSucceeded", "first")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.main", "get", "events", "--watch", "-n", "argocd"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        header = lines.get(timeout=60)
        assert header.split()[:3] == ["LAST", "SEEN", "TYPE"]
        assert "first" in lines.get(timeout=60)
        store_events.emit(store, API, "Elsewhere", "another namespace")
        store_events.emit(store, WEB, "SyncFailed", "second", type="Warning")
        line = lines.get(timeout=60)
        assert "second" in line and "Warning" in line and "application/web" in line
        assert "Elsewhere" not in line
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        store.close()


def test_get_events_watch_keeps_only_what_the_field_selector_asks(shipway_home: Path) -> None:
    """``kubectl get events -w --field-selector type=Warning``: only new Warnings print."""
    store = open_store(Settings(home=shipway_home))
    store_events.emit(store, WEB, "SyncFailed", "old warning", type="Warning")
    store_events.emit(store, WEB, "SyncSucceeded", "old normal")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.main", "get", "events", "-w", "-o", "name",
         "--field-selector", "type=Warning,involvedObject.name=web"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.strip())

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert lines.get(timeout=60) == "event/web.1"
        store_events.emit(store, WEB, "SyncSucceeded", "new normal")
        store_events.emit(store, API, "SyncFailed", "another app", type="Warning")
        store_events.emit(store, WEB, "HealthDegraded", "new warning", type="Warning")
        assert lines.get(timeout=60) == "event/web.5"  # the fifth event; the others skipped
        with pytest.raises(queue.Empty):
            lines.get(timeout=1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        store.close()


EMITTER = """
import sys
from shipway.model.events import ObjectRef
from shipway.settings import load
from shipway.store import events
from shipway.store.db import open_store
store = open_store(load())
for i in range(int(sys.argv[2])):
    events.emit(store, ObjectRef("Application", sys.argv[1]), "Tick", str(i))
"""


def test_processes_write_gapless_positions(shipway_home: Path) -> None:
    store = open_store(Settings(home=shipway_home))
    procs = [subprocess.Popen([sys.executable, "-c", EMITTER, f"p{i}", "40"],
                              env=dict(os.environ)) for i in range(3)]  # fmt: skip
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    found = store_events.query(store)
    assert [e.seq for e in found] == list(range(1, 121))
    for i in range(3):  # each writer's own order kept
        mine = [int(e.message) for e in found if e.involved.name == f"p{i}"]
        assert mine == list(range(40))
    store.close()


def test_get_events_through_the_controller(ctl: tuple[Controller, Store]) -> None:
    c, store = ctl
    store_events.emit(store, WEB, "SyncSucceeded", "via the api")
    store_events.emit(store, API, "SyncFailed", "elsewhere", type="Warning")
    env = {"SHIPWAY_SERVER": c.url, "SHIPWAY_AUTH_TOKEN": c.admin_token}
    res = cli("get", "events", "-n", "argocd", "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    items = json.loads(res.stdout)["items"]
    assert [(i["reason"], i["involvedObject"]["namespace"]) for i in items] == [
        ("SyncSucceeded", "argocd")
    ]
    table = cli("get", "events", "--types", "Warning", env=env)
    assert table.returncode == 0, table.stderr
    assert "application/api" in table.stdout and "application/web" not in table.stdout
