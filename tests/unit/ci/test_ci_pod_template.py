"""The Kubernetes executor's Pod template: checked with positions, merged into the job Pod."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.ci.plan.podtemplate import check_template, load_template, merge_template
from shipway.model.errors import InputError


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app.kubernetes.io/managed-by": "shipway"}},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": 600,
            "containers": [
                {"name": "job", "image": "img", "command": ["tail"], "workingDir": "/w",
                 "env": [{"name": "A", "value": "ours"}],
                 "volumeMounts": [{"name": "work-0", "mountPath": "/w"}],
                 "resources": {"limits": {"cpu": "1500m"}}},
                {"name": "svc-db", "image": "db"},
            ],
            "volumes": [{"name": "work-0", "hostPath": {"path": "/w"}}],
            "imagePullSecrets": [{"name": "p-pull"}],
        },
    }  # fmt: skip


TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata:
  labels: {team: ci, app.kubernetes.io/managed-by: someone-else}
  annotations: {cost: low}
spec:
  restartPolicy: Always
  activeDeadlineSeconds: 5
  nodeSelector: {pool: ci}
  serviceAccountName: runner
  securityContext: {fsGroup: 1000}
  imagePullSecrets: [{name: corp}]
  tolerations: [{key: ci, operator: Exists, effect: NoSchedule}]
  volumes: [{name: cache, emptyDir: {}}]
  containers:
  - name: job
    image: ignored
    command: [ignored]
    env: [{name: A, value: theirs}, {name: B, value: theirs}]
    volumeMounts: [{name: cache, mountPath: /cache}]
    resources: {requests: {memory: 1Gi}, limits: {cpu: "1", memory: 2Gi}}
    securityContext: {runAsNonRoot: true}
  - name: dind
    image: docker:dind
"""


def test_merge_keeps_what_shipway_owns_and_joins_the_rest() -> None:
    pod = merge_template(_pod(), load_template(TEMPLATE, "pod.yaml"))
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"] == {"team": "ci", "app.kubernetes.io/managed-by": "shipway"}
    assert meta["annotations"] == {"cost": "low"}
    assert (spec["restartPolicy"], spec["activeDeadlineSeconds"]) == ("Never", 600)
    assert spec["nodeSelector"] == {"pool": "ci"} and spec["serviceAccountName"] == "runner"
    assert spec["securityContext"] == {"fsGroup": 1000}
    assert spec["imagePullSecrets"] == [{"name": "corp"}, {"name": "p-pull"}]
    assert [v["name"] for v in spec["volumes"]] == ["cache", "work-0"]
    assert spec["tolerations"][0]["key"] == "ci"
    job, svc, dind = spec["containers"]
    assert (job["image"], job["command"], job["workingDir"]) == ("img", ["tail"], "/w")
    assert job["env"] == [{"name": "B", "value": "theirs"}, {"name": "A", "value": "ours"}]
    assert [m["mountPath"] for m in job["volumeMounts"]] == ["/cache", "/w"]
    assert job["resources"] == {"requests": {"memory": "1Gi"},
                                "limits": {"cpu": "1500m", "memory": "2Gi"}}  # fmt: skip
    assert job["securityContext"] == {"runAsNonRoot": True}
    assert svc == {"name": "svc-db", "image": "db"}
    assert dind == {"name": "dind", "image": "docker:dind"}


def test_action_pods_get_the_job_fields_but_no_sidecars() -> None:
    pod = {"metadata": {"name": "a"},
           "spec": {"containers": [{"name": "action", "image": "act"}]}}  # fmt: skip
    merged = merge_template(pod, load_template(TEMPLATE, "pod.yaml"), "action", sidecars=False)
    (action,) = merged["spec"]["containers"]
    assert action["image"] == "act" and action["securityContext"] == {"runAsNonRoot": True}
    assert merged["spec"]["nodeSelector"] == {"pool": "ci"}


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("kind: Deployment\n", "t.yaml:1:1", "must be kind Pod"),
        ("kind: Pod\nspek: {}\n", "t.yaml:2:1", "unknown key 'spek'"),
        ("metadata:\n  labels: {a: 1}\n", "t.yaml:2:3", "metadata.labels"),
        ("spec:\n  tolerations: {key: x}\n", "t.yaml:2:3", "spec.tolerations must be a list"),
        ("spec:\n  containers:\n  - name: job\n  - image: x\n", "t.yaml:4:5", "needs a name"),
        ("spec:\n  containers:\n  - name: side\n", "t.yaml:3:5", "needs an image"),
        ("spec:\n  containers:\n  - name: job\n    env: {A: b}\n", "t.yaml:4:5", "env must"),
        ("- a\n- b\n", "t.yaml:1:1", "must be a Pod"),
        ("spec: [\n", "t.yaml", "invalid YAML"),
    ],
)
def test_bad_templates_name_file_and_line(text: str, where: str, says: str) -> None:
    with pytest.raises(InputError) as err:
        load_template(text, "t.yaml")
    assert err.value.subject is not None and err.value.subject.startswith(where)
    assert says in err.value.message


def test_an_inline_template_names_the_field() -> None:
    with pytest.raises(InputError) as err:
        check_template({"spec": {"containers": [{"image": "x"}]}})
    assert err.value.subject == "podTemplate.spec.containers.0"


def test_pipeline_runner_pod_template() -> None:
    from shipway.ci.runner import runner_settings
    from shipway.model.kinds import PipelineRunner

    tpl = {"spec": {"nodeSelector": {"pool": "ci"}}}
    got = runner_settings(None, {"executor": "kubernetes", "podTemplate": tpl})  # type: ignore[arg-type]
    assert got["kube"] == {"pod_template": tpl}
    with pytest.raises(InputError) as err:
        runner_settings(None, {"executor": "kubernetes", "podTemplate": {"kind": "Job"}})  # type: ignore[arg-type]
    assert err.value.subject == "podTemplate.kind"
    assert PipelineRunner.model_validate(
        {"executor": "kubernetes", "podTemplate": tpl}
    ).pod_template
    with pytest.raises(ValueError, match="needs executor: kubernetes"):
        PipelineRunner.model_validate({"executor": "podman", "podTemplate": tpl})
