"""Run a process on this host and stream its output lines.

The host executor's one primitive: start a command (no shell in between),
hand each output line (stdout and stderr merged) to a callback as it arrives,
enforce a timeout by killing the process group, return the exit status.
Touches only the processes it starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    status: int
    timed_out: bool = False
    cancelled: bool = False


class Cancel:
    """A cancellation flag one run shares with the processes it starts."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._children: list[Cancel] = []
        self._lock = threading.RLock()  # cancel() may run in a signal handler (same thread)
        self.signal: int | None = None  # the signal that asked for it, if one did

    def cancel(self) -> None:
        self.event.set()
        with self._lock:
            procs, children = list(self._procs), list(self._children)
        for proc in procs:
            _kill(proc)
        for child in children:
            child.cancel()

    def child(self) -> Cancel:
        """A flag that is also set when this one is (for one job of a run)."""
        kid = Cancel()
        with self._lock:
            self._children.append(kid)
        if self.event.is_set():
            kid.cancel()
        return kid

    def track(self, proc: subprocess.Popen[bytes], on: bool) -> None:
        with self._lock:
            if on:
                self._procs.add(proc)
            else:
                self._procs.discard(proc)


@contextlib.contextmanager
def cancel_on_signals(cancel: Cancel, say: Callable[[str], None]) -> Iterator[Cancel]:
    """While inside, SIGINT and SIGTERM cancel the run (its steps are killed, cleanup
    steps run, the record is kept); a second signal stops the process at once."""

    def handler(signum: int, _frame: object) -> None:
        if cancel.signal is not None:
            os._exit(128 + signum)
        cancel.signal = signum
        say(f"received {signal.Signals(signum).name}: cancelling the run (again to stop now)")
        cancel.cancel()

    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return
    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancel
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


BUSY_RETRY_SECONDS = 5.0  # how long a script another thread's fork still holds may be tried


def _start(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv``; exec'ing a script just written fails with ETXTBSY ("Text file busy")
    while a process another thread forked meanwhile still holds the file's write descriptor
    (until that child execs or exits: moments), so that start is tried again."""
    waited, pause = 0.0, 0.005
    while True:
        try:
            return subprocess.Popen(list(argv), cwd=cwd, env=dict(env),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        except OSError as exc:
            if exc.errno != errno.ETXTBSY or waited >= BUSY_RETRY_SECONDS:
                raise
        time.sleep(pause)
        waited, pause = waited + pause, min(pause * 2, 0.2)


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    timeout: float | None = None,
    cancel: Cancel | None = None,
) -> Result:
    """Run ``argv`` in ``cwd``; raise ``OSError`` when it cannot start.

    No thread per process: the output pipe is polled with the deadline as the
    select timeout, so a step costs one fork/exec and nothing more.
    """
    proc = _start(argv, cwd, env)
    if cancel is not None:
        cancel.track(proc, True)
        if cancel.event.is_set():
            _kill(proc)
    timed_out = False
    try:
        assert proc.stdout is not None
        timed_out = _pump(proc.stdout.fileno(), on_line, timeout, proc)
        status = proc.wait()
    finally:
        if cancel is not None:
            cancel.track(proc, False)
        if proc.poll() is None:
            _kill(proc)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return Result(
        status,
        timed_out=timed_out,
        cancelled=cancel is not None and cancel.event.is_set(),
    )


def _pump(
    fd: int, on_line: Callable[[str], None], timeout: float | None, proc: subprocess.Popen[bytes]
) -> bool:
    """Feed complete lines to ``on_line`` until EOF; return True if the deadline passed."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pending = b""
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                _kill(proc)
                if pending:
                    on_line(pending.decode("utf-8", "replace"))
                return True
        data = os.read(fd, 65536)
        if not data:
            break
        pending += data
        if b"\n" in pending:
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                on_line(raw.decode("utf-8", "replace").rstrip("\r"))
    if pending:
        on_line(pending.decode("utf-8", "replace").rstrip("\r"))
    return False


def kill_leftovers(marker: str) -> list[int]:
    """Kill the processes (with their process groups) whose command line names ``marker``.

    A run whose process was killed outright (SIGKILL, a crash) leaves its step
    processes running in their own sessions; their scripts live under the
    run's directory, so that path finds them before the run is resumed.
    """
    killed: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker not in cmdline:
            continue
        pid = int(entry.name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def stop_leftovers(run_dir: Path, run_id: str, say: Callable[[str], None]) -> int:
    """Before a run is resumed: kill the step processes its killed process left under
    ``run_dir`` (their scripts are there) and say so; how many there were."""
    killed = kill_leftovers(str(run_dir) + "/")
    if killed:
        say(f"[{run_id}] stopped {len(killed)} step process(es) the interrupted run left")
    return len(killed)
