"""argocd-update: point Argo CD Applications at the promoted revision, sync, wait for Healthy.

As Kargo does, an Application may be changed by a promotion only when its
annotation ``kargo.akuity.io/authorized-stage`` names ``<project>:<stage>`` (one, or a
comma-separated list as Kargo reads it)
(else the step fails naming the annotation). Per source (matched by
``repoURL`` and, for a Helm chart repository, ``chart``: both must be the
source's, as Kargo matches them): ``updateTargetRevision`` writes
``desiredRevision`` into ``targetRevision`` (apply refuses it without one);
``kustomize.images`` and ``helm.images`` set the source's ``kustomize.images``
and ``helm.parameters``. As in Kargo since v1.1, only ``desiredRevision``
names a revision: without it the app is synced at its own ``targetRevision``
(no Freight commit is assumed; a rendered branch is not the Freight's).
The app is then synced through shipway's reconciler at that revision, once
(remembered in the step state, so a resumed promotion does not sync twice),
and the step is Running until the app is Synced at it and Healthy, as Kargo
waits. A failed sync is a retryable error. What the stage's health is judged
by afterwards (Kargo's ``healthCheck``: each app and the revision it was synced
to) stays in the step state as ``healthCheck``. An app given by ``selector``
(``matchLabels``, ``matchExpressions``) stands for every Application of its
namespace whose labels match (none matching fails the step); the output
``apps`` lists each Application updated (``name``, ``namespace``).
"""

from __future__ import annotations

import copy
from typing import Any

from shipway.model import kargo_step_configs as c
from shipway.model.errors import NotFoundError, ShipwayError
from shipway.model.kargo_stage import authorizes
from shipway.model.namespaces import instance
from shipway.promote.freight import normalize_git_url
from shipway.promote.steps.base import StepEnv, StepError, StepFailed, StepResult

AUTHORIZED = "kargo.akuity.io/authorized-stage"


def _authorize(body: dict[str, Any], env: StepEnv, where: str) -> None:
    want = f"{env.project}:{env.stage}"
    notes = (body.get("metadata") or {}).get("annotations") or {}
    if not authorizes(notes, env.project, env.stage):
        have = notes.get(AUTHORIZED)
        said = f"it says {have!r}" if have else "it has none"
        raise StepFailed(
            f"Argo CD Application {where} does not permit mutation by Kargo Stage {want}: "
            f"annotation {AUTHORIZED} must name {want!r} ({said})"
        )


def _sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(spec.get("sources"), list):
        return [s for s in spec["sources"] if isinstance(s, dict)]
    return [spec["source"]] if isinstance(spec.get("source"), dict) else []


def _same_source(src: dict[str, Any], upd: c.ArgoSource) -> bool:
    """Kargo's match: the source's ``repoURL`` (in one spelling) and its ``chart``."""
    return normalize_git_url(str(src.get("repoURL", ""))) == normalize_git_url(
        upd.repo_url
    ) and str(src.get("chart") or "") == (upd.chart or "")


def _set_image(images: list[str], repo: str, value: str) -> list[str]:
    def name_of(spec: str) -> str:
        head = spec.split("=", 1)[0]
        return head.split("@", 1)[0].rsplit(":", 1)[0] if "/" in head or ":" in head else head

    out = [i for i in images if name_of(i) != repo]
    return [*out, value]


def _update_source(src: dict[str, Any], upd: c.ArgoSource, desired: str | None) -> None:
    if upd.update_target_revision and desired:
        src["targetRevision"] = desired
    if upd.kustomize is not None:
        kz = src.setdefault("kustomize", {})
        images = [str(i) for i in kz.get("images") or []]
        for img in upd.kustomize.images:
            ref = img.new_name or img.repo_url
            value = f"{ref}@{img.digest}" if img.digest else f"{ref}:{img.tag}"
            if img.new_name:
                value = f"{img.repo_url}={value}"
            images = _set_image(images, img.repo_url, value)
        kz["images"] = images
    if upd.helm is not None:
        params = list((src.setdefault("helm", {})).get("parameters") or [])
        for h in upd.helm.images:
            params = [p for p in params if p.get("name") != h.key] + [
                {"name": h.key, "value": h.value}
            ]
        src["helm"]["parameters"] = params


