"""Podman and buildah configured for this machine, under a state directory.

Writes ``containers.conf``, ``storage.conf`` and ``registries.conf`` under
``<dir>`` and returns the environment that points podman, buildah and skopeo
at them (``CONTAINERS_CONF`` and friends). The settings follow what works on
hybrid-cgroup machines without CAP_SYS_RESOURCE: runc, cgroupfs, lowered
ulimits, file event logger.

Each state directory (one per ``$SHIPWAY_HOME``) has its own storage, its own
run root and libpod tmp dir (under ``short_runroot``) and its own network
config directory (``<dir>/networks``), so two installations on one host share
neither podman's runtime state nor its network definitions, and a
``podman system reset`` in one touches nothing of the other. (Rootful
netavark keeps its IPAM database in ``/run/containers/networks`` for every
podman on the host by design: addresses are allocated from one pool.) A
state directory made before the tmp dir was private keeps the tmp dir its
libpod database records (``private_tmp`` says which). Touches only files under
``<dir>`` and its run root.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path

_CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"

[engine]
{tmp}runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{run}/events.log"
image_default_transport = "docker://"

[network]
network_config_dir = "{networks}"
"""

_PRIVATE_TMP = "private-tmp"

_STORAGE_CONF = """\
[storage]
driver = "{driver}"
graphroot = "{graph}"
runroot = "{run}"
"""


def short_runroot(base: Path) -> Path:
    """A short run root for ``base``: conmon's attach and exit sockets live below it.

    Unix socket paths are limited to 108 bytes, and podman puts
    ``vfs-containers/<64 hex>/userdata/attach`` under the run root; a run root
    deep in a state directory makes ``podman run`` attach to nothing and hang.
    """
    digest = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:12]
    parent = Path("/run") if os.access("/run", os.W_OK) else Path("/tmp")
    return parent / "shipway" / digest


def private_tmp(base: Path) -> bool:
    """True when podman under ``base`` has a tmp dir of its own (not the host's /run/libpod)."""
    return (base / _PRIVATE_TMP).exists()


def _write_config(path: Path, text: str) -> None:
    """Write ``path`` only when its text changes, and atomically (a temporary file renamed
    over it): podman processes of this home read these files while another call runs."""
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def podman_env(
    base: Path, insecure_registries: Iterable[str] = (), driver: str | None = None
) -> dict[str, str]:
    """Write the config files under ``base`` (idempotent) and return the env to use."""
    base.mkdir(parents=True, exist_ok=True)
    graph, run = base / "storage", short_runroot(base)
    graph.mkdir(exist_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    driver = driver or os.environ.get("SHIPWAY_STORAGE_DRIVER", "vfs")
    tmp = ""
    if private_tmp(base) or not (graph / "libpod" / "bolt_state.db").exists():
        (base / _PRIVATE_TMP).write_text(str(run / "libpod") + "\n")
        tmp = f'tmp_dir = "{run / "libpod"}"\n'
    (base / "networks").mkdir(exist_ok=True)
    _write_config(
        base / "containers.conf",
        _CONTAINERS_CONF.format(run=run, tmp=tmp, networks=base / "networks"),
    )
    _write_config(base / "storage.conf", _STORAGE_CONF.format(driver=driver, graph=graph, run=run))
    regs = ["unqualified-search-registries = []", ""]
    for loc in sorted(set(insecure_registries)):
        regs += ["[[registry]]", f'location = "{loc}"', "insecure = true", ""]
    _write_config(base / "registries.conf", "\n".join(regs))
    return {
        "CONTAINERS_CONF": str(base / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(base / "registries.conf"),
    }


def insecure_registries() -> list[str]:
    """The registries ``SHIPWAY_INSECURE_REGISTRIES`` names (comma-separated), spoken to over
    plain HTTP."""
    return [r for r in os.environ.get("SHIPWAY_INSECURE_REGISTRIES", "").split(",") if r]


def for_home(home: Path, extra_insecure: Iterable[str] = ()) -> dict[str, str]:
    """The podman environment of the installation at ``home`` (``<home>/podman``), with the
    insecure registries of ``SHIPWAY_INSECURE_REGISTRIES`` and ``extra_insecure``."""
    return podman_env(home / "podman", [*insecure_registries(), *extra_insecure])
