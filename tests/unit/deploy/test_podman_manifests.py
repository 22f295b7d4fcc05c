"""How the podman host runs each kind (pure): pod documents, published ports, refusals,
and the Kubernetes-shaped status of live objects."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.cluster import podman_kinds as kinds
from shipway.cluster import podman_status as status
from shipway.deploy import health
from shipway.model.errors import InputError


def _dep(name: str = "web", ns: str = "dev", replicas: int = 1, **pod: Any) -> dict[str, Any]:
    spec = {
        "containers": [
            {
                "name": "c",
                "image": "img",
                "ports": [{"containerPort": 8080}, {"containerPort": 9090}],
            }
        ],
        **pod,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def _svc(port: int, ns: str = "dev", kind: str = "NodePort", app: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "namespace": ns},
        "spec": {
            "type": kind,
            "selector": {"app": app},
            "ports": [{"port": port, "targetPort": 8080}],
        },
    }


def _ing(service: str, port: int = 80) -> dict[str, Any]:
    backend = {"service": {"name": service, "port": {"number": port}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "ing"},
        "spec": {"defaultBackend": backend},
    }


def test_pods_are_named_from_namespace_and_name_and_labelled_with_their_owner() -> None:
    docs = kinds.pods("shop", _dep(replicas=2), [])
    assert [d["metadata"]["name"] for d in docs] == ["dev.web-0", "dev.web-1"]
    labels = docs[0]["metadata"]["labels"]
    assert labels[kinds.INSTANCE_LABEL] == "shop" and labels["app"] == "web"
    assert (labels[kinds.OWNER_KIND], labels[kinds.OWNER_NAMESPACE], labels[kinds.OWNER_NAME]) == (
        "Deployment",
        "dev",
        "web",
    )
    other = kinds.pods("shop", _dep(ns="prod"), [])
    assert other[0]["metadata"]["name"] == "prod.web-0"


def test_only_service_published_ports_are_kept_and_bound_on_loopback() -> None:
    [doc] = kinds.pods("a", _dep(), [_svc(30080), _svc(30081, ns="other")])
    assert doc["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "hostPort": 30080, "hostIP": "127.0.0.1"}
    ]
    [bare] = kinds.pods("a", _dep(), [_svc(30080, kind="ClusterIP")])
    assert "ports" not in bare["spec"]["containers"][0]


def test_an_explicit_host_port_is_bound_on_loopback() -> None:
    dep = _dep()
    dep["spec"]["template"]["spec"]["containers"][0]["ports"] = [
        {"containerPort": 80, "hostPort": 8081, "hostIP": "0.0.0.0"}
    ]
    [doc] = kinds.pods("a", dep, [])
    assert doc["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "hostPort": 8081, "hostIP": "127.0.0.1"}
    ]


def test_job_daemonset_statefulset_pods() -> None:
    pod = {"spec": {"containers": [{"name": "c", "image": "i"}]}}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "m", "namespace": "x"}}
    job["spec"] = {"template": pod}
    [doc] = kinds.pods("a", job, [])
    assert doc["metadata"]["name"] == "x.m" and doc["spec"]["restartPolicy"] == "Never"
    ds = {**_dep(), "kind": "DaemonSet"}
    assert [d["metadata"]["name"] for d in kinds.pods("a", ds, [])] == ["dev.web"]
    sts = {**_dep(replicas=3), "kind": "StatefulSet"}
    assert kinds.pod_names(sts) == ["dev.web-0", "dev.web-1", "dev.web-2"]


@pytest.mark.parametrize(
    ("objs", "needle"),
    [
        ([{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "n"},
           "spec": {"schedule": "61 * * * *"}}],
         "CronJob/default/n: minute '61' is out of range 0-59 in schedule '61 * * * *'"),
        ([{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "n"},
           "spec": {"schedule": "@daily", "concurrencyPolicy": "Sometimes"}}],
         "CronJob/default/n: concurrencyPolicy 'Sometimes' is not Allow, Forbid or Replace"),
        ([{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "n"},
           "spec": {"schedule": "@daily", "jobTemplate": {}}}],
         "CronJob/default/n: spec.jobTemplate.spec.template.spec.containers is missing"),
        ([{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}}],
         "Ingress/default/i: it has neither rules nor a defaultBackend"),
        ([_dep(replicas=2, ns="default"), _svc(80, ns="default", kind="ClusterIP"), _ing("web")],
         "Deployment/default/web: 2 replicas cannot share the loopback port an Ingress reaches "
         "Service/default/web port 80"),
        ([{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}],
         "Widget/default/w: kind Widget (example.com/v1) is not known to the destination"),
        ([_dep(replicas=2), _svc(30080)], "Deployment/dev/web: 2 replicas cannot share host port"),
        ([_dep(hostNetwork=True)], "Deployment/dev/web: hostNetwork is refused"),
        ([_dep(), _dep(name="api"), _svc(30080), _svc(30080, app="api")],
         "Deployment/dev/api: host port 127.0.0.1:30080 is published by Deployment/dev/web"),
    ],
)  # fmt: skip
def test_refusals_name_the_object_and_kind(objs: list[dict[str, Any]], needle: str) -> None:
    with pytest.raises(InputError) as err:
        kinds.check([("apps/all.yaml", o) for o in objs])
    assert needle in err.value.message and err.value.subject == "apps/all.yaml"


def test_an_app_podman_can_run_passes() -> None:
    kinds.check([("a.yaml", _dep()), ("a.yaml", _svc(30080)), ("b.yaml", _dep(ns="prod"))])


def _found(*containers: dict[str, Any]) -> dict[str, Any]:
    base = {"name": "c", "image": "i", "exitCode": 0, "restarts": 0, "error": ""}
    return {"name": "p", "containers": [{**base, **c} for c in containers]}


def _job(st: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {},
        "status": st,
    }


def test_job_status_from_exit_code_is_what_job_health_reads() -> None:
    done = status.job(_found({"status": "exited"}), {}, "Never")
    assert health.of(_job(done)) == ("Healthy", "job completed")
    failed = status.job(_found({"status": "exited", "exitCode": 2}), {}, "Never")
    assert health.of(_job(failed)) == ("Degraded", "container c exited with code 2")
    running = status.job(_found({"status": "running"}), {}, "Never")
    assert health.of(_job(running))[0] == "Progressing"
    backoff = status.job(_found({"status": "exited", "exitCode": 1, "restarts": 3}),
                         {"backoffLimit": 2}, "OnFailure")  # fmt: skip
    assert health.of(_job(backoff))[0] == "Degraded"


def test_a_container_that_never_started_carries_podmans_reason() -> None:
    st = status.pod(_found({"status": "created"}), "Always", "exec: /x: no such file")
    assert health.of(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "status": st}
    ) == (
        "Degraded",
        "exec: /x: no such file",
    )
    dep = status.deployment([_found({"status": "created"})], "exec: /x: no such file")
    assert dep["conditions"][0]["message"] == "exec: /x: no such file"
    assert dep["conditions"][0]["reason"] == "ProgressDeadlineExceeded"


def test_statefulset_and_daemonset_status_is_healthy_when_ready() -> None:
    ready = [_found({"status": "running"}), _found({"status": "running"})]
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
           "spec": {"replicas": 2}, "status": status.statefulset(ready)}  # fmt: skip
    assert (health.of(sts) or ("", ""))[0] == "Healthy"
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {},
          "status": status.daemonset(ready[:1])}  # fmt: skip
    assert (health.of(ds) or ("", ""))[0] == "Healthy"
    waiting = {**ds, "status": status.daemonset([_found({"status": "created"})])}
    assert health.of(waiting)[0] == "Progressing"
