"""Image builder and registry client speed, against buildah and skopeo in the same run.

Prints, for a Containerfile without RUN (busybox rootfs + an app directory):
- cold build, no-op rebuild (target <= 0.2 s) and one COPY changed (target <= 0.5 s),
  for ``buildah bud`` (vfs, chroot, --layers) and for shipway's ``build()`` (and its CLI);
- push economics through a counting proxy in front of the real registry: first
  push, re-push (target: 0 bytes), push to a second repository (mounts), for skopeo
  and shipway: bytes uploaded and requests;
- layer digest throughput (tar + sha256) against plain hashlib, and the gzip cost.

    .venv/bin/python bench/images.py [--app-mb 8] [--digest-mb 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from shipway.images.build import build
from shipway.images.build import layers as L
from shipway.images.layout import Layout
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.images.transfer import push
from shipway.runtime import podman_env, services

CONTAINERFILE = """\
FROM scratch
COPY rootfs/ /
COPY app/ /app/
ENV APP_HOME=/app
WORKDIR /app
CMD ["/bin/sh", "-c", "ls /app | wc -l"]
"""


def make_context(root: Path, app_mb: int) -> Path:
    ctx = root / "ctx"
    (ctx / "rootfs" / "bin").mkdir(parents=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy2(busybox, ctx / "rootfs" / "bin" / "busybox")
    names = subprocess.run([busybox, "--list"], capture_output=True, text=True).stdout.split()
    for name in names:
        if name != "busybox":
            (ctx / "rootfs" / "bin" / name).symlink_to("/bin/busybox")
    app = ctx / "app"
    app.mkdir()
    per = 256 * 1024
    for i in range(max(1, app_mb * 4)):
        (app / f"data-{i:03d}.bin").write_bytes(os.urandom(per // 2) + bytes(per // 2))
    (app / "config.txt").write_text("version=1\n")
    (ctx / "Containerfile").write_text(CONTAINERFILE)
    return ctx


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median(fn: Callable[[], Any], repeat: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeat))


def change_copy(ctx: Path, n: list[int]) -> None:
    n[0] += 1
    (ctx / "app" / "config.txt").write_text(f"version={n[0]}\n")


# -- builds -------------------------------------------------------------------
def bench_builds(ctx: Path, work: Path, repeat: int) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    env = {**os.environ, **podman_env.podman_env(work / "buildah")}
    bud = [
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "-q",
        "-t",
        "bench:1",
        "-f",
        str(ctx / "Containerfile"),
        str(ctx),
    ]

    def run_bud() -> None:
        subprocess.run(bud, env=env, check=True, capture_output=True)

    counter = [1]
    if shutil.which("buildah"):
        cold = timed(run_bud)
        noop = median(run_bud, repeat)
        changed = median(lambda: (change_copy(ctx, counter), run_bud()), repeat)
        rows.append(("buildah bud (vfs, chroot)", cold, noop))
        rows.append(("buildah: one COPY changed", changed, float("nan")))
    store = Store(work / "shipway-store")

    def run_ship() -> None:
        build(ctx, tags=["bench.local/app:1"], store=store)

    cold = timed(run_ship)
    noop = median(run_ship, repeat)
    changed = median(lambda: (change_copy(ctx, counter), run_ship()), repeat)
    rows.append(("shipway build()", cold, noop))
    rows.append(("shipway: one COPY changed", changed, float("nan")))
    home = work / "cli-home"
    cli = [
        sys.executable,
        "-m",
        "shipway.cli.main",
        "image",
        "build",
        str(ctx),
        "-t",
        "bench.local/app:1",
    ]
    cli_env = {**os.environ, "SHIPWAY_HOME": str(home)}

    def run_cli() -> None:
        subprocess.run(cli, env=cli_env, check=True, capture_output=True)

    run_cli()
    rows.append(("shipway CLI (process start incl.)", float("nan"), median(run_cli, repeat)))
    return rows


# -- push through a counting proxy ----------------------------------------------
class CountingProxy:
    """Forwards to the registry, counting requests and request-body bytes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.bytes = 0
        self.methods: dict[str, int] = {}
        self.http = httpx.Client(timeout=60)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        self.requests, self.bytes, self.methods = 0, 0, {}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def _forward(self) -> None:
                body = self._body()
                outer.requests += 1
                outer.bytes += len(body)
                outer.methods[self.command] = outer.methods.get(self.command, 0) + 1
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("transfer-encoding", "content-length")
                }
                resp = outer.http.request(
                    self.command,
                    f"http://{outer.upstream}{self.path}",
                    headers=headers,
                    content=body,
                )
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in (
                        "transfer-encoding",
                        "content-length",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(k, v)
                data = resp.content if self.command != "HEAD" else b""
                length = resp.headers.get("content-length", str(len(data)))
                self.send_header(
                    "Content-Length", length if self.command == "HEAD" else str(len(data))
                )
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler


def bench_push(ctx: Path, work: Path) -> list[tuple[str, int, int]]:
    run_dir = work / "run"
    svc = services.registry(run_dir, work / "registry-data", name="bench-registry")
    proxy = CountingProxy(f"127.0.0.1:{svc.port}")
    rows: list[tuple[str, int, int]] = []
    try:
        store = Store(work / "push-store")
        res = build(ctx, tags=["bench.local/app:2"], store=store)
        layout_dir = work / "skopeo-src"
        Layout(layout_dir).init()
        from shipway.images.transfer import copy_blobs

        copy_blobs(store, Store.for_layout(layout_dir), res.digest)
        Layout(layout_dir).tag(
            "app",
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": res.digest,
                "size": store.layout.size(res.digest),
            },
        )
        if shutil.which("skopeo"):
            for label, repo in (
                ("first push", "sk/app"),
                ("re-push", "sk/app"),
                ("second repository", "sk/other"),
            ):
                proxy.reset()
                subprocess.run(
                    [
                        "skopeo",
                        "copy",
                        "-q",
                        "--dest-tls-verify=false",
                        f"oci:{layout_dir}:app",
                        f"docker://{proxy.host}/{repo}:1",
                    ],
                    check=True,
                    capture_output=True,
                )
                rows.append((f"skopeo {label}", proxy.bytes, proxy.requests))
        for label, repo in (
            ("first push", "sw/app"),
            ("re-push", "sw/app"),
            ("second repository", "sw/other"),
        ):
            proxy.reset()
            with RegistryClient(proxy.host) as client:
                push(store, res.digest, client, repo, ["1"])
            rows.append((f"shipway {label}", proxy.bytes, proxy.requests))
    finally:
        proxy.stop()
        services.stop(run_dir, "bench-registry")
    return rows


