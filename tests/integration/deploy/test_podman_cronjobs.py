"""CronJobs on real podman: the controller's tick, driven by an injected clock, runs them."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from deploy_helpers import application, commit, write

from shipway.deploy import cronjobs, engine, history
from shipway.deploy import health as health_mod
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _cronjob(name: str, image: str, script: str, policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": policy,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "terminationGracePeriodSeconds": 0,
                            "containers": [
                                {
                                    "name": "run",
                                    "image": image,
                                    "command": ["/bin/sh", "-c", script],
                                }
                            ],
                        }
                    },
                }
            },
        },
    }


def _pods(env) -> set[str]:
    out = env.target.podman("pod", "ps", "--format", "json")
    return {p["Name"] for p in json.loads(out or "[]")}


def _status(env, name: str) -> dict[str, Any]:
    obj = env.target.live("cron")[f"batch/CronJob/default/{name}"]
    return dict(obj.get("status") or {})


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_tick_runs_due_cronjobs_and_forbid_skips_while_one_runs(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    slow = _cronjob("slow", image, "sleep 600", "Forbid")
    quick = _cronjob("quick", image, "exit 0", "Allow")
    write(work.path, "apps/c/cron.yaml", [slow, quick])
    commit(work, "cronjobs")
    store_resources.apply(deploy_env.store, [application(url, "cron", "apps/c")])
    res = engine.reconcile(deploy_env.store, "cron", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert _pods(deploy_env) == set()  # a CronJob runs nothing at sync time

    t0 = dt.datetime(2030, 1, 1, 12, 0, 30, tzinfo=dt.UTC)
    settings = deploy_env.settings
    assert cronjobs.tick(deploy_env.store, settings=settings, now=t0) == []  # first seen
    assert _status(deploy_env, "slow") == {}
    assert health_mod.of(deploy_env.target.live("cron")["batch/CronJob/default/slow"])[0] == (
        "Healthy"
    )

    started = cronjobs.tick(deploy_env.store, settings=settings, now=t0 + dt.timedelta(seconds=60))
    due = dt.datetime(2030, 1, 1, 12, 1, tzinfo=dt.UTC)
    minutes = int(due.timestamp()) // 60
    assert len(started) == 2, started
    assert {f"default.slow-{minutes}", f"default.quick-{minutes}"} <= _pods(deploy_env)
    slow_status = _status(deploy_env, "slow")
    assert slow_status["lastScheduleTime"] == _iso(due)
    assert slow_status["active"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "namespace": "default", "name": f"slow-{minutes}"}
    ]

    # a minute later: Forbid skips while slow's Job runs; quick (Allow, finished) runs again
    deadline = time.monotonic() + 60
    while "active" in _status(deploy_env, "quick") and time.monotonic() < deadline:
        time.sleep(0.5)
    later = t0 + dt.timedelta(seconds=120)
    events = cronjobs.tick(deploy_env.store, settings=settings, now=later)
    assert any("slow" in e and "skipped" in e for e in events), events
    assert _status(deploy_env, "slow")["lastScheduleTime"] == _iso(due)  # unchanged
    assert not any(
        p.startswith("default.slow-") and p.endswith(str(minutes + 1)) for p in _pods(deploy_env)
    )
    quick_status = _status(deploy_env, "quick")
    assert quick_status["lastScheduleTime"] == _iso(due + dt.timedelta(minutes=1))
    # its first run was seen done by this tick; its second may have finished since
    assert quick_status["lastSuccessfulTime"] in (_iso(later), _iso(due + dt.timedelta(minutes=1)))
    quick_obj = deploy_env.target.live("cron")["batch/CronJob/default/quick"]
    assert health_mod.of(quick_obj)[0] == "Healthy"
    assert f"default.quick-{minutes + 1}" in _pods(deploy_env)

    # deleting the app removes the CronJobs' Job pods too
    history.delete_app(deploy_env.store, "cron", settings=settings)
    assert not {p for p in _pods(deploy_env) if p.startswith(("default.slow-", "default.quick-"))}


def test_suspended_cronjob_runs_nothing(deploy_env, config_repo, httpd_images) -> None:
    url, work = config_repo
    job = _cronjob("paused", httpd_images["v1"], "exit 0", "Allow")
    job["spec"]["suspend"] = True
    write(work.path, "apps/c/cron.yaml", job)
    commit(work, "suspended")
    store_resources.apply(deploy_env.store, [application(url, "cron", "apps/c")])
    assert engine.reconcile(deploy_env.store, "cron", settings=deploy_env.settings).phase == (
        "Succeeded"
    )
    t0 = dt.datetime(2030, 1, 1, 12, 0, 30, tzinfo=dt.UTC)
    for minutes in (0, 1, 5):
        now = t0 + dt.timedelta(minutes=minutes)
        assert cronjobs.tick(deploy_env.store, settings=deploy_env.settings, now=now) == []
    assert _pods(deploy_env) == set()
    obj = deploy_env.target.live("cron")["batch/CronJob/default/paused"]
    assert health_mod.of(obj) == ("Healthy", "CronJob is suspended")


def _wait_done(env, name: str) -> None:
    deadline = time.monotonic() + 60
    while "active" in _status(env, name) and time.monotonic() < deadline:
        time.sleep(0.5)


def test_replace_history_limit_and_starting_deadline(deploy_env, config_repo, httpd_images) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    replace = _cronjob("swap", image, "sleep 600", "Replace")
    keep_one = _cronjob("kept", image, "exit 0", "Allow")
    keep_one["spec"]["successfulJobsHistoryLimit"] = 1
    late = _cronjob("late", image, "exit 0", "Allow")
    late["spec"]["schedule"] = "@hourly"
    late["spec"]["startingDeadlineSeconds"] = 10
    write(work.path, "apps/c/cron.yaml", [replace, keep_one, late])
    commit(work, "cronjobs")
    store_resources.apply(deploy_env.store, [application(url, "cron", "apps/c")])
    assert engine.reconcile(deploy_env.store, "cron", settings=deploy_env.settings).phase == (
        "Succeeded"
    )
    settings = deploy_env.settings
    t0 = dt.datetime(2030, 1, 1, 11, 58, 30, tzinfo=dt.UTC)
    m0 = int(t0.timestamp()) // 60  # 11:58

    def tick(minutes: int) -> list[str]:
        return cronjobs.tick(
            deploy_env.store, settings=settings, now=t0 + dt.timedelta(minutes=minutes)
        )

    tick(0)
    tick(1)  # 11:59:30: swap and kept start
    assert {f"default.swap-{m0 + 1}", f"default.kept-{m0 + 1}"} <= _pods(deploy_env)
    _wait_done(deploy_env, "kept")
    tick(2)  # 12:00:30: Replace removes swap's running Job; 12:00 is 30 s late for "late"
    pods = _pods(deploy_env)
    assert f"default.swap-{m0 + 1}" not in pods and f"default.swap-{m0 + 2}" in pods
    assert [j["name"] for j in _status(deploy_env, "swap")["active"]] == [f"swap-{m0 + 2}"]
    assert not any(p.startswith("default.late-") for p in pods)
    assert "lastScheduleTime" not in _status(deploy_env, "late")  # missed its deadline
    assert f"default.kept-{m0 + 1}" in pods  # one succeeded Job is within the limit
    _wait_done(deploy_env, "kept")
    tick(3)  # two succeeded now: the older one is removed
    pods = _pods(deploy_env)
    assert f"default.kept-{m0 + 1}" not in pods and f"default.kept-{m0 + 2}" in pods
