"""The ``job`` provider: a Kubernetes Job run on the stage's destination, its end the result.

The Job (the metric's ``metadata`` and ``spec``) is applied to the target of
the first of the stage's Applications (a Kubernetes cluster, or the podman
host, which runs a Job as one pod to completion), under a tracking name of
its own (the instance label ``analysis-<project>-<hash of the run>``, so no
Application prunes it). ``start`` applies
it and returns running with the Job's name; each ``resume`` reads its live
status: a ``Complete`` condition is Successful, ``Failed`` is Failed, as
Argo Rollouts reads a Job; the Job is deleted once it ended. A Job that
cannot be applied is an Error. Touches the target through ``shipway.cluster``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import re
from typing import Any

from shipway import cluster
from shipway.deploy import compare as cmp
from shipway.deploy.render import key_of
from shipway.model.errors import ShipwayError
from shipway.model.rollouts import Metric
from shipway.promote.providers import Context, Outcome


def _dns(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].rstrip("-")


def _target(ctx: Context) -> tuple[cluster.Target, str]:
    if not ctx.destinations:
        raise ShipwayError(f"stage {ctx.stage} has no Application (annotation "
                           "kargo.akuity.io/authorized-stage) whose destination could run "
                           "the Job", subject=f"Stage/{ctx.project}/{ctx.stage}")  # fmt: skip
    dest = ctx.destinations[0]
    clusters = {}
    if ctx.store is not None:
        clusters = cmp.Loaded.load(ctx.store).clusters
    target = cluster.connect(ctx.settings, dest, clusters,
                             podman_env=lambda: cmp.local_env(ctx.settings))  # fmt: skip
    return target, str(dest.get("namespace") or "default")


def _app(ctx: Context) -> str:
    """The tracking name of the run's Jobs (a label value: at most 63 characters)."""
    digest = hashlib.sha1(f"{ctx.project}/{ctx.run}".encode()).hexdigest()[:12]
    return f"analysis-{_dns(ctx.project)[:30]}-{digest}"


def job_object(metric: Metric, ctx: Context, namespace: str, attempt: str) -> dict[str, Any]:
    job = metric.provider.job
    assert job is not None
    meta = copy.deepcopy(job.metadata)
    meta["name"] = _dns(f"{_dns(metric.name)[:40]}-{attempt}")
    meta.setdefault("namespace", namespace)
    labels = meta.setdefault("labels", {})
    labels[cluster.INSTANCE_LABEL] = _app(ctx)
    labels["analysisrun.argoproj.io/metric-name"] = _dns(metric.name)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": copy.deepcopy(job.spec)}  # fmt: skip


class JobProvider:
    def start(self, metric: Metric, ctx: Context) -> Outcome:
        import time

        try:
            target, namespace = _target(ctx)
            obj = job_object(metric, ctx, namespace, str(int(time.time() * 1000) % 10**8))
            results = target.apply(_app(ctx), [obj])
        except ShipwayError as exc:
            return Outcome.error(f"job: {exc}")
        bad = [r for r in results if r.status != "Synced"]
        if bad:
            return Outcome.error(f"job {obj['metadata']['name']}: {bad[0].message}")
        return Outcome(running=True, message="job started",
                       metadata={"job": key_of(obj), "name": obj["metadata"]["name"]})  # fmt: skip

    def resume(self, metric: Metric, metadata: dict[str, str], ctx: Context) -> Outcome:
        try:
            target, _ns = _target(ctx)
            live = target.live(_app(ctx))
        except ShipwayError as exc:
            return Outcome.error(f"job: {exc}")
        obj = live.get(metadata.get("job", ""))
        if obj is None:
            return Outcome.error(f"job {metadata.get('name')} is gone from the target")
        conds = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []
                 if c.get("status") == "True"}  # fmt: skip
        if "Complete" not in conds and "Failed" not in conds:
            return Outcome(running=True, message="job running", metadata=metadata)
        with contextlib.suppress(ShipwayError):
            target.delete(_app(ctx), [obj])
        if "Failed" in conds:
            return Outcome(phase="Failed", message=str(conds["Failed"].get("message", "")),
                           metadata=metadata)  # fmt: skip
        return Outcome(phase="Successful", metadata=metadata)
