"""Signing, verification and the image policy gate, against a real registry.

Prints medians (and best) of:
- ``sign``: sign one image (simple signing, stored at ``sha256-<hex>.sig``);
- ``attest``: attach a signed SLSA provenance Statement;
- ``verify (registry)``: find and check the signatures of one image;
- ``gate, uncached``: one Kyverno verifyImages check (signature + provenance condition);
- ``gate, cached digest``: the same check answered from the verdict cache (target < 10 ms),
  in-process and through a fresh cache object reading the sqlite file;
- ``compare, re-resolve a pinned tag``: what a comparison adds per image a ``mutateDigest``
  rule pinned (the tag's digest at the registry, to see a moved tag);
- reconcile passes (``engine.refresh_all``) over ``--apps`` applications whose images a
  ``mutateDigest`` rule pinned (each app its own tag plus one sidecar tag all share; an
  in-process target): registry requests, apps re-rendered, wall and CPU time per pass, with
  the answers' TTL (``SHIPWAY_DIGEST_TTL``, 30 s) and without it (``0``: every tag asked each
  pass), and two passes while the registry is down (the recorded digests hold, no app flaps;
  the second keeps the first's comparisons).

No cosign program runs here, so there is no peer figure; cosign's verify makes the same
registry round trips (manifest, .sig tag, blob) plus Rekor unless told otherwise.

    .venv/bin/python bench/signing.py [--repeat 20] [--apps 100] [--passes 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from shipway.deploy import digest_pins
from shipway.images.registry import RegistryClient
from shipway.model import kyverno
from shipway.runtime import services
from shipway.security.policy import imagegate
from shipway.security.sign import envelope, keys, service

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from security_images import push_image  # the tests' one-layer image helper

SOURCE_KEY = "{{ buildDefinition.externalParameters.workflow.repository }}"


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), min(times)


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-{i}}}
spec:
  selector: {{matchLabels: {{app: web-{i}}}}}
  template:
    metadata: {{labels: {{app: web-{i}}}}}
    spec:
      containers:
      - {{name: app, image: "{app}"}}
      - {{name: proxy, image: "{sidecar}"}}
"""


