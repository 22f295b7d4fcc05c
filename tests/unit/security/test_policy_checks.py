"""Pure policy parts: Kyverno's model, matching and conditions; kube-linter's checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shipway.model import kyverno, resources
from shipway.model.errors import ResourceError
from shipway.security.policy import conditions, lint, workloads

PEM = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"


def policy(**rule: Any) -> kyverno.KyvernoPolicySpec:
    body = {
        "name": "check-image",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "verifyImages": [
            {
                "imageReferences": ["ghcr.io/acme/*"],
                "attestors": [{"entries": [{"keys": {"publicKeys": PEM}}]}],
            }
        ],
        **rule,
    }
    return kyverno.KyvernoPolicySpec.model_validate({"rules": [body]})


def deployment(image: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}], **spec},
            },
        },
    }


def test_defaults_follow_kyverno() -> None:
    spec = policy()
    verify = spec.rules[0].verify_images[0]
    assert spec.validation_failure_action == "Audit"
    assert (verify.required, verify.mutate_digest, verify.verify_digest) == (True, True, True)
    assert spec.action_of(verify) == "Audit"
    enforced = kyverno.KyvernoPolicySpec.model_validate(
        {**spec.model_dump(by_alias=True), "validationFailureAction": "enforce"}
    )
    assert enforced.validation_failure_action == "Enforce"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"validate": {"message": "x"}}, "validate rules are not served"),
        (
            {
                "verifyImages": [
                    {"imageReferences": ["*"], "attestors": [{"entries": [{"keyless": {}}]}]}
                ]
            },
            "keyless attestors are not served",
        ),
        ({"verifyImages": [{"imageReferences": ["*"], "type": "Notary"}]}, "Notary is not served"),
        (
            {
                "verifyImages": [
                    {"imageReferences": ["*"], "attestors": [{"entries": [{"keys": {"kms": "x"}}]}]}
                ]
            },
            "keys.kms is not served",
        ),
        ({"verifyImages": [{"attestors": []}]}, "needs imageReferences"),
        (
            {"verifyImages": [{"imageReferences": ["*"], "repository": "ghcr.io/acme/sigs"}]},
            "repository .signatures kept in another repository. is not served",
        ),
        (
            {
                "verifyImages": [
                    {
                        "imageReferences": ["*"],
                        "attestors": [
                            {"entries": [{"keys": {"publicKeys": PEM}, "repository": "x/sigs"}]}
                        ],
                    }
                ]
            },
            "repository .signatures kept in another repository. is not served",
        ),
        (
            {"verifyImages": [{"imageReferences": ["*"], "attestations": [{"conditions": []}]}]},
            "needs type",
        ),
    ],
)
def test_what_shipway_does_not_do_is_refused_naming_it(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        policy(**change)


def test_legacy_image_field_and_predicate_type_are_read() -> None:
    spec = policy(
        verifyImages=[
            {
                "image": "ghcr.io/acme/*",
                "attestations": [{"predicateType": "https://slsa.dev/provenance/v1"}],
            }
        ]
    )
    verify = spec.rules[0].verify_images[0]
    assert verify.image_references == ["ghcr.io/acme/*"]
    assert verify.attestations[0].kind == "https://slsa.dev/provenance/v1"


KYVERNO_DOC = """\
apiVersion: kyverno.io/{version}
kind: ClusterPolicy
metadata:
  name: signed-web
spec:
  {action}
  background: false
  emitWarning: true
  applyRules: One
  schemaValidation: false
  webhookConfiguration:
    failurePolicy: Fail
    timeoutSeconds: 30
  rules:
    - name: signed
      match:
        any:
        - resources:
            kinds: [Pod]
      verifyImages:
      - imageReferences: ["ghcr.io/acme/web*"]
        {entry}
        attestors:
        - count: 1
          entries:
          - keys:
              publicKeys: |-
                -----BEGIN PUBLIC KEY-----
                MFkw
                -----END PUBLIC KEY-----
              rekor:
                ignoreTlog: true
                url: https://rekor.sigstore.dev
