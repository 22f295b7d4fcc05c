"""Native ``actions/setup-python`` and ``actions/setup-node`` on the host's toolchains.

They find an installed interpreter matching the requested version and put a
shim directory (links named as the real action's tools) first on ``PATH``;
they install nothing. ``docker/setup-buildx-action`` and
``docker/setup-qemu-action`` are no-ops: shipway builds without a daemon.
Touches only the job's tool directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from shipway.ci.actions import ActionContext, ActionFailed


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
    spec = _spec(ctx, "python-version", "python-version-file")
    path = ctx.env.get("PATH", os.defpath)
    names = sorted({f"python3.{n}" for n in range(6, 20)} | {"python3", "python"})
    candidates = [p for p in (shutil.which(n, path=path) for n in names) if p]
    candidates.append(sys.executable)
    seen: list[str] = []
    for exe in candidates:
        version = _version_of(exe, ["--version"])
        if version is None:
            continue
        seen.append(version)
        if matches(spec, version):
            real = os.path.realpath(exe)
            _shim(ctx, f"python-{version}", {"python": real, "python3": real})
            prefix = str(Path(real).parent.parent)
            ctx.exported.update({"pythonLocation": prefix, "Python_ROOT_DIR": prefix})
            ctx.outputs.update({"python-version": version, "python-path": real})
            ctx.log(f"Using host Python {version} at {real}")
            return
    raise ActionFailed(
        f"setup-python: no Python matching {spec!r} on this host (found: "
        f"{', '.join(sorted(set(seen))) or 'none'}); install it or change python-version"
    )


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
