"""``--watch`` woken by its source's change signal, not a fixed poll: with the fallback fetch
put off for ten minutes (``SHIPWAY_WATCH_FALLBACK``), a change must still print at once.

Locally the SQLite store's ``data_version`` wakes ``get applications -w`` (a new object,
a deleted one: kubectl prints its last state) and ``release list -w``; logged in to a
controller its event stream (``/api/events/stream``) wakes ``release list -w`` and
``get events -w``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_controller import Controller, running

from shipway.model.events import ObjectRef
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import releases
from shipway.store.db import open_store
from watch_process import Watch

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: {name}}}
  destination: {{name: local, namespace: {name}}}
"""


def _shipway(*args: str, stdin: str | None = None) -> None:
    subprocess.run([SHIPWAY, *args], input=stdin, check=True, capture_output=True, text=True)


@pytest.fixture
def watching() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.stop()


def test_local_watches_wake_on_the_stores_commits(shipway_home: Path, watching) -> None:
    _shipway("apply", "-f", "-", stdin=APP.format(name="web"))
    apps = Watch("get", "applications", "-w", "-o", "name")
    watching.append(apps)
    assert apps.line() == "application/web"
    _shipway("apply", "-f", "-", stdin=APP.format(name="api"))
    assert apps.line() == "application/api"
    _shipway("delete", "application", "web")
    assert apps.line() == "application/web"  # deleted: its last state prints

    rels = Watch("release", "list", "-w", "-o", "name")
    watching.append(rels)
    store = open_store(Settings(home=shipway_home))
    try:
        releases.save(store, Release(id="r0001", app="web", commit="a" * 40))
        assert rels.line() == "release/r0001"
    finally:
        store.close()
    assert apps.stop() == 0 and rels.stop() == 0


@pytest.fixture
def ctl(shipway_home: Path) -> Iterator[Controller]:
    with running(shipway_home) as c:
        yield c


def test_remote_watches_wake_on_the_event_stream(ctl: Controller, watching) -> None:
    env = {"SHIPWAY_SERVER": ctl.url, "SHIPWAY_AUTH_TOKEN": ctl.admin_token}
    store = open_store(Settings(home=ctl.home))
    try:
        web = ObjectRef("Application", "web", "argocd")
        store_events.emit(store, web, "SyncSucceeded", "before the watch")
        evs = Watch("get", "events", "-w", "-n", "argocd", env=env)
        watching.append(evs)
        assert evs.line().split()[:3] == ["LAST", "SEEN", "TYPE"]
        assert "before the watch" in evs.line()
        rels = Watch("release", "list", "-w", "-o", "name", env=env)
        watching.append(rels)
        releases.save(store, Release(id="r0002", app="web", commit="b" * 40))
        # a release records an event as the engines do; the stream wakes both watches
        store_events.emit(store, web, "ReleaseCreated", "r0002")
        assert rels.line() == "release/r0002"
        line = evs.line()
        assert "ReleaseCreated" in line and "r0002" in line
    finally:
        store.close()
    assert evs.stop() == 0 and rels.stop() == 0
