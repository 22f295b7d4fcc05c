"""A busybox root filesystem on disk, for the images shipway builds without a pull.

Touches only the directory it is given (and reads the host's static busybox).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

BUSYBOX = "/bin/busybox"


def populate(root: Path, dirs: Iterable[str] = ("bin", "tmp", "etc")) -> None:
    """Make ``dirs`` under ``root``, copy busybox to ``bin/`` with a link per applet, and
    write a root-only ``/etc/passwd`` and ``/etc/group``."""
    for sub in ("bin", "etc", *dirs):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for name in applets:
        link = root / "bin" / name
        if name != "busybox" and not link.exists():
            os.symlink("busybox", link)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
