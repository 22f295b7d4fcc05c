"""What a finished (or broken) CI run leaves: its error in words, its files, its record.

``first_error`` finds what failed a run in its log, for the release record;
``remove_checkouts`` frees a finished run's source checkout; ``fail_unfinished``
ends the runs an I/O failure (a full disk) stopped, so none stays
``in_progress`` and no restart resumes them. Touches the store and run directories.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from shipway.ci import service as ci_service
from shipway.model.errors import ShipwayError
from shipway.store import runs
from shipway.store.db import Store


def remove_checkouts(store: Store, records: list[dict[str, Any]]) -> None:
    """The source checkout of finished runs (their jobs' workspaces are already gone)."""
    for record in records:
        found = runs.get_state(store, "ci", str(record.get("id", "")))
        if found is None or found[0] != "done":
            continue
        base = Path(str((found[1].get("resume") or {}).get("base_dir") or ""))
        if base.parent.name.startswith("event-"):
            shutil.rmtree(base.parent / "source", ignore_errors=True)


def fail_unfinished(store: Store, commit: str, message: str) -> None:
    """Runs of ``commit`` that an I/O failure stopped: failed, engine state done, workspace
    removed (so nothing stays ``in_progress`` and no resume retries them)."""
    for run_id in ci_service.unfinished_runs(store):
        found = runs.get_state(store, "ci", run_id)
        resume = dict((found[1] if found else {}).get("resume") or {})
        if resume.get("commit") != commit:
            continue
        try:
            record, log_text = runs.get_run(store, run_id)
        except ShipwayError:
            record, log_text = {"id": run_id, "commit": commit, "jobs": []}, ""
        record = {**record, "conclusion": "failure", "error": message}
        runs.save_run(store, record, log_text + f"\nerror: {message}", commit)
        runs.put_state(store, "ci", run_id, "done", found[1] if found else {})
        base = Path(str(resume.get("base_dir") or ""))
        if base.name == run_id:
            shutil.rmtree(base.parent if base.parent.name.startswith("event-") else base,
                          ignore_errors=True)  # fmt: skip


_ERRORISH = re.compile(r"error|fail|denied|no space|not found|cannot|timed out", re.I)


def first_error(store: Store, record: dict[str, Any]) -> str:
    """What failed a run, from its log: the first ``::error::`` and the step output that
    explains it (e.g. ``dd: error writing 'big': No space left on device``)."""
    if record.get("conclusion") in ("success", None) or not record.get("id"):
        return ""
    if record.get("error"):
        return str(record["error"])
    try:
        _record, text = runs.get_run(store, str(record["id"]))
    except ShipwayError:
        return ""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        prefix, mark, annotation = line.partition("::error::")
        if not mark:
            continue
        step = prefix.strip()
        said = [x[len(step) :].strip() for x in lines[:n] if step and x.startswith(step)]
        cause = next((x for x in reversed(said) if _ERRORISH.search(x)), "")
        where = step.strip("[]")
        return (f"{where}: {cause} ({annotation.strip()})" if cause
                else f"{where}: {annotation.strip()}")[:500]  # fmt: skip
    return ""
