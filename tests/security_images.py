"""Test images for the SBOM and scan tests, written as OCI layouts directly.

``write_layout(dir, [layer, ...], tag)`` stores gzip tar layers (each a dict
path → bytes, ``None`` for a directory, or the ``WHITEOUT``/``OPAQUE`` marks)
with a config and a manifest, and tags it. ``sample_files()`` is a small
Debian-ish root with a dpkg status, Python dist-infos and node_modules;
``alpine_files()`` an apk database; ``go_binary(dir)`` builds a tiny Go
program (with one dependency through a local ``replace``) with the real go.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

WHITEOUT = b"\0whiteout"
OPAQUE = b"\0opaque"

Files = dict[str, bytes | None]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: Files, exec_paths: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in files.items():
            parent, _, base = path.rpartition("/")
            if data is WHITEOUT:
                path, data = (f"{parent}/.wh.{base}" if parent else f".wh.{base}"), b""
            elif data is OPAQUE:
                path, data = f"{path}/.wh..wh..opq", b""
            info = tarfile.TarInfo(path)
            info.mtime = 0
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
                continue
            info.size = len(data)
            info.mode = 0o755 if path in exec_paths or data.startswith(b"\x7fELF") else 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_layout(root: Path, layers: list[Files], tag: str = "latest") -> str:
    """Write an image into the OCI layout ``root``; returns its manifest digest."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def put(data: bytes) -> str:
        d = _digest(data)
        (blobs / d.split(":")[1]).write_bytes(data)
        return d

    descs, diff_ids = [], []
    for files in layers:
        raw = layer_tar(files)
        gz = gzip.compress(raw, mtime=0)
        descs.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": put(gz),
                "size": len(gz),
            }
        )
        diff_ids.append(_digest(raw))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": descs,
        }
    ).encode()
    mdigest = put(manifest)
    index_file = root / "index.json"
    index = (
        json.loads(index_file.read_text())
        if index_file.exists()
        else {"schemaVersion": 2, "manifests": []}
    )
    index["manifests"] = [
        m for m in index["manifests"]
        if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") != tag
    ] + [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdigest,
            "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
    ]  # fmt: skip
    index_file.write_text(json.dumps(index))
    return mdigest


def dpkg_entry(
    name: str, version: str, source: str = "", status: str = "install ok installed"
) -> str:
    src = f"Source: {source}\n" if source else ""
    return (
        f"Package: {name}\nStatus: {status}\nPriority: optional\nArchitecture: amd64\n"
        f"{src}Version: {version}\nDescription: {name} for tests\n long text\n .\n more\n"
    )


def dist_info(name: str, version: str, license_: str = "MIT") -> bytes:
    head = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: {license_}\n"
    return (head + "\nREADME\n").encode()


def package_json(name: str, version: str) -> bytes:
    return json.dumps({"name": name, "version": version, "license": "MIT"}).encode()


OS_RELEASE_DEBIAN = (
    b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
    b'VERSION_ID="12"\nID=debian\n'
)
OS_RELEASE_ALPINE = (
    b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME="Alpine Linux v3.18"\n'
)


def sample_files() -> Files:
    status = "\n".join(
        [
            dpkg_entry("libc6", "2.36-9+deb12u3", "glibc"),
            dpkg_entry("openssl", "3.0.11-1~deb12u2"),
            dpkg_entry("libssl3", "3.0.11-1~deb12u2", "openssl"),
            dpkg_entry("bash", "5.2.15-2+b2", "bash (5.2.15-2)"),
            dpkg_entry("removed", "1.0-1", status="deinstall ok config-files"),
        ]
    )
    site = "usr/lib/python3/dist-packages"
    nm = "app/node_modules"
    return {
        "etc/os-release": OS_RELEASE_DEBIAN,
        "var/lib/dpkg/status": status.encode(),
        f"{site}/requests-2.31.0.dist-info/METADATA": dist_info("requests", "2.31.0", "Apache-2.0"),
        f"{site}/urllib3-1.26.5.dist-info/METADATA": dist_info("urllib3", "1.26.5"),
        f"{site}/Jinja2-3.1.2.dist-info/METADATA": dist_info("Jinja2", "3.1.2", "BSD-3-Clause"),
        f"{site}/six-1.16.0.egg-info": dist_info("six", "1.16.0"),
        f"{nm}/lodash/package.json": package_json("lodash", "4.17.20"),
        f"{nm}/@babel/core/package.json": package_json("@babel/core", "7.22.0"),
        f"{nm}/lodash/node_modules/minimist/package.json": package_json("minimist", "1.2.5"),
    }


def alpine_files() -> Files:
    db = (
        "C:Q1abc=\nP:musl\nV:1.2.4-r1\nA:x86_64\nL:MIT\no:musl\n\n"
        "C:Q1def=\nP:busybox\nV:1.36.1-r2\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\n"
        "C:Q1ghi=\nP:libcrypto3\nV:3.1.2-r0\nA:x86_64\nL:Apache-2.0\no:openssl\n\n"
    )
    return {"etc/os-release": OS_RELEASE_ALPINE, "lib/apk/db/installed": db.encode()}


GO_MAIN = """package main

import (
\t"fmt"

\t"example.com/greet"
)

func main() { fmt.Println(greet.Hello()) }
"""


def go_binary(work: Path) -> bytes:
    """Build a static Go program depending on example.com/greet v1.2.3 (a local replace)."""
    lib, app = work / "greet", work / "app"
    lib.mkdir(parents=True, exist_ok=True)
    app.mkdir(parents=True, exist_ok=True)
    (lib / "go.mod").write_text("module example.com/greet\n\ngo 1.19\n")
    (lib / "greet.go").write_text('package greet\n\nfunc Hello() string { return "hello" }\n')
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\n"
        "replace example.com/greet v1.2.3 => ../greet\n"
    )
    (app / "main.go").write_text(GO_MAIN)
    env = {
        **os.environ,
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        ["go", "build", "-trimpath", "-o", str(work / "app.bin"), "."],
        cwd=app, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return (work / "app.bin").read_bytes()
