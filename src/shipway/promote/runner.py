"""The promotion runner: a resumable state machine that runs a Promotion's steps in order.

``create(store, settings, promotion, freight, ...)`` records a Promotion as
Pending; ``run(store, key, ...)`` runs it: each step in the promotion's work
directory (``<home>/promotions/<project>/<name>``) with Kargo's semantics
(``if``, default ``success()``; ``continueOnError``; ``retry.errorThreshold``
counting errors; ``retry.timeout`` for a step that is Running). After every
step (and every poll of a waiting step) the state is persisted with
``store.runs.put_state`` under the engine ``promote.run`` and the key
``<project>/<name>``, and mirrored to the Promotion's status in the resource
store when the Promotion is stored there. A runner killed mid-promotion leaves
``Running`` with the step it was on; ``resume_all`` continues each such
promotion at that step (its work directory still holds what the earlier
steps made) or fails it cleanly when the work directory is gone. On success
the Stage's ``lastPromotion``/``freightHistory`` and the Freight's
``currentlyIn`` are updated (``promote.status``). Before the first step the
Freight's images pass the supply-chain gates (``promote.image_gates``: signature
policy, the Stage's vulnerability gate); a refusal fails the promotion with
no step run. Events PromotionStarted, PromotionSucceeded, PromotionFailed and
PolicyWarning go to the event stream.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from shipway.model import events as ev
from shipway.model.errors import ConflictError, InputError, NotFoundError, ShipwayError
from shipway.promote import expressions as ex
from shipway.promote import plan as plan_mod
from shipway.promote import release_records
from shipway.promote import status as st
from shipway.promote.credentials import config_maps, default_forge, generic_secrets, git_auth
from shipway.promote.steps import base
from shipway.promote.steps.config import parse_step_config
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store
from shipway.templates.errors import ExprError

ENGINE = "promote.run"
ABORT = "promote.abort"
KARGO_API = "kargo.akuity.io/v1alpha1"
Progress = Callable[[dict[str, Any]], None]

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()

log = logging.getLogger(__name__)


def _lock(key: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def key_of(project: str, name: str) -> str:
    return f"{project}/{name}"


def create(
    store: Store,
    *,
    project: str,
    name: str,
    stage: str,
    freight: dict[str, Any],
    steps: list[dict[str, Any]],
    vars: list[dict[str, Any]] | None = None,
    tasks: plan_mod.TaskLookup | None = None,
    collection: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Record the promotion as Pending (``InputError`` when its steps cannot run); its key."""
    try:
        flat = plan_mod.flatten(steps, tasks)
    except plan_mod.PlanError as exc:
        raise InputError(str(exc), subject=f"Promotion/{project}/{name}") from None
    bad = [p for p in plan_mod.problems(steps, tasks)]
    if bad:
        raise InputError("; ".join(bad), subject=f"Promotion/{project}/{name}")
    state = {
        "project": project, "name": name, "stage": stage, "freight": freight,
        "collection": collection or [], "vars": vars or [],
        "steps": [asdict(s) for s in flat], "current": 0, "metas": [], "outputs": {},
        "stepState": {}, "failure": None, **(extra or {}),
    }  # fmt: skip
    key = key_of(project, name)
    runs.put_state(store, ENGINE, key, "Pending", state)
    _mirror(store, state, "Pending", "")
    return key


def phase_of(store: Store, key: str) -> tuple[str, dict[str, Any]] | None:
    return runs.get_state(store, ENGINE, key)


def pending(store: Store) -> list[str]:
    """Keys of promotions waiting to run (oldest first as stored)."""
    return [k for k, phase, _ in runs.states(store, ENGINE) if phase == "Pending"]


def resume_all(store: Store, settings: Settings, **kw: Any) -> list[str]:
    """Run every promotion a killed runner left Running, then every Pending one; their keys."""
    done = []
    for key, phase, _state in runs.states(store, ENGINE):
        if phase in ("Running", "Pending"):
            run(store, settings, key, resumed=phase == "Running", **kw)
            done.append(key)
    return done


class _Aborted(Exception):
    pass


def request_abort(store: Store, key: str, who: str) -> str:
    """Abort a promotion (Kargo's ``Aborted``): at once when Pending, else at its next step
    or poll. Returns its phase after the request; ``ConflictError`` when it already ended."""
    found = runs.get_state(store, ENGINE, key)
    if found is None:
        raise NotFoundError(f"promotion {key} not found", subject=key)
    phase, state = found
    if phase in st.TERMINAL:
        raise ConflictError(f"promotion {key} already ended: {phase}", subject=key)
    message = f"aborted by {who}"
    if phase == "Pending":
        state["message"] = message
        runs.put_state(store, ENGINE, key, "Aborted", state)
        _mirror(store, state, "Aborted", message)
        _emit(store, state, ev.PROMOTION_FAILED, message, True)
        return "Aborted"
    runs.put_state(store, ABORT, key, "Requested", {"by": who})
    return phase


