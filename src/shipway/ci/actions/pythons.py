"""The host's Python interpreters, and a job's own virtualenv made from one of them.

``interpreters`` finds the CPython interpreters of this machine: on the host
``PATH`` (shims such as pyenv's are skipped: they are scripts), in pyenv's and
uv's version directories, and the one running shipway; each is asked its
version once per process (all at once, in parallel). ``make_venv`` creates a
virtualenv with ``uv venv``; its pip comes from a seed directory made once per
Python version (offline, from the interpreters' own bundled ``ensurepip``
wheels, bytecode compiled) that the virtualenv imports after its own packages,
so ``pip install`` (even of pip) lands in the virtualenv. Fallbacks: pip
installed into the virtualenv by ``uv pip``, ``uv venv --seed`` from the index,
then ``python -m venv``. uv's cache and the seeds live in a directory of shipway's.
Runs only those probes and commands; writes only the target directory and
uv's cache.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

_PROBE = "import sys,platform;print(platform.python_implementation(),platform.python_version())"


@dataclass(frozen=True)
class Interpreter:
    version: str  # x.y.z
    path: str  # the real executable


class VenvError(Exception):
    """The virtualenv could not be made; the message says why."""


_known: dict[tuple[str, int], str | None] = {}  # (realpath, mtime_ns) -> version or None
_lock = threading.Lock()


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return True


def candidates(env: dict[str, str]) -> list[str]:
    """Real paths of possible interpreters, in preference order (PATH first), no duplicates."""
    found: list[str] = []
    names = ["python3", "python", *(f"python3.{n}" for n in range(20, 5, -1))]
    for directory in env.get("PATH", os.defpath).split(os.pathsep):
        if not directory or (Path(directory).parent / "pyvenv.cfg").exists():
            continue  # a virtualenv's interpreter is not a host interpreter
        for name in names:
            exe = os.path.join(directory, name)
            if os.access(exe, os.X_OK) and not _is_script(os.path.realpath(exe)):
                found.append(os.path.realpath(exe))
    home = env.get("HOME") or os.path.expanduser("~")
    pyenv = env.get("PYENV_ROOT") or os.path.join(home, ".pyenv")
    uv_pythons = os.path.join(home, ".local", "share", "uv", "python")
    for pattern in (f"{pyenv}/versions/*/bin/python3", f"{uv_pythons}/*/bin/python3"):
        for exe in sorted(glob.glob(pattern), reverse=True):
            if not (Path(exe).parent.parent / "pyvenv.cfg").exists():
                found.append(os.path.realpath(exe))
    found.append(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    return list(dict.fromkeys(found))


def interpreters(env: dict[str, str]) -> list[Interpreter]:
    """The CPython interpreters of this host (version probed once per binary per process)."""
    paths = candidates(env)
    keys: dict[str, tuple[str, int]] = {}
    for path in paths:
        try:
            keys[path] = (path, os.stat(path).st_mtime_ns)
        except OSError:
            continue
    with _lock:
        unknown = [p for p, k in keys.items() if k not in _known]
    procs = []
    for path in unknown:
        try:
            procs.append((path, subprocess.Popen([path, "-I", "-c", _PROBE], text=True,
                                                 stdout=subprocess.PIPE,
                                                 stderr=subprocess.DEVNULL)))  # fmt: skip
        except OSError:
            with _lock:
                _known[keys[path]] = None
    for path, proc in procs:
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out = ""
        impl, _, version = out.strip().partition(" ")
        ok = proc.returncode == 0 and impl == "CPython" and version.count(".") == 2
        with _lock:
            _known[keys[path]] = version if ok else None
    result = []
    with _lock:
        for path, key in keys.items():
            known = _known.get(key)
            if known:
                result.append(Interpreter(known, path))
    return result


def find_uv(env: dict[str, str]) -> str | None:
    """The ``uv`` binary: next to shipway's interpreter, from the ``uv`` package, or on PATH
    (a shim, such as pyenv's, resolved to the binary it runs)."""
    here = Path(sys.executable).parent / "uv"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv", path=env.get("PATH", os.defpath))
    if found is None or not _is_script(os.path.realpath(found)):
        return os.path.realpath(found) if found else None
    home = env.get("HOME") or os.path.expanduser("~")
    pyenv = env.get("PYENV_ROOT") or os.path.join(home, ".pyenv")
    binaries = [*sorted(glob.glob(f"{pyenv}/versions/*/bin/uv")),
                os.path.join(home, ".local", "bin", "uv"),
                os.path.join(home, ".cargo", "bin", "uv")]  # fmt: skip
    for exe in binaries:
        if os.access(exe, os.X_OK) and not _is_script(os.path.realpath(exe)):
            return os.path.realpath(exe)
    return None


def _bundled_wheels(interps: list[Interpreter]) -> list[str]:
    """The ``ensurepip`` wheel directories of the interpreters (pip, setuptools: offline)."""
    dirs = []
    for interp in interps:
        minor = ".".join(interp.version.split(".")[:2])
        prefix = Path(interp.path).parent.parent
        for lib in (prefix / "lib" / f"python{minor}", Path(f"/usr/lib/python{minor}")):
            bundled = lib / "ensurepip" / "_bundled"
            if bundled.is_dir():
                dirs.append(str(bundled))
    return list(dict.fromkeys(dirs))


def make_venv(interp: Interpreter, target: Path, uv: str | None, uv_cache: Path,
              wheels_from: list[Interpreter]) -> str:  # fmt: skip
    """Create a virtualenv with pip at ``target`` from ``interp``; return how it was made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env.update({"UV_CACHE_DIR": str(uv_cache), "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_CONFIG": "1"})  # fmt: skip
    errors: list[str] = []

    def attempt(*argvs: list[str], check: bool = True) -> bool:
        for argv in argvs:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                errors.append((done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1])
                shutil.rmtree(target, ignore_errors=True)
                return False
        if not check or (target / "bin" / "pip").exists():
            return True
        errors.append(f"{argvs[-1][0]} made no pip")
        shutil.rmtree(target, ignore_errors=True)
        return False

    if uv is not None:
        links = [a for d in _bundled_wheels(wheels_from) for a in ("--find-links", d)]
        seed = ["pip"]
        if [int(p) for p in interp.version.split(".")[:2]] < [3, 12]:
            seed.append("setuptools")  # as ensurepip and uv's --seed give before 3.12
        venv = [uv, "venv", "--quiet", "--python", interp.path, str(target)]
        shared = _seed_dir(interp, uv, links, seed, uv_cache, env) if links else None
        if shared is not None and attempt(venv, check=False):
            _link_seed(interp, target, shared)
            return "uv venv (pip from shipway's seed directory)"
        install = [uv, "pip", "install", "--quiet", "--offline", "--no-index", *links,
                   "--python", str(target / "bin" / "python"), *seed]  # fmt: skip
        if links and attempt(venv, install):
            return "uv (pip from the interpreters' bundled wheels)"
        if attempt([uv, "venv", "--quiet", "--seed", "--python", interp.path, str(target)]):
            return "uv venv --seed"
    if attempt([interp.path, "-m", "venv", str(target)]):
        return "python -m venv"
    raise VenvError("; ".join(errors))


def _seed_dir(interp: Interpreter, uv: str, links: list[str], seed: list[str], cache: Path,
              env: dict[str, str]) -> Path | None:  # fmt: skip
    """pip (and setuptools before 3.12) for ``interp``'s version, installed once with its
    bytecode into shipway's cache; None when that cannot be done offline."""
    minor = ".".join(interp.version.split(".")[:2])
    done_dir = cache / "shipway-seeds" / f"cpython-{minor}"
    if (done_dir / ".complete").exists():
        return done_dir
    tmp = done_dir.with_name(f".{done_dir.name}-{os.getpid()}-{threading.get_ident()}")
    argv = [uv, "pip", "install", "--quiet", "--offline", "--no-index", *links, "--python",
            interp.path, "--compile-bytecode", "--target", str(tmp), *seed]  # fmt: skip
    if subprocess.run(argv, env=env, capture_output=True, timeout=300).returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    (tmp / ".complete").touch()
    try:
        tmp.rename(done_dir)
    except OSError:  # another job made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return done_dir


_PIP_SCRIPT = """#!{python}
import sys
from pip._internal.cli.main import main
if __name__ == "__main__":
    sys.exit(main())
"""


def _link_seed(interp: Interpreter, target: Path, shared: Path) -> None:
    """Make the shared seed importable in the virtualenv (after its own site-packages, so an
    upgrade the job installs wins; pip never uninstalls outside the virtualenv) and give it
    ``pip`` commands."""
    minor = ".".join(interp.version.split(".")[:2])
    site = target / "lib" / f"python{minor}" / "site-packages"
    (site / "_shipway_seed.pth").write_text(f"{shared}\n")
    script = _PIP_SCRIPT.format(python=target / "bin" / "python")
    for name in ("pip", "pip3", f"pip{minor}"):
        path = target / "bin" / name
        path.write_text(script)
        path.chmod(0o755)
