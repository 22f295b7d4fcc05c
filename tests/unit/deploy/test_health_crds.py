"""Native checks of the custom resources teams run most, from live objects written for shipway."""

from __future__ import annotations

from typing import Any

import pytest
from healthobjs import cond, conds, obj

from shipway.deploy import health

H, P, D, S, U = "Healthy", "Progressing", "Degraded", "Suspended", "Unknown"


def verdict(o: dict[str, Any]) -> str:
    found = health.of(o)
    assert found is not None, o
    return found[0]


ROLLOUTS = "argoproj.io/v1alpha1"


def rollout(spec: dict[str, Any], status: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return obj(ROLLOUTS, "Rollout", spec, status, generation=4, **kw)


def test_rollout_phase_reported_by_the_controller() -> None:
    base = {"observedGeneration": "4"}
    assert verdict(rollout({}, {**base, "phase": "Healthy"})) == H
    assert health.of(rollout({}, {**base, "phase": "Paused", "message": "CanaryPauseStep"})) == (
        S,
        "CanaryPauseStep",
    )
    assert verdict(rollout({}, {**base, "phase": "Degraded", "message": "aborted"})) == D
    assert verdict(rollout({}, {**base, "phase": "Progressing"})) == P
    assert verdict(rollout({}, {"observedGeneration": "3", "phase": "Healthy"})) == P
    assert verdict(rollout({}, {})) == P


def test_rollout_workload_ref_generation() -> None:
    ann = {"rollout.argoproj.io/workload-generation": "2"}
    spec = {"workloadRef": {"kind": "Deployment", "name": "web"}}
    status = {"observedGeneration": "4", "phase": "Healthy", "workloadObservedGeneration": "1"}
    assert verdict(rollout(spec, status, annotations=ann)) == P
    status["workloadObservedGeneration"] = "2"
    assert verdict(rollout(spec, status, annotations=ann)) == H


def test_rollout_without_phase_from_conditions_and_replicas() -> None:
    canary = {"replicas": 2, "strategy": {"canary": {"steps": []}}}
    done = {
        "observedGeneration": "4",
        "currentPodHash": "abc",
        "stableRS": "abc",
        "replicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2,
    }
    assert verdict(rollout(canary, done)) == H
    assert verdict(rollout(canary, {**done, "stableRS": "old"})) == P
    assert verdict(rollout(canary, {**done, "pauseConditions": [{"reason": "x"}]})) == S
    aborted = [cond("Progressing", "False", "RolloutAborted", "metric failed")]
    assert health.of(rollout(canary, {**done, "conditions": aborted})) == (D, "metric failed")
    bg = {"replicas": 2, "strategy": {"blueGreen": {"activeService": "web"}}}
    assert verdict(rollout(bg, {**done, "blueGreen": {"activeSelector": "old"}})) == P
    assert verdict(rollout(bg, {**done, "blueGreen": {"activeSelector": "abc"}})) == H


@pytest.mark.parametrize(
    ("phase", "want"),
    [
        ("Pending", P),
        ("Running", P),
        ("Successful", H),
        ("Failed", D),
        ("Error", D),
        ("Inconclusive", U),
    ],
)
def test_analysisrun(phase: str, want: str) -> None:
    assert verdict(obj(ROLLOUTS, "AnalysisRun", {}, {"phase": phase})) == want


def test_analysisrun_without_status_and_workflow() -> None:
    assert verdict(obj(ROLLOUTS, "AnalysisRun", {})) == P
    for phase, want in (("", P), ("Running", P), ("Succeeded", H), ("Failed", D), ("Error", D)):
        wf = obj(ROLLOUTS, "Workflow", {}, {"phase": phase, "message": "m"})
        assert health.of(wf) == (want, "m")


CM = "cert-manager.io/v1"


def test_cert_manager() -> None:
    ready = conds(cond("Ready", "True", "Ready", "Certificate is up to date"))
    assert health.of(obj(CM, "Certificate", {}, ready)) == (H, "Certificate is up to date")
    issuing = conds(
        cond("Ready", "False", "DoesNotExist"), cond("Issuing", "True", "Issuing", "ordering")
    )
    assert health.of(obj(CM, "Certificate", {}, issuing)) == (P, "ordering")
    failed = conds(cond("Ready", "False", "Failed", "order failed"))
    assert health.of(obj(CM, "Certificate", {}, failed)) == (D, "order failed")
    assert verdict(obj(CM, "Certificate", {}, {})) == P
    for kind in ("Issuer", "ClusterIssuer"):
        assert verdict(obj(CM, kind, {}, conds(cond("Ready", "True")))) == H
        assert verdict(obj(CM, kind, {}, conds(cond("Ready", "False", "ErrRegister")))) == D
        assert verdict(obj(CM, kind, {}, {})) == P


ESO = "external-secrets.io/v1beta1"


def test_external_secrets() -> None:
    synced = conds(cond("Ready", "True", "SecretSynced", "Secret was synced"))
    assert health.of(obj(ESO, "ExternalSecret", {}, synced)) == (H, "Secret was synced")
    err = conds(cond("Ready", "False", "SecretSyncedError", "could not get secret data"))
    assert health.of(obj(ESO, "ExternalSecret", {}, err)) == (
        D,
        "SecretSyncedError: could not get secret data",
    )
    assert verdict(obj(ESO, "ExternalSecret", {}, {})) == P
    for kind in ("SecretStore", "ClusterSecretStore"):
        assert verdict(obj(ESO, kind, {}, conds(cond("Ready", "True", "Valid")))) == H
        assert (
            verdict(obj(ESO, kind, {}, conds(cond("Ready", "False", "InvalidProviderConfig")))) == D
        )


FLUX = {
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2",
    "GitRepository": "source.toolkit.fluxcd.io/v1",
    "OCIRepository": "source.toolkit.fluxcd.io/v1beta2",
    "HelmRepository": "source.toolkit.fluxcd.io/v1",
}


@pytest.mark.parametrize("kind", sorted(FLUX))
def test_flux(kind: str) -> None:
    api = FLUX[kind]

    def flux(spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        return obj(api, kind, spec, {"observedGeneration": 2, **status}, generation=2)

    ready = conds(cond("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:1"))
    assert health.of(flux({}, ready)) == (
        H,
        "ReconciliationSucceeded: Applied revision: main@sha1:1",
    )
    failing = conds(cond("Ready", "False", "BuildFailed", "kustomize build failed"))
    assert verdict(flux({}, failing)) == D
    busy = conds(
        cond("Reconciling", "True", "Progressing", "reconciliation in progress"),
        cond("Ready", "Unknown", "Progressing"),
    )
    assert verdict(flux({}, busy)) == P
    stalled = conds(cond("Stalled", "True", "InvalidURL"), cond("Ready", "False", "InvalidURL"))
    assert verdict(flux({}, stalled)) == D
    assert verdict(flux({"suspend": True}, failing)) == S
    lag = obj(api, kind, {}, {"observedGeneration": 1, **ready}, generation=2)
    assert verdict(lag) == P


def test_flux_oci_helm_repository_has_no_conditions() -> None:
    repo = obj(FLUX["HelmRepository"], "HelmRepository", {"type": "oci"}, {})
    assert verdict(repo) == H
    assert verdict(obj(FLUX["HelmRepository"], "HelmRepository", {}, {})) == P


KEDA = "keda.sh/v1alpha1"


@pytest.mark.parametrize("kind", ["ScaledObject", "ScaledJob"])
def test_keda(kind: str) -> None:
    ready = conds(cond("Ready", "True", "ScaledObjectReady", "ready"), cond("Active", "True"))
    assert health.of(obj(KEDA, kind, {}, ready)) == (H, "ready")
    broken = conds(cond("Ready", "False", "ScaledObjectCheckFailed", "target not found"))
    assert health.of(obj(KEDA, kind, {}, broken)) == (D, "target not found")
    paused = conds(cond("Ready", "True"), cond("Paused", "True", "ScaledObjectPaused"))
    assert verdict(obj(KEDA, kind, {}, paused)) == S
    ann = {"autoscaling.keda.sh/paused-replicas": "0"}
    assert verdict(obj(KEDA, kind, {}, ready, annotations=ann)) == S
    assert verdict(obj(KEDA, kind, {}, {})) == P


def test_keda_fallback_is_degraded() -> None:
    fb = conds(cond("Ready", "True"), cond("Fallback", "True", "FallbackExists", "scaler failing"))
    assert health.of(obj(KEDA, "ScaledObject", {}, fb)) == (D, "scaler failing")


GW = "gateway.networking.k8s.io/v1"


def test_gateway() -> None:
    def gw(status: dict[str, Any]) -> dict[str, Any]:
        return obj(GW, "Gateway", {"gatewayClassName": "x"}, status, generation=1)

    good = [
        cond("Accepted", "True", "Accepted", observedGeneration=1),
        cond("Programmed", "True", "Programmed", observedGeneration=1),
    ]
    listener = {
        "name": "http",
        "conditions": [cond("Accepted", "True"), cond("ResolvedRefs", "True")],
    }
    assert verdict(gw({"conditions": good, "listeners": [listener]})) == H
    pending = [cond("Accepted", "Unknown", "Pending", "Waiting for controller")]
    assert verdict(gw({"conditions": pending})) == P  # the API server's default status
    assert verdict(gw({})) == P
    refused = [cond("Accepted", "False", "InvalidParameters", "bad class params")]
    assert verdict(gw({"conditions": refused})) == D
    no_addr = [good[0], cond("Programmed", "False", "AddressNotAssigned", "no address")]
    assert verdict(gw({"conditions": no_addr})) == D
    stale = [cond("Accepted", "True", observedGeneration=0)]
    assert verdict(gw({"conditions": stale})) == P
    bad_listener = {
        "name": "https",
        "conditions": [cond("ResolvedRefs", "False", "InvalidCertificateRef", "no secret")],
    }
    found = health.of(gw({"conditions": good, "listeners": [bad_listener]}))
    assert found is not None and found[0] == D and "listener https" in found[1]


def test_httproute() -> None:
    def route(parents: list[dict[str, Any]]) -> dict[str, Any]:
        return obj(GW, "HTTPRoute", {}, {"parents": parents}, generation=2)

    def parent(*c: dict[str, Any]) -> dict[str, Any]:
        return {
            "parentRef": {"name": "gw"},
            "controllerName": "example.com/gw",
            "conditions": list(c),
        }

    ok = parent(
        cond("Accepted", "True", observedGeneration=2),
        cond("ResolvedRefs", "True", observedGeneration=2),
    )
    assert verdict(route([ok])) == H
    assert verdict(route([])) == P
    refs = parent(
        cond("Accepted", "True", observedGeneration=2),
        cond("ResolvedRefs", "False", "BackendNotFound", "no svc", observedGeneration=2),
    )
    found = health.of(route([refs]))
    assert found is not None and found[0] == D and "parent gw" in found[1]
    old = parent(cond("Accepted", "True", observedGeneration=1))
    assert verdict(route([old])) == P
    assert (
        verdict(
            obj(
                "gateway.networking.k8s.io/v1alpha2",
                "TCPRoute",
                {},
                {"parents": [ok]},
                generation=2,
            )
        )
        == H
    )


def test_crossplane_managed_resources() -> None:
    api = "s3.aws.upbound.io/v1beta1"
    spec = {"forProvider": {"region": "eu-west-1"}, "providerConfigRef": {"name": "default"}}
    ready = conds(cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "True", "Available"))
    assert verdict(obj(api, "Bucket", spec, ready)) == H
    creating = conds(cond("Synced", "True"), cond("Ready", "False", "Creating"))
    assert verdict(obj(api, "Bucket", spec, creating)) == P
    failed = conds(
        cond("Synced", "False", "ReconcileError", "access denied"),
        cond("Ready", "False", "Creating"),
    )
    assert health.of(obj(api, "Bucket", spec, failed)) == (D, "access denied")
    assert verdict(obj(api, "Bucket", spec, {})) == P
    assert verdict(obj("aws.upbound.io/v1beta1", "ProviderConfig", {}, {})) == H
    assert verdict(obj("apiextensions.crossplane.io/v1", "Composition", {}, {})) == H
    # a managed resource of a provider outside crossplane.io/upbound.io, found by its shape
    other = obj("storage.azure.example.org/v1", "Account", spec, failed)
    assert verdict(other) == D


def test_crossplane_packages() -> None:
    api = "pkg.crossplane.io/v1"
    good = conds(cond("Installed", "True"), cond("Healthy", "True"))
    assert verdict(obj(api, "Provider", {}, good)) == H
    sick = conds(
        cond("Installed", "True"), cond("Healthy", "False", "UnhealthyPackageRevision", "crash")
    )
    assert verdict(obj(api, "Provider", {}, sick)) == D
    assert (
        verdict(obj(api, "Configuration", {}, conds(cond("Installed", "False", "Unpacking")))) == P
    )


def test_generic_standard_conditions() -> None:
    api = "example.com/v1"
    assert verdict(obj(api, "Widget", {}, conds(cond("Ready", "True")))) == H
    assert verdict(obj(api, "Widget", {}, conds(cond("Ready", "False", "Provisioning")))) == P
    assert (
        verdict(obj(api, "Widget", {}, conds(cond("Ready", "False", "QuotaExceeded", "no quota"))))
        == D
    )
    assert verdict(obj(api, "Widget", {}, conds(cond("Ready", "Unknown")))) == P
    assert verdict(obj(api, "Widget", {}, conds(cond("Available", "True")))) == H
    stalled = conds(
        cond("Stalled", "True", "Invalid", "spec.size must be positive"), cond("Ready", "False")
    )
    assert health.of(obj(api, "Widget", {}, stalled)) == (D, "Invalid: spec.size must be positive")
    busy = conds(cond("Reconciling", "True", "Scaling"), cond("Ready", "True"))
    assert verdict(obj(api, "Widget", {}, busy)) == P
    current = conds(cond("Reconciling", "False"), cond("Stalled", "False"))
    assert verdict(obj(api, "Widget", {}, current)) == H
    lag = obj(
        api, "Widget", {}, {"observedGeneration": 1, **conds(cond("Ready", "True"))}, generation=2
    )
    assert verdict(lag) == P
    assert health.of(obj(api, "Widget", {}, conds(cond("Synced", "True")))) is None
    assert health.of(obj(api, "Widget", {}, {})) is None


def test_registration_by_group_and_kind() -> None:
    knative = obj("serving.knative.dev/v1", "Service", {}, {})
    core_lb = obj("v1", "Service", {"type": "LoadBalancer"}, {})
    try:
        health.register("serving.knative.dev", "Service", lambda o: ("Degraded", "knative"))
        assert health.of(knative) == (D, "knative")
        assert verdict(core_lb) == P  # the core Service keeps its own check
        health.register("*", "Service", lambda o: ("Suspended", "any"))
        assert health.of(knative) == (D, "knative")  # an exact group beats `*`
        assert health.of(core_lb) == (S, "any")  # a registered `*` beats the built-in one
        health.register("Widget", lambda o: ("Healthy", "legacy"))  # the old (kind, check) form
        assert health.of(obj("a.example.com/v1", "Widget")) == (H, "legacy")
        with pytest.raises(TypeError):
            health.register("Service")
    finally:
        health.unregister("serving.knative.dev", "Service")
        health.unregister("*", "Service")
        health.unregister("*", "Widget")
    assert health.of(knative) is None
    assert verdict(core_lb) == P


def test_a_raising_check_is_unknown() -> None:
    def broken(o: dict[str, Any]) -> Any:
        raise KeyError("spec")

    try:
        health.register("example.com", "Thing", broken)
        assert health.of(obj("example.com/v1", "Thing")) == (U, "cannot assess health: 'spec'")
    finally:
        health.unregister("example.com", "Thing")