def _abort_requested(store: Store, key: str) -> str | None:
    found = runs.get_state(store, ABORT, key)
    return str(found[1].get("by", "")) if found else None


def _work(settings: Settings, state: dict[str, Any]) -> Path:
    return Path(settings.home) / "promotions" / str(state["project"]) / str(state["name"])


def run(
    store: Store,
    settings: Settings,
    key: str,
    *,
    forge: Callable[[str, str | None], Any] | None = None,
    poll: float = 0.25,
    on_progress: Progress | None = None,
    resumed: bool = False,
) -> dict[str, Any]:
    """Run (or continue) one promotion to its end; its final status."""
    lock = _lock(key)
    if not lock.acquire(blocking=False):
        raise ShipwayError(f"promotion {key} is already running here", subject=key)
    try:
        found = runs.get_state(store, ENGINE, key)
        if found is None:
            raise NotFoundError(f"promotion {key} not found", subject=key)
        phase, state = found
        if phase in st.TERMINAL:
            return _status(state, phase, state.get("message", ""))
        return _Run(store, settings, state, forge, poll, on_progress).go(
            resumed or phase == "Running"
        )
    finally:
        lock.release()


def _status(state: dict[str, Any], phase: str, message: str) -> dict[str, Any]:
    out = st.promotion_status(phase, state["metas"], state["outputs"], state["freight"],
                              current=state["current"], message=message,
                              started=state.get("startedAt", ""))  # fmt: skip
    if phase == "Succeeded":
        checks = health_checks(state)
        if checks:
            out["healthChecks"] = checks
    return out


