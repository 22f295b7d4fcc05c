"""Native ``actions/upload-artifact`` and ``actions/download-artifact`` (v4 semantics).

Artifacts are directories under the run's artifact directory, one per name,
shared by every job of the run (and of the workflows it calls). Upload keeps
paths relative to the least common ancestor of the matched files. Touches
only the artifact directory and the workspace.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import shutil
from pathlib import Path

from shipway.ci.actions import ActionContext, ActionFailed, bool_input, list_input


def _files(ctx: ActionContext, patterns: list[str]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = os.path.expanduser(body)
        base = body if os.path.isabs(body) else str(ctx.workspace / body)
        hits: set[Path] = set()
        for hit in glob.glob(base, recursive=True):
            p = Path(hit)
            if p.is_dir():
                hits.update(x for x in p.rglob("*") if x.is_file())
            elif p.is_file():
                hits.add(p)
        found = found - hits if negate else found | hits
    return sorted(found)


def upload(ctx: ActionContext) -> None:
    name = ctx.input("name", "artifact")
    if "/" in name or name in (".", ".."):
        raise ActionFailed(f"upload-artifact: invalid artifact name {name!r}")
    files = _files(ctx, list_input(ctx.input("path")))
    if not files:
        mode = ctx.input("if-no-files-found", "warn")
        message = f"No files were found with the provided path: {ctx.input('path')}."
        if mode == "error":
            raise ActionFailed(message)
        if mode == "warn":
            ctx.log(f"::warning::{message} No artifacts will be uploaded.")
        return
    target = ctx.info.artifacts / name
    if target.exists():
        if not bool_input(ctx.input("overwrite")):
            raise ActionFailed(f"upload-artifact: an artifact named {name!r} already exists")
        shutil.rmtree(target)
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    for f in files:
        dest = target / f.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    size = sum(f.stat().st_size for f in files)
    ctx.log(f"Uploaded artifact {name!r}: {len(files)} files, {size} bytes")
    ctx.outputs["artifact-id"] = name
    ctx.outputs["artifact-url"] = f"file://{target}"


def download(ctx: ActionContext) -> None:
    store = ctx.info.artifacts
    name, pattern = ctx.input("name"), ctx.input("pattern")
    dest = Path(os.path.expanduser(ctx.input("path", "."))) if ctx.input("path") else Path(".")
    dest = dest if dest.is_absolute() else ctx.workspace / dest
    if name:
        if not (store / name).is_dir():
            raise ActionFailed(f"download-artifact: artifact {name!r} not found")
        shutil.copytree(store / name, dest, dirs_exist_ok=True)
        ctx.log(f"Downloaded artifact {name!r} to {dest}")
    else:
        names = sorted(p.name for p in store.iterdir()) if store.is_dir() else []
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        merge = bool_input(ctx.input("merge-multiple"))
        for n in names:
            shutil.copytree(store / n, dest if merge else dest / n, dirs_exist_ok=True)
        ctx.log(f"Downloaded {len(names)} artifacts to {dest}")
    ctx.outputs["download-path"] = str(dest)
