"""Verification: a Stage's ``verification.analysisTemplates`` run as an AnalysisRun, tick by tick.

A resumable state machine, driven by the controller's tick (``tick``), never a
blocking loop. ``start`` (after a successful promotion, or ``shipway stage
verify``) builds the run (``promote.analysis.build_run``: the templates'
metrics, the Stage's ``args``), stores it as an ``AnalysisRun`` resource
(``shipway get analysisruns``) and as engine state ``promote.verify``
(``<project>/<run>``), and adds a ``verificationHistory`` entry to the
stage's current Freight. Each ``tick``:

- ``Pending``: waits until every Application authorized for the stage
  (``kargo.akuity.io/authorized-stage``) reports Healthy, then starts;
- ``Running``: takes each measurement that is due (``analysis.due``) with its
  provider (``promote.providers``), resumes the ones under way (a Job), stores
  the measurements, and assesses the run (``analysis.run_phase``);
- at the end: the AnalysisRun's status, the VerificationInfo (Successful,
  Failed, Error, Inconclusive or Aborted, with the message), the stage's
  ``Verified`` condition, the Freight's ``verifiedIn`` on success, an event
  and the Freight's journey; then ``lifecycle.after_verification`` (rollback,
  auto-promotion downstream). Inconclusive stops there: the stage waits for
  a person (``shipway stage verify`` again, or a promotion), with the reason.

A stage without verification verifies its Freight when the promotion
succeeds, as Kargo does. ``abort_stage`` asks an unfinished run of a stage
to end as Aborted (its Freight is being replaced); the next tick does it.
Touches the store and, through the providers, what they measure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

from shipway.model import events as ev
from shipway.model import kargo_stage
from shipway.model.errors import NotFoundError
from shipway.model.resources import Resource
from shipway.model.rollouts import COMPLETED_PHASES, Metric
from shipway.promote import analysis as an
from shipway.promote import promotion as pm
from shipway.promote import providers, records, stage_refresh
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

ENGINE = "promote.verify"
ABORT = "promote.verify.abort"
ROLLOUTS_API = "argoproj.io/v1alpha1"
AUTHORIZED = "kargo.akuity.io/authorized-stage"
FINAL = frozenset({*COMPLETED_PHASES, "Aborted"})
_lock = threading.Lock()


def stage_apps(store: Store, project: str, stage: str) -> list[Resource]:
    return [
        a
        for a in store_resources.list_kind(store, "Application")
        if kargo_stage.authorizes((a.body.get("metadata") or {}).get("annotations"), project, stage)
    ]


def _templates(store: Store, project: str, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for ref in refs:
        kind = ref.get("kind") or "AnalysisTemplate"
        ns = project if kind == "AnalysisTemplate" else None
        res = store_resources.find(store, kind, str(ref["name"]), ns)
        if res is None:
            raise an.AnalysisError(f"{kind} {ref['name']!r} not found in project {project!r}")
        out.append(res.spec)
    return out


def _secret(store: Store, project: str) -> an.SecretLookup:
    """``secretKeyRef`` lookups: the project's Secrets in the store or as manifests under
    ``$SHIPWAY_HOME/secrets/<project>/`` (``promote.credentials``)."""
    from shipway.promote.credentials import secret_data
    from shipway.settings import load as load_settings

    home = load_settings().home

    def look(name: str, key: str) -> str | None:
        data = secret_data(store, project, name, home)
        return None if data is None else data.get(key)

    return look


def _current_freight(stage_status: dict[str, Any]) -> str:
    items = pm.collection(stage_status)
    return str(items[0].get("name", "")) if items else ""


def start(
    store: Store, project: str, stage: str, freight: str, *, actor: str, promotion: str = ""
) -> str | None:
    """Begin verifying ``freight`` in ``stage``; the state key (None: nothing to run)."""
    stage_res = store_resources.get(store, "Stage", stage, project)
    verification = stage_res.spec.get("verification") or {}
    refs = verification.get("analysisTemplates") or []
    abort_stage(store, project, stage, "a new verification started")
    if not refs:
        records.set_verified(store, project, freight, stage)
        records.record(store, project, freight,
                       {"stage": stage, "kind": "verification", "phase": "Successful",
                        "message": "the stage has no verification"},
                       reason=ev.VERIFICATION_SUCCEEDED,
                       message=f"Freight {freight} verified in stage {stage} (no verification "
                               "configured)", about=("Stage", stage))  # fmt: skip
        stage_refresh.refresh(store, project, stage)
        _after(store, project, stage, freight, "Successful")
        return None
    name = pm.promotion_name(stage, freight)
    at = records.now()
    state: dict[str, Any] = {"project": project, "stage": stage, "freight": freight, "run": name,
                             "actor": actor, "promotion": promotion, "createdAt": records.iso(at),
                             "results": {}, "message": ""}  # fmt: skip
    meta = verification.get("analysisRunMetadata") or {}
    body = {"apiVersion": ROLLOUTS_API, "kind": "AnalysisRun",
            "metadata": {"name": name, "namespace": project,
                         "labels": {**(meta.get("labels") or {}), "kargo.akuity.io/stage": stage,
                                    "kargo.akuity.io/freight": freight},
                         "annotations": {**(meta.get("annotations") or {}),
                                         "kargo.akuity.io/promotion": promotion}},
            "spec": {"metrics": []}}  # fmt: skip
    phase = "Pending"
    try:
        spec = an.build_run(_templates(store, project, refs), verification.get("args") or [],
                            _secret(store, project))  # fmt: skip
        body["spec"] = spec
        state["spec"] = spec
    except an.AnalysisError as exc:
        state["spec"], phase, state["message"] = {"metrics": []}, "Error", str(exc)
    store_resources.apply(store, [Resource(api_version=ROLLOUTS_API, kind="AnalysisRun",
                                           name=name, namespace=project, body=body,
                                           source="shipway verification")])  # fmt: skip
    key = f"{project}/{name}"
    runs.put_state(store, ENGINE, key, phase, state)
    records.verification_entry(store, project, stage, _info(state, phase))
    stage_refresh.refresh(store, project, stage)
    _write_run(store, state, phase)
    if phase == "Error":
        _complete(store, key, state, "Error", state["message"])
    return key


def verify_stage(store: Store, project: str, stage: str, *, actor: str) -> str | None:
    """Re-run the stage's verification of the Freight it holds (``shipway stage verify``)."""
    stage_res = store_resources.get(store, "Stage", stage, project)
    freight = _current_freight(stage_res.status)
    if not freight:
        raise NotFoundError(f"stage {stage} holds no Freight to verify",
                            subject=f"Stage/{project}/{stage}")  # fmt: skip
    return start(store, project, stage, freight, actor=actor)


