"""Phases, waves and hooks run by the engine on an in-process target that records every
call: hooks interleave with waves, run once per sync (also across a restart), health is
waited for between waves, and the dry run lists every task with its phase and wave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from deploy_helpers import application, commit, write

from shipway import cluster
from shipway.cli.main import cli
from shipway.cluster import Result
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine
from shipway.store import resources as store_resources
from shipway.store import runs

pytestmark = pytest.mark.integration

Obj = dict[str, Any]


class Killed(BaseException):
    """Stands for the controller process dying."""


class Recording(MemoryTarget):
    """Records applies and deletes; hook Pods and Jobs finish as ``outcome`` says, a
    Deployment named in ``degraded`` exceeds its progress deadline, one in ``stuck`` never
    becomes available."""

    def __init__(self) -> None:
        super().__init__("recording")
        self.calls: list[tuple[str, str]] = []
        self.outcome: dict[str, str] = {}
        self.degraded: set[str] = set()
        self.stuck: set[str] = set()
        self.die_after: str | None = None

    def apply(self, app: str, objects: list[Obj], *, options: frozenset[str] = frozenset()):
        out = super().apply(app, objects, options=options)
        for obj, res in zip(objects, out, strict=True):
            self.calls.append(("apply", obj["metadata"]["name"]))
            self._shape(self.objects[app][res.key])
        if self.die_after in [o["metadata"]["name"] for o in objects]:
            raise Killed
        return out

    def delete(self, app: str, objects: list[Obj]) -> list[Result]:
        self.calls.extend(("delete", o["metadata"]["name"]) for o in objects)
        return super().delete(app, objects)

    def applied(self) -> list[str]:
        return [name for verb, name in self.calls if verb == "apply"]

    def _shape(self, live: Obj) -> None:
        name, kind = live["metadata"]["name"], live["kind"]
        if kind in ("Pod", "Job"):
            phase = self.outcome.get(name.split("-")[0], "Succeeded")
            if kind == "Pod":
                live["status"] = {"phase": phase}
            elif phase != "Running":
                ctype = "Complete" if phase == "Succeeded" else "Failed"
                live["status"] = {"conditions": [{"type": ctype, "status": "True"}]}
        elif name in self.degraded:
            live["status"] = {
                "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]
            }
        elif name in self.stuck:
            live["status"] = {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}


@pytest.fixture
def target() -> Iterator[Recording]:
    t = Recording()
    cluster.register("recording", t)
    yield t
    cluster.register("recording", None)


def _meta(name: str, wave: int | None = None, hook: str | None = None, **ann: str) -> Obj:
    annotations = dict(ann)
    if wave is not None:
        annotations["argocd.argoproj.io/sync-wave"] = str(wave)
    if hook is not None:
        annotations["argocd.argoproj.io/hook"] = hook
    return {"name": name, "annotations": annotations}


def _cm(name: str, wave: int | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, wave), "data": {}}


def _deploy(name: str, wave: int | None = None) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, wave),
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}},
    }


def _pod(name: str, hook: str, wave: int | None = None, **ann: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, wave, hook, **ann),
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
    }


def _helm_job(name: str, hook: str, **ann: str) -> Obj:
    meta = _meta(name, **{"helm.sh/hook": hook, **ann})
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {}}


def _app(url: str, name: str, path: str) -> Any:
    app = application(url, name, path)
    app.body["spec"]["destination"] = {"name": "recording", "namespace": "default"}
    return app


def _setup(deploy_env, config_repo, name: str, docs: list[Obj]) -> str:
    url, work = config_repo
    write(work.path, f"apps/{name}/all.yaml", docs)
    sha = commit(work, name)
    store_resources.apply(deploy_env.store, [_app(url, name, f"apps/{name}")])
    return sha


def _interleaved() -> list[Obj]:
    mid = _pod("", "Sync", wave=1)
    del mid["metadata"]["name"]
    mid["metadata"]["generateName"] = "mid-"
    return [
        _cm("c2", wave=2),
        _pod("post", "PostSync"),
        _deploy("d1", wave=1),
        mid,
        _cm("c0"),
        _pod("pre", "PreSync"),
        _pod("page", "SyncFail"),
        _helm_job("helmpre", "pre-install", **{"helm.sh/hook-weight": "-1"}),
        _helm_job("helmtest", "test"),
    ]


def test_hooks_interleave_with_waves_once_each(deploy_env, config_repo, target) -> None:
    sha = _setup(deploy_env, config_repo, "inter", _interleaved())

    res = engine.reconcile(deploy_env.store, "inter", settings=deploy_env.settings)

    assert res.phase == "Succeeded", res.message
    [mid] = [n for n in target.applied() if n.startswith("mid-")]
    assert mid.startswith(f"mid-{sha[:7]}-sync-") and mid.rsplit("-", 1)[1].isdigit()
    # PreSync (helm weight -1 first) → wave 0 → wave 1 (the Pod hook before the
    # Deployment: kind order) → wave 2 → PostSync; SyncFail and the Helm test hook never
    assert target.applied() == ["helmpre", "pre", "c0", mid, "d1", "c2", "post"]
    rows = [(r.sync_phase, r.sync_wave, r.hook_type, r.hook_phase, r.key) for r in res.resources]
    assert rows == [
        ("PreSync", -1, "PreSync", "Succeeded", "batch/Job/default/helmpre"),
        ("PreSync", 0, "PreSync", "Succeeded", "/Pod/default/pre"),
        ("Sync", 0, "", "Succeeded", "/ConfigMap/default/c0"),
        ("Sync", 1, "Sync", "Succeeded", f"/Pod/default/{mid}"),
        ("Sync", 1, "", "Succeeded", "apps/Deployment/default/d1"),
        ("Sync", 2, "", "Succeeded", "/ConfigMap/default/c2"),
        ("PostSync", 0, "PostSync", "Succeeded", "/Pod/default/post"),
    ]
    status = store_resources.get(deploy_env.store, "Application", "inter").status
    stored = status["operationState"]["syncResult"]["resources"]
    assert [(r["name"], r.get("hookType"), r["hookPhase"], r["syncWave"]) for r in stored] == [
        ("helmpre", "PreSync", "Succeeded", -1),
        ("pre", "PreSync", "Succeeded", 0),
        ("c0", None, "Succeeded", 0),
        (mid, "Sync", "Succeeded", 1),
        ("d1", None, "Succeeded", 1),
        ("c2", None, "Succeeded", 2),
        ("post", "PostSync", "Succeeded", 0),
    ]
    assert {r["name"] for r in status["resources"]} == {"c0", "d1", "c2"}
    assert status["sync"]["status"] == "Synced"

    target.calls.clear()
    again = engine.reconcile(deploy_env.store, "inter", settings=deploy_env.settings)
    assert again.phase == "Succeeded", again.message
    hooks = [n for n in target.applied() if n in ("helmpre", "pre", "post") or n[:4] == "mid-"]
    assert sorted(n if n[:4] != "mid-" else "mid" for n in hooks) == [
        "helmpre",
        "mid",
        "post",
        "pre",
    ]  # each hook once more: once per sync
    # BeforeHookCreation (the default): the previous run is deleted before it runs again
    assert target.calls.index(("delete", "pre")) < target.calls.index(("apply", "pre"))


def test_a_degraded_wave_stops_the_sync_and_runs_sync_fail(deploy_env, config_repo, target) -> None:
    docs = [_deploy("d0"), _cm("c1", wave=1), _pod("page", "SyncFail"), _pod("post", "PostSync")]
    _setup(deploy_env, config_repo, "degr", docs)
    target.degraded.add("d0")

    res = engine.reconcile(deploy_env.store, "degr", settings=deploy_env.settings)

    assert res.phase == "Failed"
    assert target.applied() == ["d0", "page"]  # wave 1 and PostSync never ran
    by_name = {r.key.rsplit("/", 1)[1]: r for r in res.resources}
    assert by_name["d0"].status == "Synced" and by_name["d0"].hook_phase == "Failed"
    assert "progress deadline" in by_name["d0"].message
    assert (by_name["page"].sync_phase, by_name["page"].hook_phase) == ("SyncFail", "Succeeded")
    assert "completed unsuccessfully" in res.message and "d0" in res.message


def test_a_failed_hook_fails_the_sync_and_follows_its_delete_policy(
    deploy_env, config_repo, target
) -> None:
    docs = [
        _pod("migrate", "PreSync", **{"argocd.argoproj.io/hook-delete-policy": "HookFailed"}),
        _pod("keep", "PreSync", wave=1),
        _cm("c"),
    ]
    _setup(deploy_env, config_repo, "hookfail", docs)
    target.outcome["migrate"] = "Failed"

    res = engine.reconcile(deploy_env.store, "hookfail", settings=deploy_env.settings)

    assert res.phase == "Failed"
    assert target.calls == [("apply", "migrate"), ("delete", "migrate")]  # HookFailed
    [hook] = res.resources
    assert (hook.hook_type, hook.hook_phase) == ("PreSync", "Failed")


def test_the_last_plain_wave_is_not_waited_for(deploy_env, config_repo, target, monkeypatch):
    monkeypatch.setenv("SHIPWAY_HOOK_TIMEOUT", "1")
    _setup(deploy_env, config_repo, "single", [_cm("c"), _deploy("d")])
    target.stuck.add("d")
    res = engine.reconcile(deploy_env.store, "single", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message  # an apply succeeds once applied, as Argo CD
    assert [r.hook_phase for r in res.resources] == ["Running", "Running"]

    _setup(deploy_env, config_repo, "waved", [_deploy("d"), _cm("later", wave=1)])
    res = engine.reconcile(deploy_env.store, "waved", settings=deploy_env.settings)
    assert res.phase == "Failed"
    assert target.applied()[-1] == "d"  # the next wave waits for health, then gives up
    assert "did not become healthy within 1s" in res.resources[0].message


def test_a_restart_waits_for_the_hook_it_created(deploy_env, config_repo, target) -> None:
    _setup(deploy_env, config_repo, "restart", [_pod("migrate", "PreSync"), _cm("c")])
    target.die_after = "migrate"
    target.outcome["migrate"] = "Running"
    with pytest.raises(Killed):
        engine.reconcile(deploy_env.store, "restart", settings=deploy_env.settings)
    phase, state = runs.get_state(deploy_env.store, engine.ENGINE, "restart") or ("", {})
    assert phase == "Running"
    assert [(r["key"], r["hook_phase"]) for r in state["results"]] == [
        ("/Pod/default/migrate", "Running")
    ]

    target.die_after = None
    target.objects["restart"]["/Pod/default/migrate"]["status"] = {"phase": "Succeeded"}
    [res] = engine.resume_interrupted(deploy_env.store, settings=deploy_env.settings)

    assert res.phase == "Succeeded", res.message
    assert target.applied() == ["migrate", "c"]  # the hook was not created a second time
    assert [(r.key, r.hook_phase) for r in res.resources] == [
        ("/Pod/default/migrate", "Succeeded"),
        ("/ConfigMap/default/c", "Running"),
    ]


def test_dry_run_lists_hooks_with_phase_and_wave(deploy_env, config_repo, target) -> None:
    _setup(deploy_env, config_repo, "dry", _interleaved())
    runner = CliRunner()

    got = runner.invoke(cli, ["app", "sync", "dry", "--dry-run", "-o", "json"])

    assert got.exit_code == 0, got.output
    data = json.loads(got.stdout)
    rows = [
        (r["syncPhase"], r["syncWave"], r.get("hookType", ""), r["kind"], r["name"][:4])
        for r in data["resources"]
    ]
    assert rows == [
        ("PreSync", -1, "PreSync", "Job", "helm"),
        ("PreSync", 0, "PreSync", "Pod", "pre"),
        ("Sync", 0, "", "ConfigMap", "c0"),
        ("Sync", 1, "Sync", "Pod", "mid-"),
        ("Sync", 1, "", "Deployment", "d1"),
        ("Sync", 2, "", "ConfigMap", "c2"),
        ("PostSync", 0, "PostSync", "Pod", "post"),
        ("SyncFail", 0, "SyncFail", "Pod", "page"),
    ]
    assert all("(dry run)" in r["message"] for r in data["resources"])
    assert target.calls == []  # nothing applied

    human = runner.invoke(cli, ["app", "sync", "dry", "--dry-run"])
    assert human.exit_code == 0, human.output
    lines = [ln.split() for ln in human.stdout.splitlines() if ln.strip()]
    assert lines[0][:4] == ["PHASE", "WAVE", "GROUP", "KIND"]
    pre = next(ln for ln in lines if "helmpre" in ln)
    assert pre[:3] == ["PreSync", "-1", "batch"] and "PreSync" in pre and "(Succeeded)" in pre
    assert any(ln[:2] == ["Sync", "1"] and "(Succeeded)" in ln for ln in lines if "Pod" in ln)
    assert target.calls == []
