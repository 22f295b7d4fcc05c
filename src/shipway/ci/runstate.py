"""State shared by every job of one run: masking, the log, cancellation, annotations.

Thread-safe: jobs may run in parallel. The log kept here is already masked;
it is what gets stored with the run record.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.ci.commands import Masker
from shipway.ci.plan.model import Workflow
from shipway.ci.runinfo import RunInfo
from shipway.runtime.host import Cancel


class RunState:
    def __init__(
        self,
        info: RunInfo,
        workflow: Workflow,
        inputs: dict[str, Any] | None = None,
        masker: Masker | None = None,
        lines: list[str] | None = None,
        cancel: Cancel | None = None,
        annotations: list[dict[str, Any]] | None = None,
    ) -> None:
        self.info = info
        self.workflow = workflow
        self.inputs: dict[str, Any] = inputs or {}
        self.masker = masker or Masker()
        for value in info.secrets.values():
            self.masker.add(value)
        self.secrets_ctx: dict[str, Any] = {"GITHUB_TOKEN": "", **info.secrets}
        self.lines = lines if lines is not None else []
        debug = info.secrets.get("ACTIONS_STEP_DEBUG") or info.vars.get("ACTIONS_STEP_DEBUG")
        self.step_debug = str(debug).lower() == "true"  # ::debug:: lines are shown only then
        self.cancel = cancel or info.cancel or Cancel()
        self.annotations: list[dict[str, Any]] = annotations if annotations is not None else []
        self._lock = threading.Lock()
        self.base_env = {**os.environ, **info.env}
        for name in list(self.base_env):
            if name.startswith(("GITHUB_", "RUNNER_")) or name in ("CI",):
                del self.base_env[name]

    def emit(self, job: str, step: str, line: str) -> None:
        where = f"{job} / {step}" if step else job
        text = self.masker.mask(f"[{where}] {line}")
        with self._lock:
            self.lines.append(text)
            if self.info.on_line is not None:
                self.info.on_line(text)

    def for_job(self, token: str) -> RunState:
        """This state for one job: the same log, masker and cancel; the job's own GITHUB_TOKEN."""
        job_rs = copy.copy(self)
        job_rs.secrets_ctx = {**self.secrets_ctx, "GITHUB_TOKEN": token}
        return job_rs

    def mask_deep(self, value: Any) -> Any:
        """``value`` with every secret masked in every string (keys included)."""
        return self.masker.mask_deep(value)

    def mask_record(self, value: Any) -> Any:
        """A run record or state with its user text masked, its computed fields untouched."""
        return self.masker.mask_record(value)

    def annotate(self, level: str, message: str, props: dict[str, str], job: str) -> None:
        with self._lock:
            self.annotations.append(
                {
                    "level": level,
                    "message": self.masker.mask(message),
                    "job": job,
                    **{k: self.masker.mask(v) for k, v in props.items()},
                }
            )

    def hash_files(self, workspace: Path) -> Callable[[list[str]], str]:
        def compute(patterns: list[str]) -> str:
            return hash_files(workspace, patterns)

        return compute


def hash_files(workspace: Path, patterns: list[str]) -> str:
    """GitHub's ``hashFiles``: sha256 over the sha256 of each matching file, or ''."""
    include: set[str] = set()
    for pattern in patterns:
        for pat in pattern.splitlines():
            pat = pat.strip()
            if not pat:
                continue
            negate = pat.startswith("!")
            body = pat[1:] if negate else pat
            hits = set(glob.glob(str(workspace / body), recursive=True))
            include = include - hits if negate else include | hits
    total = hashlib.sha256()
    found = False
    for path in sorted(include):
        if os.path.isfile(path):
            found = True
            with open(path, "rb") as fh:
                total.update(hashlib.sha256(fh.read()).digest())
    return total.hexdigest() if found else ""
