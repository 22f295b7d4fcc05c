"""Server time of the web UI's pages at 100, 1,000 and 10,000 applications.

Each Application is stored with a status as the reconciler writes it (sync, health,
five resources, two history entries). Pages are asked in process (Starlette's test
client over the real app: middleware, session check, RBAC, rendering; no network),
as ``admin`` with a bearer token, and as ``viewer`` whose policy lets it see one
project of ten (the RBAC filter runs over every app). Printed per page: the first
request after start (``cold``: the index loads every row once) and the median of 10
(``min`` and ``median``: on a shared machine min is the least disturbed), and the
median CPU time of those 10 (``cpu ms``: the work itself, whatever the machine's load).
The issue's target: the applications page under 300 ms at 10,000 apps.
An application with 1,500 resources: the ``/tree`` fragment's server time (render
from git, compare with an in-process cluster, build and render the tree).

Argo CD cannot run here; for an anchor, its UI is reported to freeze on an application
with about 1,500 resources (argo-cd issue 15509).

Run: ``.venv/bin/python bench/ui.py [--apps 100,1000,10000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import yaml
from starlette.testclient import TestClient

from shipway import cluster
from shipway.auth import accounts
from shipway.cluster.memory import MemoryTarget
from shipway.controller.core import Controller
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.model.resources import Resource, parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store
from shipway.store.tables import ResourceRow

HEALTH = ["Healthy"] * 7 + ["Progressing", "Degraded", "Missing"]


def _status(i: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "sync": {"status": "OutOfSync" if i % 13 == 0 else "Synced", "revision": "ab" * 20},
        "health": {"status": HEALTH[i % len(HEALTH)]},
        "resources": [{"group": "apps", "version": "v1", "kind": k, "namespace": f"ns-{i}",
                       "name": f"app-{i}-{k.lower()}", "status": "Synced",
                       "health": {"status": "Healthy"}}
                      for k in ("Deployment", "Service", "ConfigMap", "Secret", "Ingress")],
        "history": [{"id": n, "revision": f"{n:02d}" * 20, "deployedAt": now} for n in (0, 1)],
        "operationState": {"phase": "Succeeded", "message": "successfully synced"},
    }  # fmt: skip


def seed(store: Store, n: int) -> None:
    apps = []
    for i in range(n):
        body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": f"app-{i:05d}", "namespace": "argocd",
                             "labels": {"team": f"t{i % 7}"}},
                "spec": {"project": f"p{i % 10}",
                         "source": {"repoURL": "git://example/config.git",
                                    "path": f"apps/app-{i:05d}", "targetRevision": "main"},
                         "destination": {"name": f"c{i % 3}", "namespace": f"ns-{i % 50}"}},
                }  # fmt: skip
        apps.append(
            Resource(
                body["apiVersion"], "Application", body["metadata"]["name"], "argocd", body, "bench"
            )
        )
    store_resources.apply(store, apps)
    with store.session() as s:
        for row in s.query(ResourceRow).filter(ResourceRow.kind == "Application"):
            row.status = _status(int(row.name.split("-")[1]))


def timed(client: TestClient, path: str, token: str,
          runs: int = 10) -> tuple[float, float, float, float]:  # fmt: skip
    """Wall ms of the cold request, min and median wall ms of ``runs`` more, and their
    median CPU ms (``process_time``: every thread of this process, so the server's work
    without the waits a loaded machine adds)."""
    headers = {"Authorization": f"Bearer {token}"}
    t = time.perf_counter()
    r = client.get(path, headers=headers)
    cold = time.perf_counter() - t
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    warm, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        r = client.get(path, headers=headers)
        warm.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        assert r.status_code == 200
    return (
        cold * 1000,
        min(warm) * 1000,
        statistics.median(warm) * 1000,
        statistics.median(cpu) * 1000,
    )


def app_for(store: Store, settings: Settings) -> TestClient:
    ctl = cast(Controller, SimpleNamespace(store=store, settings=settings, receiver=None))
    return TestClient(create_app(ctl))


RBAC = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-rbac-cm, namespace: argocd}
data:
  policy.csv: |
    p, role:p3, applications, get, p3/*, allow
"""

PAGES = [
    ("applications (tiles, page 1)", "/applications"),
    ("applications (table, page 1)", "/applications?view=table"),
    ("applications, search + filter", "/applications?q=app-09&health=Healthy&view=table"),
    ("applications, last page", "/applications?page=100000"),
    ("application page", "/applications/argocd/app-00042"),
    ("API /api/v1/applications", "/api/v1/applications"),
]


def bench_lists(sizes: list[int]) -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    head = f"{'cold ms':>8} {'min ms':>8} {'median':>8} {'cpu ms':>8}"
    print(f"{'apps':>6}  {'page':<32} {'user':<7} {head}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(home=Path(tmp))
            store = open_store(settings)
            seed(store, n)
            store_resources.apply(store, parse_text(RBAC, "rbac.yaml"))
            accounts.create(store, "admin", "x" * 12)
            accounts.create(store, "viewer", "x" * 12, role="p3")
            admin = accounts.issue_token(store, "admin")[1]
            viewer = accounts.issue_token(store, "viewer")[1]
            client = app_for(store, settings)
            for label, path in PAGES:
                if path.startswith("/api/") and n > 1000:
                    continue  # the older JSON list loads every app (not the UI's path)
                for who, tok in (("admin", admin), ("viewer", viewer)):
                    if who == "viewer" and "app-00042" in path:
                        continue
                    cold, low, mid, cpu = timed(client, path, tok)
                    print(f"{n:>6}  {label:<32} {who:<7} {cold:>8.1f} {low:>8.1f} {mid:>8.1f}"
                          f" {cpu:>8.1f}")  # fmt: skip
            store.close()


def bench_tree(objects: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(home=root / "home")
        store = open_store(settings)
        bare = Repo.init(root / "c.git", bare=True)
        bare.run("symbolic-ref", "HEAD", "refs/heads/main")
        work = Repo.init(root / "work")
        docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:04d}"},
                 "data": {"v": str(i)}} for i in range(objects)]  # fmt: skip
        (work.path / "big").mkdir()
        (work.path / "big" / "all.yaml").write_text(yaml.safe_dump_all(docs))
        work.run("remote", "add", "origin", str(bare.path))
        work.add_all()
        work.commit("big")
        work.push("origin", "HEAD:refs/heads/main")
        cluster.register("mem", MemoryTarget("mem"))
        app = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: big, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: "{bare.path}", path: big, targetRevision: main}}
  destination: {{name: mem, namespace: big}}
"""
        store_resources.apply(store, parse_text(app, "app.yaml"))
        engine.reconcile(store, "big", settings=settings)
        accounts.create(store, "admin", "x" * 12)
        token = accounts.issue_token(store, "admin")[1]
        client = app_for(store, settings)
        cold, _low, warm, cpu = timed(client, "/applications/argocd/big/tree", token, runs=3)
        size = len(client.get("/applications/argocd/big/tree",
                              headers={"Authorization": f"Bearer {token}"}).text)  # fmt: skip
        print(f"tree of {objects} objects: cold {cold:.0f} ms, warm {warm:.0f} ms "
              f"(cpu {cpu:.0f} ms) "
              f"(render + compare + tree), {size / 1024:.0f} KiB of HTML, collapsed")  # fmt: skip
        store.close()
        cluster.register("mem", None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", default="100,1000,10000")
    ap.add_argument("--tree", type=int, default=1500)
    args = ap.parse_args()
    bench_lists([int(x) for x in args.apps.split(",")])
    if args.tree:
        bench_tree(args.tree)


if __name__ == "__main__":
    main()
