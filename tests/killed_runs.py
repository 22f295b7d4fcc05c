"""Killing a run's driver mid-run, as a controller killed between two steps would be."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any


def kill_group_once(
    proc: subprocess.Popen[Any], ready: Callable[[], bool], never: str, tries: int
) -> None:
    """SIGKILL ``proc``'s process group once ``ready()`` holds (asked every 0.05 s, ``tries``
    times, else ``AssertionError(never)``), and reap it. A step that ``proc`` started in a
    session of its own lives on, as after a controller killed mid-run."""
    try:
        for _ in range(tries):
            if ready():
                break
            time.sleep(0.05)
        else:
            raise AssertionError(never)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
