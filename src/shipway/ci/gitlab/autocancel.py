"""GitLab's auto-cancel of redundant pipelines: which jobs of an older pipeline a newer one cancels.

Pure. ``mode_of`` reads ``workflow:auto_cancel:on_new_commit`` (a matching
``workflow:rules`` entry's ``auto_cancel`` overrides it; GitLab's default is
``conservative``). ``decide`` takes the older pipeline's jobs as they stand when
the newer pipeline starts and says what to cancel, as GitLab documents:

- ``conservative``: the whole pipeline (every job not yet ended), unless a job
  with ``interruptible: false`` has started (running or ended); jobs that have
  not started count as interruptible;
- ``interruptible``: only the jobs with ``interruptible: true`` that have not
  ended (running or still to come); the others run on;
- ``none``: nothing.

``on_job_failure`` reads ``workflow:auto_cancel:on_job_failure`` the same way:
``all`` cancels the pipeline when a job fails (one allowed to fail does not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MODES = ("conservative", "interruptible", "none")
DEFAULT = "conservative"


@dataclass(frozen=True)
class JobState:
    name: str
    interruptible: bool
    started: bool  # it ran or runs (a job the scheduler skipped never started)
    ended: bool


@dataclass(frozen=True)
class Decision:
    whole: bool = False  # cancel the pipeline (every job not ended)
    jobs: tuple[str, ...] = field(default=())  # the jobs to cancel (``whole``: all not ended)
    reason: str = ""  # why nothing (or only some) is cancelled, for the log

    @property
    def cancels(self) -> bool:
        return bool(self.whole or self.jobs)


def _on_new_commit(block: Any) -> str | None:
    if isinstance(block, Mapping):
        value = block.get("on_new_commit")
        if isinstance(value, str) and value in MODES:
            return value
    return None


def mode_of(workflow: Mapping[str, Any] | None, rule: Mapping[str, Any] | None) -> str:
    """The pipeline's ``on_new_commit`` mode: the matching workflow rule's, else the
    workflow's, else ``conservative``."""
    if rule is not None and (mode := _on_new_commit(rule.get("auto_cancel"))):
        return mode
    if workflow is not None and (mode := _on_new_commit(workflow.get("auto_cancel"))):
        return mode
    return DEFAULT


def on_job_failure(workflow: Mapping[str, Any] | None, rule: Mapping[str, Any] | None) -> bool:
    """Whether a failing job cancels the rest of the pipeline (``on_job_failure: all``;
    GitLab's default is ``none``)."""
    for block in (rule, workflow):
        if block is not None and isinstance(block.get("auto_cancel"), Mapping):
            value = block["auto_cancel"].get("on_job_failure")
            if value in ("all", "none"):
                return bool(value == "all")
    return False


def decide(mode: str, jobs: Sequence[JobState]) -> Decision:
    """What a newer pipeline of the ref cancels of this one (``mode`` is this one's)."""
    alive = [j for j in jobs if not j.ended]
    if mode == "none":
        return Decision(reason="workflow:auto_cancel:on_new_commit is none")
    if mode == "interruptible":
        names = tuple(j.name for j in alive if j.interruptible)
        if not names:
            return Decision(reason="no interruptible job is left to cancel")
        return Decision(jobs=names)
    shield = [j.name for j in jobs if j.started and not j.interruptible]
    if shield:
        return Decision(reason=f"a job with interruptible: false has started ({shield[0]})")
    if not alive:
        return Decision(reason="every job has ended")
    return Decision(whole=True, jobs=tuple(j.name for j in alive))
