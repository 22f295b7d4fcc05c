"""What a host job starts from: no host writable places, toolchain stores pinned, virtualenv
commands without their installers; runs-on labels this machine cannot serve; GitHub numbers."""

from __future__ import annotations

from pathlib import Path

from shipway.ci.container import unsupported_label
from shipway.ci.expr.template import is_insert
from shipway.ci.expr.values import integral
from shipway.ci.runner import pull_request_runner
from shipway.ci.runstate import host_env


def test_host_env_drops_writable_places_and_hides_virtualenv_installers(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for name in ("python", "python3", "pip", "pip3", "uv", "activate", "pytest", "shipway"):
        (venv / "bin" / name).write_text("#!/bin/sh\n")
    home = tmp_path / "home"
    (home / ".pyenv").mkdir(parents=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin", "HOME": str(home), "VIRTUAL_ENV": str(venv),
           "XDG_CACHE_HOME": "/x", "PIP_USER": "1", "UV_CACHE_DIR": "/u", "GITHUB_SHA": "s",
           "npm_config_prefix": "/n", "CI": "true", "KEEP": "me", "SHIPWAY_HOME": "/s"}  # fmt: skip
    out = host_env(env, tmp_path / "shims")
    assert out["KEEP"] == "me" and out["SHIPWAY_HOME"] == "/s"
    for gone in ("VIRTUAL_ENV", "XDG_CACHE_HOME", "PIP_USER", "UV_CACHE_DIR", "GITHUB_SHA",
                 "npm_config_prefix", "CI"):  # fmt: skip
        assert gone not in out
    assert out["PYENV_ROOT"] == str(home / ".pyenv")  # pyenv's shims still find their versions
    first, rest = out["PATH"].split(":", 1)
    assert rest == "/usr/bin" and first.startswith(str(tmp_path / "shims"))
    assert sorted(p.name for p in Path(first).iterdir()) == ["pytest", "shipway"]
    assert host_env(env, tmp_path / "shims")["PATH"] == out["PATH"]  # made once, reused


def test_unsupported_labels_and_the_pull_request_executor() -> None:
    assert unsupported_label(["windows-latest"], {}) == "windows-latest"
    assert unsupported_label(["self-hosted", "macOS"], {}) == "macOS"
    assert unsupported_label(["macos-14"], {"macos-14": "-self-hosted"}) is None
    assert unsupported_label(["ubuntu-latest", "windows-2022"], {"ubuntu-latest": "img"}) is None
    assert unsupported_label(["ubuntu-latest", "linux"], {}) is None
    assert pull_request_runner(None) == {"executor": "podman"}
    assert pull_request_runner({"executor": "host", "image": "x"})["executor"] == "host"
    assert pull_request_runner({"image": "x"}) == {"image": "x", "executor": "podman"}


def test_integral_numbers_and_the_insert_directive() -> None:
    assert integral({"n": 1.0, "f": 2.5, "l": [3.0, "3.0", True]}) == {
        "n": 1, "f": 2.5, "l": [3, "3.0", True]}  # fmt: skip
    assert type(integral(1.0)) is int and type(integral(1e300)) is float
    assert is_insert("${{ insert }}") and is_insert("${{insert}}")
    assert not is_insert("${{ insert.x }}") and not is_insert("insert") and not is_insert(1)
