"""Missed pushes: what a git server has that no hook told the controller.

Each ``Pipeline`` branch keeps the last sha the controller handed to CI (a
``mark``, set when a push becomes a unit of CI work). At start and on every
polling pass, ``missed`` asks each pipeline's git server for its watched
branches (one ``ls-remote`` per repository) and returns a CI unit for every
branch whose tip is not its mark; the unit's key is the one a hook's push
would have made, so a push both told and found runs once. A branch seen for
the first time is marked at its tip, not run (as GitHub does not run a new
workflow on old pushes). Touches the store and, through ``Tips``, git servers.
"""

from __future__ import annotations

import logging

from shipway.controller.hooks import RefUpdate
from shipway.controller.tips import Tips
from shipway.controller.units import ci_item
from shipway.model.errors import ShipwayError
from shipway.store import inbox, runs
from shipway.store import resources as resource_store
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")
ENGINE = "pipeline-heads"
ZERO = "0" * 40


def _key(pipeline: str, branch: str) -> str:
    return f"{pipeline}|{branch}"


def mark(store: Store, pipeline: str, branch: str, sha: str) -> None:
    """Remember ``sha`` as the last tip of ``branch`` handed to CI for ``pipeline``."""
    runs.put_state(store, ENGINE, _key(pipeline, branch), "handled", {"sha": sha})


def marked(store: Store, pipeline: str, branch: str) -> str | None:
    found = runs.get_state(store, ENGINE, _key(pipeline, branch))
    return str(found[1].get("sha")) if found else None


def missed(store: Store, tips: Tips) -> list[inbox.New]:
    """CI units for the watched branches whose tip moved without a hook telling."""
    out: list[inbox.New] = []
    for pipe in resource_store.list_kind(store, "Pipeline"):
        source = pipe.spec.get("source") or {}
        repo = str(source.get("repoURL") or "")
        if not repo:
            continue
        try:
            refs = tips.refs(repo)
        except ShipwayError as exc:
            log.warning("cannot list the branches of %s: %s", repo, exc)
            continue
        for branch in source.get("branches") or ["main"]:
            tip = refs.get(f"refs/heads/{branch}")
            if not tip:
                continue
            last = marked(store, pipe.name, str(branch))
            if last == tip:
                continue
            mark(store, pipe.name, str(branch), tip)
            if last is None:
                continue  # first sight: the baseline
            log.info("missed push to %s %s: %s", pipe.name, branch, tip[:12])
            runs.record_event(store, "controller", f"Pipeline/{pipe.name}", "MissedPush",
                              f"refs/heads/{branch} {last[:12]}..{tip[:12]}")  # fmt: skip
            out.append(ci_item(pipe.name, RefUpdate(f"refs/heads/{branch}", last or ZERO, tip)))
    return out
