"""Signing, verification and the image policy gate, against a real registry.

Prints medians (and best) of:
- ``sign``: sign one image (simple signing, stored at ``sha256-<hex>.sig``);
- ``attest``: attach a signed SLSA provenance Statement;
- ``verify (registry)``: find and check the signatures of one image;
- ``gate, uncached``: one Kyverno verifyImages check (signature + provenance condition);
- ``gate, cached digest``: the same check answered from the verdict cache (target < 10 ms),
  in-process and through a fresh cache object reading the sqlite file;
- ``compare, re-resolve a pinned tag``: what a comparison adds per image a ``mutateDigest``
  rule pinned (the tag's digest at the registry, to see a moved tag).

No cosign program runs here, so there is no peer figure; cosign's verify makes the same
registry round trips (manifest, .sig tag, blob) plus Rekor unless told otherwise.

    .venv/bin/python bench/signing.py [--repeat 20]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
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
            assert digest_pins.current(record, [image])[image].endswith(digests[0])

        rows.append(("compare, re-resolve a pinned tag", *timed(repin, args.repeat)))
        print(f"{'measure':<38}{'median ms':>10}{'best ms':>10}")
        for name, med, best in rows:
            print(f"{name:<38}{med:>10.2f}{best:>10.2f}")
        print("target: a cached digest verifies in < 10 ms")
        print(
            "note: a tag is resolved at the registry (one HEAD) before the cache is asked;"
            " a pinned digest (what the image updater writes) needs no registry call"
        )
    finally:
        services.stop(tmp / "run", "registry")


if __name__ == "__main__":
    main()
