"""The controller's Tekton runs: a checkout's `.tekton/` PipelineRuns, as Pipelines-as-Code.

For a push or pull request the controller calls ``run_checkout``: every
``.tekton/*.yaml`` file is read (together, so ``taskRef`` and
``pipelineRef`` resolve across them) after Pipelines-as-Code's
``{{ revision }}``, ``{{ repo_url }}``, ``{{ source_branch }}``,
``{{ target_branch }}``, ``{{ event_type }}``, ``{{ repo_owner }}``,
``{{ repo_name }}`` and ``{{ pull_request_number }}`` are filled in; a
PipelineRun runs when its ``pipelinesascode.tekton.dev/on-event`` names the
event and its ``on-target-branch`` the branch (``[main, release-*]``, globs
as Pipelines-as-Code matches them). A file that does not check is one failed
record naming every problem. Reads the checkout; runs through ``service``.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from pathlib import Path
from typing import Any

from shipway.ci.tekton.load import Doc
from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.model.errors import InputError
from shipway.runtime.host import Cancel
from shipway.store.db import Store
from shipway.store.runs import save_run

ON_EVENT = "pipelinesascode.tekton.dev/on-event"
ON_BRANCH = "pipelinesascode.tekton.dev/on-target-branch"
_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def _list(text: str) -> list[str]:
    """``[push, pull_request]`` or ``push`` as a list."""
    return [p.strip().strip("'\"") for p in text.strip().strip("[]").split(",") if p.strip()]


def tekton_files(source: Path) -> list[Path]:
    top = source / ".tekton"
    return sorted(p for p in top.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def wanted(annotations: dict[str, Any], event: str, branch: str) -> bool:
    events = _list(str(annotations.get(ON_EVENT, "")))
    branches = _list(str(annotations.get(ON_BRANCH, "")))
    pac_event = "pull_request" if event.startswith("pull_request") else event
    return pac_event in events and any(fnmatch.fnmatchcase(branch, b) or
                                       b == f"refs/heads/{branch}" for b in branches)  # fmt: skip


def run_checkout(store: Store, source: Path, *, event: str, branch: str, commit: str,
                 repo_url: str, values: dict[str, str], opts: RunOptions,
                 pipeline: str = "") -> list[dict[str, Any]]:  # fmt: skip
    """Run the ``.tekton/`` PipelineRuns of ``source`` that this event selects."""
    files = tekton_files(source)
    if not files:
        return []
    tail = [t for t in repo_url.rstrip("/").removesuffix(".git").split("/") if t]
    pac = {**values,  # custom params; the standard ones win, as in Pipelines-as-Code
           "revision": commit, "repo_url": repo_url, "event_type": event,
           "source_branch": branch, "target_branch": branch,
           "repo_owner": tail[-2] if len(tail) > 1 else "",
           "repo_name": tail[-1] if tail else ""}  # fmt: skip

    def fill(text: str) -> str:
        return _VAR.sub(lambda m: pac.get(m.group(1), m.group(0)), text)

    texts = [(fill(p.read_text()), str(p.relative_to(source))) for p in files]

    def select(doc: Doc) -> bool:
        meta = doc.body.get("metadata") or {}
        return doc.kind == "PipelineRun" and wanted(meta.get("annotations") or {}, event, branch)

    try:
        return run_files(store, texts, opts, Cancel(), select)
    except InputError as exc:
        return [_invalid(store, texts[0][1], event, commit, exc, pipeline)]


def _invalid(store: Store, file: str, event: str, commit: str, exc: InputError,
             pipeline: str) -> dict[str, Any]:  # fmt: skip
    record = {"id": secrets.token_hex(8), "workflow": file, "file": file, "event": event,
              "commit": commit, "conclusion": "failure", "error": str(exc), "jobs": [],
              "pipeline": pipeline}  # fmt: skip
    if store is not None:
        save_run(store, record, f"error: {exc}", commit)
    return record
