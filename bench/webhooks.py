"""Benchmark the controller's webhook intake: accept latency with the durable inbox, inbox speed.

1. Accept latency: a real ``shipway controller`` process (SQLite store) and a
   real ``git daemon``, C requests at a time on loopback: N ``POST /hooks/git``
   of one push (the first checked at the git daemon, the rest duplicates); N
   new events (the same sha with N different ``before``s, each checked with
   ``ls-remote`` and written to the inbox); N signed GitHub push deliveries,
   each new. Wall time, p50/p95/p99/max per request, status codes, and how
   many CI runs the whole flood made (one expected).
2. Inbox throughput (in process, same SQLite settings): events written per
   second (one transaction each, 1 and 8 writer threads) and drained per
   second (take + complete, 4 worker threads).
3. Controller drain: M accepted events for a repository nothing watches,
   written while the controller runs; the time until its lanes have handled
   them all.

Run: ``.venv/bin/python bench/webhooks.py [--requests 500] [--concurrency 50]``
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from shipway.controller.tokens import HookTokens
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.runtime import ports, services
from shipway.settings import Settings
from shipway.store import inbox, runs
from shipway.store import resources as resource_store
from shipway.store.db import Store, open_store

WORKFLOW = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def flood(
    send: Callable[[httpx.Client, int], int], n: int, concurrency: int
) -> tuple[float, list[float], Counter[int]]:
    lat: list[float] = []
    codes: Counter[int] = Counter()
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, timeout=60) as client:

        def one(i: int) -> None:
            t0 = time.perf_counter()
            code = send(client, i)
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                codes[code] += 1

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(n)))
        return time.perf_counter() - t0, lat, codes


def report(name: str, wall: float, lat: list[float], codes: Counter[int]) -> None:
    ms = [x * 1000 for x in lat]
    print(
        f"{name}: {len(lat)} requests in {wall:.2f} s ({len(lat) / wall:.0f}/s); "
        f"p50 {pct(ms, 50):.1f} ms, p95 {pct(ms, 95):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms; status {dict(codes)}"
    )


def drained(store: Store, timeout: float = 300.0) -> None:
    """Wait for the controller to handle what a flood left (so floods do not overlap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = inbox.counts(store)
        if not c.get("pending") and not c.get("leased"):
            return
        time.sleep(0.2)


def inbox_throughput(store: Store, n: int) -> None:
    t0 = time.perf_counter()
    for i in range(n):
        inbox.put(store, "bench", {"i": i})
    one = n / (time.perf_counter() - t0)

    def writer(k: int) -> None:
        for i in range(n // 8):
            inbox.put(store, "bench", {"w": k, "i": i})

    t0 = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eight = (n // 8 * 8) / (time.perf_counter() - t0)
    drained = [0]
    lock = threading.Lock()

    def worker() -> None:
        owner = inbox.owner_id()
        while (item := inbox.take(store, owner, ["bench"])) is not None:
            inbox.complete(store, item.id, owner)
            with lock:
                drained[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = drained[0] / (time.perf_counter() - t0)
    print(
        f"inbox: written {one:.0f} events/s (1 writer), {eight:.0f} events/s (8 writers); "
        f"drained {rate:.0f} events/s (4 workers, take + complete; {drained[0]} events)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--inbox", type=int, default=4000)
    ap.add_argument("--drain", type=int, default=1000)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-hooks-"))
    settings = Settings(home=home, database_url="")
    store = open_store(settings)
    base = home / "git"
    git = services.git_daemon(home / "run", base)
    proc: subprocess.Popen[bytes] | None = None
    try:
        url = f"git://127.0.0.1:{git.port}/app.git"
        Repo.init(base / "app.git", bare=True).run("symbolic-ref", "HEAD", "refs/heads/main")
        work = Repo.clone(url, home / "work")
        work.run("checkout", "-q", "-B", "main")
        (work.path / ".github/workflows").mkdir(parents=True)
        (work.path / ".github/workflows/ci.yml").write_text(WORKFLOW)
        work.add_all()
        work.commit("bench")
        work.push("origin", "HEAD:refs/heads/main")
        sha = work.head()
        pipe = (
            f"apiVersion: shipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {{name: app}}\n"
            f"spec:\n  source: {{repoURL: '{url}', branches: [main]}}\n"
        )
        resource_store.apply(store, parse_text(pipe, "pipeline.yaml"))
        tokens = HookTokens(settings, store)
        port = ports.free_port()
        env = {
            **os.environ,
            "SHIPWAY_HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        }
        env.pop("SHIPWAY_DATABASE_URL", None)
        log = open(home / "controller.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipway.cli.main",
                "controller",
                "--port",
                str(port),
                "--resync",
                "600",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        ctl = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{ctl}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {tokens.git(url)}"}
        body = {
            "repo": url,
            "updates": [{"ref": "refs/heads/main", "before": "0" * 40, "after": sha}],
        }
        httpx.post(f"{ctl}/hooks/git", json=body, headers=auth, timeout=30)  # warm up

        def git_hook(client: httpx.Client, i: int) -> int:
            return client.post(f"{ctl}/hooks/git", json=body, headers=auth).status_code

        def git_new(client: httpx.Client, i: int) -> int:
            moved = {
                "repo": url,
                "updates": [{"ref": "refs/heads/main", "before": f"{i + 1:040x}", "after": sha}],
            }
            return client.post(f"{ctl}/hooks/git", json=moved, headers=auth).status_code

        def healthz(client: httpx.Client, i: int) -> int:
            return client.get(f"{ctl}/healthz").status_code

        report(
            "GET /healthz (the HTTP stack alone, for scale)",
            *flood(healthz, args.requests, args.concurrency),
        )
        report(
            "POST /hooks/git, one push told N times (token, then a duplicate)",
            *flood(git_hook, args.requests, args.concurrency),
        )
        report(
            "POST /hooks/git, N new events (token + ls-remote + inbox write)",
            *flood(git_new, args.requests, args.concurrency),
        )
        drained(store)

        def forge(client: httpx.Client, i: int) -> int:
            forge_body = json.dumps(
                {
                    "ref": "refs/heads/main",
                    "before": f"{i + 1:040x}",
                    "after": sha,
                    "repository": {"clone_url": url},
                }
            ).encode()
            sig = hmac.new(tokens.forge().encode(), forge_body, hashlib.sha256).hexdigest()
            headers = {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"bench-{i}",
                "X-Hub-Signature-256": f"sha256={sig}",
            }
            return client.post(
                f"{ctl}/hooks/forge", content=forge_body, headers=headers
            ).status_code

        report(
            "POST /hooks/forge, N new deliveries (HMAC + inbox write)",
            *flood(forge, args.requests, args.concurrency),
        )
        drained(store)
        made = [r for r in runs.list_runs(store, limit=5000) if r.get("commit") == sha]
        print(f"CI runs made by {3 * args.requests + 1} hooks of one sha: {len(made)}")

        drain = [inbox.New("git", {"repo": "git://nowhere/x.git", "updates": []})] * args.drain
        t0 = time.perf_counter()
        inbox.put_many(store, drain)
        while inbox.counts(store, ["git"]).get("pending") or inbox.counts(store, ["git"]).get(
            "leased"
        ):
            time.sleep(0.02)
        took = time.perf_counter() - t0
        print(
            f"controller drain: {args.drain} accepted events handled in {took:.2f} s "
            f"({args.drain / took:.0f} events/s, events lane: 2 threads)"
        )
        proc.terminate()
        proc.wait(15)
        proc = None
        inbox_throughput(store, args.inbox)
    finally:
        if proc is not None:
            proc.kill()
        services.stop(home / "run", "git-daemon")


if __name__ == "__main__":
    main()
