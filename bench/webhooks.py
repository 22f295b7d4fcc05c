"""Benchmark the controller's webhook intake: accept latency with the durable inbox, inbox speed.

1. Accept latency: a real ``shipway controller`` process (SQLite store) and a
   real ``git daemon``; the client is its own process (asyncio streams speaking
   HTTP/1.1 with keep-alive, one connection per worker: lean, so its CPU does not
   crowd the server's on a 2-core machine; its CPU per request is printed), C
   requests at a time on loopback, ``--runs`` floods of each kind (median
   and best of each figure, the server's and the client's CPU time per
   request beside the latencies, as the machine is shared, and how often the
   server was preempted by other processes during the flood): N ``POST /hooks/git``
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

``--accept-only`` runs the controller without workers, so the server's CPU time
per request is the accept path's alone (nothing drains the inbox meanwhile).
``--phases`` also prints where a new git event's accept time goes, measured in the
server (``shipway.server.intake.on_phases``): parse and token, the told-before
query, the wait for the git server's refs, the inbox's group commit.

Run: ``.venv/bin/python bench/webhooks.py [--requests 500] [--concurrency 50]
[--backend postgresql] [--accept-only] [--phases]``
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

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


def client_main(spec: dict[str, Any]) -> None:
    """The load generator, in its own process: raw HTTP/1.1 on asyncio streams, ``concurrency``
    kept-alive connections (a lean client: its CPU shares the machine with the server)."""
    import asyncio
    import resource

    kind, url, n, conc = spec["kind"], spec["url"], spec["n"], spec["concurrency"]
    headers = spec.get("headers") or {}

    def request(i: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        if kind == "healthz":
            return "GET", f"{url}/healthz", None, {}
        if kind == "git-dup":
            return "POST", f"{url}/hooks/git", json.dumps(spec["body"]).encode(), headers
        if kind == "git-new":
            body = {
                "repo": spec["repo"],
                "updates": [
                    {
                        "ref": "refs/heads/main",
                        "before": f"{spec['run'] * n + i + 1:040x}",
                        "after": spec["sha"],
                    }
                ],
            }
            return "POST", f"{url}/hooks/git", json.dumps(body).encode(), headers
        raw = json.dumps(
            {
                "ref": "refs/heads/main",
                "before": f"{spec['run'] * n + i + 1:040x}",
                "after": spec["sha"],
                "repository": {"clone_url": spec["repo"]},
            }
        ).encode()
        sig = hmac.new(spec["secret"].encode(), raw, hashlib.sha256).hexdigest()
        return (
            "POST",
            f"{url}/hooks/forge",
            raw,
            {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"bench-{spec['run']}-{i}",
                "X-Hub-Signature-256": f"sha256={sig}",
                "Content-Type": "application/json",
            },
        )

    host, _, port = url.removeprefix("http://").partition(":")

    def encode(method: str, where: str, content: bytes | None, hdrs: dict[str, str]) -> bytes:
        path = where.removeprefix(url) or "/"
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: shipway-bench"]
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        if content is not None:
            lines.append(f"Content-Length: {len(content)}")
            if not any(k.lower() == "content-type" for k in hdrs):
                lines.append("Content-Type: application/json")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (content or b"")

    async def exchange(conn: list[Any], data: bytes) -> int:
        """One request on a kept-alive connection (opened again when the server closed it)."""
        if not conn:
            conn.extend(await asyncio.open_connection(host, int(port)))
        reader, writer = conn
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *fields = head.decode("latin-1").split("\r\n")
        code = int(status_line.split(" ", 2)[1])
        length, close = 0, False
        for f in fields:
            name, _, value = f.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise RuntimeError("chunked responses are not read by this client")
        if length:
            await reader.readexactly(length)
        if close:
            writer.close()
            conn.clear()
        return code

    async def go() -> tuple[float, list[float], dict[int, int]]:
        lat: list[float] = []
        codes: Counter[int] = Counter()
        todo = iter(range(n))

        async def worker() -> None:
            conn: list[Any] = []
            for i in todo:
                data = encode(*request(i))
                t0 = time.perf_counter()
                try:
                    code = await exchange(conn, data)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    print(f"client: {type(exc).__name__}: {exc}", file=sys.stderr)
                    code = 0  # counted as status 0, named once
                    if conn:
                        conn[1].close()
                        conn.clear()
                lat.append(time.perf_counter() - t0)
                codes[code] += 1
            if conn:
                conn[1].close()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        return time.perf_counter() - t0, lat, dict(codes)

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    wall, lat, codes = asyncio.run(go())
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    print(json.dumps({"wall": wall, "lat": lat, "codes": codes, "cpu": cpu}))


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def preempted(pid: int) -> int:
    """How often the process's threads were taken off a core against their will (other
    processes wanted it): ``nonvoluntary_ctxt_switches`` summed over ``/proc/PID/task``."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("nonvoluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def flood(spec: dict[str, Any], server_pid: int) -> dict[str, Any]:
    """Run one flood from a separate client process; the server's CPU time over it too."""
    before, kicked = proc_cpu(server_pid), preempted(server_pid)
    out = subprocess.run([sys.executable, __file__, "--client", json.dumps(spec)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout  # fmt: skip
    result: dict[str, Any] = json.loads(out)
    result["server_cpu"] = proc_cpu(server_pid) - before
    result["preempted"] = preempted(server_pid) - kicked
    result["load"] = os.getloadavg()[0]
    return result


PHASED = r"""
import json, os, sys, threading, time
from shipway.server import intake
got = []
intake.on_phases = got.append
def dump():
    while True:
        time.sleep(0.25)
        with open(os.environ["SHIPWAY_BENCH_PHASES"] + ".tmp", "w") as f:
            json.dump(got, f)
        os.replace(os.environ["SHIPWAY_BENCH_PHASES"] + ".tmp", os.environ["SHIPWAY_BENCH_PHASES"])
threading.Thread(target=dump, daemon=True).start()
from shipway.cli.main import main
main(sys.argv[1:])
"""
PHASES = ("parse + token", "told before?", "git server's refs", "inbox commit", "in all")


def phases(path: Path, since: int) -> tuple[int, str]:
    """Percentiles of each phase of the new events the server recorded after the first
    ``since`` (the server writes them every 0.25 s)."""
    time.sleep(0.6)
    recs = json.loads(path.read_text()) if path.exists() else []
    new = recs[since:]
    if not new:
        return len(recs), "  phases: none recorded"
    spans = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)]
    parts = []
    for name, (a, b) in zip(PHASES, spans, strict=True):
        ms = [(r[b] - r[a]) * 1000 for r in new]
        parts.append(f"{name} p50 {pct(ms, 50):.1f} p99 {pct(ms, 99):.1f}")
    return len(recs), f"  phases in the server, ms ({len(new)} events): " + "; ".join(parts)


