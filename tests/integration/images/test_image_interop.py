"""Interoperability both ways: what buildah and skopeo push, shipway pulls and builds on;
multi-platform indexes copied whole; referrers found again."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from images_helpers import podman_run

from shipway.images import artifacts, oci, query
from shipway.images.build import build
from shipway.images.reference import parse
from shipway.images.registry import RegistryClient
from shipway.images.store import Store
from shipway.images.transfer import copy, pull, push

pytestmark = pytest.mark.integration


def _tool(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        list(args), env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_buildah_pushes_docker_format_shipway_builds_on_it(
    registry,
    busybox_rootfs: Path,
    podman: dict[str, str],
    tmp_path: Path,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    ref = f"{registry.host}/interop/buildah:1"
    ctr = _tool(podman, "buildah", "from", "scratch").strip()
    try:
        _tool(podman, "buildah", "copy", ctr, str(busybox_rootfs), "/")
        _tool(podman, "buildah", "config", "--cmd", "/bin/sh -c 'echo from buildah'", ctr)
        _tool(podman, "buildah", "commit", "-q", "--format", "docker", ctr, "interop-buildah:1")
    finally:
        _tool(podman, "buildah", "rm", ctr)
    _tool(
        podman,
        "buildah",
        "push",
        "-q",
        "--tls-verify=false",
        "interop-buildah:1",
        f"docker://{ref}",
    )
    seen = query.inspect(ref)
    assert seen["mediaType"] == oci.DOCKER_MANIFEST
    assert seen["manifest"]["layers"][0]["mediaType"] == oci.DOCKER_LAYER_GZIP

    (tmp_path / "note.txt").write_text("on top of buildah\n")
    (tmp_path / "Dockerfile").write_text(
        f'FROM {ref}\nCOPY note.txt /note.txt\nCMD ["cat", "/note.txt"]\n'
    )
    mine = f"{registry.host}/interop/on-buildah:1"
    build(tmp_path, tags=[mine], push=True, store=store)
    assert podman_run(podman, "run", "--rm", mine).strip() == "on top of buildah"


def test_skopeo_copies_an_index_shipway_copies_it_whole(
    registry,
    base_ref: str,
    tmp_path: Path,
    store: Store,  # type: ignore[no-untyped-def]
) -> None:
    with RegistryClient(registry.host) as client:
        amd_digest, _ = pull(client, parse(base_ref), store)
    amd_body = store.layout.read(amd_digest)
    arm_cfg = oci.canonical_json(
        {"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    )
    arm = oci.canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {
                "mediaType": oci.OCI_CONFIG,
                "digest": oci.sha256_digest(arm_cfg),
                "size": len(arm_cfg),
            },
            "layers": [],
        }
    )
    store.layout.put(arm_cfg)
    arm_digest = store.layout.put(arm)
    index = oci.canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": oci.OCI_MANIFEST,
                    "digest": amd_digest,
                    "size": len(amd_body),
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
                {
                    "mediaType": oci.OCI_MANIFEST,
                    "digest": arm_digest,
                    "size": len(arm),
                    "platform": {"os": "linux", "architecture": "arm64"},
                },
            ],
        }
    )
    index_digest = store.layout.put(index)
    with RegistryClient(registry.host) as client:
        push(store, index_digest, client, "interop/multi", ["1"])
    raw = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/interop/multi:1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert oci.sha256_digest(raw.encode()) == index_digest
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{registry.host}/interop/multi:1",
            f"docker://{registry.host}/interop/multi-by-skopeo:1",
        ],
        capture_output=True,
        check=True,
    )
    out = tmp_path / "layout"
    res = copy(
        f"{registry.host}/interop/multi-by-skopeo:1",
        f"oci:{out}:all",
        store=Store(tmp_path / "fresh"),
    )
    assert res.digest == index_digest
    listed = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--raw", f"oci:{out}:all"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert {m["platform"]["architecture"] for m in listed["manifests"]} == {"amd64", "arm64"}
    assert query.inspect(f"{registry.host}/interop/multi-by-skopeo:1")["platformDigest"] == (
        amd_digest
    )
    # a promotion within the registry: mounts and manifest PUTs, no blob is downloaded
    promoted = copy(
        f"{registry.host}/interop/multi:1",
        f"{registry.host}/interop/prod:1",
        store=Store(tmp_path / "untouched"),
    )
    assert promoted.digest == index_digest and promoted.bytes_uploaded == 0
    assert not (tmp_path / "untouched" / "oci").exists()
    with RegistryClient(registry.host) as client:
        assert client.head_manifest("interop/prod", "1") == index_digest
        assert client.head_manifest("interop/prod", arm_digest) == arm_digest


def test_referrers_fallback_on_a_registry_without_the_api(registry, base_ref: str) -> None:  # type: ignore[no-untyped-def]
    with RegistryClient(registry.host) as client:
        subject = client.head_manifest("images-test/busybox", "1")
        assert subject is not None
        sbom = artifacts.attach(
            client,
            "images-test/busybox",
            subject,
            artifact_type="application/spdx+json",
            data=b'{"spdx": 1}',
            media_type="application/spdx+json",
        )
        sig = artifacts.attach(
            client,
            "images-test/busybox",
            subject,
            artifact_type="application/vnd.dev.sigstore.bundle+json",
            data=b"sig",
            media_type="application/octet-stream",
        )
        found = client.referrers("images-test/busybox", subject)
        assert {m["digest"] for m in found} >= {sbom, sig}
        only = client.referrers(
            "images-test/busybox", subject, artifact_type="application/spdx+json"
        )
        assert [m["digest"] for m in only] == [sbom]
        assert client.referrers("images-test/busybox", "sha256:" + "0" * 64) == []
