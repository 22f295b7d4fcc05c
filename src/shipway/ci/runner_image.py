"""The runner image of the podman executor, built here with no pull: busybox and its applets.

Pull-request jobs (untrusted code) run in podman by default (``ci.runner``); a
job without ``container:`` runs in this image. Its root filesystem (static
busybox, one link per applet, ``/etc/passwd``, ``/tmp``, ``/root``) is made on
the host and built ``FROM scratch`` with ``podman build``, as the demo builds
its base image. The tag carries a hash of what goes in, so it is built once
per podman store and reused. Touches ``<dir>`` and the podman store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from shipway.model.errors import CIError
from shipway.runtime import busybox

BUSYBOX = busybox.BUSYBOX
NAME = "localhost/shipway-ci-runner"
_CONTAINERFILE = (
    "FROM scratch\nCOPY rootfs/ /\n"
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root\n"
    'CMD ["/bin/sh"]\n'
)
_lock = threading.Lock()


def tag() -> str:
    """The image reference for this machine's busybox (and this Containerfile)."""
    if not Path(BUSYBOX).is_file():
        raise CIError("the podman executor's runner image needs busybox-static, which is not "
                      "installed (apt-get install busybox-static)", subject=BUSYBOX)  # fmt: skip
    digest = hashlib.sha256(Path(BUSYBOX).read_bytes() + _CONTAINERFILE.encode()).hexdigest()
    return f"{NAME}:{digest[:12]}"


def _rootfs(root: Path) -> None:
    busybox.populate(root, ("bin", "tmp", "etc", "root", "usr/bin"))
    (root / "tmp").chmod(0o1777)


def ensure(podman_env: Mapping[str, str], work: Path) -> str:
    """The runner image in the podman store of ``podman_env``, built on first use."""
    ref = tag()
    env = {**os.environ, **podman_env}
    with _lock:
        exists = subprocess.run(["podman", "image", "exists", ref], env=env,
                                capture_output=True, stdin=subprocess.DEVNULL)  # fmt: skip
        if exists.returncode == 0:
            return ref
        build = work / f"runner-image-{ref.rsplit(':', 1)[1]}-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        try:
            _rootfs(build / "rootfs")
            (build / "Containerfile").write_text(_CONTAINERFILE)
            done = subprocess.run(["podman", "build", "-q", "-t", ref, "-f",
                                   str(build / "Containerfile"), str(build)], env=env,
                                  capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL)  # fmt: skip
        finally:
            shutil.rmtree(build, ignore_errors=True)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise CIError(f"building the runner image failed: {lines[-1] if lines else ''}",
                          subject=ref)  # fmt: skip
    return ref
