"""Wall time of the everyday read commands beside ``kubectl version --client`` and ``kubectl get``.

Builds a store with some data (Applications, releases, CI runs) in a
temporary ``SHIPWAY_HOME``, then runs each command ``--runs`` times through
the installed ``shipway`` script, interleaved with ``kubectl version
--client`` and ``kubectl get configmaps`` (as many ConfigMaps as apps) against
the fake API server of the tests (``tests/fake_kube``, on loopback; kubectl's
discovery cache warm, as in daily use) so all see the same machine load.
Prints each command's median and best wall time, and its median CPU time
(user + system of the child, from ``getrusage``: what the command costs,
whatever else loads the machine).
Targets: 100 ms for the lists, 50 ms for ``--version``. The source tree is
byte-compiled first (``compileall``), as an install compiles it
(``scripts/setup.sh``): where ``PYTHONDONTWRITEBYTECODE`` is set, an
uncompiled tree is compiled again on every run.

    .venv/bin/python bench/cli.py [--runs 15] [--apps 20]

``--watch N`` measures instead how soon a ``--watch`` on PostgreSQL sees a
write ("write -> watch sees it"): a throwaway PostgreSQL server (as
``bench/webhooks.py`` starts one), ``shipway get events -w -o name`` running
with its fallback fetch put off (``SHIPWAY_WATCH_FALLBACK=600``), and N events
written by this process (another connection) 0.2-0.6 s apart; each latency is
from the write's commit returning to the watch printing its line. Prints the
median, p95 and max, and the watcher's CPU time per second of watching (an
idle watch's cost: what it spends asking the database). Then what the
notifying trigger costs the writers: events written per second (1 and 8
threads, one ``emit`` each) with migration 0014's trigger on ``events`` and
with it dropped, rounds interleaved, median of three.

    .venv/bin/python bench/cli.py --watch 100
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

COMMANDS = [
    ["--version"],
    ["get", "applications"],
    ["app", "list"],
    ["release", "list"],
    ["release", "list", "-n", "argocd"],
    ["ci", "list"],
    ["ci", "list", "-A"],
]
TARGETS = {"--version": 0.050}
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: app-{i}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: apps/app-{i}}}
  destination: {{name: local, namespace: app-{i}}}
"""


