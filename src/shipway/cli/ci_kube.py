"""``shipway ci run`` options of the Kubernetes executor, and the settings they make.

``--kubeconfig``/``--kube-context``/``--namespace``, or ``--cluster NAME`` (a
stored ``Cluster`` resource of type kubernetes), ``--kube-pvc`` for the
shared work volume and ``--kube-pod-template`` for a Pod template merged into
the job Pods; read by ``ci.exec.kubernetes`` as ``RunInfo.kube``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from shipway.ci.runner import cluster_kube
from shipway.model.errors import InputError
from shipway.store.db import Store

_OPTIONS = [
    click.option(
        "--kubeconfig",
        help="Kubeconfig file (--executor kubernetes; default $KUBECONFIG or ~/.kube/config).",
    ),
    click.option("--kube-context", help="Kubeconfig context (--executor kubernetes)."),
    click.option("--namespace", help="Namespace of the job Pods (--executor kubernetes)."),
    click.option(
        "--cluster", help="A Cluster resource to run the job Pods on (--executor kubernetes)."
    ),
    click.option(
        "--kube-pvc",
        help="PersistentVolumeClaim shared with the job Pods, mounted "
        "here and there at the runs directory (else hostPath; env "
        "SHIPWAY_CI_KUBE_PVC).",
    ),
    click.option(
        "--kube-pod-template",
        type=click.Path(dir_okay=False),
        help="Pod YAML merged into the job Pods: labels, annotations, nodeSelector, "
        "tolerations, serviceAccountName, securityContext..., a 'job' container's resources, "
        "env, securityContext (env SHIPWAY_CI_KUBE_POD_TEMPLATE).",
    ),
]


def kube_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def kube_settings(store: Store, executor: str, kubeconfig: str | None,
                  kube_context: str | None, namespace: str | None, cluster: str | None,
                  kube_pvc: str | None,
                  kube_pod_template: str | None = None) -> dict[str, Any]:  # fmt: skip
    """``RunInfo.kube`` from the options (``{}`` unless the executor is kubernetes); a pod
    template is checked here, before anything runs."""
    opts = {"kubeconfig": kubeconfig, "kube_context": kube_context, "namespace": namespace,
            "cluster": cluster, "kube_pvc": kube_pvc,
            "kube_pod_template": kube_pod_template}  # fmt: skip
    given = {k: v for k, v in opts.items() if v}
    if executor != "kubernetes":
        if given:
            raise InputError(f"--{next(iter(given)).replace('_', '-')} needs "
                             "--executor kubernetes")  # fmt: skip
        return {}
    kube: dict[str, Any] = {}
    if given.get("cluster"):
        kube.update(cluster_kube(store, given["cluster"]))
    if given.get("kubeconfig"):
        kube["kubeconfig"] = given["kubeconfig"]
    if given.get("kube_context"):
        kube["context"] = given["kube_context"]
    if given.get("namespace"):
        kube["namespace"] = given["namespace"]
    if given.get("kube_pvc"):
        kube["pvc"] = given["kube_pvc"]
    if given.get("kube_pod_template"):
        from shipway.ci.exec.kubernetes import pod_template  # the kubernetes client: only now

        kube["pod_template"] = os.path.abspath(given["kube_pod_template"])
        pod_template(kube)
    return kube
