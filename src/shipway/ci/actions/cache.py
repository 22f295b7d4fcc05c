"""Native ``actions/cache`` (and ``cache/restore``, ``cache/save``) on a local cache directory.

Archives live under ``<cache dir>/<owner>/<repo>/<sha256(key)>.tar`` with a
sidecar ``.json`` holding the key and its time. Restore takes the exact key,
else the newest entry whose key starts with a ``restore-keys`` prefix. The
save runs as a post step when there was no exact hit and the job succeeded.
Touches only the cache directory and the cached paths.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tarfile
import time
from pathlib import Path

from shipway.ci.actions import ActionContext, ActionFailed, bool_input, list_input

ABS = "__abs__"


def _store(ctx: ActionContext) -> Path:
    return ctx.info.caches / ctx.info.repository_name


def _entry(store: Path, key: str) -> Path:
    return store / hashlib.sha256(key.encode()).hexdigest()


def _find(store: Path, key: str, prefixes: list[str]) -> str | None:
    if _entry(store, key).with_suffix(".tar").is_file():
        return key
    if not store.is_dir():
        return None
    entries = []
    for meta in store.glob("*.json"):
        try:
            data = json.loads(meta.read_text())
        except ValueError:
            continue
        entries.append((float(data.get("time", 0)), str(data.get("key", ""))))
    for prefix in prefixes:
        matching = sorted((t, k) for t, k in entries if k.startswith(prefix))
        if matching:
            return matching[-1][1]
    return None


def _paths(ctx: ActionContext) -> list[str]:
    paths = list_input(ctx.input("path"))
    if not paths:
        raise ActionFailed("actions/cache: input 'path' is required")
    return paths


def _restore(ctx: ActionContext) -> bool:
    key = ctx.input("key")
    if not key:
        raise ActionFailed("actions/cache: input 'key' is required")
    store = _store(ctx)
    found = _find(store, key, list_input(ctx.input("restore-keys")))
    exact = found == key
    ctx.outputs["cache-hit"] = "true" if exact else "false"
    ctx.outputs["cache-primary-key"] = key
    if found is None:
        ctx.log(f"Cache not found for input keys: {key}")
        if bool_input(ctx.input("fail-on-cache-miss")):
            raise ActionFailed(f"actions/cache: no cache for key {key!r}")
        return False
    ctx.outputs["cache-matched-key"] = found
    if bool_input(ctx.input("lookup-only")):
        ctx.log(f"Cache found for key {found} (lookup only)")
        return exact
    with tarfile.open(_entry(store, found).with_suffix(".tar")) as tar:
        for member in tar.getmembers():
            dest = _destination(ctx, member.name)
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            if src is not None:
                dest.write_bytes(src.read())
                os.chmod(dest, member.mode & 0o777)
    ctx.log(f"Cache restored from key: {found}")
    return exact


def _destination(ctx: ActionContext, name: str) -> Path:
    if name.startswith(ABS + "/"):
        return Path("/" + name[len(ABS) + 1 :])
    dest = (ctx.workspace / name).resolve()
    if not str(dest).startswith(str(ctx.workspace.resolve())):
        raise ActionFailed(f"actions/cache: archive member {name!r} escapes the workspace")
    return dest


def _save(ctx: ActionContext, key: str, patterns: list[str]) -> str:
    store = _store(ctx)
    entry = _entry(store, key)
    if entry.with_suffix(".tar").is_file():
        ctx.log(f"Cache hit occurred on the primary key {key}, not saving cache.")
        return "success"
    files = _matches(ctx, patterns)
    if not files:
        ctx.log("::warning::Path Validation Error: no files found for the cache paths")
        return "success"
    store.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_suffix(f".tmp{os.getpid()}")
    workspace = ctx.workspace.resolve()
    with tarfile.open(tmp, "w") as tar:
        for path in files:
            rel = path.relative_to(workspace) if path.is_relative_to(workspace) else None
            tar.add(path, arcname=str(rel) if rel else f"{ABS}{path}", recursive=False)
    tmp.replace(entry.with_suffix(".tar"))
    entry.with_suffix(".json").write_text(json.dumps({"key": key, "time": time.time()}))
    ctx.log(f"Cache saved with key: {key}")
    return "success"


def _matches(ctx: ActionContext, patterns: list[str]) -> list[Path]:
    found: set[Path] = set()
    home = ctx.env.get("HOME", os.path.expanduser("~"))
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        if body.startswith("~"):
            body = home + body[1:]
        base = body if os.path.isabs(body) else str(ctx.workspace / body)
        hits: set[Path] = set()
        for hit in glob.glob(base, recursive=True):
            p = Path(hit).resolve()
            hits.add(p)
            if p.is_dir():
                hits.update(x.resolve() for x in p.rglob("*"))
        found = found - hits if negate else found | hits
    return sorted(p for p in found if p.is_file() or p.is_dir())


def run(ctx: ActionContext) -> None:
    exact = _restore(ctx)
    if exact or bool_input(ctx.input("lookup-only")):
        return
    key, patterns, job = ctx.input("key"), _paths(ctx), ctx.job
    if job is None:
        return

    def post() -> str:
        if job.status() != "success":
            ctx.log("Not saving cache: the job did not succeed.")
            return "skipped"
        return _save(ctx, key, patterns)

    job.post.append(("Post Cache", post))


def restore_only(ctx: ActionContext) -> None:
    _restore(ctx)


def save_only(ctx: ActionContext) -> None:
    _save(ctx, ctx.input("key"), _paths(ctx))
