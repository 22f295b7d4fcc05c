"""Jobs on the host executor write nothing of the host's: own virtualenvs, HOME, temp, npm prefix.

Checked against the real interpreters and npm of this machine: a matrix whose
jobs ``pip install`` one local package leaves the host interpreter's
``pip freeze`` as it was, and each job imports its own copy.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.actions import pythons

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


def _wheel(dir: Path, name: str = "jobpkg", version: str = "1.0") -> Path:
    """A pure-Python wheel, written by hand (pip installs it offline)."""
    files = {
        f"{name}/__init__.py": "import os\nWHERE = os.path.dirname(__file__)\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    out = dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return out


def _host_python() -> pythons.Interpreter:
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = [i for i in pythons.interpreters(dict(os.environ)) if i.version.startswith(minor + ".")]
    assert found, "no host interpreter of shipway's own version"
    return sorted(found, key=lambda i: [int(p) for p in i.version.split(".")])[-1]


def _freeze(exe: str) -> str:
    done = subprocess.run([exe, "-m", "pip", "freeze", "--all"], capture_output=True, text=True)
    return done.stdout + done.stderr


def test_matrix_pip_installs_land_in_each_jobs_own_virtualenv(
    run_wf: Runner, tmp_path: Path
) -> None:
    host = _host_python()
    before = _freeze(host.path)
    wheel = _wheel(tmp_path)
    minor = ".".join(host.version.split(".")[:2])
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1, 2, 3]
            steps:
              - id: py
                uses: actions/setup-python@v5
                with: {{python-version: "{minor}"}}
              - run: pip install --no-index -q {wheel}
              - run: |
                  python -c "import jobpkg, sys; print('where', ${{{{ matrix.n }}}}, jobpkg.WHERE)"
                  echo "venv ${{{{ matrix.n }}}} $VIRTUAL_ENV"
                  echo "path ${{{{ matrix.n }}}} ${{{{ steps.py.outputs.python-path }}}}"
        """
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert _freeze(host.path) == before
    where = {}
    for line in lines:
        for tag in ("where", "venv"):
            if f"] {tag} " in line:
                n, path = line.split(f"] {tag} ", 1)[1].split(" ", 1)
                where.setdefault(n, {})[tag] = path
    assert sorted(where) == ["1", "2", "3"]
    venvs = {w["venv"] for w in where.values()}
    assert len(venvs) == 3  # no two jobs share a virtualenv
    for w in where.values():
        assert w["where"].startswith(w["venv"] + "/lib/"), w
        assert not w["where"].startswith(str(Path(host.path).parent.parent))
    assert f"from Python {host.version} ({host.path})" in text


def test_a_version_no_host_interpreter_provides_fails_naming_what_was_found(
    run_wf: Runner,
) -> None:
    host = _host_python()
    record, lines = run_wf(
        """
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/setup-python@v5
                with: {python-version: "3.4"}
        """
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "failure"
    assert "Version 3.4 was not found on this host" in text
    assert f"{host.version} ({host.path})" in text


def test_job_home_temp_and_npm_prefix_are_the_jobs_own(run_wf: Runner, tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    host_root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout
    pkg = tmp_path / "npmpkg"
    pkg.mkdir()
    (pkg / "package.json").write_text('{"name": "jobtool", "version": "1.0.0", '
                                      '"bin": {"jobtool": "cli.js"}}')  # fmt: skip
    (pkg / "cli.js").write_text("#!/usr/bin/env node\nconsole.log('jobtool ran')\n")
    (pkg / "cli.js").chmod(0o755)
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1, 2]
            steps:
              - uses: actions/setup-node@v4
              - run: |
                  echo "home $HOME"
                  echo "tmp $TMPDIR $RUNNER_TEMP"
                  echo "cache $RUNNER_TOOL_CACHE"
                  touch "$HOME/written-by-job"
                  npm install -g --offline --no-audit --no-fund {pkg} >/dev/null
                  jobtool
                  echo "root $(npm root -g)"
              - run: pip install --no-index nothing-at-all
        """
    )
    text = "\n".join(lines)
    seen: dict[str, set[str]] = {}
    for line in lines:
        for tag in ("home", "tmp", "cache", "root"):
            if f"] {tag} " in line:
                seen.setdefault(tag, set()).add(line.split(f"] {tag} ", 1)[1])
    assert "jobtool ran" in text
    assert all(len(v) == 2 for v in seen.values()), seen  # one of each per job
    home = Path(os.path.expanduser("~"))
    for tag in ("home", "cache", "root"):
        assert not any(v.startswith(str(home) + "/.") or v == str(home) for v in seen[tag])
    for tmp in seen["tmp"]:
        one, two = tmp.split(" ")
        assert one == two and "/jobs/" in one
    assert not (home / "written-by-job").exists()
    assert subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout == host_root
    assert not Path(host_root.strip(), "jobtool").exists()
    # pip outside a virtualenv is refused rather than writing the host's site-packages
    assert "Could not find an activated virtualenv" in text
    assert record["conclusion"] == "failure"
