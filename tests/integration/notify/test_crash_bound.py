"""The bound on duplicates, measured with a real crash: the receiver SIGKILLs the sending
process once it has the first message (after the send, before the record). Every row
in flight is sent again after its lease, the one the receiver had included: at most one
duplicate per row in flight, and none once a row is recorded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from notify_receivers import Received, Receiver
from sqlalchemy import update
from test_delivery import ANN, TEMPLATE, _cm

from shipway.model.resources import Resource
from shipway.notify import worker
from shipway.settings import Settings
from shipway.store import outbox, resources
from shipway.store.db import Store, open_store
from shipway.store.notify_tables import OutboxRow

CHILD = textwrap.dedent("""
    from pathlib import Path
    import sys
    from shipway.notify import worker
    from shipway.settings import Settings
    from shipway.store.db import open_store
    worker.run_pass(open_store(Settings(home=Path(sys.argv[1]))), secrets={})
    print("the pass finished: the receiver did not kill it")
""")


def _apps(store: Store, names: list[str]) -> None:
    for name in names:
        body: dict[str, Any] = {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "annotations": {f"{ANN}on-sync-succeeded.hook": ""}},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/a.git"}},
        }  # fmt: skip
        resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", name, "argocd",
                                         body)])  # fmt: skip
        resources.set_status(store, "Application", name, {
            "sync": {"status": "Synced", "revision": "c0ffee"},
            "operationState": {"phase": "Succeeded", "startedAt": "2026-01-01T10:00:00Z"},
        })  # fmt: skip


def test_a_sender_killed_between_send_and_record(shipway_home: Path, webhook: Receiver) -> None:
    store = open_store(Settings(home=shipway_home))
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE})  # fmt: skip
    names = ["a1", "a2", "a3"]
    _apps(store, names)
    config = worker.load_config(store, {})
    assert config is not None
    worker.evaluate_all(store, config)
    assert len(outbox.list_outbox(store)) == 3

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(shipway_home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=os.environ,
    )

    def kill(got: Received) -> None:
        if len(webhook.requests) == 1:
            os.kill(child.pid, signal.SIGKILL)

    webhook.on_request = kill
    out, _ = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, out
    assert len(webhook.requests) == 1  # the receiver has it; the sender never recorded it
    rows = outbox.list_outbox(store)
    assert [r.state for r in rows] == ["pending"] * 3  # all three were leased by the dead one
    webhook.on_request = None
    assert worker.run_pass(store, secrets={}).sent == 0  # the leases still hold
    with store.session() as s:  # the 60 s leases run out
        s.execute(update(OutboxRow).values(lease_until=None))
    for _ in range(5):
        worker.run_pass(store, secrets={})
    # 3 rows + 1 duplicate: the row in flight when it died; the others once each
    assert Counter(r.path for r in webhook.requests) == {
        "/deploys/a1": 2, "/deploys/a2": 1, "/deploys/a3": 1}  # fmt: skip
    assert [r.state for r in outbox.list_outbox(store)] == ["sent"] * 3


def test_the_bound_is_one_duplicate_per_row_in_flight_across_lanes(
    shipway_home: Path, webhook: Receiver
) -> None:
    """Four services, four lanes sending at once: the sender dies with a row in flight in
    each; after the leases every one of those is sent once more (the bound: one duplicate
    per row in flight, at most one per lane), and the row queued behind one is sent once."""
    import time

    store = open_store(Settings(home=shipway_home))
    lanes = [f"h{i}" for i in range(4)]
    hooks = "\n".join(f"  {h}: {{method: POST, path: '/{h}/{{{{.app.metadata.name}}}}'}}"
                      for h in lanes)  # fmt: skip
    data = {f"service.webhook.{h}": f"url: {webhook.url}\n" for h in lanes}
    data["template.app-sync-succeeded"] = f"message: synced\nwebhook:\n{hooks}\n"
    _cm(store, data)
    subs = [(f"a{i}", h) for i, h in enumerate(lanes)] + [("b0", "h0")]  # b0 waits behind a0
    for name, hook in subs:
        _apps(store, [name])
        app = resources.get(store, "Application", name, "argocd")
        body = {**app.body, "metadata": {**app.metadata, "annotations": {
            f"{ANN}on-sync-succeeded.{hook}": ""}}}  # fmt: skip
        resources.apply(store, [Resource(app.api_version, "Application", name, "argocd", body)])
    config = worker.load_config(store, {})
    assert config is not None
    worker.evaluate_all(store, config)
    assert len(outbox.list_outbox(store)) == 5

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(shipway_home)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=os.environ)  # fmt: skip

    def kill(got: Received) -> None:  # every answer held until each lane has one in flight
        deadline = time.monotonic() + 30
        while len(webhook.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)

    webhook.on_request = kill
    out, _ = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, out
    first = Counter(r.path for r in webhook.requests)
    assert first == {f"/{h}/a{i}": 1 for i, h in enumerate(lanes)}  # one in flight a lane
    webhook.on_request = None
    with store.session() as s:
        s.execute(update(OutboxRow).values(lease_until=None))
    for _ in range(5):
        worker.run_pass(store, secrets={})
    got = Counter(r.path for r in webhook.requests)
    assert got == {**{f"/{h}/a{i}": 2 for i, h in enumerate(lanes)}, "/h0/b0": 1}
    assert [r.state for r in outbox.list_outbox(store)] == ["sent"] * 5
