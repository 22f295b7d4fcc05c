"""Notification figures: event to delivered, outbox intake, and repeats to one message.

1. Event to delivered: a Flux Alert and a generic Provider point at a loopback HTTP
   receiver; the controller's notifier loop (``shipway.controller.notifier``, poll
   0.2 s) runs in a thread as it does in ``shipway controller``. Each of ``--events``
   events is emitted and timed until the receiver has it: p50/p95/max (target p95 < 1 s).
   The same for an argocd-notifications-cm event trigger (on-rollback to a webhook).
2. Intake: a backlog of ``--burst`` distinct events routed into the outbox (events/s
   into the outbox); then ``--burst`` events emitted by 4 threads as fast as the event
   store takes them (concurrent writers share transactions: ``store.group_commit``),
   routed by passes running meanwhile: events/s in, rows/s routed, rows == events
   (none lost), then all delivered. Beside the wall time: the CPU time of the process
   and of the writers' threads, and the commits (machine load from others does not
   change those). Then delivery across lanes (``notify.lanes``): 4 services' rows while
   a fifth service's receiver stalls 2 s a request.
3. Repeats: 1,000 evaluations of one Application state (on-sync-succeeded to a webhook)
   and 1,000 repeats of one event to a Flux Alert: messages at the receiver (target 1 each).

No peer runs here (Argo CD and Flux need a Kubernetes API server): shipway's figures only.

    .venv/bin/python bench/notify.py [--events 100] [--burst 5000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Sink:
    def __init__(self) -> None:
        self.times: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with sink.lock:
                    sink.times.append((time.perf_counter(), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, needle: bytes = b"") -> int:
        with self.lock:
            return sum(1 for _, b in self.times if needle in b)

    def wait_for(self, needle: bytes, timeout: float = 30.0) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                for t, body in self.times:
                    if needle in body:
                        return t
            time.sleep(0.002)
        return None


def _lanes(store: Any, sink: Sink, per: int = 250, services: int = 4, stalled: int = 5) -> None:
    """2c. Delivery across lanes: ``services`` webhook services of ``per`` rows each, and one
    service whose receiver takes 2 s a request; the fast ones' rows are all delivered while
    the stalled one is still on its first few (sequential sending would wait 2 s a row)."""
    from shipway.notify import deliver
    from shipway.notify.config import ServiceConfig
    from shipway.notify.services import service_for
    from shipway.store import outbox

    slow = Sink()
    slow_handler = slow.server.RequestHandlerClass
    real = slow_handler._any  # type: ignore[attr-defined]

    def stall(self: Any) -> None:
        time.sleep(2.0)
        real(self)

    slow_handler.do_POST = stall  # type: ignore[attr-defined]
    rows: list[tuple[Any, None]] = []
    for i in range(stalled):
        rows.append((outbox.Delivery(f"lane-slow-{i}", "", "bench", "b", "t", "webhook:slow", "",
                                     {"webhook": {"method": "POST", "path": "/s",
                                                  "body": f"slow-{i}"}}), None))  # fmt: skip
    for k in range(services):
        for i in range(per):
            hook = {"method": "POST", "path": f"/l{k}", "body": f"lane-{k}-{i}"}
            rows.append((outbox.Delivery(f"lane-{k}-{i}", "", "bench", "b", "t", f"webhook:{k}",
                                         "", {"webhook": hook}), None))  # fmt: skip
    outbox.enqueue_many(store, rows)

    def resolve(d: Any) -> deliver.Target:
        url = slow.url if d.service == "webhook:slow" else sink.url
        return deliver.Target(service_for(ServiceConfig("webhook", d.service, {"url": url})),
                              None, lambda _r, _e: None)  # fmt: skip

    total = per * services
    t0, c0 = time.perf_counter(), time.process_time()
    while sink.count(b"lane-") < total and time.perf_counter() - t0 < 300:
        deliver.deliver_due(store, resolve, wait=0.5)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"lanes: {sink.count(b'lane-')} of {total} rows to {services} services delivered in "
        f"{took:.1f} s ({total / took:.0f}/s, {cpu / total * 1e6:.0f} us CPU a row) while a "
        f"stalled service (2 s a request) had taken {slow.count(b'slow-')} of its {stalled}"
    )
    while slow.count(b"slow-") < stalled and time.perf_counter() - t0 < 300:
        deliver.deliver_due(store, resolve, wait=0.5)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--burst", type=int, default=5000)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-notify-"))
    os.environ["SHIPWAY_HOME"] = str(home)
    from shipway.controller import notifier
    from shipway.model import events as ev
    from shipway.model.resources import Resource, parse_text
    from shipway.notify import worker, worker_flux
    from shipway.settings import Settings
    from shipway.store import emitters, events, outbox, resources
    from shipway.store.db import open_store

    store = open_store(Settings(home=home))
    sink = Sink()
    resources.apply(store, parse_text(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: sink, namespace: bench}}
spec: {{type: generic, address: "{sink.url}/flux"}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: all, namespace: bench}}
spec:
  providerRef: {{name: sink}}
  eventSources: [{{kind: Stage, name: '*'}}, {{kind: Freight, name: '*'}}]
""", "bench.yaml"))  # fmt: skip
    cm = {"service.webhook.hook": f"url: {sink.url}\n",
          "template.shipway-event": "message: x\nwebhook:\n  hook:\n    method: POST\n"
          "    path: /argo\n    body: '{{.event.message}}'\n",
          "template.app-sync-succeeded": "message: x\nwebhook:\n  hook:\n    method: POST\n"
          "    path: /app\n    body: 'synced {{.app.metadata.name}}'\n",
          "subscriptions": "- recipients: [hook]\n  triggers: [on-rollback]\n"}  # fmt: skip
    resources.apply(store, [Resource("v1", "ConfigMap", "argocd-notifications-cm", "argocd",
                                     {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "argocd-notifications-cm"},
                                      "data": cm})])  # fmt: skip
    stop = threading.Event()
    notifier.start(store, stop)
    time.sleep(0.5)

    print(f"# shipway notifications ({os.cpu_count()} cores, SQLite, loopback receiver)")
    for label, emit in (
        ("Flux Alert -> generic", lambda i: events.emit(
            store, ev.ObjectRef("Stage", f"s{i}", "bench"), ev.VERIFICATION_FAILED,
            f"lat-flux-{i}-end", type=ev.WARNING, source="verification")),
        ("argocd-notifications-cm on-rollback -> webhook", lambda i: emitters.rollback(
            store, f"app{i}", "argocd", f"lat-argo-{i}-end")),
    ):  # fmt: skip
        lat: list[float] = []
        for i in range(args.events):
            t0 = time.perf_counter()
            emit(i)
            tag = "flux" if "Flux" in label else "argo"
            got = sink.wait_for(f"lat-{tag}-{i}-end".encode())
            if got is not None:
                lat.append(got - t0)
            time.sleep(0.01)
        print(f"event to delivered, {label}: n={len(lat)}/{args.events} "
              f"p50 {statistics.median(lat) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, "
              f"max {max(lat) * 1000:.0f} ms")  # fmt: skip
    stop.set()
    time.sleep(0.5)

    # 2a. the outbox's intake alone: a backlog of distinct events routed into it
    fluxc = worker_flux.load(store)
    worker_flux.route(store, fluxc)
    for i in range(args.burst):
        events.emit(store, ev.ObjectRef("Freight", f"b{i}", "bench"), ev.FREIGHT_CREATED,
                    f"backlog-{i}", source="warehouse")  # fmt: skip
    rows0 = len(outbox.list_outbox(store))
    t0 = time.perf_counter()
    while worker_flux.route(store, fluxc):
        pass
    took = time.perf_counter() - t0
    routed = len(outbox.list_outbox(store)) - rows0
    print(
        f"outbox intake: a backlog of {args.burst} events routed in {took:.2f} s = "
        f"{routed / took:.0f} events/s into the outbox; rows {routed} of {args.burst}"
    )
    while sink.count(b"backlog-") < args.burst:
        worker.run_pass(store, secrets={})

    # 2b. intake: distinct events as fast as they go in, routed meanwhile
    before_rows = len(outbox.list_outbox(store))
    before_sink = sink.count(b"burst-")
    done = threading.Event()
    routed_at: list[float] = []

    def router() -> None:
        fluxc = worker_flux.load(store)
        while True:
            n = worker_flux.route(store, fluxc)
            if done.is_set() and n == 0:
                routed_at.append(time.perf_counter())
                return
            if n == 0:
                time.sleep(0.05)  # as the notifier loop polls

    per = args.burst // 4

    writer_cpu: list[float] = []

    def writer(k: int) -> None:
        c = time.thread_time()
        for i in range(per):
            events.emit(store, ev.ObjectRef("Freight", f"f{k}-{i}", "bench"), ev.FREIGHT_CREATED,
                        f"burst-{k}-{i}", source="warehouse")  # fmt: skip
        writer_cpu.append(time.thread_time() - c)

    commits = [0]

    def _count(_conn: Any) -> None:
        commits[0] += 1

    from sqlalchemy import event as sa_event

    sa_event.listen(store.engine, "commit", _count)
    rt = threading.Thread(target=router)
    rt.start()
    t0, c0 = time.perf_counter(), time.process_time()
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    t_in, cpu_in = time.perf_counter() - t0, time.process_time() - c0
    n_commits = commits[0]
    done.set()
    rt.join()
    t_routed = routed_at[0] - t0
    rows = len(outbox.list_outbox(store)) - before_rows
    total = per * 4
    lost = "none lost" if rows == total else f"LOST {total - rows}"
    print(
        f"intake: {total} events in {t_in:.2f} s = {total / t_in:.0f} events/s (4 writers); "
        f"routed into the outbox by {t_routed:.2f} s = {rows / t_routed:.0f} rows/s; "
        f"rows {rows} of {total} ({lost})"
    )
    print(
        f"intake CPU: {cpu_in:.2f} s for {total} events = {cpu_in / total * 1e6:.0f} us CPU an "
        f"event (this process, writers and router); {n_commits} commits while writing "
        f"({n_commits / total:.2f} an event, the router's included); the 4 writers' own CPU "
        f"{sum(writer_cpu):.2f} s = {sum(writer_cpu) / total * 1e6:.0f} us an event = "
        f"{total / sum(writer_cpu):.0f} events per CPU-second"
    )
    sa_event.remove(store.engine, "commit", _count)
    t1 = time.perf_counter()
    while sink.count(b"burst-") - before_sink < total and time.perf_counter() - t1 < 600:
        worker.run_pass(store, secrets={})
    delivered = sink.count(b"burst-") - before_sink
    took = time.perf_counter() - t1
    print(
        f"delivered: {delivered} of {total} in {took:.1f} s ({delivered / took:.0f}/s; one "
        f"Provider is one lane: its messages go in order, one at a time)"
    )
    _lanes(store, sink)

    # 3. repeats
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "rep", "annotations": {
            "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ""}},
        "spec": {"project": "default", "source": {"repoURL": "https://git.example/a.git"}},
    }  # fmt: skip
    resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", "rep", "argocd",
                                     body)])  # fmt: skip
    resources.set_status(
        store,
        "Application",
        "rep",
        {
            "sync": {"status": "Synced"},
            "operationState": {"phase": "Succeeded", "startedAt": "2026-01-01T00:00:00Z"},
        },
    )
    t2 = time.perf_counter()
    for _ in range(1000):
        worker.run_pass(store, secrets={})
    t_rep = time.perf_counter() - t2
    print(
        f"repeats: 1,000 evaluations of one synced state -> {sink.count(b'synced rep')} "
        f"message(s) ({t_rep / 1000 * 1000:.1f} ms a pass)"
    )
    for _ in range(1000):
        events.emit(store, ev.ObjectRef("Stage", "flaky", "bench"), ev.VERIFICATION_FAILED,
                    "repeat-me", type=ev.WARNING, source="verification")  # fmt: skip
    for _ in range(3):
        worker.run_pass(store, secrets={})
    print(
        f"repeats: 1,000 repeats of one event to a Flux Alert -> {sink.count(b'repeat-me')} "
        "message(s)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
