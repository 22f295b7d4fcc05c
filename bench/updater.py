"""Benchmark the image updater against a real registry and a real git daemon.

1. Push → commit: a CNCF distribution registry (``docker-registry``) posts its
   push notifications to a small receiver that runs ``engine.on_push``; for N
   pushes (one at a time) it reports the time from the manifest PUT returning
   to the config commit being pushed to the git daemon (p50/p95/max), and how
   much of it was the registry's notification delay.
2. Polling: one ``run_once`` pass over R image repositories in the same local
   registry (each watched by its own Application writing its own
   kustomization), cold and warm: wall time, registry requests, tag-list
   requests per repository, commits.

Argo CD Image Updater and Flux image automation cannot run here (no
Kubernetes); their defaults are quoted for context: Image Updater polls every
2 minutes, Flux ImageRepository examples use 1 to 30 minute intervals.

Run: ``.venv/bin/python bench/updater.py [--pushes 50] [--repos 1000]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import queue
import resource
import statistics
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import Resource, parse_text
from shipway.runtime import ports, services
from shipway.updater import engine, webhooks

OCI = "application/vnd.oci.image.manifest.v1+json"
P = "argocd-image-updater.argoproj.io/"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("app")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return gzip.compress(raw.getvalue(), mtime=0)


LAYER = layer()


def push(client: RegistryClient, repo: str, tag: str, created: str, revision: str) -> float:
    """Push a one-layer image; return ``perf_counter()`` just before its manifest PUT."""
    diff_id = digest_of(gzip.decompress(LAYER))
    config = json.dumps(
        {
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"org.opencontainers.image.revision": revision}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    for blob in (LAYER, config):
        if not client.blob_exists(repo, digest_of(blob)):
            client.upload_blob(repo, digest_of(blob), blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest_of(LAYER),
                    "size": len(LAYER),
                }
            ],
        }
    ).encode()
    started = time.perf_counter()
    client.put_manifest(repo, tag, manifest, OCI)
    return started


def application(name: str, image: str, url: str, path: str, strategy: str) -> str:
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  annotations:
    {P}image-list: app={image}
    {P}app.update-strategy: {strategy}
    {P}app.kustomize.image-name: hello
    {P}write-back-method: git
    {P}write-back-target: kustomization
spec:
  source: {{repoURL: '{url}', path: {path}, targetRevision: main}}
  destination: {{server: https://kubernetes.default.svc, namespace: default}}
---
"""


KUST = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: hello\n"
)


def seed(url: str, work: Path, dirs: list[str]) -> None:
    repo = Repo.init(work)
    repo.run("remote", "add", "origin", url)
    for d in dirs:
        (work / d).mkdir(parents=True, exist_ok=True)
        (work / d / "kustomization.yaml").write_text(KUST)
    repo.add_all()
    repo.commit("seed")
    repo.push("origin", "HEAD:refs/heads/main")


