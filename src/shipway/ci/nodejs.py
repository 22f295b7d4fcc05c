"""Which ``node`` runs a JavaScript action: the host's, or one inside the job container.

With no job container, the host's ``node`` (on the step's PATH). In a job with
``container:`` (as GitHub does): the container's own ``node`` when it has
one, else the host's node directory, mounted read-only at ``NODE_MOUNT`` by
``ci.container``, when that binary runs in the image (a glibc node cannot run
in a musl or libc-less image: then a clear error names the action and image).
Runs only short probes, through the job's ``ci.exec`` session.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from shipway.model.errors import CIError

if TYPE_CHECKING:
    from shipway.ci.job import JobRun

NODE_MOUNT = "/__e/node"


def host_node_dir(path: str | None = None) -> str | None:
    """The directory holding the host's resolved ``node`` binary, if there is one."""
    found = shutil.which("node", path=path)
    return str(Path(os.path.realpath(found)).parent) if found else None


_probed: dict[str, str] = {}  # job container id -> node to run inside it
_lock = threading.Lock()


def in_container(job: JobRun) -> bool:
    return job.box is not None and job.box.cid is not None


def node_for(job: JobRun, action: str, path: str | None) -> str:
    """The ``node`` to run ``action`` with; raise ``CIError`` when there is none.

    ``path`` is the PATH to look on for the host's node (no job container).
    """
    box = job.box
    if box is None or box.cid is None:
        node = shutil.which("node", path=path)
        if node is None:
            raise CIError(f"{action} is a JavaScript action but node is not installed")
        return node
    cid = box.cid
    with _lock:
        known = _probed.get(cid)
    if known:
        return known
    mounted = f"{NODE_MOUNT}/{Path(os.path.realpath(shutil.which('node') or 'node')).name}"
    for candidate in ("node", mounted):
        if _runs(job, cid, candidate):
            with _lock:
                _probed[cid] = candidate
            return candidate
    raise CIError(
        f"{action}: JavaScript actions need node in the job container, but image "
        f"{image_of(job)} has no node and the host's node ({host_node_dir() or 'none'}) "
        "does not run in it (a glibc node needs a glibc image): add node to the image"
    )


def _runs(job: JobRun, cid: str, node: str) -> bool:
    box = job.box
    assert box is not None and box.cid == cid
    try:  # in the job's session (ci.exec: a podman container or a Pod)
        status, _out = box.capture([node, "--version"])
    except (OSError, CIError):
        return False
    return status == 0


def image_of(job: JobRun) -> str:
    """The job container's image, as the job's session was opened with it."""
    box = job.box
    return (box.spec.image if box is not None else None) or "(unknown)"
