"""A script just written runs even while another thread's fresh child still holds it open.

Exec'ing a file some process has open for writing fails with ETXTBSY; that
is what a step's script meets when a parallel task forks between the write
and the exec (a Tekton matrix task beside a retried one failed with "Text
file busy"). Here this process holds the write descriptor itself, and lets
go of it shortly after the start was asked for.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from pathlib import Path

import pytest

from shipway.runtime import host


def _busy_script(tmp_path: Path) -> tuple[Path, int]:
    script = tmp_path / "step.sh"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
    os.write(fd, b"#!/bin/sh\necho ran\n")
    return script, fd


def test_a_busy_script_is_the_failure_this_is_about(tmp_path: Path) -> None:
    script, fd = _busy_script(tmp_path)
    try:
        with pytest.raises(OSError) as caught:
            subprocess.run([str(script)], check=False)
        assert caught.value.errno == errno.ETXTBSY
    finally:
        os.close(fd)


def test_a_script_busy_for_a_moment_still_runs(tmp_path: Path) -> None:
    script, fd = _busy_script(tmp_path)
    lines: list[str] = []
    timer = threading.Timer(0.3, os.close, (fd,))
    timer.start()
    try:
        result = host.run([str(script)], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
                          on_line=lines.append)  # fmt: skip
    finally:
        timer.join()
    assert result.status == 0
    assert lines == ["ran"]


def test_a_script_that_stays_busy_still_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:  # fmt: skip
    monkeypatch.setattr(host, "BUSY_RETRY_SECONDS", 0.05)
    script, fd = _busy_script(tmp_path)
    try:
        with pytest.raises(OSError) as caught:
            host.run([str(script)], cwd=tmp_path, env={}, on_line=lambda _line: None)
        assert caught.value.errno == errno.ETXTBSY
    finally:
        os.close(fd)