def health_checks(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Kargo's ``healthChecks``: what each ``argocd-update`` step synced, for the stage's health."""
    out = []
    for step in state.get("steps") or []:
        if step.get("uses") != "argocd-update":
            continue
        check = (state.get("stepState") or {}).get(step.get("alias"), {}).get("healthCheck")
        if check:
            out.append({"uses": "argocd-update", "config": check})
    return out


def _mirror(store: Store, state: dict[str, Any], phase: str, message: str) -> None:
    """The status onto the stored Promotion, when there is one."""
    with contextlib.suppress(NotFoundError, KeyError, ValueError):
        store_resources.set_status(
            store, "Promotion", state["name"], _status(state, phase, message), state["project"]
        )


def _emit(store: Store, state: dict[str, Any], reason: str, message: str, warn: bool) -> None:
    ref = ev.ObjectRef("Promotion", state["name"], state["project"], KARGO_API)
    store_events.emit(store, ref, reason, message, type=ev.WARNING if warn else ev.NORMAL,
                      source="promotion")  # fmt: skip


def _ui_url(settings: Settings) -> str:
    """The controller's URL (it serves the UI), as ``ctx.uiBaseUrl``; "" when none runs."""
    if settings.controller_url:
        return settings.controller_url.rstrip("/")
    try:
        return settings.controller_url_file.read_text().strip().rstrip("/")
    except OSError:
        return ""


class _Run:
    def __init__(self, store: Store, settings: Settings, state: dict[str, Any],
                 forge: Callable[[str, str | None], Any] | None, poll: float,
                 on_progress: Progress | None) -> None:  # fmt: skip
        self.store, self.settings, self.s = store, settings, state
        self.key = key_of(state["project"], state["name"])
        self.forge = forge or default_forge(store, state["project"], settings.home)
        self.git_auth = git_auth(store, state["project"], settings.home)
        self.poll, self.progress = poll, on_progress or (lambda _e: None)
        self.secrets = generic_secrets(store, state["project"], settings.home)
        self.config_maps = config_maps(store, state["project"])
        self.shared_secrets = generic_secrets(store, ex.SHARED_NAMESPACE, settings.home)
        self.shared_config_maps = config_maps(store, ex.SHARED_NAMESPACE)
        self.ui_url = _ui_url(settings)
        self.work = _work(settings, state)

    def lookup(self, kind: str, name: str) -> dict[str, Any]:
        """A Freight's or Stage's status in the project ({} when there is none)."""
        from shipway.store import resources as store_resources

        found = store_resources.find(self.store, kind, name, self.s["project"])
        return dict(found.status or {}) if found is not None else {}

    def save(self, phase: str, message: str = "") -> None:
        if phase == "Running":
            who = _abort_requested(self.store, self.key)
            if who is not None:
                raise _Aborted(f"aborted by {who}")
        self.s["message"] = message
        runs.put_state(self.store, ENGINE, self.key, phase, self.s)
        _mirror(self.store, self.s, phase, message)

    def go(self, resumed: bool) -> dict[str, Any]:
        try:
            return self._go(resumed)
        except _Aborted as exc:
            meta = self.s["metas"][-1] if self.s["metas"] else None
            if meta is not None and meta.get("status") == "Running":
                meta["status"], meta["finishedAt"] = "Aborted", st.now()
            return self.finish("Aborted", str(exc))

    def _go(self, resumed: bool) -> dict[str, Any]:
        s = self.s
        if resumed and s["current"] > 0 and not self.work.exists():
            return self.finish("Errored", "resumed after a restart but its work directory is gone")
        if not resumed:
            s["startedAt"] = st.now()
            shutil.rmtree(self.work, ignore_errors=True)
            _emit(
                self.store,
                s,
                ev.PROMOTION_STARTED,
                f"promoting Freight {s['freight'].get('name', '')} to stage {s['stage']}",
                False,
            )
            refused = self.gates()
            if refused:
                return self.finish("Failed", refused)
        self.work.mkdir(parents=True, exist_ok=True)
        self.save("Running")
        steps = [plan_mod.FlatStep(**d) for d in s["steps"]]
        while s["current"] < len(steps):
            step = steps[s["current"]]
            self.one(step)
            s["current"] += 1
            self.save("Running")
        failure = s.get("failure")
        if failure:
            msg = f"step {failure['alias']} ({failure['uses']}) {failure['status'].lower()}: " \
                  f"{failure['message']}"  # fmt: skip
            return self.finish("Errored" if failure["status"] == "Errored" else "Failed", msg)
        return self.finish("Succeeded", "")

    def gates(self) -> str | None:
        """The Freight's images through the signature and vulnerability gates (before any
        step); the refusal, if any. The verdicts stay on the state for the journey."""
        from shipway.promote import image_gates

        s = self.s
        gate = image_gates.check(self.store, self.settings, s["project"], s["stage"],
                                 s["freight"])  # fmt: skip
        if gate.images or gate.vulnerabilities or gate.refusal:
            s["security"] = {"policy": gate.summary()}
        for warning in gate.warnings:
            _emit(self.store, s, "PolicyWarning", warning, True)
        if not gate.refusal:
            return None
        s["refused"] = True
        return f"refused by policy: {gate.refusal}"

    def scope(self, step: plan_mod.FlatStep) -> ex.Scope:
        s = self.s
        task_outputs = None
        if step.task:
            prefix = step.task + "::"
            task_outputs = {k[len(prefix):]: v for k, v in s["outputs"].items()
                            if k.startswith(prefix)}  # fmt: skip
        scope = ex.Scope(
            project=s["project"], stage=s["stage"], promotion=s["name"],
            target={**s["freight"], "name": (s["freight"].get("metadata") or {}).get("name")
                    or s["freight"].get("name", "")},
            collection=s["collection"], outputs=s["outputs"], task_outputs=task_outputs,
            secrets=self.secrets, config_maps=self.config_maps, failed=bool(s.get("failure")),
            statuses={m["alias"]: m.get("status", "") for m in s["metas"] if m.get("alias")},
            task_prefix=f"{step.task}::" if step.task else "", actor=str(s.get("actor", "")),
            rollback=bool(s.get("rollbackOf")), step_alias=step.alias, ui_base_url=self.ui_url,
            lookup=self.lookup, shared_secrets=self.shared_secrets,
            shared_config_maps=self.shared_config_maps,
        )  # fmt: skip
        for var in [*s["vars"], *step.task_vars, *step.vars]:
            scope.vars = {**scope.vars, var["name"]: ex.render(var.get("value"), scope)}
        return scope

    def one(self, step: plan_mod.FlatStep) -> None:
        s = self.s
        metas: list[dict[str, Any]] = s["metas"]
        if len(metas) <= step.index:
            metas.append(st.step_meta(step.alias))
        meta = metas[step.index]
        self.progress({"step": step.alias, "uses": step.uses, "status": "Running"})
        try:
            scope = self.scope(step)
            run_it = ex.condition(step.if_, scope)
        except ExprError as exc:
            self.record(step, meta, "Errored", {}, f"expression: {exc}")
            return
        if not run_it:
            self.record(step, meta, "Skipped", None, "")
            return
        status, output, message = self.attempt(step, meta, scope)
        self.record(step, meta, status, output, message)

    def attempt(self, step: plan_mod.FlatStep, meta: dict[str, Any],
                scope: ex.Scope) -> tuple[str, dict[str, Any], str]:  # fmt: skip
        timeout = step.timeout
        if timeout is None and step.uses in base.LONG_RUNNING:
            timeout = plan_mod.DEFAULT_TIMEOUT
        started = dt.datetime.fromisoformat(meta["startedAt"].replace("Z", "+00:00"))
        step_state = self.s["stepState"].setdefault(step.alias, {})
        env = base.StepEnv(
            work=self.work, project=self.s["project"], stage=self.s["stage"],
            promotion=self.s["name"], freight=scope.target, store=self.store,
            settings=self.settings, secrets=self.secrets, forge=self.forge, git_auth=self.git_auth,
            state=step_state, poll=self.poll, collection=scope.collection,
        )  # fmt: skip
        while True:
            try:
                config = parse_step_config(step.uses, ex.render(step.config, scope))
                res = base.runner(step.uses)(env, config)
            except (ValueError, ExprError) as exc:
                return "Errored", {}, f"config: {exc}"
            except base.StepFailed as exc:
                return "Failed", {}, str(exc)
            except (base.StepError, ShipwayError) as exc:
                meta["errorCount"] = int(meta.get("errorCount", 0)) + 1
                if meta["errorCount"] >= step.error_threshold:
                    return "Errored", {}, str(exc)
                meta["message"] = str(exc)
                self.save("Running")
                time.sleep(self.poll)
                continue
            if res.status != "Running":
                return res.status, res.output, res.message
            elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()
            if timeout is not None and elapsed > timeout:
                return "Errored", {}, f"timed out after {timeout:g}s: {res.message}"
            meta["message"] = res.message
            self.save("Running")
            time.sleep(self.poll)

    def record(self, step: plan_mod.FlatStep, meta: dict[str, Any], status: str,
               output: dict[str, Any] | None, message: str) -> None:  # fmt: skip
        meta["status"] = status
        meta["finishedAt"] = st.now()
        if message:
            meta["message"] = message
        else:
            meta.pop("message", None)
        if output is not None:
            self.s["outputs"][step.alias] = output
        failed = status in ("Failed", "Errored")
        if failed and not step.continue_on_error and not self.s.get("failure"):
            self.s["failure"] = {"alias": step.alias, "uses": step.uses, "status": status,
                                 "message": message}  # fmt: skip
        self.progress({"step": step.alias, "uses": step.uses, "status": status, "message": message})

    def finish(self, phase: str, message: str) -> dict[str, Any]:
        s = self.s
        self.save(phase, message)
        if phase == "Succeeded":
            _promoted(self.store, s)
            try:  # DORA's records of this stage; the promotion stands without them
                release_records.record(self.store, s)
            except ShipwayError as exc:
                log.warning("no release record for promotion %s: %s", s.get("name"), exc)
            _emit(
                self.store,
                s,
                ev.PROMOTION_SUCCEEDED,
                f"Freight {s['freight'].get('name', '')} is in stage {s['stage']}",
                False,
            )
        else:
            _ended(self.store, s, phase, message)
            _emit(self.store, s, ev.PROMOTION_FAILED, message, True)
        shutil.rmtree(self.work, ignore_errors=True)
        self.progress({"phase": phase, "message": message})
        from shipway.promote import lifecycle, stage_refresh

        stage_refresh.refresh(self.store, s["project"], s["stage"])

        lifecycle.after_promotion(self.store, self.key)
        return _status(s, phase, message)


def _promoted(store: Store, s: dict[str, Any]) -> None:
    """Stage lastPromotion/freightHistory and Freight currentlyIn (since), after a success;
    the Freight it replaced leaves the stage (its soak there is kept as longestSoak)."""
    from shipway.promote import records

    project, stage = s["project"], s["stage"]
    target = st.freight_ref(s["freight"])["name"]
    replaced: list[str] = []

    def stage_fn(stage_status: dict[str, Any]) -> dict[str, Any]:
        promotion = {"name": s["name"], "status": _status(s, "Succeeded", "")}
        new_stage, changed = st.after_success(stage_status, promotion, s["freight"], {}, stage)
        replaced.extend(n for n in changed if n != target)
        return new_stage

    records.update(store, "Stage", stage, project, stage_fn)
    at = records.now()
    for old in replaced:
        records.update(store, "Freight", old, project, lambda f: records.left(f, stage, at))
    records.update(store, "Freight", target, project,
                   lambda f: records.entered(f, stage, records.iso(at)))  # fmt: skip


def _ended(store: Store, s: dict[str, Any], phase: str, message: str) -> None:
    """A promotion that did not succeed is still the stage's ``lastPromotion``, as in Kargo
    (its ``freightHistory`` is left as it was)."""
    from shipway.promote import records

    def fn(stage_status: dict[str, Any]) -> dict[str, Any]:
        status = _status(s, phase, message)
        return {**stage_status, "lastPromotion": {
            "name": s["name"], "freight": st.freight_ref(s["freight"]), "status": status,
            "finishedAt": status.get("finishedAt") or st.now()}}  # fmt: skip

    records.update(store, "Stage", s["stage"], s["project"], fn)
