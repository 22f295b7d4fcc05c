"""SBOM plus scan of a 100-package image, cold and warm, beside syft on the same image.

The image (an OCI layout written here, two layers) holds 60 dpkg packages, 20
Python dist-infos and 20 npm packages; the database holds 5,000 OSV records
(one for each of 40 of the image's packages, the rest for other names).
Figures are medians of ``--repeat`` runs, in-process (no interpreter start-up):

- SBOM cold: walk the layers (the kept SBOM removed first);
- SBOM warm: the SBOM kept by digest in the store;
- scan warm: open the database and match the kept SBOM (the gate's path);
- syft: ``syft oci-dir:DIR -o json`` (a process; it has no database step).

A second image, when this is a Debian host, holds this host's own dpkg
database and this interpreter's dist-infos (about a thousand packages).

Target: SBOM + scan warm under 1 s.

    .venv/bin/python bench/security.py [--repeat 5]
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
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from shipway.images.store import Store
from shipway.security.sbom import sbom_for
from shipway.security.sbom.image import cache_path
from shipway.security.vuln import ScanOptions, VulnDB, scan


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_image(root: Path) -> str:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    status = "".join(
        f"Package: pkg{i}\nStatus: install ok installed\nArchitecture: amd64\n"
        f"Version: 1.{i}-1+deb12u1\nDescription: x\n\n"
        for i in range(60)
    )
    base = {
        "etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
        "var/lib/dpkg/status": status.encode(),
    }
    for i in range(300):  # files no cataloguer reads
        base[f"usr/share/doc/pkg{i % 60}/file{i}"] = os.urandom(512)
    app: dict[str, bytes] = {}
    for i in range(20):
        meta = f"Metadata-Version: 2.1\nName: py{i}\nVersion: 2.{i}.0\n\n"
        app[f"usr/lib/python3/site-packages/py{i}-2.{i}.0.dist-info/METADATA"] = meta.encode()
        pj = json.dumps({"name": f"js{i}", "version": f"3.{i}.0"}).encode()
        app[f"srv/node_modules/js{i}/package.json"] = pj
    descs, diffs = [], []
    for files in (base, app):
        raw = _tar(files)
        gz = gzip.compress(raw)
        d = hashlib.sha256(gz).hexdigest()
        (blobs / d).write_bytes(gz)
        descs.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": f"sha256:{d}",
                "size": len(gz),
            }
        )
        diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    cfg = json.dumps(
        {"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": diffs}}
    ).encode()
    cd = hashlib.sha256(cfg).hexdigest()
    (blobs / cd).write_bytes(cfg)
    man = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{cd}",
                "size": len(cfg),
            },
            "layers": descs,
        }
    ).encode()
    md = hashlib.sha256(man).hexdigest()
    (blobs / md).write_bytes(man)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{md}",
                "size": len(man),
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    return f"sha256:{md}"


def write_db(path: Path, osv_dir: Path) -> None:
    osv_dir.mkdir()
    recs = []
    for i in range(5000):
        if i < 20:
            eco, name, fixed = "Debian:12", f"pkg{i}", f"1.{i}-1+deb12u2"
        elif i < 30:
            eco, name, fixed = "PyPI", f"py{i - 20}", "9.0.0"
        elif i < 40:
            eco, name, fixed = "npm", f"js{i - 30}", "9.0.0"
        else:
            eco, name, fixed = ("npm", "PyPI", "Debian:12")[i % 3], f"other{i}", "1.0.0"
        recs.append(
            {
                "id": f"BENCH-{i}",
                "modified": "2024-01-01T00:00:00Z",
                "severity": [
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
                ],
                "affected": [
                    {
                        "package": {"ecosystem": eco, "name": name},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                        ],
                    }
                ],
            }
        )
    (osv_dir / "all.json").write_text(json.dumps(recs))
    with VulnDB(path, create=True) as db:
        t = time.perf_counter()
        rep = db.import_path(osv_dir)
        print(
            f"import 5,000 OSV records: {time.perf_counter() - t:.2f} s ({rep.imported} imported)"
        )


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def write_host_image(root: Path) -> str | None:
    """This host's dpkg database and this interpreter's dist-infos, as one layer."""
    status = Path("/var/lib/dpkg/status")
    if not status.is_file():
        return None
    files = {
        "etc/os-release": Path("/etc/os-release").read_bytes(),
        "var/lib/dpkg/status": status.read_bytes(),
    }
    for meta in Path(sys.prefix).glob("lib/python3*/site-packages/*.dist-info/METADATA"):
        files[str(meta.relative_to("/"))] = meta.read_bytes()
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    raw = _tar(files)
    gz = gzip.compress(raw)
    layer = hashlib.sha256(gz).hexdigest()
    (blobs / layer).write_bytes(gz)
    cfg = json.dumps(
        {
            "os": "linux",
            "architecture": "amd64",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        }
    ).encode()
    cd = hashlib.sha256(cfg).hexdigest()
    (blobs / cd).write_bytes(cfg)
    man = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{cd}",
                "size": len(cfg),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer}",
                    "size": len(gz),
                }
            ],
        }
    ).encode()
    md = hashlib.sha256(man).hexdigest()
    (blobs / md).write_bytes(man)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{md}",
                "size": len(man),
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    return f"sha256:{md}"


def run_syft(layout: Path, repeat: int) -> str:
    syft = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
    if not Path(syft).exists():
        return "syft: not installed"
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}

    def once() -> None:
        subprocess.run(
            [syft, f"oci-dir:{layout}", "-o", "json", "-q"],
            env=env,
            check=True,
            capture_output=True,
        )

    return f"syft oci-dir (SBOM only):    {median_ms(once, repeat):8.1f} ms"


def bench_image(
    label: str, layout: Path, digest: str, db_path: Path, repeat: int, found: int | None
) -> None:
    store = Store(layout.parent / (layout.name + "-store"))
    ref = f"oci:{layout}:v1"

    def cold() -> None:
        cache_path(store, digest).unlink(missing_ok=True)
        sbom_for(ref, store=store)

    def warm_scan() -> None:
        with VulnDB(db_path) as db:
            rep = scan(sbom_for(ref, store=store), db, ScanOptions())
        assert found is None or len(rep.findings) == found, len(rep.findings)

    n = len(sbom_for(ref, store=store).packages)
    print(f"{label}: {n} packages")
    warm = median_ms(lambda: sbom_for(ref, store=store), repeat)
    both = median_ms(warm_scan, repeat)
    print(f"SBOM cold (walk layers):     {median_ms(cold, repeat):8.1f} ms")
    print(f"SBOM warm (kept by digest):  {warm:8.1f} ms")
    print(f"SBOM warm + scan:            {both:8.1f} ms   (target < 1000 ms)")
    print(run_syft(layout, min(repeat, 3)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-security-"))
    try:
        digest = write_image(work / "img")
        write_db(work / "osv.db", work / "osv")
        bench_image(
            "image (2 layers, 40 findings)", work / "img", digest, work / "osv.db", args.repeat, 40
        )
        host = write_host_image(work / "host")
        if host is not None:
            bench_image(
                "this host's dpkg db + venv dist-infos",
                work / "host",
                host,
                work / "osv.db",
                args.repeat,
                None,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
