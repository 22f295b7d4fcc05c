"""A ``shipway … --watch`` command running in its own process, for the watch tests.

Its output lines are pumped into a queue by a thread; ``stop`` sends Ctrl-C and
returns the exit code. The fallback poll is pushed out to 600 s so that a line
can only come from the store's change notifications, never from a poll.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
LONG = {"SHIPWAY_WATCH_FALLBACK": "600", "SHIPWAY_COLOR": "never"}


class Watch:
    """``shipway ARGS`` running, its output lines in a queue; Ctrl-C at the end."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full = {**os.environ, **LONG, **(env or {})}
        full.pop("COLUMNS", None)
        self.proc = subprocess.Popen([SHIPWAY, *args], env=full, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self) -> str:
        """The next output line, within 60 s (else the command's stderr, if it ended)."""
        try:
            return self.lines.get(timeout=60)
        except queue.Empty:
            done = self.proc.poll() is not None and self.proc.stderr is not None
            err = self.proc.stderr.read() if done and self.proc.stderr else ""
            raise AssertionError(f"no line from the watch {err}") from None

    def stop(self) -> int:
        """Ctrl-C; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
