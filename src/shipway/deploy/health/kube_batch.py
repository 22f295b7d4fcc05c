"""The ``batch`` group: Job and CronJob. Pure.

A Job is Degraded when its ``Failed`` condition is true, Healthy when
``Complete`` is, Suspended while ``spec.suspend`` (or a true ``Suspended``
condition) holds, else Progressing. A CronJob, as Argo CD judges it today, is
Degraded only when its last run failed (the last success is older than the
last schedule and nothing runs); a suspended, running or never-run CronJob is
Healthy with a message saying so, so a schedule does not flip the app's health.
"""

from __future__ import annotations

import datetime as dt

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    SUSPENDED,
    Obj,
    Result,
    condition,
    is_true,
    items,
    num,
    spec,
    status,
    text,
)


def job(obj: Obj) -> Result:
    failed, complete = condition(obj, "Failed"), condition(obj, "Complete")
    if failed is not None and is_true(failed):
        return DEGRADED, text(failed.get("message")) or text(failed.get("reason")) or "job failed"
    if complete is not None and is_true(complete):
        return HEALTHY, text(complete.get("message"))
    paused = condition(obj, "Suspended")
    if spec(obj).get("suspend") is True or is_true(paused):
        return SUSPENDED, text((paused or {}).get("message")) or "job is suspended"
    active = num(status(obj).get("active"))
    return PROGRESSING, f"{active} pods running" if active else "waiting for the job to run"


def _time(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def cronjob(obj: Obj) -> Result:
    if spec(obj).get("suspend") is True:
        return HEALTHY, "CronJob is suspended"
    if "status" not in obj or obj["status"] is None:
        return PROGRESSING, "waiting for the CronJob's status"
    st = status(obj)
    scheduled = _time(st["lastScheduleTime"]) if st.get("lastScheduleTime") else None
    if scheduled is None:
        return HEALTHY, "CronJob has not been scheduled yet"
    succeeded = _time(st["lastSuccessfulTime"]) if st.get("lastSuccessfulTime") else None
    if succeeded is None:
        return HEALTHY, "CronJob has not completed a run successfully yet"
    if items(st.get("active")):
        return HEALTHY, "a job is running; the previous run may have failed"
    if succeeded < scheduled:
        return DEGRADED, "the CronJob's last run did not complete successfully"
    return HEALTHY, "the CronJob's last run completed successfully"


CHECKS = {("batch", "Job"): job, ("batch", "CronJob"): cronjob}