"""


def kyverno_doc(action: str = "", entry: str = "", version: str = "v1") -> list[Any]:
    text = KYVERNO_DOC.format(action=action or "admission: true", entry=entry or "type: Cosign",
                              version=version)  # fmt: skip
    return resources.parse_text(text, "pol.yaml")


def test_kyverno_spec_fields_and_v2beta1_are_read() -> None:
    for version in ("v1", "v2beta1"):
        (res,) = kyverno_doc(entry="failureAction: Enforce", version=version)
        spec = kyverno.KyvernoPolicySpec.model_validate(res.body["spec"])
        assert spec.action_of(spec.rules[0].verify_images[0]) == "Enforce"
        assert spec.rules[0].verify_images[0].mutate_digest is True


@pytest.mark.parametrize(
    "action, entry, where",
    [
        ("", "", "pol.yaml:21:9"),  # Audit and mutateDigest true: both Kyverno's defaults
        ("validationFailureAction: Audit", "mutateDigest: true", "pol.yaml:22:9"),
        ("validationFailureAction: Enforce", "failureAction: Audit", "pol.yaml:21:9"),
    ],
)
def test_audit_with_mutate_digest_is_refused_as_kyverno_does(
    action: str, entry: str, where: str
) -> None:
    with pytest.raises(ResourceError) as err:
        kyverno_doc(action, entry)
    assert err.value.subject == where
    assert "mutateDigest must be set to false for 'Audit' failure action" in err.value.message


@pytest.mark.parametrize(
    "action, entry",
    [
        ("validationFailureAction: Audit", "mutateDigest: false"),
        ("validationFailureAction: Audit", "failureAction: Enforce"),
        ("validationFailureAction: Enforce", "failureAction: Audit\n        mutateDigest: false"),
    ],
)
def test_audit_without_mutate_digest_and_enforce_are_admitted(action: str, entry: str) -> None:
    (res,) = kyverno_doc(action, entry)
    assert res.kind == "ClusterPolicy"


def test_image_normalisation_and_globs() -> None:
    assert workloads.normalize("nginx") == "docker.io/library/nginx:latest"
    assert workloads.normalize("acme/web:1") == "docker.io/acme/web:1"
    assert workloads.normalize("127.0.0.1:5000/web@sha256:ab") == "127.0.0.1:5000/web@sha256:ab"
    assert workloads.image_matches("ghcr.io/acme/web:1", ["ghcr.io/acme/*"])
    assert workloads.image_matches("nginx", ["docker.io/library/nginx*"])
    assert not workloads.image_matches("ghcr.io/other/web:1", ["ghcr.io/acme/*"])


def test_pod_rules_apply_to_pod_controllers_and_filters_narrow() -> None:
    rule = policy().rules[0]
    assert workloads.rule_matches(rule, deployment("x"), "default")
    svc = {"kind": "Service", "metadata": {"name": "s"}}
    assert not workloads.rule_matches(rule, svc, "default")
    rule = policy(
        match={"any": [{"resources": {"kinds": ["Deployment"], "namespaces": ["prod-*"]}}]},
        exclude={"any": [{"resources": {"names": ["legacy*"]}}]},
    ).rules[0]
    assert workloads.rule_matches(rule, deployment("x"), "prod-eu")
    assert not workloads.rule_matches(rule, deployment("x"), "dev")
    legacy = deployment("x")
    legacy["metadata"]["name"] = "legacy-web"
    assert not workloads.rule_matches(rule, legacy, "prod-eu")
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{"name": "c", "image": "alpine:3"}]}}}}},
    }  # fmt: skip
    assert workloads.images(cron) == ["busybox", "alpine:3"]


def cond(key: Any, op: str, value: Any) -> kyverno.Condition:
    return kyverno.Condition.model_validate({"key": key, "operator": op, "value": value})


PRED = {
    "buildDefinition": {"externalParameters": {"workflow": {"repository": "https://git/acme/web"}}},
    "runDetails": {"builder": {"id": "https://shipway.dev/builders/ci@v1"}},
    "count": 3,
    "tags": ["a", "b"],
}


@pytest.mark.parametrize(
    "c, expected",
    [
        (cond("{{ buildDefinition.externalParameters.workflow.repository }}", "Equals",
              "https://git/acme/web"), True),
        (cond("{{ buildDefinition.externalParameters.workflow.repository }}", "Equals",
              "https://git/acme/*"), True),
        (cond("{{ buildDefinition.externalParameters.workflow.repository }}", "Equals",
              "https://git/other/web"), False),
        (cond("{{ runDetails.builder.id }}", "NotEquals", "x"), True),
        (cond("{{ tags }}", "AllIn", ["a", "b", "c"]), True),
        (cond("{{ tags }}", "AllIn", ["a"]), False),
        (cond("{{ tags }}", "AnyIn", ["b", "z"]), True),
        (cond("{{ tags }}", "AnyNotIn", ["a"]), True),
        (cond("{{ tags }}", "NotIn", ["z"]), True),
        (cond("{{ count }}", "GreaterThan", 2), True),
        (cond("{{ count }}", "LessThanOrEquals", 2), False),
        (cond("builder {{ runDetails.builder.id }}", "Equals", "builder https://*"), True),
    ],
)  # fmt: skip
def test_conditions(c: kyverno.Condition, expected: bool) -> None:
    assert conditions.holds(c, PRED) is expected


def test_condition_blocks_and_bad_expressions() -> None:
    ok = cond("{{ count }}", "Equals", 3)
    bad = cond("{{ count }}", "Equals", 4)
    blocks = [kyverno.ConditionBlock(all=[ok], any=[bad, ok])]
    assert conditions.failed(blocks, PRED) is None
    msg = conditions.failed([kyverno.ConditionBlock(all=[bad])], PRED)
    assert msg == "condition failed: {{ count }} Equals 4 (the predicate has 3)"
    with pytest.raises(conditions.ConditionError, match="bad expression"):
        conditions.holds(cond("{{ count[ }}", "Equals", 1), PRED)


def checks_of(objs: list[dict[str, Any]]) -> set[str]:
    return {f.check for f in lint.run(objs)}


def test_lint_flags_each_default_check() -> None:
    bad = deployment(
        "nginx",
        hostNetwork=True,
        hostPID=True,
        hostIPC=True,
        volumes=[{"name": "d", "hostPath": {"path": "/var/run/docker.sock"}}],
    )
    c = bad["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"] = {"privileged": True}
    c["env"] = [{"name": "DB_SECRET", "value": "hunter2"}, {"name": "MODE", "value": "x"}]
    bad["spec"]["selector"]["matchLabels"] = {"app": "other"}
    svc = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": {"app": "nope"}}}
    assert checks_of([bad, svc]) == set(lint.CHECKS)


def hardened() -> dict[str, Any]:
    good = deployment("ghcr.io/acme/web:1.2.3")
    c = good["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"] = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
    good["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True}
    return good


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return c


def host_path(path: str) -> dict[str, Any]:
    return {"name": "d", "hostPath": {"path": path}}


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = obj["spec"]["template"]["spec"]
    return p


@pytest.mark.parametrize(
    "change, flagged",
    [
        (lambda o: _container(o).update(image="nginx"), {"latest-tag"}),
        (lambda o: _container(o).update(image="localhost:5000/web"), {"latest-tag"}),
        (lambda o: _container(o).update(image="ghcr.io/acme/web:latest"), {"latest-tag"}),
        (lambda o: _container(o).update(image="ghcr.io/acme/web@sha256:" + "a" * 64), set()),
        (lambda o: _pod(o).pop("securityContext"), {"run-as-non-root"}),
        (lambda o: _pod(o).update(securityContext={"runAsUser": 1000}), set()),
        (lambda o: _pod(o).update(securityContext={"runAsNonRoot": True, "runAsUser": 0}),
         {"run-as-non-root"}),  # kube-linter: fails at run time
        (lambda o: _container(o)["securityContext"].update(runAsNonRoot=False),
         {"run-as-non-root"}),  # the container's word wins over the pod's
        (lambda o: _container(o)["securityContext"].update(privileged=True),
         {"privileged-container", "privilege-escalation-container"}),
        (lambda o: _container(o)["securityContext"].update(allowPrivilegeEscalation=True),
         {"privilege-escalation-container"}),
        (lambda o: _container(o)["securityContext"].update(capabilities={"add": ["SYS_ADMIN"]}),
         {"privilege-escalation-container"}),
        (lambda o: _container(o)["securityContext"].update(
            capabilities={"add": ["NET_BIND_SERVICE"]}), set()),
        (lambda o: _pod(o).update(hostNetwork=True), {"host-network"}),
        (lambda o: _pod(o).update(hostPID=True), {"host-pid"}),
        (lambda o: _pod(o).update(hostIPC=True), {"host-ipc"}),
        (lambda o: _pod(o).update(volumes=[host_path("/run/docker.sock")]), {"docker-sock"}),
        (lambda o: _pod(o).update(volumes=[host_path("/var/log")]), set()),
        (lambda o: _container(o)["securityContext"].pop("readOnlyRootFilesystem"),
         {"no-read-only-root-fs"}),
        (lambda o: _container(o).update(env=[{"name": "api_secret", "value": "s3cr3t"}]),
         {"env-var-secret"}),
        (lambda o: _container(o).update(env=[{"name": "DB_PASSWORD", "value": "x"},
                                             {"name": "SECRET_KEY", "value": ""},
                                             {"name": "MY_SECRET", "valueFrom": {}}]),
         set()),  # kube-linter's default: names with "secret", a literal non-empty value
        (lambda o: o["spec"]["selector"].update(matchLabels={"app": "other"}),
         {"mismatching-selector"}),
        (lambda o: o["spec"]["selector"].update(
            matchExpressions=[{"key": "tier", "operator": "In", "values": ["web"]}]),
         {"mismatching-selector"}),
        (lambda o: o["spec"]["selector"].update(
            matchExpressions=[{"key": "app", "operator": "In", "values": ["web", "api"]},
                              {"key": "legacy", "operator": "DoesNotExist"}]),
         set()),
    ],
)  # fmt: skip
def test_each_check_alone_as_kube_linter_flags_it(change: Any, flagged: set[str]) -> None:
    obj = hardened()
    change(obj)
    svc = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": {"app": "web"}}}
    assert checks_of([obj, svc]) == flagged


def test_lint_passes_a_hardened_workload_and_honours_ignore_annotations() -> None:
    good = deployment("ghcr.io/acme/web:1.2.3")
    c = good["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"] = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
    good["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True}
    svc = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": {"app": "web"}}}
    assert lint.run([good, svc]) == []
    latest = deployment("nginx:latest")
    latest["metadata"]["annotations"] = {"ignore-check.kube-linter.io/latest-tag": "demo"}
    assert "latest-tag" not in checks_of([latest])
    assert "latest-tag" in checks_of([deployment("nginx:latest")])
    assert "latest-tag" not in checks_of([deployment("nginx@sha256:" + "a" * 64)])
