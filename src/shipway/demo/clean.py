"""``shipway demo --clean``: remove what the demo made — processes, pods, images, state.

Stops the supervised services, removes every pod and container this home's
podman started (its own store: nothing of another home or of the host's
default podman is listed), resets that store when its tmp dir is its own,
and deletes the demo's resources (the Kargo project ``hello`` with all it
holds, the ApplicationSet and its Applications), releases and directories (the podman
storage under the state directory holds its images; the run root below
``/run/shipway`` its runtime state). State that is not the demo's (other
resources in the store) is kept.
"""

from __future__ import annotations

import shutil

from shipway.demo import sample, stack, stages
from shipway.deploy import engine as deploy_engine
from shipway.runtime import podman_env
from shipway.settings import Settings
from shipway.store import resources as resource_store
from shipway.store.db import Store, open_store

_DEMO_KEYS = {
    ("Pipeline", sample.APP),
    ("Application", sample.APP_NAME),
    ("ApplicationSet", stages.PROJECT),
    ("Project", stages.PROJECT),
    *(("Application", stages.app_name(s)) for s in stages.STAGES),
}
_KINDS = ("Pipeline", "Application", "ApplicationSet", "Project", "Cluster", "ImagePolicy",
          "ImageRepository")  # fmt: skip


def _remove_pods(settings: Settings) -> list[str]:
    """Remove every pod and container of this home's podman, then its store and run root."""
    base = settings.home / "podman"
    if not base.exists() or shutil.which("podman") is None:
        return []
    private = podman_env.private_tmp(base)  # read before local_target writes the marker
    target = deploy_engine.local_target(settings)
    removed = [f"removed pod or container {ident[:12]}" for ident in target.reset()]
    if private:  # a reset also removes the tmp dir: only when it is this home's own
        target.podman("system", "reset", "-f", check=False)
    shutil.rmtree(podman_env.short_runroot(base), ignore_errors=True)
    return removed


def _remove_project(store: Store) -> list[str]:
    """Everything in the demo's Kargo project (Stages, Freight, Promotions, AnalysisRuns…)."""
    held = resource_store.in_namespace(store, stages.PROJECT)
    for res in held:
        resource_store.delete(store, res.kind, res.name, res.namespace)
    return [f"deleted {len(held)} object(s) of Kargo project {stages.PROJECT}"] if held else []


def clean(settings: Settings) -> list[str]:
    """Remove the demo's processes, workloads and state; return what was removed."""
    done = [f"stopped {name}" for name in stack.down(settings)]
    done += _remove_pods(settings)
    others = False
    if settings.home.exists():
        store = open_store(settings)
        done += _remove_project(store)
        for kind in _KINDS:
            for res in resource_store.list_kind(store, kind):
                if (res.kind, res.name) in _DEMO_KEYS:
                    resource_store.delete(store, res.kind, res.name, res.namespace)
                    done.append(f"deleted {res.kind}/{res.name}")
                else:
                    others = True
        store.close()
    for sub in ("demo", "podman", "work", "run", "logs", "promotions"):
        path = settings.home / sub
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path}")
    if not others and settings.home.exists() and not settings.database_url:
        shutil.rmtree(settings.home, ignore_errors=True)
        done.append(f"removed {settings.home}")
    return done
