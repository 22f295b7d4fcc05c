"""``shipway ci run`` in a checkout, as act runs one: the working tree, or HEAD with --commit."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shipway.cli.main import cli
from shipway.model.errors import InputError

pytestmark = pytest.mark.integration

WF = """\
on: push
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          echo "repo ${{ github.repository }}"
          echo "version $(cat VERSION)"
          test -e gone.txt && echo "gone present" || echo "gone absent"
          test -e new.txt && echo "new present" || echo "new absent"
          git status --porcelain | sed 's/^/status /'
  windows:
    runs-on: windows-latest
    steps: [{run: echo should not run}]
  mac:
    strategy: {matrix: {os: [macos-14, ubuntu-22.04]}}
    runs-on: ${{ matrix.os }}
    steps:
      - run: echo "ran on ${{ matrix.os }}"
"""


def _run(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["ci", "run", *args])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


def test_working_tree_by_default_head_with_commit(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "checkout-dir"
    new_repo(src, {".github/workflows/ci.yml": WF, "VERSION": "1\n", "gone.txt": "x\n",
                   ".gitignore": "ignored.txt\n"})  # fmt: skip
    subprocess.run(["git", "remote", "add", "origin", "git@github.com:acme/widget.git"], cwd=src,
                   check=True)  # fmt: skip
    (src / "VERSION").write_text("2-dirty\n")
    (src / "gone.txt").unlink()
    (src / "new.txt").write_text("new\n")
    (src / "ignored.txt").write_text("secret\n")
    monkeypatch.chdir(src)

    code, output = _run(["-o", "json"])
    text = output
    record = json.loads(text[text.index("{") :])
    assert "uncommitted changes included" in text and "Running the working tree of" in text
    assert "repo acme/widget" in text
    assert "version 2-dirty" in text and "gone absent" in text and "new present" in text
    assert "status  M VERSION" in text and "status  D gone.txt" in text
    assert "status ?? new.txt" in text and "ignored.txt" not in text.split("status")[-1]
    # runs-on labels this machine cannot serve are skipped, as act skips them
    assert "Skipping unsupported platform -- Try running with -P windows-latest=..." in text
    assert "Skipping unsupported platform -- Try running with -P macos-14=..." in text
    assert "should not run" not in text and "ran on ubuntu-22.04" in text
    results = {(j["id"], j["name"]): j["result"] for j in record["jobs"]}
    assert results[("windows", "windows")] == "skipped"
    assert results[("mac", "mac (macos-14)")] == "skipped"
    assert results[("mac", "mac (ubuntu-22.04)")] == "success"
    assert code == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["started"])  # RFC 3339, UTC
    listed = CliRunner().invoke(cli, ["ci", "list", "-o", "json"])
    assert json.loads(listed.output)["items"][0]["started"] == record["started"]

    code, text = _run(["--commit", "--job", "show"])
    assert code == 0, text
    assert "as committed (--commit)" in text
    assert "version 1" in text and "gone present" in text and "new absent" in text
    assert "status " not in text

    code, text = _run(["-P", "windows-latest=-self-hosted", "--job", "windows"])
    assert code == 0 and "should not run" in text  # mapped with -P: it runs

    with pytest.raises(InputError, match="unknown event 'pushh'"):
        _run(["--event", "pushh"])


def test_repository_from_the_directory_without_origin(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "plain"
    new_repo(src, {".github/workflows/ci.yml": WF})
    monkeypatch.chdir(src)
    code, text = _run(["--job", "show"])
    shown = [line.rsplit("] repo ", 1)[1] for line in text.splitlines() if "] repo " in line]
    assert shown == ["test_repository_from_the_direc0/plain"], text  # the directory, no origin
    assert code == 0