def pinned_passes(host: str, tmp: Path, n: int, passes: int, stop: Callable[[], None]) -> None:
    """Reconcile passes over ``n`` apps with pinned images; prints one line per setting."""
    from shipway import cluster
    from shipway.cluster.memory import MemoryTarget
    from shipway.deploy import compare, engine
    from shipway.git.repo import Repo
    from shipway.model.resources import Resource
    from shipway.settings import Settings
    from shipway.store import resources as store_resources
    from shipway.store.db import open_store

    sidecar = f"{host}/bench/sidecar:v1"
    record_side = push_image(host, "bench/sidecar", "v1", b"sidecar")
    bare = Repo.init(tmp / "pins.git", bare=True)
    bare.run("symbolic-ref", "HEAD", "refs/heads/main")
    work = Repo.init(tmp / "pins-work")
    records = {}
    for i in range(n):
        app = f"{host}/bench/svc-{i}:v1"
        records[i] = {app: push_image(host, f"bench/svc-{i}", "v1", f"svc {i}".encode()),
                      sidecar: record_side}  # fmt: skip
        d = work.path / "apps" / f"p-{i:04d}"
        d.mkdir(parents=True)
        (d / "deploy.yaml").write_text(DEPLOYMENT.format(i=i, app=app, sidecar=sidecar))
    work.run("remote", "add", "origin", str(bare.path))
    work.add_all()
    work.commit("apps")
    work.push("origin", "HEAD:refs/heads/main")
    settings = Settings(home=tmp / "pins-home", database_url="")
    store = open_store(settings)
    apps = []
    for i in range(n):
        body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": f"p-{i:04d}"},
                "spec": {"project": "default",
                         "source": {"repoURL": str(bare.path), "path": f"apps/p-{i:04d}",
                                    "targetRevision": "main"},
                         "destination": {"name": "pins", "namespace": "bench"}}}  # fmt: skip
        apps.append(Resource("argoproj.io/v1alpha1", "Application", body["metadata"]["name"],
                             "", body, "bench"))  # fmt: skip
    store_resources.apply(store, apps)
    for i, app in enumerate(apps):  # what a sync through a mutateDigest rule recorded
        store_resources.set_status(store, "Application", app.name, {"imageDigests": records[i]})
    target = MemoryTarget("pins")
    cluster.register("pins", target)
    sent = [0]
    real_send = RegistryClient._send

    def counted(self: RegistryClient, *a: Any, **kw: Any) -> Any:
        sent[0] += 1
        return real_send(self, *a, **kw)

    renderer = compare.renderer(settings)

    def one_pass() -> tuple[float, float, int, int, list[str]]:
        sent[0], renders, w, c = 0, renderer.renders, time.perf_counter(), time.process_time()
        with mock.patch.object(RegistryClient, "_send", counted):
            got = engine.refresh_all(store, settings=settings)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        states = sorted({" ".join([s.sync_status, *(c["type"] for c in s.conditions)])
                         for s in got.values()})  # fmt: skip
        return wall, cpu, sent[0], renderer.renders - renders, states

    try:
        first = engine.refresh_all(store, settings=settings)  # the sync's objects go live
        for name, st in first.items():
            target.apply(name, [d.desired for d in st.diffs if d.desired is not None])
        print(f"\nreconcile passes, {n} apps with 2 pinned images each ({n + 1} distinct tags)")
        print(f"{'pass':<46}{'requests':>9}{'renders':>8}{'wall ms':>9}{'cpu ms':>8}  sync")
        for label, ttl in (("every tag asked (SHIPWAY_DIGEST_TTL=0)", "0"),
                           ("answers kept 30 s (default TTL)", "")):  # fmt: skip
            os.environ["SHIPWAY_DIGEST_TTL"] = ttl
            rows = [one_pass() for _ in range(passes)]
            walls, cpus = [r[0] * 1000 for r in rows], [r[1] * 1000 for r in rows]
            reqs, rend = [r[2] for r in rows], [r[3] for r in rows]
            print(f"{label:<46}{statistics.median(reqs):>9.0f}{statistics.median(rend):>8.0f}"
                  f"{statistics.median(walls):>9.0f}{statistics.median(cpus):>8.0f}  "
                  f"{','.join(rows[-1][4])}   (median of {passes}; first pass: {reqs[0]} "
                  f"requests, {rend[0]} renders, {walls[0]:.0f} ms)")  # fmt: skip
        os.environ["SHIPWAY_DIGEST_TTL"] = "0"
        stop()  # the registry goes away: the recorded digests must hold
        for label in ("registry down (connection refused)", "registry still down, next pass"):
            wall, cpu, reqs, rend, states = one_pass()
            print(f"{label:<46}{reqs:>9}{rend:>8}{wall * 1000:>9.0f}{cpu * 1000:>8.0f}  "
                  f"{','.join(states)}")  # fmt: skip
    finally:
        os.environ.pop("SHIPWAY_DIGEST_TTL", None)
        cluster.register("pins", None)
        renderer.close()
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--apps", type=int, default=100, help="apps in the reconcile passes")
    ap.add_argument("--passes", type=int, default=5, help="passes measured per setting")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shipway-bench-sign-"))
    os.environ["SHIPWAY_SIGNING_PASSWORD"] = "bench"
    reg = services.registry(tmp / "run", tmp / "registry")
    host = f"127.0.0.1:{reg.port}"
    try:
        key, pub = keys.generate(tmp / "bench")
        signer, verifier = keys.load_signer(key), keys.load_verifier(pub)
        rows: list[tuple[str, float, float]] = []
        with RegistryClient(host) as client:
            digests = [
                push_image(host, "bench/app", f"v{i}", f"layer {i}".encode())
                for i in range(args.repeat)
            ]
            targets = [
                service.Target(service.resolve(client, f"{host}/bench/app@{d}").ref, d)
                for d in digests
            ]
            it = iter(targets)
            rows.append(
                ("sign", *timed(lambda: service.sign(client, next(it), signer), args.repeat))
            )
            facts = envelope.BuildFacts(
                "git://127.0.0.1/acme/web.git",
                "refs/heads/main",
                "a" * 40,
                ".github/workflows/ci.yml",
                "push",
                "run-1",
            )
            pred = envelope.slsa_provenance(facts)
            it = iter(targets)
            rows.append(
                (
                    "attest",
                    *timed(
                        lambda: service.attest(
                            client, next(it), signer, envelope.SLSA_PROVENANCE_V1, pred
                        ),
                        args.repeat,
                    ),
                )
            )
            t0 = targets[0]
            rows.append(
                (
                    "verify (registry)",
                    *timed(lambda: service.verify(client, t0, verifier), args.repeat),
                )
            )
        verify = kyverno.VerifyImages.model_validate(
            {
                "imageReferences": [f"{host}/bench/*"],
                "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
                "attestations": [
                    {
                        "type": envelope.SLSA_PROVENANCE_V1,
                        "conditions": [
                            {
                                "all": [
                                    {
                                        "key": SOURCE_KEY,
                                        "operator": "Equals",
                                        "value": "git://127.0.0.1/acme/*",
                                    }
                                ]
                            }
                        ],
                    }
                ],
            }
        )
        image = f"{host}/bench/app:v0"

        def uncached() -> None:
            _, ok, msg = imagegate.check_image(image, verify, what="bench", cache=None)
            assert ok, msg

        rows.append(("gate, uncached", *timed(uncached, args.repeat)))
        cache = imagegate.VerifyCache(tmp / "cache.sqlite")
        imagegate.check_image(image, verify, what="bench", cache=cache)

        def cached() -> None:
            assert imagegate.check_image(image, verify, what="bench", cache=cache)[1]

        rows.append(("gate, cached (tag resolved)", *timed(cached, args.repeat)))
        pinned = f"{host}/bench/app@{digests[0]}"

        def cached_pinned() -> None:
            assert imagegate.check_image(pinned, verify, what="bench", cache=cache)[1]

        rows.append(("gate, cached digest (pinned ref)", *timed(cached_pinned, args.repeat)))

        def cached_fresh() -> None:
            fresh = imagegate.VerifyCache(tmp / "cache.sqlite")
            assert imagegate.check_image(image, verify, what="bench", cache=fresh)[1]

        rows.append(("gate, cached (new cache object, tag)", *timed(cached_fresh, args.repeat)))
        record = {image: digests[0]}

        def repin() -> None:  # what a comparison adds per image a mutateDigest rule pinned
            assert digest_pins.current(record, [image]).pins[image].endswith(digests[0])

        rows.append(("compare, re-resolve a pinned tag", *timed(repin, args.repeat)))
        print(f"{'measure':<38}{'median ms':>10}{'best ms':>10}")
        for name, med, best in rows:
            print(f"{name:<38}{med:>10.2f}{best:>10.2f}")
        print("target: a cached digest verifies in < 10 ms")
        print(
            "note: a tag is resolved at the registry (one HEAD) before the cache is asked;"
            " a pinned digest (what the image updater writes) needs no registry call"
        )
        if args.apps:
            print(f"load: {os.getloadavg()[0]:.1f} (1-min average, 2 cores)")
            pinned_passes(host, tmp, args.apps, args.passes,
                          lambda: services.stop(tmp / "run", "registry"))  # fmt: skip
    finally:
        services.stop(tmp / "run", "registry")


if __name__ == "__main__":
    main()
