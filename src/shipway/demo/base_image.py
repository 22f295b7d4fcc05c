"""The demo's base image, built locally with no pull: busybox and its applets.

A root filesystem with ``/bin/busybox`` and one symlink per applet is made on
the host, then built ``FROM scratch`` by shipway's own builder and pushed.
Touches ``<dir>`` and the registry.
"""

from __future__ import annotations

from pathlib import Path

from shipway.images import registry as registry_client
from shipway.images.build import build
from shipway.model.errors import ServiceError
from shipway.runtime import busybox

BUSYBOX = busybox.BUSYBOX


def rootfs(dir: Path) -> Path:
    """Write a busybox root filesystem into ``dir/rootfs`` (idempotent)."""
    root = dir / "rootfs"
    if (root / "bin" / "busybox").exists():
        return root
    if not Path(BUSYBOX).exists():
        raise ServiceError("busybox-static is not installed", subject=BUSYBOX)
    busybox.populate(root, ("bin", "tmp", "etc", "www"))
    (dir / "Containerfile").write_text(
        'FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/bin/sh"]\n'
    )
    return root


def ensure(dir: Path, registry_host: str) -> str:
    """Build and push ``<registry>/demo/base:1`` unless the registry has it; return the ref."""
    ref = f"{registry_host}/demo/base:1"
    client = registry_client.RegistryClient(registry_host)
    if client.head_manifest("demo/base", "1"):
        return ref
    rootfs(dir)
    build(
        dir,
        dockerfile=dir / "Containerfile",
        tags=[ref],
        build_args={},
        labels={},
        target=None,
        push=True,
    )
    return ref
