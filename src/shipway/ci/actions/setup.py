"""Native setup actions: ``actions/setup-python`` and ``actions/setup-node`` on this host.

``setup-python`` gives the job a virtualenv of its own (``ci.actions.pythons``),
made from the host interpreter that matches ``python-version`` (the newest
one); its ``bin/`` goes first on ``PATH`` so ``pip install`` lands there, never
in the host's site-packages. In a job container the container's ``python3``
makes it. ``setup-node`` finds the host's node and links it (with npm, npx)
into a shim directory first on ``PATH``; every job already has its own npm
global prefix (``ci.job``). ``docker/setup-buildx-action`` and
``docker/setup-qemu-action`` are no-ops: shipway builds without a daemon.
Touches only the job's tool directories and uv's cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from shipway.ci.actions import ActionContext, ActionFailed, bool_input, pythons
from shipway.ci.exec.base import StepSpec


def _version_of(exe: str, args: list[str]) -> str | None:
    try:
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    m = re.search(r"(\d+\.\d+\.\d+)", text)
    return m.group(1) if out.returncode == 0 and m else None


def matches(spec: str, version: str) -> bool:
    """``3.11``, ``3.x``, ``>=3.10``, ``20``, ``lts/*``-style specs against ``x.y.z``."""
    spec = spec.strip().lstrip("v")
    if spec in ("", "latest", "node", "lts/*", "x", "*") or spec.startswith("lts/"):
        return True
    have = [int(p) for p in version.split(".")]
    m = re.fullmatch(r"(>=|<=|>|<|=|~|\^)?\s*(\d+(?:\.(?:\d+|x|\*))*)", spec)
    if not m:
        return False
    op, body = m.group(1) or "", m.group(2)
    want = [int(p) for p in body.split(".") if p.isdigit()]
    cmp = (have[: len(want)] > want) - (have[: len(want)] < want)
    if op == ">=":
        return cmp >= 0
    if op == ">":
        return cmp > 0
    if op == "<=":
        return cmp <= 0
    if op == "<":
        return cmp < 0
    if op == "^":
        return have[0] == want[0] and cmp >= 0
    return cmp == 0


def _shim(ctx: ActionContext, tool: str, links: dict[str, str]) -> Path:
    base = Path(ctx.env.get("RUNNER_TEMP", str(ctx.temp))) / "shims" / tool
    base.mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        link = base / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    ctx.paths.append(str(base))
    return base


def _spec(ctx: ActionContext, key: str, file_key: str) -> str:
    spec = ctx.input(key)
    if not spec and ctx.input(file_key):
        path = ctx.workspace / ctx.input(file_key)
        if not path.is_file():
            raise ActionFailed(f"{file_key} {path} does not exist")
        spec = path.read_text().strip().splitlines()[0] if path.read_text().strip() else ""
    return spec.splitlines()[-1].strip() if spec else ""


def python(ctx: ActionContext) -> None:
    """A virtualenv of the job's own from the matching host interpreter, first on PATH."""
    spec = _spec(ctx, "python-version", "python-version-file")
    job = ctx.job
    if job is not None and job.box is not None and job.box.cid is not None:
        _python_in_container(ctx, spec)
        return
    host_env = {**os.environ, **ctx.info.env}
    found = pythons.interpreters(host_env)
    matching = [i for i in found if matches(spec, i.version)] if spec else found[:1]
    if not matching:
        seen = ", ".join(f"{i.version} ({i.path})" for i in found) or "none"
        raise ActionFailed(
            f"setup-python: Version {spec} was not found on this host; the interpreters "
            f"found are: {seen}. Install it, or choose one of these in python-version"
        )
    if spec:
        matching.sort(key=lambda i: [int(p) for p in i.version.split(".")], reverse=True)
    interp = matching[0]
    tools = Path(getattr(job, "tools", None) or ctx.temp.parent / "tools")
    venv = tools / f"python-{interp.version}"
    if not (venv / "bin" / "python").exists():
        uv = pythons.find_uv(host_env)
        try:
            how = pythons.make_venv(interp, venv, uv, ctx.info.caches.parent / "ci-uv-cache",
                                    found)  # fmt: skip
        except pythons.VenvError as exc:
            raise ActionFailed(f"setup-python: cannot create a virtualenv from "
                               f"{interp.path}: {exc}") from None  # fmt: skip
        ctx.log(f"Created the job's virtualenv {venv} from Python {interp.version} "
                f"({interp.path}) with {how}")  # fmt: skip
    _python_env(ctx, venv, interp, str(venv / "bin" / "python"))


def _python_env(ctx: ActionContext, venv: Path, interp: pythons.Interpreter, exe: str) -> None:
    ctx.outputs.update({"python-version": interp.version, "python-path": exe,
                        "cache-hit": "false"})  # fmt: skip
    if not bool_input(ctx.input("update-environment"), True):
        return
    location = str(venv)
    base_lib = Path(interp.path).parent.parent / "lib" / "pkgconfig"
    ctx.exported.update({"pythonLocation": location, "Python_ROOT_DIR": location,
                         "Python2_ROOT_DIR": location, "Python3_ROOT_DIR": location,
                         "PKG_CONFIG_PATH": str(base_lib), "VIRTUAL_ENV": location})  # fmt: skip
    ctx.paths.append(str(venv / "bin"))
    ctx.log(f"Using Python {interp.version} in the job's virtualenv {venv}")


_CONTAINER_PROBE = (
    'for p in python3 python; do if command -v "$p" >/dev/null; then '
    '"$p" -c "import platform;print(platform.python_version())" && exit 0; fi; done; exit 3'
)


def _python_in_container(ctx: ActionContext, spec: str) -> None:
    """In a job container: a virtualenv from the container's own python3."""
    job = ctx.job
    lines: list[str] = []
    env = {"PATH": job.box.path}
    status = _box_run(job, ["sh", "-c", _CONTAINER_PROBE], env, lines.append)
    version = lines[-1].strip() if status == 0 and lines else ""
    if not version or not matches(spec, version):
        have = f"python {version}" if version else "no python3"
        raise ActionFailed(f"setup-python: Version {spec} was not found in the job container "
                           f"(it has {have})")  # fmt: skip
    venv = Path(job.tools) / f"python-{version}"
    out: list[str] = []
    if _box_run(job, ["python3", "-m", "venv", str(venv)], env, out.append) != 0:
        raise ActionFailed(f"setup-python: python3 -m venv failed in the job container: "
                           f"{' '.join(out[-2:])}")  # fmt: skip
    interp = pythons.Interpreter(version, "python3")
    _python_env(ctx, venv, interp, str(venv / "bin" / "python"))


def _box_run(job: Any, argv: list[str], env: dict[str, str], on_line: Any) -> int:
    step = StepSpec(argv=argv, cwd=str(job.workspace), env=env, on_line=on_line, timeout=300.0,
                    cancel=job.step_cancel)  # fmt: skip
    return int(job.box.run(step).exit_code)


def node(ctx: ActionContext) -> None:
    spec = _spec(ctx, "node-version", "node-version-file")
    exe = shutil.which("node", path=ctx.env.get("PATH", os.defpath))
    version = _version_of(exe, ["--version"]) if exe else None
    if exe is None or version is None:
        raise ActionFailed("setup-node: node is not installed on this host")
    if not matches(spec, version):
        raise ActionFailed(f"setup-node: host node is {version}, which does not match {spec!r}")
    real = os.path.realpath(exe)
    links = {"node": real}
    for tool in ("npm", "npx", "corepack"):
        found = shutil.which(tool, path=ctx.env.get("PATH", os.defpath))
        if found:
            links[tool] = found
    _shim(ctx, f"node-{version}", links)
    ctx.outputs["node-version"] = f"v{version}"
    ctx.log(f"Using host node v{version} at {real}")


def buildx(ctx: ActionContext) -> None:
    ctx.outputs.update({"name": "shipway", "driver": "shipway", "platforms": "linux/amd64"})
    ctx.log("shipway builds images itself (no buildx builder needed)")


def qemu(ctx: ActionContext) -> None:
    ctx.outputs["platforms"] = "linux/amd64"
    ctx.log("QEMU emulation is not set up by shipway; building for the host platform")
