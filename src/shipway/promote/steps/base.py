"""The contract between the promotion runner and its steps, and the step registry.

A step is a function ``(env, config) -> StepResult``; ``config`` is the
evaluated, validated config model of ``steps.config``. ``Running`` means
"not done yet, ask again" (a PR not merged, an app not Healthy): the runner
asks again until the step's ``retry.timeout``. ``StepError`` is a failure
worth retrying (counted against ``retry.errorThreshold``); ``StepFailed`` is
terminal (``fail``, a refused Application). Paths are relative to the work
directory and may not leave it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["Succeeded", "Failed", "Errored", "Running", "Skipped"]


class StepError(Exception):
    """A step failed in a way a retry may cure (network, a race on push)."""


class StepFailed(Exception):
    """A step failed for good (no retry helps)."""


@dataclass
class StepResult:
    status: Status = "Succeeded"
    output: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass
class StepEnv:
    """What a step may use: the work directory, the promotion's identity and adapters."""

    work: Path
    project: str
    stage: str
    promotion: str
    freight: dict[str, Any]
    """The target Freight."""
    store: Any = None
    """A ``shipway.store.db.Store`` (argocd-update, set-metadata)."""
    settings: Any = None
    secrets: dict[str, Any] = field(default_factory=dict)
    forge: Callable[[str, str | None], Any] | None = None
    """``(repoURL, provider) -> Forge`` for the PR steps."""
    git_auth: Callable[[str], dict[str, str]] | None = None
    """``repoURL -> environment`` of git processes talking to it (the project's cred-type git
    Secret, ``promote.credentials.git_auth``); None: no credentials."""
    state: dict[str, Any] = field(default_factory=dict)
    """The step's own persisted memory between polls (e.g. the revision it asked for)."""
    poll: float = 0.5
    """Seconds between two polls of a Running step."""
    collection: list[dict[str, Any]] = field(default_factory=list)
    """Every Freight the stage will hold (the target replaces its origin's)."""

    def freights(self, origin: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The target, then the collection's other origins; only ``origin``'s when given."""
        mine = self.freight.get("origin")
        pool = [self.freight] + [f for f in self.collection if f.get("origin") != mine]
        if origin is None:
            return pool
        want = {"kind": origin.get("kind", "Warehouse"), "name": origin.get("name")}
        return [f for f in pool if (f.get("origin") or {}) == want]

    def path(self, rel: str) -> Path:
        """``rel`` inside the work directory (``StepFailed`` if it would leave it)."""
        if Path(rel).is_absolute():
            raise StepFailed(f"path {rel!r} must be relative to the promotion's work directory")
        out = (self.work / rel).resolve()
        root = self.work.resolve()
        if out != root and root not in out.parents:
            raise StepFailed(f"path {rel!r} leaves the promotion's work directory")
        return out


Runner = Callable[[StepEnv, Any], StepResult]

_MODULES = {
    "git-clone": "gitsteps",
    "git-clear": "gitsteps",
    "git-commit": "gitsteps",
    "git-push": "gitsteps",
    "git-open-pr": "prsteps",
    "git-wait-for-pr": "prsteps",
    "git-merge-pr": "prsteps",
    "copy": "filesteps",
    "delete": "filesteps",
    "yaml-update": "filesteps",
    "json-update": "filesteps",
    "kustomize-set-image": "filesteps",
    "kustomize-build": "filesteps",
    "http": "httpstep",
    "compose-output": "outputsteps",
    "set-metadata": "outputsteps",
    "fail": "outputsteps",
    "argocd-update": "argocd",
    "helm-update-image": "helmsteps",
    "helm-update-chart": "helmsteps",
    "helm-template": "helmsteps",
}

LONG_RUNNING = frozenset({"http", "git-wait-for-pr", "git-merge-pr", "argocd-update"})
"""Steps that may answer Running (Kargo's default timeout for them: 5 minutes)."""


def runner(uses: str) -> Runner:
    """The function that runs step ``uses`` (``KeyError`` for an unknown step)."""
    module = importlib.import_module(f"shipway.promote.steps.{_MODULES[uses]}")
    fn: Runner = module.RUNNERS[uses]
    return fn