class Receiver:
    """Registry notifications in, ``on_push`` run on a worker thread, timings recorded."""

    def __init__(self, workdir: Path, apps: list[Resource]) -> None:
        self.workdir, self.apps = workdir, apps
        self.jobs: queue.Queue[tuple[float, list[webhooks.PushEvent]]] = queue.Queue()
        self.done: dict[str, float] = {}
        self.received: dict[str, float] = {}
        self.errors: list[str] = []
        self.jobs_run = 0
        self.last: list[tuple[str, str | None, str | None]] = []
        self.timings: list[dict[str, float]] = []
        self.cpu: list[float] = []
        self.git_cpu: list[float] = []
        self.cond = threading.Condition()
        self.port = ports.free_port()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = time.perf_counter()
                events = webhooks.parse(body, dict(self.headers))
                self.send_response(200)
                self.end_headers()
                if events:
                    rx.jobs.put((received, events))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        while True:
            received, events = self.jobs.get()
            if not events:
                return
            cpu0, kids0 = time.process_time(), _children_cpu()
            results = engine.on_push(None, events, workdir=self.workdir, resources=self.apps)
            finished = time.perf_counter()
            self.cpu.append((time.process_time() - cpu0) * 1000)
            self.git_cpu.append((_children_cpu() - kids0) * 1000)
            with self.cond:
                self.jobs_run += 1
                self.last = [(r.tag, r.config_commit, r.error) for r in results]
                for ev in events:
                    self.received.setdefault(ev.tag or "", received)
                for r in results:
                    if r.config_commit:
                        self.timings.append(r.timings)
                    if r.error:
                        self.errors.append(f"{r.app}: {r.error_subject}: {r.error}")
                    if r.config_commit:  # at-least-once delivery: keep the first commit
                        self.done.setdefault(r.tag, finished)
                self.cond.notify_all()

    def wait(self, tag: str, timeout: float = 30.0) -> tuple[float, float]:
        """(notification received, commit pushed) for ``tag``."""
        with self.cond:
            if not self.cond.wait_for(lambda: tag in self.done or self.errors, timeout):
                raise SystemExit(
                    f"no commit for tag {tag} within {timeout}s (notified: "
                    f"{tag in self.received}, jobs {self.jobs_run}, last results {self.last})"
                )
            if self.errors:
                raise SystemExit(f"update failed: {self.errors[0]}")
            return self.received.get(tag, self.done[tag]), self.done[tag]

    def stop(self) -> None:
        self.jobs.put((0.0, []))
        self.server.shutdown()


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def pct(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def bench_push(tmp: Path, pushes: int) -> None:
    run = tmp / "run-push"
    gitd = services.git_daemon(run, tmp / "git-push")
    Repo.init(tmp / "git-push" / "config.git", bare=True).run(
        "symbolic-ref", "HEAD", "refs/heads/main"
    )
    url = f"git://127.0.0.1:{gitd.port}/config.git"
    seed(url, tmp / "seed-push", ["overlays/dev"])
    rx_apps: list[Resource] = []
    rx = Receiver(tmp / "work-push", rx_apps)
    reg = services.registry(
        run, tmp / "reg-push", notify_url=f"http://127.0.0.1:{rx.port}/", name="registry-push"
    )
    try:
        host = f"127.0.0.1:{reg.port}"
        rx_apps += parse_text(application("hello-dev", f"{host}/demo/hello", url, "overlays/dev",
                                          "newest-build"), "app.yaml")  # fmt: skip
        client = RegistryClient(host)
        latency, notify, engine_ms = [], [], []
        for i in range(pushes):
            tag = f"1.0.{i}"
            created = f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
            pushed = push(client, "demo/hello", tag, created, f"{i:040x}")
            received, finished = rx.wait(tag)
            latency.append((finished - pushed) * 1000)
            notify.append((received - pushed) * 1000)
            engine_ms.append((finished - received) * 1000)
        check = Repo.clone(url, tmp / "check-push")
        commits = len(check.run("log", "--format=%H").split()) - 1
        text = (check.path / "overlays/dev/kustomization.yaml").read_text()
        assert "newTag" not in text and f"{host}/demo/hello" in text
        print(f"push -> commit ({pushes} pushes, newest-build, pinned by digest):")
        print(f"  end to end   p50 {pct(latency, 50):7.1f} ms  p95 {pct(latency, 95):7.1f} ms"
              f"  max {max(latency):7.1f} ms")  # fmt: skip
        print("  (from the start of the manifest PUT to the config commit pushed)")
        print(f"  notification p50 {pct(notify, 50):7.1f} ms  p95 {pct(notify, 95):7.1f} ms")
        print(f"  engine       p50 {pct(engine_ms, 50):7.1f} ms  p95 {pct(engine_ms, 95):7.1f} ms")
        res = [t["resolve_ms"] for t in rx.timings]
        wr = [t["write_ms"] for t in rx.timings]
        print(f"    registry   p50 {pct(res, 50):7.1f} ms  p95 {pct(res, 95):7.1f} ms")
        print(f"    git write  p50 {pct(wr, 50):7.1f} ms  p95 {pct(wr, 95):7.1f} ms")
        print(
            f"  CPU per update: python p50 {pct(rx.cpu, 50):.1f} ms, git processes p50 "
            f"{pct(rx.git_cpu, 50):.1f} ms (the rest of the wall time: waiting for I/O or CPU)"
        )
        print(
            f"  config commits {commits} for {pushes} pushes ({rx.jobs_run} notifications handled)"
        )
    finally:
        rx.stop()
        services.stop(run, "registry-push")
        services.stop(run, "git-daemon")


def bench_poll(tmp: Path, repos: int) -> None:
    run = tmp / "run-poll"
    gitd = services.git_daemon(run, tmp / "git-poll")
    Repo.init(tmp / "git-poll" / "config.git", bare=True).run(
        "symbolic-ref", "HEAD", "refs/heads/main"
    )
    url = f"git://127.0.0.1:{gitd.port}/config.git"
    reg = services.registry(run, tmp / "reg-poll", name="registry-poll")
    try:
        host = f"127.0.0.1:{reg.port}"
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            clients = [RegistryClient(host) for _ in range(8)]

            def fill(i: int) -> None:
                for t in ("1.0.0", "1.1.0"):
                    push(clients[i % 8], f"poll/r{i:04d}", t, "2026-01-01T00:00:00Z", f"{i:040x}")

            list(pool.map(fill, range(repos)))
        setup = time.perf_counter() - t0
        seed(url, tmp / "seed-poll", [f"apps/a{i:04d}" for i in range(repos)])
        text = "".join(
            application(f"a{i:04d}", f"{host}/poll/r{i:04d}", url, f"apps/a{i:04d}", "semver")
            for i in range(repos)
        )
        apps = parse_text(text, "apps.yaml")
        eng = engine.engine_for(tmp / "work-poll")
        print(f"polling pass over {repos} repositories (2 tags each, semver; setup {setup:.1f} s):")
        for label in ("cold", "warm"):
            before = sum(getattr(c, "requests", 0) for c in eng.resolver.clients.values())
            lists_before = eng.resolver.tag_lists
            t = time.perf_counter()
            results = engine.run_once(None, workdir=tmp / "work-poll", resources=apps)
            took = time.perf_counter() - t
            reqs = sum(getattr(c, "requests", 0) for c in eng.resolver.clients.values()) - before
            lists = eng.resolver.tag_lists - lists_before
            errors = [r for r in results if r.error]
            commits = {r.config_commit for r in results if r.config_commit}
            if errors:
                raise SystemExit(f"{len(errors)} errors, first: {errors[0]}")
            edits = sum(len(r.changes) for r in results)
            print(
                f"  {label}: {took:6.2f} s  {reqs} registry requests ({reqs / repos:.1f}/repo, "
                f"{lists / repos:.1f} tag lists/repo), {len(commits)} commit(s), {edits} edits"
            )
    finally:
        services.stop(run, "registry-poll")
        services.stop(run, "git-daemon")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pushes", type=int, default=50)
    ap.add_argument("--repos", type=int, default=1000)
    args = ap.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average {' '.join(load)} on {os.cpu_count()} CPUs")
    print("peer tools (not runnable here): Argo CD Image Updater polls every 2 min by default;"
          " Flux ImageRepository intervals are typically 1-30 min.")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="shipway-bench-updater-") as d:
        tmp = Path(d)
        if args.pushes:
            bench_push(tmp, args.pushes)
        if args.repos:
            bench_poll(tmp, args.repos)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