TARGET_P99_MS = 50.0  # issue 11: webhook accept latency p99 under 50 ms on loopback
BEFORE = "before issue 11: 500 requests at 50 concurrent took 3.3 s in all, p99 556 ms"


def report(name: str, runs: list[dict[str, Any]], concurrency: int, target: bool) -> None:
    """Median and best over the runs of each figure, with the issue's target beside them.

    The machine is shared, so wall-clock latencies carry other processes' load; the
    server's CPU time per request does not. With ``concurrency`` requests in flight on
    one event loop (one core, the GIL), a request waits for the others' CPU time, so
    ``concurrency x server CPU per request`` is what the p99 would be on a free core
    (an upper bound: that CPU time includes the workers handling the accepted events).
    """

    def fig(f: Callable[[dict[str, Any]], float]) -> str:
        values = [f(r) for r in runs]
        return f"{statistics.median(values):.1f}/{min(values):.1f}"

    n = len(runs[0]["lat"])
    codes: Counter[str] = Counter()
    for r in runs:
        codes.update({str(k): v for k, v in r["codes"].items()})
    rate = statistics.median(n / r["wall"] for r in runs)
    print(f"{name}\n  {n} requests x {len(runs)} runs, median/best ms: "
          f"p50 {fig(lambda r: pct([x * 1000 for x in r['lat']], 50))}, "
          f"p95 {fig(lambda r: pct([x * 1000 for x in r['lat']], 95))}, "
          f"p99 {fig(lambda r: pct([x * 1000 for x in r['lat']], 99))}, "
          f"max {fig(lambda r: max(r['lat']) * 1000)}; {rate:.0f} req/s; "
          f"server cpu {fig(lambda r: r['server_cpu'] * 1000 / n)} ms/req, "
          f"client cpu {fig(lambda r: r['cpu'] * 1000 / n)} ms/req; "
          f"server preempted {fig(lambda r: r['preempted'])} times, "
          f"load {fig(lambda r: r['load'])}; "
          f"status {dict(codes)}")  # fmt: skip
    if target:
        p99 = statistics.median(pct([x * 1000 for x in r["lat"]], 99) for r in runs)
        cpu = min(r["server_cpu"] * 1000 / n for r in runs)
        walls = statistics.median(r["wall"] for r in runs)
        free = concurrency * cpu
        print(f"  target p99 < {TARGET_P99_MS:.0f} ms: measured p99 {p99:.0f} ms (wall, shared "
              f"machine, {'met' if p99 < TARGET_P99_MS else 'missed'}); on a free core "
              f"{concurrency} x {cpu:.2f} ms CPU = {free:.0f} ms "
              f"({'met' if free < TARGET_P99_MS else 'missed'}); {n} requests in {walls:.1f} s; "
              f"{BEFORE}")  # fmt: skip


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
    ap.add_argument("--runs", type=int, default=3, help="floods of each kind (median, best)")
    ap.add_argument("--floods", default="healthz,git-dup,git-new,forge",
                    help="which floods, comma-separated")  # fmt: skip
    ap.add_argument("--accept-only", action="store_true",
                    help="a controller with no workers (SHIPWAY_CONTROLLER_WORKERS=0): the "
                         "server's CPU time is the accept path's alone")  # fmt: skip
    ap.add_argument(
        "--phases",
        action="store_true",
        help="print where a new git event's accept time goes, timed in the server",
    )
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite",
                    help="the store: SQLite (default), or a PostgreSQL server this bench "
                         "starts (initdb, as the tests do)")  # fmt: skip
    ap.add_argument("--client", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        client_main(json.loads(args.client))
        return
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-hooks-"))
    with postgres() if args.backend == "postgresql" else nullcontext("") as db_url:
        print(f"store: {args.backend}; load: {os.getloadavg()[0]:.1f} (1 min), "
              f"{os.cpu_count()} cores")  # fmt: skip
        bench(args, home, db_url)


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server (fsync off, as in the tests); its URL."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="shipway-bench-pg-"))
    as_pg: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = ports.free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_pg, *argv], check=True, capture_output=True)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "shipway", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(data / "log"), "start")
    try:
        run(
            str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "shipway", "shipway"
        )
        yield f"postgresql://shipway@127.0.0.1:{port}/shipway"
    finally:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(data, ignore_errors=True)


