"""Helpers for ApplicationSet integration tests: commits, config files, the bare repos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from shipway.cluster.memory import MemoryTarget
from shipway.deploy.appset import engine
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store.db import Store

TARGET = "mem-appset"
BASE: list[Path] = []


@dataclass
class Env:
    settings: Settings
    store: Store
    target: MemoryTarget
    forges: engine.ForgeCache


def bare_of(url: str) -> Path:
    """The bare repository the git daemon serves at ``url`` (the forge fake reads it)."""
    return BASE[0] / url.rsplit("/", 1)[1]


def put(work: Repo, files: dict[str, object | None], msg: str = "change") -> str:
    """Write (or, for None, remove) files, commit and push to main; the new commit."""
    for rel, data in files.items():
        path = work.path / rel
        if data is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    work.add_all()
    sha = work.commit(msg)
    work.push("origin", "HEAD:refs/heads/main")
    return sha


def configmap(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": name}}  # fmt: skip
