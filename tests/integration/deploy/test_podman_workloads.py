"""What teams deploy runs on real podman: Jobs to completion, StatefulSets, DaemonSets,
replicas, one Deployment per namespace; kinds podman cannot run are refused whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.deploy import health as health_mod
from shipway.runtime.ports import free_port
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _job(image: str, name: str, code: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "run",
                            "image": image,
                            "command": ["/bin/sh", "-c", f"exit {code}"],
                        }
                    ],
                }
            },
        },
    }


def _kind(kind: str, image: str, name: str, replicas: int | None = None) -> dict[str, Any]:
    obj = deployment(image, name=name)
    obj["kind"] = kind
    obj["spec"]["template"]["spec"]["containers"][0].pop("ports")
    if replicas is None:
        obj["spec"].pop("replicas")
    else:
        obj["spec"]["replicas"] = replicas
    return obj


def _pods(env) -> dict[str, dict[str, str]]:
    out = env.target.podman("pod", "ps", "--format", "json")
    return {p["Name"]: p for p in json.loads(out or "[]")}


def _health(env, app: str, key: str) -> tuple[str, str] | None:
    return health_mod.of(env.target.live(app).get(key))


def _sync(env, app: str) -> Any:
    res = engine.reconcile(env.store, app, settings=env.settings)
    return res


def test_job_runs_to_completion_and_its_exit_code_is_its_health(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    write(work.path, "apps/j/jobs.yaml", [_job(image, "ok", 0), _job(image, "bad", 3)])
    commit(work, "jobs")
    store_resources.apply(deploy_env.store, [application(url, "jobs", "apps/j")])

    res = _sync(deploy_env, "jobs")
    assert res.phase == "Succeeded", res.message
    assert engine.wait_healthy(deploy_env.store, "jobs", 60, settings=deploy_env.settings) == (
        "Degraded"
    )
    assert _health(deploy_env, "jobs", "batch/Job/default/ok") == ("Healthy", "job completed")
    status, message = _health(deploy_env, "jobs", "batch/Job/default/bad") or ("", "")
    assert status == "Degraded" and "exited with code 3" in message
    first = _pods(deploy_env)["default.ok"]["Id"]

    res = _sync(deploy_env, "jobs")  # nothing changed: a finished Job is not run again
    assert _pods(deploy_env)["default.ok"]["Id"] == first
    assert {r.action for r in res.resources} == {"unchanged"}


def test_statefulset_daemonset_and_replicas_run_as_named_pods(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    objs = [
        _kind("StatefulSet", image, "db", 2),
        _kind("DaemonSet", image, "agent"),
        _kind("Deployment", image, "web", 3),
    ]
    write(work.path, "apps/w/all.yaml", objs)
    commit(work, "workloads")
    store_resources.apply(deploy_env.store, [application(url, "wl", "apps/w")])

    res = _sync(deploy_env, "wl")
    assert res.phase == "Succeeded", res.message
    assert engine.wait_healthy(deploy_env.store, "wl", 60, settings=deploy_env.settings) == (
        "Healthy"
    )
    assert sorted(_pods(deploy_env)) == [
        "default.agent",
        "default.db-0",
        "default.db-1",
        "default.web-0",
        "default.web-1",
        "default.web-2",
    ]
    live = deploy_env.target.live("wl")
    assert live["apps/StatefulSet/default/db"]["status"]["readyReplicas"] == 2
    assert live["apps/DaemonSet/default/agent"]["status"]["numberReady"] == 1
    assert live["apps/Deployment/default/web"]["status"]["availableReplicas"] == 3

    objs[2]["spec"]["replicas"] = 1
    write(work.path, "apps/w/all.yaml", objs)
    commit(work, "scale down")
    res = _sync(deploy_env, "wl")
    assert res.phase == "Succeeded", res.message
    web = sorted(n for n in _pods(deploy_env) if n.startswith("default.web"))
    assert web == ["default.web-0"]


def test_one_deployment_in_three_namespaces_runs_as_three_pods(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    ports = {}
    for env in ("dev", "stage", "prod"):
        ports[env] = free_port()
        write(
            work.path, f"apps/{env}/all.yaml", [deployment(httpd_images["v1"]), service(ports[env])]
        )
    commit(work, "three environments")
    for env in ports:
        app = application(url, f"web-{env}", f"apps/{env}")
        app.body["spec"]["destination"]["namespace"] = env
        store_resources.apply(deploy_env.store, [app])
        res = _sync(deploy_env, f"web-{env}")
        assert res.phase == "Succeeded", res.message

    assert {"dev.web-0", "stage.web-0", "prod.web-0"} <= set(_pods(deploy_env))
    for env, port in ports.items():
        assert http_get(port, "/index.html") == "v1"
        live = deploy_env.target.live(f"web-{env}")
        assert f"apps/Deployment/{env}/web" in live


def test_a_kind_podman_cannot_run_is_refused_naming_it_and_nothing_is_applied(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port = free_port()
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * * *",
            "jobTemplate": _job(httpd_images["v1"], "x", 0)["spec"],
        },
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {
            "rules": [
                {
                    "host": "web.local",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Regex",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    write(work.path, "apps/r/web.yaml", [deployment(httpd_images["v1"]), service(port)])
    write(work.path, "apps/r/cron.yaml", [cron, ingress])
    commit(work, "cron and ingress")
    store_resources.apply(deploy_env.store, [application(url, "refused", "apps/r")])

    res = _sync(deploy_env, "refused")

    assert res.phase == "Error" and res.resources == []
    assert "apps/r/cron.yaml" in res.message
    assert "CronJob/default/nightly" in res.message and "has 6 fields" in res.message
    assert "Ingress/default/web: rules[0].http.paths[0].pathType 'Regex'" in res.message
    assert deploy_env.target.live("refused") == {}
    assert _pods(deploy_env) == {}


def test_replicas_sharing_a_published_port_are_refused(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port = free_port()
    dep = deployment(httpd_images["v1"])
    dep["spec"]["replicas"] = 2
    write(work.path, "apps/x/all.yaml", [dep, service(port)])
    commit(work, "two replicas, one port")
    store_resources.apply(deploy_env.store, [application(url, "rep", "apps/x")])

    res = _sync(deploy_env, "rep")

    assert res.phase == "Error"
    assert "Deployment/default/web" in res.message and f"127.0.0.1:{port}" in res.message
    assert _pods(deploy_env) == {}


def test_a_pod_that_does_not_start_is_degraded_with_podmans_whole_reason(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    dep = deployment(httpd_images["v1"])
    dep["spec"]["template"]["spec"]["containers"][0]["command"] = ["/no/such/binary"]
    write(work.path, "apps/d/all.yaml", [dep])
    commit(work, "broken command")
    store_resources.apply(deploy_env.store, [application(url, "broken", "apps/d")])

    res = _sync(deploy_env, "broken")

    assert res.phase == "Failed"
    [failed] = [r for r in res.resources if r.status == "SyncFailed"]
    assert "/no/such/binary" in failed.message and "failed to start" in failed.message
    live = deploy_env.target.live("broken")["apps/Deployment/default/web"]
    status, message = health_mod.of(live) or ("", "")
    assert status == "Degraded"
    assert "exceeded its progress deadline" in message and "/no/such/binary" in message
    [cond] = live["status"]["conditions"]
    assert "/no/such/binary" in cond["message"]  # podman's reason, as Argo CD shows conditions
    app = store_resources.get(deploy_env.store, "Application", "broken").status
    [web] = [r for r in app["resources"] if r["kind"] == "Deployment"]
    assert web["health"]["status"] == "Degraded", web
