"""Run ``shipway ARGS`` in this process, as the CLI tests do.

``run(args, capsys)`` calls the CLI's ``main`` and returns its exit code (0 when it
returned normally, else ``SystemExit``'s code) with what it printed on stdout and
stderr.
"""

from __future__ import annotations

import pytest

from shipway.cli.main import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``shipway ARGS``: (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
