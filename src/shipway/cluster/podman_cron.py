"""CronJobs on the podman host: each due time runs the ``jobTemplate`` as a Job pod.

``tick(target, app, now)`` is called by the controller (``shipway.deploy.cronjobs``)
about every 20 seconds for each application on a podman target; ``now`` is
injected so tests need not wait for a minute. As the Kubernetes CronJob
controller does, per CronJob:

- the latest scheduled time in ``(lastScheduleTime or first seen, now]`` is due
  (``startingDeadlineSeconds`` drops a time older than that); several missed
  times start one Job; ``suspend: true`` starts nothing;
- ``concurrencyPolicy``: ``Allow`` starts it beside running Jobs; ``Forbid``
  skips while one runs (``lastScheduleTime`` unchanged, so it starts when
  the running one ends, within the deadline); ``Replace`` removes the running
  Jobs first;
- the Job is named ``<cronjob>-<scheduled time in minutes since the epoch>``
  and played exactly as a Job object is (``podman_kinds.pods``), its pod
  labelled with the CronJob; finished Jobs beyond
  ``successfulJobsHistoryLimit`` (3) and ``failedJobsHistoryLimit`` (1) are
  removed, oldest first.

The Jobs are not objects of the application (they are not in git, so not
tracked, diffed or pruned); their state is kept in
``$SHIPWAY_HOME/podman/objects/<app>.cron.json``: per CronJob key the time it
was first seen, ``lastScheduleTime``, ``lastSuccessfulTime`` and its Jobs.
``status`` builds the CronJob's live ``status`` (``lastScheduleTime``,
``lastSuccessfulTime``, ``active``) as Kubernetes fills it. Runs podman only
through the target.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Protocol

from shipway.cluster import podman_kinds as kinds
from shipway.cluster import podman_live as live_mod
from shipway.cluster import podman_status as status_mod
from shipway.model import cron
from shipway.model.errors import ClusterError, InputError

CRONJOB_LABEL = "shipway.dev/cronjob"
Obj = dict[str, Any]


class _Target(Protocol):
    base: Path

    def podman(self, *args: str, subject: str = "podman", check: bool = True) -> str: ...

    def records(self, app: str) -> dict[str, Obj]: ...

    def _play(self, docs: list[Obj], subject: str, pods: list[str]) -> None: ...

    def _remove(self, pods: list[str], subject: str) -> None: ...


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def state_file(target: _Target, app: str) -> Path:
    return target.base / "objects" / f"{app}.cron.json"


def load(target: _Target, app: str) -> dict[str, Obj]:
    f = state_file(target, app)
    return dict(json.loads(f.read_text())) if f.exists() else {}


def _save(target: _Target, app: str, state: dict[str, Obj]) -> None:
    f = state_file(target, app)
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, f)


def owners(target: _Target, app: str) -> set[kinds.Owner]:
    """The pods' owners (Jobs) the CronJobs of ``app`` started: not orphans."""
    out: set[kinds.Owner] = set()
    for st in load(target, app).values():
        for job in st.get("jobs") or []:
            out.add(("Job", str(job["namespace"]), str(job["name"])))
    return out


def job_for(cronjob: Obj, scheduled: dt.datetime) -> Obj:
    """The Job a CronJob runs for its ``scheduled`` time (as the Kubernetes controller names it)."""
    meta = cronjob.get("metadata") or {}
    tmpl = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
    tmeta = tmpl.get("metadata") or {}
    name = f"{meta['name']}-{int(scheduled.timestamp()) // 60}"
    spec = tmpl.get("spec") or {}
    pod_tmpl = spec.setdefault("template", {})
    pod_meta = pod_tmpl.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), CRONJOB_LABEL: str(meta["name"])}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": kinds.namespace(cronjob),
            "labels": {**(tmeta.get("labels") or {}), CRONJOB_LABEL: str(meta["name"])},
            "annotations": dict(tmeta.get("annotations") or {}),
        },
        "spec": spec,
    }


def _job_result(job: Obj, cronjob: Obj, pods: live_mod.Pods) -> str | None:
    """``active``, ``succeeded`` or ``failed`` from the Job's pod; None if it has none."""
    found = pods.get(("Job", str(job["namespace"]), str(job["name"])))
    if not found:
        return None
    tmpl = job_for(cronjob, _parse(job["scheduledTime"]))
    st = status_mod.job(found[0], tmpl["spec"], kinds.restart_policy(tmpl))
    if st.get("succeeded"):
        return "succeeded"
    if st.get("failed"):
        return "failed"
    return "active"


def _observe(st: Obj, cronjob: Obj, pods: live_mod.Pods, now: dt.datetime) -> None:
    """Record each Job's result; a success seen first now is ``lastSuccessfulTime``."""
    kept = []
    for job in st.get("jobs") or []:
        result = _job_result(job, cronjob, pods)
        if result is None:
            continue  # its pod is gone (removed by hand, or by Replace)
        if result == "succeeded" and not job.get("completionTime"):
            job["completionTime"] = _iso(now)
            last = st.get("lastSuccessfulTime")
            if not last or _parse(last) < now:
                st["lastSuccessfulTime"] = _iso(now)
        job["result"] = result
        kept.append(job)
    st["jobs"] = kept