def abort_stage(store: Store, project: str, stage: str, why: str) -> list[str]:
    keys = [
        k
        for k, phase, s in runs.states(store, ENGINE)
        if phase not in FINAL and s.get("project") == project and s.get("stage") == stage
    ]
    for k in keys:
        if runs.get_state(store, ABORT, k) is None:  # the first reason given stands
            runs.put_state(store, ABORT, k, "Requested", {"why": why})
    return keys


def unfinished(store: Store) -> list[str]:
    return [k for k, phase, _ in runs.states(store, ENGINE) if phase not in FINAL]


def phase_of(store: Store, key: str) -> tuple[str, dict[str, Any]] | None:
    return runs.get_state(store, ENGINE, key)


def tick(store: Store, settings: Settings, at: dt.datetime | None = None) -> list[str]:
    """Advance every unfinished verification once; the keys that ended."""
    ended = []
    with _lock:
        for key, phase, state in runs.states(store, ENGINE):
            if phase in FINAL:
                continue
            if _advance(store, settings, key, phase, state, at or records.now()) in FINAL:
                ended.append(key)
    return ended


def _advance(store: Store, settings: Settings, key: str, phase: str, state: dict[str, Any],
             at: dt.datetime) -> str:  # fmt: skip
    abort = runs.get_state(store, ABORT, key)
    if abort is not None:
        return _complete(store, key, state, "Aborted", str(abort[1].get("why", "aborted")))
    if phase == "Pending":
        waiting = _unhealthy(store, state)
        if waiting:
            if waiting != state.get("message"):
                state["message"] = waiting
                runs.put_state(store, ENGINE, key, "Pending", state)
                _write_run(store, state, "Pending")
            return "Pending"
        state["startedAt"], state["message"] = records.iso(at), ""
        phase = "Running"
    metrics = [Metric.model_validate(m) for m in state["spec"].get("metrics") or []]
    started = an.parse_time(state["startedAt"]) or at
    ctx = providers.Context(store, settings, state["project"], state["stage"], state["run"],
                            [dict(a.spec.get("destination") or {}) for a in
                             stage_apps(store, state["project"], state["stage"])])  # fmt: skip
    changed = phase != "Running" or not state["results"]
    for metric in metrics:
        res = state["results"].setdefault(metric.name, an.new_result(metric.name))
        changed |= _measure(metric, res, started, at, ctx, an.retention(state["spec"], metric.name))
    dry = an.dry_run_names(state["spec"])
    for metric in metrics:
        state["results"][metric.name]["phase"] = an.metric_phase(
            metric, state["results"][metric.name]
        )[0]
    new_phase, message = an.run_phase(metrics, state["results"], dry)
    if new_phase in FINAL:
        return _complete(store, key, state, new_phase, message)
    if changed:
        runs.put_state(store, ENGINE, key, "Running", state)
        _write_run(store, state, "Running")
        records.verification_entry(store, state["project"], state["stage"],
                                   _info(state, "Running"))  # fmt: skip
    return "Running"