def bench(args: argparse.Namespace, home: Path, db_url: str) -> None:
    settings = Settings(home=home, database_url=db_url)
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
        if db_url:
            env["SHIPWAY_DATABASE_URL"] = db_url
        if args.accept_only:
            env["SHIPWAY_CONTROLLER_WORKERS"] = "0"
        phase_file = home / "phases.json"
        if args.phases:
            env["SHIPWAY_BENCH_PHASES"] = str(phase_file)
        launch = ["-c", PHASED] if args.phases else ["-m", "shipway.cli.main"]
        log = open(home / "controller.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                *launch,
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

        base = {"url": ctl, "n": args.requests, "concurrency": args.concurrency,
                "repo": url, "sha": sha, "headers": auth}  # fmt: skip
        floods = [
            ("GET /healthz (the HTTP stack alone, for scale)", "healthz"),
            ("POST /hooks/git, one push told N times (token, then a duplicate)", "git-dup"),
            ("POST /hooks/git, N new events (token + ls-remote + inbox write)", "git-new"),
            ("POST /hooks/forge, N new deliveries (HMAC + inbox write)", "forge"),
        ]
        chosen = args.floods.split(",")
        for label, kind in floods:
            if kind not in chosen:
                continue
            results = []
            lines = []
            for run in range(args.runs):
                spec = {**base, "kind": kind, "run": run, "body": body, "secret": tokens.forge()}
                seen_before = phases(phase_file, 0)[0] if args.phases else 0
                results.append(flood(spec, proc.pid))
                if args.phases and kind == "git-new":
                    lines.append(phases(phase_file, seen_before)[1])
                if not args.accept_only:
                    drained(store)
            report(label, results, args.concurrency, target=kind != "healthz")
            for line in lines:
                print(line)
        if args.accept_only:
            return
        made = [r for r in runs.list_runs(store, limit=5000) if r.get("commit") == sha]
        hooks = sum(k in chosen for k in ("git-dup", "git-new", "forge")) * args.requests
        hooks = hooks * args.runs + 1
        print(f"CI runs made by {hooks} hooks of one sha: {len(made)} (target: 1)")

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
