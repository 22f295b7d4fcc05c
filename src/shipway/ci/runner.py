"""Where a run's jobs execute, from a ``Pipeline``'s ``spec.runner`` or the CLI's options.

``runner_settings`` turns ``{executor, image, platforms, cluster, namespace,
pvc, podTemplate}`` into the ``RunInfo`` fields the executors read (``executor``,
``runner_image``, ``platforms``, ``kube``); ``cluster_kube`` reads a stored
kubernetes ``Cluster`` into the ``kube`` settings. Reads the store; touches
nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway.ci.plan.podtemplate import check_template
from shipway.model.errors import InputError
from shipway.store import resources as stored
from shipway.store.db import Store


def cluster_kube(store: Store, name: str) -> dict[str, Any]:
    """``kubeconfig``/``context``/``server`` of the kubernetes ``Cluster`` named ``name``."""
    spec = stored.get(store, "Cluster", name).body.get("spec") or {}
    if spec.get("type") != "kubernetes":
        raise InputError("not a kubernetes cluster", subject=f"Cluster/{name}")
    return {k: spec[k] for k in ("kubeconfig", "context", "server") if spec.get(k)}


def pull_request_runner(runner: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``spec.runner`` for a pull request's runs: untrusted code runs in podman (on the
    runner image built here) unless the Pipeline names an executor (``executor: host``)."""
    chosen = dict(runner or {})
    if not chosen.get("executor"):
        chosen["executor"] = "podman"
    return chosen


def fork_safe(environments: Mapping[str, Any]) -> dict[str, Any]:
    """The environments of a run for a pull request from a fork: no secrets, as on GitHub."""
    from dataclasses import replace

    return {name: replace(env, secrets={}, secrets_file=None) for name, env in environments.items()}


def runner_settings(store: Store, runner: Mapping[str, Any] | None) -> dict[str, Any]:
    """``RunInfo`` keyword arguments for a ``spec.runner`` (nothing for the host default)."""
    if not runner:
        return {}
    executor = str(runner.get("executor") or "host")
    out: dict[str, Any] = {"executor": executor, "platforms": dict(runner.get("platforms") or {})}
    if runner.get("image"):
        out["runner_image"] = str(runner["image"])
    if executor == "kubernetes":
        kube = cluster_kube(store, str(runner["cluster"])) if runner.get("cluster") else {}
        for key in ("namespace", "pvc"):
            if runner.get(key):
                kube[key] = str(runner[key])
        template = runner.get("podTemplate") or runner.get("pod_template")
        if template:
            check_template(dict(template))
            kube["pod_template"] = dict(template)
        out["kube"] = kube
    return out
