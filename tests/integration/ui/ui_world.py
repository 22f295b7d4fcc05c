"""A shipway controller's HTTP app in this process (uvicorn in a thread) over a seeded store.

The store holds: accounts ``admin`` (role:admin), ``viewer`` (role:readonly) and
``alice`` (role:dev: may sync ``web`` only); an argocd-rbac-cm saying so; a config
repository on the git daemon with two commits and Application ``web`` synced to
both (history 1 and 2) on an in-process cluster; a second Application ``api`` not
synced; a release record of ``web``; a CI run with jobs ``build → test → deploy``
and ``deploy`` waiting for a review of ``production``; a Kargo Project with a
Warehouse, Stages ``dev → prod`` and two Freight. Nothing here is a fake of
shipway: the pages read it through the real engines.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from kargo_shop import KARGO, freight
from shipway import cluster
from shipway.auth import accounts
from shipway.cluster.memory import MemoryTarget
from shipway.controller.core import Controller
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.model.release import Release
from shipway.model.resources import parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import ci_coord, releases, runs
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

PASSWORD = "correct horse battery"

RBAC_CM = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-rbac-cm, namespace: argocd}
data:
  policy.default: role:readonly
  policy.csv: |
    p, role:dev, applications, sync, default/web, allow
    p, role:dev, ci-runs, approve, */production, allow
    p, role:dev, promotions, promote, shop/dev, allow
"""


def manifests(message: str) -> list[dict[str, Any]]:
    labels = {"app": "web"}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"},
         "data": {"message": message, "level": "info"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secret"},
         "stringData": {"password": f"hunter2-{message}"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
         "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "web", "image": "busybox:1"}]}}}},
    ]  # fmt: skip


def app_yaml(name: str, repo: str, path: str, project: str = "default") -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd, labels: {{team: {name}}}}}
spec:
  project: {project}
  source: {{repoURL: "{repo}", path: {path}, targetRevision: main}}
  destination: {{name: mem, namespace: {name}}}
"""


@dataclass
class World:
    url: str
    home: Path
    store: Store
    settings: Settings
    target: MemoryTarget
    work: Repo
    run_id: str
    release_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _commit(work: Repo, message: str) -> str:
    root = Path(work.path)
    (root / "web").mkdir(exist_ok=True)
    (root / "web" / "all.yaml").write_text(yaml.safe_dump_all(manifests(message)))
    (root / "api").mkdir(exist_ok=True)
    (root / "api" / "cm.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "api"},
         "data": {"m": message}}))  # fmt: skip
    work.add_all()
    sha = work.commit(message)
    work.push("origin", "HEAD:refs/heads/main")
    return sha


def apply_text(store: Store, text: str) -> None:
    store_resources.apply(store, parse_text(text, "ui-test.yaml"))


def seed(home: Path, git_url: str, work_dir: Path) -> tuple[Store, Settings, MemoryTarget, Repo,
                                                           str, str]:  # fmt: skip
    settings = Settings(home=home)
    store = open_store(settings)
    accounts.bootstrap_admin(store, home)
    accounts.create(store, "viewer", PASSWORD, role="readonly")
    accounts.create(store, "alice", PASSWORD, role="dev")
    store_accounts_set_admin_password(store)
    apply_text(store, RBAC_CM)
    target = MemoryTarget("mem")
    cluster.register("mem", target)
    work = Repo.clone(git_url, work_dir)
    work.run("config", "user.email", "ui@test")
    work.run("config", "user.name", "ui test")
    _commit(work, "v1")
    apply_text(store, app_yaml("web", git_url, "web") + "---\n" + app_yaml("api", git_url, "api"))
    engine.reconcile(store, "web", settings=settings)
    _commit(work, "v2")
    engine.reconcile(store, "web", settings=settings)
    rel = Release(id="rel-web-0001", app="web", commit="c0ffee" * 6, source_repo="git://src",
                  ci_run="run-0001", image="127.0.0.1:5000/shop@sha256:" + "ab" * 32,
                  config_commit="deadbeef" * 5)  # fmt: skip
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    for i, st in enumerate(rel.stages):
        st.status, st.started = "Succeeded", t0 + dt.timedelta(seconds=20 * i)
        st.finished = st.started + dt.timedelta(seconds=15)
    rel.status, rel.finished = "Succeeded", t0 + dt.timedelta(seconds=100)
    releases.save(store, rel)
    record = {"id": "run-0001", "workflow": "ci", "event": "push", "ref": "refs/heads/main",
              "commit": "c0ffee" * 6, "status": "waiting", "conclusion": "", "started": time.time(),
              "seconds": 12.5, "jobs": [
                  {"id": "build", "name": "build", "result": "success", "steps": [
                      {"name": "compile", "conclusion": "success"}]},
                  {"id": "test", "name": "test", "result": "success", "needs": ["build"],
                   "steps": [{"name": "unit", "conclusion": "success"}]},
                  {"id": "deploy", "name": "deploy", "status": "waiting", "needs": ["test"],
                   "steps": []}]}  # fmt: skip
    log = "[build / compile] compiling\n[test / unit] 12 passed\n[deploy] waiting for review\n"
    runs.save_run(store, record, log, commit=record["commit"])
    ci_coord.request_approval(store, "run-0001", "deploy", "production")
    apply_text(store, KARGO)
    store_resources.apply(store, [r for r in parse_text(yaml.safe_dump_all(
        [freight("aaaa1111bbbb2222", "first", "v1"), freight("cccc3333dddd4444", "second", "v2")]),
        "freight.yaml")])  # fmt: skip
    return store, settings, target, work, record["id"], rel.id


def store_accounts_set_admin_password(store: Store) -> None:
    """The test signs in as admin with the shared password (bootstrap made a random one)."""
    from shipway.auth import passwords
    from shipway.store import accounts as store_accounts

    store_accounts.set_password(store, "admin", passwords.hash_password(PASSWORD))


@contextmanager
def serving(store: Store, settings: Settings) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(Controller(settings, store)), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise AssertionError("the UI server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
