"""CI results back to the forge as commit statuses, for ``Pipeline``s that name a forge.

A push or pull request gets ``shipway/ci`` set to pending when its workflows
start; each finished run sets ``<workflow> (<event>)`` to success or failure
with a link to the run in the controller's API, and ``shipway/ci`` ends as
success only when every run succeeded (error when CI could not run at all).
A forge that refuses is logged and recorded as an event: CI results never
depend on the forge answering. Touches the forge API and the event log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from shipway.git import forge as forge_mod
from shipway.model.errors import ShipwayError
from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.store import runs
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")

OVERALL = "shipway/ci"
ForgeFactory = Callable[[str, str, str, str], forge_mod.Forge]


class StatusReporter:
    """Sets commit statuses for one controller; a no-op for pipelines without ``forge``."""

    def __init__(
        self, settings: Settings, store: Store, factory: ForgeFactory = forge_mod.open_forge
    ) -> None:
        self.settings, self.store, self.factory = settings, store, factory

    def started(self, pipe: Resource, sha: str, event: str) -> None:
        self._set(pipe, sha, "pending", OVERALL, f"running the workflows for {event}")

    def finished(self, pipe: Resource, sha: str, event: str, records: list[dict[str, Any]]) -> None:
        for rec in records:
            ok = rec.get("conclusion") == "success"
            jobs = rec.get("jobs") or []
            failed = sum(1 for j in jobs if j.get("result") == "failure")
            text = (
                "all jobs succeeded" if ok else f"{rec.get('conclusion')}: {failed} job(s) failed"
            )
            if rec.get("error"):
                text = str(rec["error"])
            self._set(pipe, sha, "success" if ok else "failure",
                      f"{rec.get('workflow')} ({event})", text, self._run_url(rec))  # fmt: skip
        ok = all(r.get("conclusion") == "success" for r in records)
        summary = f"{len(records)} workflow run(s)" if records else "no workflow triggers"
        self._set(pipe, sha, "success" if ok else "failure", OVERALL, summary)

    def failed(self, pipe: Resource, sha: str, message: str) -> None:
        self._set(pipe, sha, "error", OVERALL, message)

    def _run_url(self, record: dict[str, Any]) -> str:
        base = self.settings.resolved_controller_url()
        return f"{base.rstrip('/')}/api/ci/runs/{record.get('id')}" if base else ""

    def _set(self, pipe: Resource, sha: str, state: str, context: str, text: str,
             url: str = "") -> None:  # fmt: skip
        spec = pipe.spec.get("forge")
        if not spec:
            return
        repo_url = str(pipe.spec.get("source", {}).get("repoURL", ""))
        kind = str(spec["kind"])
        api = str(spec.get("apiURL") or forge_mod.default_api(kind, repo_url))
        project = str(spec.get("project") or forge_mod.project_from_url(repo_url))
        token = os.environ.get(str(spec.get("tokenEnv") or "SHIPWAY_FORGE_TOKEN"), "")
        try:
            client = self.factory(kind, api, project, token)
            try:
                client.set_status(sha, state, context, text, url)
            finally:
                client.close_client()
        except ShipwayError as exc:
            log.warning("commit status %s=%s on %s not set: %s", context, state, sha[:12], exc)
            what = f"{context} {state} {sha[:12]}: {exc}"
            runs.record_event(
                self.store, "controller", f"Pipeline/{pipe.name}", "CommitStatusFailed", what
            )