# -- digest throughput ------------------------------------------------------------
def bench_digest(work: Path, mb: int) -> list[tuple[str, float]]:
    d = work / "digest"
    d.mkdir()
    chunk = os.urandom(1 << 20)
    with open(d / "big.bin", "wb") as fh:
        for i in range(mb):
            fh.write(chunk if i % 2 else bytes(1 << 20))  # half random, half zeros
    size = (d / "big.bin").stat().st_size

    def sha() -> None:
        h = hashlib.sha256()
        with open(d / "big.bin", "rb") as fh:
            while b := fh.read(1 << 20):
                h.update(b)

    entries = L.collect(d, [d / "big.bin"], "/", True)
    rows = [
        ("hashlib sha256 of the file", size / timed(sha) / 1e6),
        (
            "shipway diff_id (tar + sha256)",
            size / timed(lambda: L.tar_digest(entries, L.Owner())) / 1e6,
        ),
    ]
    data = (d / "big.bin").read_bytes()
    for level in (1, 6):
        lay = Layout(work / f"gz{level}")
        t = timed(lambda lay=lay, level=level: L.write_layer(entries, L.Owner(), lay, level))
        rows.append(
            (f"shipway layer, gzip {level} (tar, parallel gzip, 2x sha256)", size / t / 1e6)
        )
        t = timed(lambda level=level: zlib.compress(data, level))
        rows.append(
            (f"  reference: zlib.compress level {level}, one thread, in memory", size / t / 1e6)
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--app-mb", type=int, default=8)
    ap.add_argument("--digest-mb", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipway-bench-images-") as tmp:
        work = Path(tmp)
        ctx = make_context(work, args.app_mb)
        print(
            f"context: busybox rootfs + {args.app_mb} MB app directory, Containerfile without RUN"
        )
        print(f"\n{'build':<38}{'cold / changed (s)':>20}{'no-op rebuild (s)':>20}")
        for name, a, b in bench_builds(ctx, work, args.repeat):
            print(f"{name:<38}{a:>20.3f}{b:>20.3f}")
        print(f"\n{'push (through a counting proxy)':<38}{'bytes sent':>14}{'requests':>10}")
        for name, nbytes, reqs in bench_push(ctx, work):
            print(f"{name:<38}{nbytes:>14,}{reqs:>10}")
        print(f"\n{'digest throughput':<62}{'MB/s':>8}")
        for name, rate in bench_digest(work, args.digest_mb):
            print(f"{name:<62}{rate:>8.0f}")


if __name__ == "__main__":
    main()
