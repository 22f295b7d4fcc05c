"""``release list -w`` on a PostgreSQL store is woken by the event stream's newest ``seq``
(``shipway.cli.changes_seq``), not the fallback fetch (put off for ten minutes here)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shipway.model.events import ObjectRef
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import releases
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def test_release_watch_wakes_on_a_new_event(shipway_home: Path, postgres_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    name = f"watch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("SHIPWAY_DATABASE_URL", url)
    store = open_store(Settings())  # migrates the fresh database
    proc: subprocess.Popen[str] | None = None
    try:
        releases.save(store, Release(id="r0001", app="web", commit="a" * 40))
        env = {**os.environ, "SHIPWAY_WATCH_FALLBACK": "600", "SHIPWAY_COLOR": "never"}
        argv = [SHIPWAY, "release", "list", "-w", "-o", "name"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert proc is not None and proc.stdout is not None
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        assert lines.get(timeout=60) == "release/r0001"
        releases.save(store, Release(id="r0002", app="web", commit="b" * 40))
        store_events.emit(store, ObjectRef("Application", "web", "argocd"), "ReleaseCreated")
        assert lines.get(timeout=60) == "release/r0002"
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