def _trim(target: _Target, st: Obj, spec: Obj) -> None:
    """Remove finished Jobs beyond the history limits, oldest first."""
    limits = {
        "succeeded": int(spec.get("successfulJobsHistoryLimit", 3)),
        "failed": int(spec.get("failedJobsHistoryLimit", 1)),
    }
    drop: list[Obj] = []
    for result, limit in limits.items():
        done = sorted(
            (j for j in st["jobs"] if j.get("result") == result), key=lambda j: j["scheduledTime"]
        )
        drop += done[: max(0, len(done) - limit)]
    for job in drop:
        _remove_job(target, job)
        st["jobs"].remove(job)


def _remove_job(target: _Target, job: Obj) -> None:
    pod = f"{job['namespace']}.{job['name']}"
    target._remove([pod], f"Job/{job['namespace']}/{job['name']}")


def _run_one(
    target: _Target,
    app: str,
    cronjob: Obj,
    st: Obj,
    records: dict[str, Obj],
    pods: live_mod.Pods,
    now: dt.datetime,
) -> str | None:
    """Start the CronJob's due Job, if any; what happened, for the log."""
    spec = cronjob.get("spec") or {}
    what = kinds.describe(cronjob)
    _observe(st, cronjob, pods, now)
    _trim(target, st, spec)
    if spec.get("suspend") is True:
        return None
    schedule = cron.parse(str(spec.get("schedule") or ""), spec.get("timeZone"))
    since = _parse(st.get("lastScheduleTime") or st["firstSeen"])
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        since = max(since, now - dt.timedelta(seconds=int(deadline)))
    due, _ = cron.last_due(schedule, since, now)
    if due is None:
        return None
    active = [j for j in st["jobs"] if j.get("result") == "active"]
    policy = spec.get("concurrencyPolicy") or "Allow"
    if active and policy == "Forbid":
        return f"{what}: run of {_iso(due)} skipped: Job {active[0]['name']} is still running"
    if active and policy == "Replace":
        for job in active:
            _remove_job(target, job)
            st["jobs"].remove(job)
    job = job_for(cronjob, due)
    name = job["metadata"]["name"]
    docs = kinds.pods(app, job, [*records.values(), job])
    names = [d["metadata"]["name"] for d in docs]
    config = [r for r in records.values() if r["kind"] == "ConfigMap"]
    st["jobs"].append(
        {"name": name, "namespace": kinds.namespace(cronjob), "scheduledTime": _iso(due)}
    )
    st["lastScheduleTime"] = _iso(due)
    _save_one(target, app, st, cronjob)  # recorded first: an interrupted play is not an orphan
    try:
        target._play([*docs, *config], subject=f"Job/{kinds.namespace(cronjob)}/{name}", pods=names)
    except ClusterError as exc:
        target._remove(names, what)
        st["jobs"] = [j for j in st["jobs"] if j["name"] != name]
        st["error"] = exc.message
        return f"{what}: Job {name} failed to start: {exc.message}"
    st.pop("error", None)
    return f"{what}: started Job {name} for {_iso(due)}"


def _save_one(target: _Target, app: str, st: Obj, cronjob: Obj) -> None:
    state = load(target, app)
    state[_key(cronjob)] = st
    _save(target, app, state)


def _key(obj: Obj) -> str:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{group}/{obj['kind']}/{(obj.get('metadata') or {}).get('namespace') or ''}/" + str(
        obj["metadata"]["name"]
    )


def tick(target: _Target, app: str, now: dt.datetime | None = None) -> list[str]:
    """Run what is due for every CronJob of ``app``; forget CronJobs no longer recorded."""
    now = now or dt.datetime.now(dt.UTC)
    records = target.records(app)
    crons = {k: r for k, r in records.items() if r["kind"] == "CronJob"}
    state = load(target, app)
    if not crons and not state:
        return []
    pods = live_mod.pods(target, app)
    out: list[str] = []
    for key in [k for k in state if k not in crons]:
        forget(target, app, key)
        state.pop(key)
    for key, rec in crons.items():
        st = state.setdefault(key, {"firstSeen": _iso(now), "jobs": []})
        try:
            msg = _run_one(target, app, rec, st, records, pods, now)
        except (ClusterError, InputError) as exc:
            msg = f"{kinds.describe(rec)}: {exc.message}"
        if msg:
            out.append(msg)
        state[key] = st
    _save(target, app, state)
    return out


def forget(target: _Target, app: str, key: str) -> None:
    """Remove the Jobs of CronJob ``key`` (deleted or pruned) and its state."""
    state = load(target, app)
    st = state.pop(key, None)
    for job in (st or {}).get("jobs") or []:
        _remove_job(target, job)
    _save(target, app, state)


def status(target: _Target, app: str, key: str, cronjob: Obj, pods: live_mod.Pods) -> Obj:
    """The CronJob's live ``status``, as Kubernetes fills it."""
    st = load(target, app).get(key) or {}
    out: Obj = {}
    active = []
    last_ok = st.get("lastSuccessfulTime")
    for job in st.get("jobs") or []:
        result = _job_result(job, cronjob, pods)
        if result == "active":
            active.append(
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "namespace": job["namespace"],
                    "name": job["name"],
                }
            )
        elif (
            result == "succeeded"
            and not job.get("completionTime")
            and (not last_ok or _parse(last_ok) < _parse(job["scheduledTime"]))
        ):
            # finished since the last tick, at or after its scheduled time (the tick
            # records the time it saw it done)
            last_ok = job["scheduledTime"]
    if active:
        out["active"] = active
    if st.get("lastScheduleTime"):
        out["lastScheduleTime"] = st["lastScheduleTime"]
    if last_ok:
        out["lastSuccessfulTime"] = last_ok
    return out