def _prepare(env: StepEnv, app: c.ArgoApp) -> tuple[str, str | None]:
    """Authorize and update one Application; return its engine key and desired revision."""
    from shipway.store import resources as store_resources

    name = str(app.name)
    where = f"{app.namespace}/{name}"
    try:
        res = store_resources.get(env.store, "Application", name, app.namespace)
    except NotFoundError:
        raise StepFailed(f"Argo CD Application {where} not found") from None
    _authorize(res.body, env, where)
    body = copy.deepcopy(res.body)
    spec = body.setdefault("spec", {})
    have = _sources(spec)
    desired: str | None = None
    for upd in app.sources:
        src = next((s for s in have if _same_source(s, upd)), None)
        if src is None:
            chart = f" (chart {upd.chart})" if upd.chart else ""
            raise StepFailed(f"Argo CD Application {where} has no source {upd.repo_url}{chart}")
        desired = desired or upd.desired_revision
        _update_source(src, upd, upd.desired_revision)
    if body != res.body:
        res.body = body
        store_resources.apply(env.store, [res])
    return instance(app.namespace, name), desired


def _expand(env: StepEnv, apps: list[c.ArgoApp]) -> list[c.ArgoApp]:
    """Each app by name, a selector replaced by the Applications it matches (by name)."""
    from shipway.store import resources as store_resources

    out: list[c.ArgoApp] = []
    for app in apps:
        if app.selector is None:
            out.append(app)
            continue
        found = sorted(
            r.name for r in store_resources.list_kind(env.store, "Application", app.namespace)
            if app.selector.matches(dict((r.body.get("metadata") or {}).get("labels") or {}))
        )  # fmt: skip
        if not found:
            raise StepFailed(f"no Argo CD Application in namespace {app.namespace} matches "
                             "the selector")  # fmt: skip
        out += [app.model_copy(update={"name": n, "selector": None}) for n in found]
    return out


def argocd_update(env: StepEnv, cfg: c.ArgoCDUpdate) -> StepResult:
    from shipway.deploy import engine, health

    if env.store is None:
        raise StepFailed("argocd-update needs the resource store")
    synced: dict[str, str] = env.state.setdefault("synced", {})
    waiting = []
    apps = _expand(env, cfg.apps)
    for app in apps:
        key, desired = _prepare(env, app)
        try:
            if key not in synced:
                res = engine.reconcile(env.store, key, revision=desired, settings=env.settings)
                if not res.ok:
                    raise StepError(f"sync of Application {key} failed: {res.message}")
                synced[key] = res.revision
                fresh = res.health  # what the sync saw right after applying
                checks = env.state.setdefault("healthCheck", {}).setdefault("apps", [])
                checks[:] = [a for a in checks if (a["namespace"], a["name"]) !=
                             (app.namespace, app.name)] + [
                    {"name": app.name, "namespace": app.namespace,
                     "desiredRevisions": [res.revision]}]  # fmt: skip
            else:
                fresh = ""
            state = (fresh if fresh == health.HEALTHY else
                     engine.wait_healthy(env.store, key, 0, settings=env.settings))  # fmt: skip
        except ShipwayError as exc:
            raise StepError(f"Application {key}: {exc}") from None
        if state != health.HEALTHY:
            waiting.append(f"{key} is {state} at {synced[key][:12]}")
    if waiting:
        return StepResult("Running", message="waiting for " + ", ".join(waiting))
    return StepResult(output={"apps": [{"name": a.name, "namespace": a.namespace} for a in apps]})


RUNNERS: dict[str, Any] = {"argocd-update": argocd_update}
