"""The promotion runner against the real git daemon and an in-process cluster.

Kargo's quickstart promotion end to end; a failure in the middle leaving the
remote as it was; ``if``/``continueOnError``; error retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from promote_helpers import IMAGE, application, freight, quickstart_steps, remote_refs
from promote_helpers import seed_config_repo as seed

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.git.repo import Repo
from shipway.promote import runner
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def env(shipway_home: Path) -> Iterator[tuple[Settings, Store]]:
    settings = Settings()
    store = open_store(settings)
    yield settings, store
    store.close()


@pytest.fixture
def memory(request: pytest.FixtureRequest) -> Iterator[tuple[str, MemoryTarget]]:
    name = "mem-" + request.node.name[:40]
    target = MemoryTarget(name)
    cluster.register(name, target)
    yield name, target
    cluster.register(name, None)


def _run(settings: Settings, store: Store, steps: list[dict[str, Any]], name: str = "p1",
         **kw: Any) -> dict[str, Any]:  # fmt: skip
    key = runner.create(store, project="demo", name=name, stage="test", freight=freight(),
                        steps=steps, **kw)  # fmt: skip
    return runner.run(store, settings, key, poll=0.05)


def _stage(store: Store) -> None:
    from shipway.model.resources import Resource

    body = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": "test", "namespace": "demo"},
            "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"},
                                           "sources": {"direct": True}}]}}  # fmt: skip
    store_resources.apply(store, [Resource("kargo.akuity.io/v1alpha1", "Stage", "test", "demo",
                                           body)])  # fmt: skip


def _cond(store: Store, ctype: str) -> dict[str, Any]:
    st = store_resources.get(store, "Stage", "test", "demo").status
    return next(c for c in st["conditions"] if c["type"] == ctype)


def test_quickstart_promotion(env, git_server, memory, tmp_path: Path) -> None:
    settings, store = env
    url = git_server.bare("cfg-quickstart")
    seed(url, tmp_path / "seed")
    target_name, target = memory
    store_resources.apply(store, [application(url, target_name)])
    _stage(store)

    status = _run(settings, store, quickstart_steps(url))

    assert status["phase"] == "Succeeded", status.get("message")
    metas = status["stepExecutionMetadata"]
    assert [m["alias"] for m in metas] == [
        "step-0", "step-1", "update-image", "step-3", "commit", "push", "step-6"
    ]  # fmt: skip
    assert {m["status"] for m in metas} == {"Succeeded"}
    pushed = status["state"]["push"]
    assert pushed["branch"] == "stage/test"
    assert remote_refs(url)["refs/heads/stage/test"] == pushed["commit"]
    check = Repo.clone(url, tmp_path / "check", branch="stage/test")
    rendered = yaml.safe_load((check.path / "deployment-web.yaml").read_text())
    assert rendered["spec"]["template"]["spec"]["containers"][0]["image"] == f"{IMAGE}:1.2.3"
    assert "Updated ./src/stages/test" in check.run("log", "-1", "--format=%B")
    live = target.live("web-test")
    (dep,) = [o for k, o in live.items() if k.endswith("/Deployment/default/web")]
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == f"{IMAGE}:1.2.3"
    app = store_resources.get(store, "Application", "web-test")
    assert app.status["sync"]["revision"] == pushed["commit"]
    reasons = [e.reason for e in store_events.query(store, kind="Promotion")]
    assert "PromotionStarted" in reasons and "PromotionSucceeded" in reasons
    assert not (settings.home / "promotions" / "demo" / "p1").exists()
    # the stage's health is judged by what argocd-update synced, as Kargo does
    stage = store_resources.get(store, "Stage", "test", "demo").status
    assert stage["freightSummary"] == freight()["metadata"]["name"]
    assert stage["health"]["status"] == "Healthy", stage["health"]
    (check,) = stage["lastPromotion"]["status"]["healthChecks"]
    assert check["config"]["apps"][0]["desiredRevisions"] == [pushed["commit"]]
    assert _cond(store, "Healthy")["status"] == "True"
    ready = _cond(store, "Ready")  # no verification ran yet (the runner alone starts none)
    assert (ready["status"], ready["reason"]) == ("False", "WaitingForVerification")
    from shipway.promote import stage_refresh

    assert stage_refresh.refresh(store) == 0  # nothing changed: nothing written again


def test_failure_in_the_middle_pushes_nothing(env, git_server, memory, tmp_path: Path) -> None:
    settings, store = env
    url = git_server.bare("cfg-midfail")
    seed(url, tmp_path / "seed")
    before = remote_refs(url)
    steps = quickstart_steps(url)
    steps.insert(5, {"uses": "fail", "as": "gate", "config": {"message": "not today"}})

    _stage(store)
    status = _run(settings, store, steps)

    assert status["phase"] == "Failed"
    assert status["message"] == "step gate (fail) failed: not today"
    ready = _cond(store, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "LastPromotionFailed")
    last = store_resources.get(store, "Stage", "test", "demo").status["lastPromotion"]
    assert (last["name"], last["status"]["phase"]) == ("p1", "Failed")
    by_alias = {m["alias"]: m["status"] for m in status["stepExecutionMetadata"]}
    assert by_alias["commit"] == "Succeeded" and by_alias["gate"] == "Failed"
    assert by_alias["push"] == "Skipped" and by_alias["step-7"] == "Skipped"
    assert remote_refs(url) == before
    # a retry is a new promotion, and it goes through once the gate is gone
    target_name, _ = memory
    store_resources.apply(store, [application(url, target_name)])
    again = _run(settings, store, quickstart_steps(url), name="p2")
    assert again["phase"] == "Succeeded"


def test_unauthorized_application_is_refused(env, git_server, memory, tmp_path: Path) -> None:
    settings, store = env
    url = git_server.bare("cfg-unauth")
    seed(url, tmp_path / "seed")
    target_name, target = memory
    store_resources.apply(store, [application(url, target_name, authorized="demo:prod")])
    steps = [{"uses": "argocd-update", "config": {"apps": [{"name": "web-test"}]}}]

    status = _run(settings, store, steps)

    assert status["phase"] == "Failed"
    assert "kargo.akuity.io/authorized-stage must name 'demo:test'" in status["message"]
    assert "it says 'demo:prod'" in status["message"]
    assert target.live("web-test") == {}


def test_if_and_continue_on_error(env) -> None:
    settings, store = env
    steps = [
        {"uses": "fail", "as": "soft", "continueOnError": True, "config": {"message": "meh"}},
        {"uses": "compose-output", "as": "after-soft", "config": {"ran": True}},
        {"uses": "fail", "as": "hard", "config": {"message": "stop"}},
        {"uses": "compose-output", "as": "skipped", "config": {"ran": True}},
        {"uses": "compose-output", "as": "cleanup", "if": "${{ failure() }}",
         "config": {"status": "${{ status() }}"}},
        {"uses": "compose-output", "as": "always", "if": "${{ always() }}", "config": {"x": 1}},
    ]  # fmt: skip
    status = _run(settings, store, steps)
    got = {m["alias"]: m["status"] for m in status["stepExecutionMetadata"]}
    assert got == {"soft": "Failed", "after-soft": "Succeeded", "hard": "Failed",
                   "skipped": "Skipped", "cleanup": "Succeeded", "always": "Succeeded"}  # fmt: skip
    assert status["state"]["cleanup"] == {"status": "Failed"}
    assert status["phase"] == "Failed" and status["message"].startswith("step hard (fail)")


def test_task_steps_inlined_with_vars_and_task_outputs(env) -> None:
    settings, store = env
    task = {
        "vars": [{"name": "greeting", "value": "hello"}, {"name": "who"}],
        "steps": [
            {"uses": "compose-output", "as": "say",
             "config": {"text": "${{ vars.greeting + ' ' + vars.who }}"}},
            {"uses": "compose-output", "as": "echo",
             "config": {"again": "${{ task.outputs.say.text }}", "stage": "${{ ctx.stage }}"}},
        ],
    }  # fmt: skip
    steps = [
        {"as": "greet", "task": {"name": "greeter"},
         "vars": [{"name": "who", "value": "${{ vars.n }}"}]},
        {"uses": "compose-output", "as": "after",
         "config": {"seen": "${{ outputs['greet::echo'].again }}"}},
    ]  # fmt: skip
    status = _run(settings, store, steps, vars=[{"name": "n", "value": "world"}],
                  tasks={("PromotionTask", "greeter"): task})  # fmt: skip
    assert status["phase"] == "Succeeded", status.get("message")
    assert [m["alias"] for m in status["stepExecutionMetadata"]] == [
        "greet::say", "greet::echo", "after"
    ]  # fmt: skip
    assert status["state"]["greet::echo"] == {"again": "hello world", "stage": "test"}
    assert status["state"]["after"] == {"seen": "hello world"}


def test_bad_expression_errors_the_step(env) -> None:
    settings, store = env
    steps = [
        {"uses": "compose-output", "as": "x", "config": {"v": "${{ outputs.nope.field + 1 }}"}}
    ]
    status = _run(settings, store, steps)
    assert status["phase"] == "Errored"
    assert status["message"].startswith("step x (compose-output) errored: config:")


def test_set_metadata_on_stage_and_freight(env) -> None:
    settings, store = env
    from shipway.model.resources import parse_text

    stage = ("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
             "metadata: {name: test, namespace: demo}\nspec:\n  requestedFreight:\n"
             "  - origin: {kind: Warehouse, name: web}\n    sources: {direct: true}\n")  # fmt: skip
    store_resources.apply(store, parse_text(stage, "stage.yaml"))
    steps = [{"uses": "set-metadata", "config": {"updates": [
        {"kind": "Stage", "name": "test", "values": {"deployedBy": "${{ ctx.promotion }}"}}]}},
        {"uses": "set-metadata", "as": "missing", "config": {"updates": [
            {"kind": "Freight", "name": "nope", "values": {"a": 1}}]}}]  # fmt: skip
    status = _run(settings, store, steps)
    assert store_resources.get(store, "Stage", "test", "demo").status["metadata"] == {
        "deployedBy": "p1"
    }
    assert status["phase"] == "Failed"
    assert "Freight 'nope' not found in project demo" in status["message"]


def test_a_promotion_is_a_release_of_its_stage_for_dora(
    env, git_server, memory, tmp_path: Path
) -> None:
    """The promoted stage's Application gets a release record of the Freight: the source
    commit and its time from the first stage's release of the same image, live when the
    promotion succeeded, so DORA's lead time for that stage runs from the commit; a rollback
    promotion marks the failed Freight's release RolledBack."""
    import datetime as dt

    from shipway.controller.tracker import ReleaseTracker
    from shipway.model import dora
    from shipway.store import releases

    settings, store = env
    url = git_server.bare("cfg-dora")
    seed(url, tmp_path / "seed")
    target_name, _ = memory
    store_resources.apply(store, [application(url, target_name)])
    _stage(store)
    tracker = ReleaseTracker(store)  # the first stage, as CI and the updater leave it
    made = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0)
    image = f"{IMAGE}@sha256:{'a' * 64}"
    tracker.ci_started("c" * 40, "git://src/app.git", ["web-dev"])
    tracker.commit_made("c" * 40, made)
    tracker.ci_finished("c" * 40, {"id": "run1", "conclusion": "success"})
    t = dt.datetime.now(dt.UTC)
    tracker.image_updated("web-dev", "c" * 40, image, "cfg1", pushed_at=t, update_started=t,
                          update_finished=t)  # fmt: skip

    status = _run(settings, store, quickstart_steps(url))
    assert status["phase"] == "Succeeded", status.get("message")
    (rel,) = releases.list_releases(store, app="web-test")
    assert rel.status == "Succeeded" and rel.commit == "c" * 40 and rel.commit_time == made
    assert rel.revision == rel.config_commit == status["state"]["push"]["commit"]
    assert rel.freight["name"] == freight()["metadata"]["name"] and rel.image == image
    assert [s.status for s in rel.stages] == ["Skipped", "Skipped", "Succeeded", "Succeeded",
                                              "Succeeded"]  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    d = dora.compute(releases.list_releases(store), since=now - dt.timedelta(days=1),
                     until=now + dt.timedelta(minutes=1), app="web-test")  # fmt: skip
    assert d.deployments == 1 and d.lead_time_median_seconds is not None
    assert d.lead_time_median_seconds >= 2 * 3600  # from the commit, not from the promotion

    # freight 2 goes out, then a rollback promotion brings freight 1 back
    two = freight("1.2.4", name="beadfeed5678")
    key = runner.create(store, project="demo", name="p2", stage="test", freight=two,
                        steps=quickstart_steps(url))  # fmt: skip
    assert runner.run(store, settings, key, poll=0.05)["phase"] == "Succeeded"
    key = runner.create(
        store,
        project="demo",
        name="p3",
        stage="test",
        freight=freight(),
        steps=quickstart_steps(url),
        extra={"rollbackOf": "beadfeed5678"},
    )  # as lifecycle.rollback starts it
    assert runner.run(store, settings, key, poll=0.05)["phase"] == "Succeeded"
    by_freight = {r.freight["name"]: r.status for r in releases.list_releases(store, app="web-test")
                  if r.freight}  # fmt: skip
    assert by_freight["beadfeed5678"] == "RolledBack"