def _fill(env: dict[str, str], apps: int) -> None:
    """Applications through ``shipway apply``; releases and runs through the store."""
    text = "---\n".join(APP.format(i=i) for i in range(apps))
    shipway = str(Path(sys.executable).with_name("shipway"))
    subprocess.run([shipway, "apply", "-f", "-"], input=text, env=env, check=True,
                   capture_output=True, text=True)  # fmt: skip
    code = (
        "from shipway.model.release import Release\n"
        "from shipway.settings import Settings\n"
        "from shipway.store import releases, runs\n"
        "from shipway.store.db import open_store\n"
        "st = open_store(Settings())\n"
        f"for i in range({apps} * 2):\n"
        "    releases.save(st, Release(id=f'r{i:04d}', app=f'app-{i % 7}', commit=f'{i:040x}'))\n"
        "    runs.save_run(st, {'id': f'run-{i}', 'workflow': 'ci.yml', 'event': 'push',\n"
        "                       'conclusion': 'success', 'jobs': [{'name': 'build'}]}, 'log')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def _fake_api(apps: int, home: Path) -> tuple[Any, list[str]] | None:
    """The tests' fake API server with ``apps`` ConfigMaps, and the kubectl options to read it."""
    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path.insert(0, str(tests))
    try:
        from fake_kube.server import FakeKube
    except ImportError:
        return None
    fake = FakeKube()
    config = home / "kubeconfig.json"
    config.write_text(json.dumps(fake.kubeconfig()))
    for i in range(apps):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"},
                "metadata": {"name": f"app-{i}", "namespace": "default"}}  # fmt: skip
        req = urllib.request.Request(f"{fake.url}/api/v1/namespaces/default/configmaps",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        urllib.request.urlopen(req, timeout=10).close()
    opts = ["--kubeconfig", str(config), "--cache-dir", str(home / "kube-cache")]
    return fake, opts


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _cpu() - cpu


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _write_rates(store: Any, n: int = 1200) -> dict[tuple[bool, int], list[float]]:
    """Events written per second with 0014's trigger on ``events`` and without it."""
    import threading

    from sqlalchemy import text

    from shipway.model.events import ObjectRef
    from shipway.store import events as store_events

    def rate(threads: int) -> float:
        def write(k: int) -> None:
            for i in range(n // threads):
                store_events.emit(store, ObjectRef("Application", f"a{k}", "argocd"),
                                  f"Write{i}", f"write {i}")  # fmt: skip

        pool = [threading.Thread(target=write, args=(k,)) for k in range(threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return n / (time.perf_counter() - start)

    create = ("CREATE TRIGGER shipway_notify_events AFTER INSERT OR UPDATE OR DELETE ON events "
              "FOR EACH STATEMENT EXECUTE FUNCTION shipway_notify_change()")  # fmt: skip
    rates: dict[tuple[bool, int], list[float]] = {}
    rate(4)  # warm up
    for _ in range(3):
        for trigger in (True, False):
            with store.engine.begin() as conn:
                conn.execute(text("DROP TRIGGER IF EXISTS shipway_notify_events ON events"))
                if trigger:
                    conn.execute(text(create))
            for threads in (1, 8):
                rates.setdefault((trigger, threads), []).append(rate(threads))
    return rates


def watch_latency(writes: int) -> None:
    """Write -> watch sees it, on PostgreSQL (see the module)."""
    import queue
    import random
    import signal
    import threading

    from webhooks import postgres

    from shipway.model.events import ObjectRef
    from shipway.settings import Settings
    from shipway.store import events as store_events
    from shipway.store.db import open_store

    shipway = str(Path(sys.executable).with_name("shipway"))
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-watch-"))
    with postgres() as url:
        env = {**os.environ, "SHIPWAY_HOME": str(home), "SHIPWAY_CONFIG": str(home / "cli.yaml"),
               "SHIPWAY_DATABASE_URL": url, "SHIPWAY_WATCH_FALLBACK": "600",
               "SHIPWAY_COLOR": "never"}  # fmt: skip
        env.pop("SHIPWAY_SERVER", None)
        os.environ["SHIPWAY_DATABASE_URL"] = url
        store = open_store(Settings())
        ref = ObjectRef("Application", "web", "argocd")
        store_events.emit(store, ref, "Started")
        proc = subprocess.Popen([shipway, "get", "events", "-w", "-o", "name"], env=env,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        seen: queue.Queue[float] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for _ in proc.stdout:
                seen.put(time.perf_counter())

        threading.Thread(target=pump, daemon=True).start()
        try:
            seen.get(timeout=60)  # the listing: the watch is up
            lat: list[float] = []
            cpu0, wall0 = _proc_cpu(proc.pid), time.perf_counter()
            for i in range(writes):
                time.sleep(random.uniform(0.2, 0.6))
                store_events.emit(store, ref, f"Step{i}", f"write {i}")
                wrote = time.perf_counter()
                lat.append(seen.get(timeout=60) - wrote)
            cpu = (_proc_cpu(proc.pid) - cpu0) / (time.perf_counter() - wall0)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        try:
            rates = _write_rates(store)
        finally:
            store.close()
            shutil.rmtree(home, ignore_errors=True)
    lat.sort()
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(f"write -> watch sees it (PostgreSQL, get events -w): {writes} writes 0.2-0.6 s apart")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"median {statistics.median(lat) * 1e3:.1f}ms  p95 {p95 * 1e3:.1f}ms  "
          f"max {lat[-1] * 1e3:.1f}ms  watcher CPU {cpu * 1e3:.1f}ms/s")  # fmt: skip
    for (trigger, threads), values in rates.items():
        label = "with the trigger" if trigger else "trigger dropped"
        print(
            f"event writes, {threads} thread(s), {label}: "
            f"{statistics.median(values):.0f}/s (runs: {', '.join(f'{v:.0f}' for v in values)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument(
        "--watch",
        type=int,
        default=0,
        metavar="N",
        help="measure write -> watch latency on PostgreSQL over N writes instead",
    )
    args = parser.parse_args()
    if args.watch:
        watch_latency(args.watch)
        return
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-cli-"))
    env = {**os.environ, "SHIPWAY_HOME": str(home), "SHIPWAY_CONFIG": str(home / "cli.yaml")}
    for name in ("SHIPWAY_SERVER", "SHIPWAY_DATABASE_URL", "SHIPWAY_CORE"):
        env.pop(name, None)
    shipway = str(Path(sys.executable).with_name("shipway"))
    kubectl = shutil.which("kubectl")
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "src"), quiet=1)
    fake = _fake_api(args.apps, home) if kubectl else None
    try:
        _fill(env, args.apps)
        times: dict[str, list[tuple[float, float]]] = {" ".join(c): [] for c in COMMANDS}
        times["kubectl version --client"] = []
        get = "kubectl get configmaps (fake API)"
        times[get] = []
        kget = [kubectl or "kubectl", *(fake[1] if fake else []), "get", "configmaps", "-n",
                "default"]  # fmt: skip
        for argv in [[shipway, *c] for c in COMMANDS]:  # warm the page cache once
            _time(argv, env)
        if fake:
            _time(kget, env)  # and kubectl's discovery cache
        for _ in range(args.runs):
            if kubectl:
                times["kubectl version --client"].append(
                    _time([kubectl, "version", "--client"], env)
                )
            if fake:
                times[get].append(_time(kget, env))
            for c in COMMANDS:
                times[" ".join(c)].append(_time([shipway, *c], env))
        print(f"{args.runs} runs each; store: {args.apps} apps, {args.apps * 2} releases and runs")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
              f"{os.cpu_count()} cores")  # fmt: skip
        print(f"{'command':<36} {'median':>8} {'best':>8} {'cpu med':>8} {'target':>8}")
        for name, values in times.items():
            label = name if name.startswith("kubectl") else f"shipway {name}"
            if not values:
                print(f"{label:<36} (not installed)")
                continue
            target = "" if name.startswith("kubectl") else f"{TARGETS.get(name, 0.100) * 1e3:.0f}ms"
            walls, cpus = [w for w, _ in values], [c for _, c in values]
            med, best = statistics.median(walls) * 1e3, min(walls) * 1e3
            cpu = statistics.median(cpus) * 1e3
            print(f"{label:<36} {med:6.0f}ms {best:6.0f}ms {cpu:6.0f}ms {target:>8}")
    finally:
        if fake:
            fake[0].close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