def _measure(metric: Metric, res: dict[str, Any], started: dt.datetime, at: dt.datetime,
             ctx: providers.Context, keep: int) -> bool:  # fmt: skip
    """Take (or resume) the metric's measurement if one is due; whether anything changed."""
    ms = res["measurements"]
    prov = providers.provider(metric.provider.kind)
    if ms and ms[-1].get("phase") == "Running":
        begun = an.parse_time(ms[-1].get("startedAt")) or at
        outcome = prov.resume(metric, dict(ms[-1].get("metadata") or {}), ctx)
    else:
        when = an.due(metric, res, started)
        if when is None or when > at:
            return False
        begun = at
        outcome = prov.start(metric, ctx)
    if outcome.running:
        running = an.measurement("Running", begun, None, message=outcome.message,
                                 metadata=outcome.metadata)  # fmt: skip
        if ms and ms[-1].get("phase") == "Running":
            ms[-1] = running
        else:
            ms.append(running)
        return True
    if outcome.phase:
        phase, message = outcome.phase, outcome.message
    else:
        phase, message = an.evaluate(metric, outcome.value)
    value = an.value_text(outcome.value) if outcome.value is not None else ""
    an.record(res, an.measurement(phase, begun, records.now(), value=value, message=message,
                                  metadata=outcome.metadata), keep)  # fmt: skip
    return True


def _unhealthy(store: Store, state: dict[str, Any]) -> str:
    waiting = []
    for app in stage_apps(store, state["project"], state["stage"]):
        health = ((app.status or {}).get("health") or {}).get("status", "Unknown")
        if health != "Healthy":
            waiting.append(f"{app.namespace}/{app.name} is {health}")
    return ("waiting for Healthy Applications: " + ", ".join(waiting)) if waiting else ""


def _info(state: dict[str, Any], phase: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": state["run"], "actor": state.get("actor", ""), "startTime": state["createdAt"],
        "phase": phase,
        "analysisRun": {"namespace": state["project"], "name": state["run"],
                        "phase": "" if phase in ("Pending", "Aborted") else phase},
    }  # fmt: skip
    if state.get("message"):
        out["message"] = state["message"]
    if phase in FINAL:
        out["finishTime"] = state.get("finishedAt") or records.iso()
    return out


def run_status(state: dict[str, Any], phase: str) -> dict[str, Any]:
    """The AnalysisRun's status (Argo Rollouts' shape) from the engine state."""
    dry = an.dry_run_names(state["spec"])
    results = [state["results"][m["name"]] for m in state["spec"].get("metrics") or []
               if m["name"] in state["results"]]  # fmt: skip
    out: dict[str, Any] = {
        "phase": "Successful" if phase == "Aborted" else phase,
        "metricResults": results,
        "runSummary": an.summary(results, dry),
    }
    if phase == "Aborted":
        out["message"] = f"Run Terminated: {state.get('message', '')}"
    elif state.get("message"):
        out["message"] = state["message"]
    if state.get("startedAt"):
        out["startedAt"] = state["startedAt"]
    if phase in FINAL:
        out["completedAt"] = state.get("finishedAt") or records.iso()
    return out


def _write_run(store: Store, state: dict[str, Any], phase: str) -> None:
    with contextlib.suppress(NotFoundError):
        store_resources.set_status(store, "AnalysisRun", state["run"], run_status(state, phase),
                                   state["project"])  # fmt: skip


def _complete(store: Store, key: str, state: dict[str, Any], phase: str, message: str) -> str:
    state["message"], state["finishedAt"] = message, records.iso()
    runs.put_state(store, ENGINE, key, phase, state)
    _write_run(store, state, phase)
    project, stage, freight = state["project"], state["stage"], state["freight"]
    records.verification_entry(store, project, stage, _info(state, phase))
    if phase == "Successful":
        records.set_verified(store, project, freight, stage)
        reason, text, warn = ev.VERIFICATION_SUCCEEDED, f"Freight {freight} verified", False
    elif phase == "Inconclusive":
        reason, text, warn = "VerificationInconclusive", f"inconclusive: {message}", True
    elif phase == "Aborted":
        reason, text, warn = "VerificationAborted", f"aborted: {message}", False
    else:
        reason, text, warn = ev.VERIFICATION_FAILED, f"{phase}: {message}", True
    records.record(store, project, freight,
                   {"stage": stage, "kind": "verification", "name": state["run"], "phase": phase,
                    "message": message},
                   reason=reason, message=f"stage {stage}, AnalysisRun {state['run']}: {text}",
                   warn=warn, about=("Stage", stage))  # fmt: skip
    stage_refresh.refresh(store, project, stage)
    if phase != "Aborted":
        _after(store, project, stage, freight, phase, str(state.get("promotion") or ""))
    return phase


def _after(store: Store, project: str, stage: str, freight: str, phase: str,
           promotion: str = "") -> None:  # fmt: skip
    from shipway.promote import lifecycle

    lifecycle.after_verification(store, project, stage, freight, phase, promotion)
