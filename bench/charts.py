"""Benchmark chart discovery: a chart version pushed to Freight, OCI and classic.

OCI: a local registry (``services.registry``) holding a chart repository with
``--versions`` versions pushed as Helm pushes them (config + one tgz layer);
each round pushes one more version and times ``warehouse.on_registry_push``
(what the controller runs on the registry's notification: the Warehouse's
discovery, the tag list, the stored Freight). Classic: a loopback HTTP server
serving an ``index.yaml`` of ``--entries`` charts of 20 versions each (a
large public repository's size); each round adds a version of the subscribed
chart and times ``warehouse.refresh`` (fetch, safe YAML parse, select, store).
Printed: median and best wall time and the median CPU time (this process) of
each. Target: < 1 s from push to Freight, as for images. Kargo's anchor: its
default Warehouse interval is 5 minutes.

Run: ``.venv/bin/python bench/charts.py [--repeat 5] [--versions 50] [--entries 2000]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import tarfile
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_chart(client: Any, repository: str, name: str, version: str) -> None:
    chart = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(chart)
        tar.addfile(info, io.BytesIO(chart))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"apiVersion": "v2", "name": name, "version": version}).encode()
    for blob in (layer, config):
        client.upload_blob(repository, _digest(blob), blob)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": HELM_LAYER, "digest": _digest(layer), "size": len(layer)}],
    }).encode()  # fmt: skip
    client.put_manifest(repository, version, manifest, OCI_MANIFEST)


def _report(label: str, walls: list[float], cpus: list[float]) -> None:
    print(f"{label}: median {statistics.median(walls) * 1000:.0f} ms, best "
          f"{min(walls) * 1000:.0f} ms wall; median CPU {statistics.median(cpus) * 1000:.0f} ms"
          " (target < 1000 ms)")  # fmt: skip


def _timed(fn: Any) -> tuple[float, float, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--versions", type=int, default=50)
    ap.add_argument("--entries", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shipway-bench-charts-"))
    os.environ["SHIPWAY_HOME"] = str(tmp / "home")
    from shipway.runtime import services

    run_dir = tmp / "run"
    reg = services.registry(run_dir, tmp / "registry")
    try:
        _bench(tmp, f"127.0.0.1:{reg.port}", args)
    finally:
        services.stop(run_dir, "registry")
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: Path, host: str, args: Any) -> None:
    from shipway.images.registry import RegistryClient
    from shipway.model.resources import parse_text
    from shipway.promote import warehouse
    from shipway.settings import Settings
    from shipway.store import resources as store
    from shipway.store.db import open_store
    from shipway.updater.webhooks import PushEvent

    db = open_store(Settings())
    store.apply(db, parse_text("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\n"
                               "metadata: {name: bench}\n", "p.yaml"))  # fmt: skip
    client = RegistryClient(host)
    for i in range(args.versions):
        push_chart(client, "charts/web", "web", f"1.{i}.0")
    wh = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        "metadata: {name: oci, namespace: bench}\nspec:\n  subscriptions:\n"
        f"  - chart: {{repoURL: 'oci://{host}/charts/web', semverConstraint: ^1.0.0}}\n"
    )
    store.apply(db, parse_text(wh, "w.yaml"))  # fmt: skip
    walls, cpus = [], []
    for r in range(args.repeat):
        version = f"1.{args.versions + r}.0"
        push_chart(client, "charts/web", "web", version)
        event = PushEvent(repository="charts/web", tag=version, host=host)
        wall, cpu, found = _timed(lambda e=event: warehouse.on_registry_push(
            db, [e], workdir=tmp / "wh"))  # fmt: skip
        assert found and found[0].created, found
        walls.append(wall)
        cpus.append(cpu)
    _report(f"OCI chart push to Freight ({args.versions}+ versions)", walls, cpus)

    versions = {f"chart{i}": [f"0.{j}.0" for j in range(20)] for i in range(args.entries)}
    versions["web"] = ["1.0.0"]
    state: dict[str, bytes] = {}

    def index() -> bytes:
        entries = {
            n: [
                {
                    "name": n,
                    "version": v,
                    "apiVersion": "v2",
                    "urls": [f"{n}-{v}.tgz"],
                    "digest": "0" * 64,
                }
                for v in vs
            ]
            for n, vs in versions.items()
        }
        return yaml.safe_dump({"apiVersion": "v1", "entries": entries}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state["index"]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    wh = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        "metadata: {name: classic, namespace: bench}\nspec:\n  subscriptions:\n"
        f"  - chart: {{repoURL: '{url}', name: web}}\n"
    )
    store.apply(db, parse_text(wh, "w2.yaml"))  # fmt: skip
    walls, cpus = [], []
    try:
        for r in range(args.repeat):
            versions["web"].append(f"1.{r + 1}.0")
            state["index"] = index()
            res = store.get(db, "Warehouse", "classic", "bench")
            wall, cpu, found = _timed(lambda res=res: warehouse.refresh(
                db, res, workdir=tmp / "wh"))  # fmt: skip
            assert found.created, found
            walls.append(wall)
            cpus.append(cpu)
    finally:
        server.shutdown()
    size = len(state["index"]) / 1e6
    _report(f"classic index.yaml to Freight ({args.entries} charts, {size:.1f} MB)", walls, cpus)


if __name__ == "__main__":
    main()
