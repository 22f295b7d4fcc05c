"""The demo's test/uat/prod content (shipway.demo.stages) reads as Kargo and Argo CD define it:
shipway's own loaders and apply-time checks take it unchanged, its Stages carry Kargo's
quickstart steps, the ApplicationSet makes one authorized Application per stage, the health
CGI's answer passes (or fails) the AnalysisTemplate, and each overlay builds with its port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "deploy" / "appset"))
from appset_inputs import FakeInputs

from shipway.demo import sample, stages
from shipway.deploy.appset import plan
from shipway.model.kargo import WarehouseSpec
from shipway.model.kargo_project import ProjectConfigSpec
from shipway.model.kargo_stage import StageSpec
from shipway.model.kargo_steps import STEP_NAMES
from shipway.model.resources import Resource, parse_text
from shipway.model.rollouts import AnalysisTemplateSpec, Metric
from shipway.promote import analysis, checks
from shipway.promote.providers import web

CONFIG = "git://127.0.0.1:9418/config.git"
REGISTRY = "127.0.0.1:5000"
PORTS = {"test": 30181, "uat": 30182, "prod": 30183}
QUICKSTART = ["git-clone", "git-clear", "kustomize-set-image", "kustomize-build", "git-commit",
              "git-push", "argocd-update"]  # fmt: skip


def _batch() -> dict[tuple[str, str], Resource]:
    found = parse_text(stages.kargo_yaml(CONFIG, REGISTRY, PORTS), "kargo.yaml")
    return {(r.kind, r.name): r for r in found}


def test_every_object_loads_where_kargo_and_argo_cd_put_it_and_passes_the_checks() -> None:
    batch = _batch()
    where = {key: r.namespace for key, r in batch.items()}
    assert where == {
        ("ApplicationSet", "hello"): "argocd",
        ("Project", "hello"): "",  # cluster-scoped: the Project is the namespace
        ("ProjectConfig", "hello"): "hello",
        ("Warehouse", "hello"): "hello",
        ("AnalysisTemplate", "app-health"): "hello",
        ("Stage", "test"): "hello",
        ("Stage", "uat"): "hello",
        ("Stage", "prod"): "hello",
    }
    assert checks.check(list(batch.values()), []) == []


def test_stages_chain_test_uat_prod_with_kargos_quickstart_steps() -> None:
    batch = _batch()
    specs = {s: StageSpec.model_validate(batch[("Stage", s)].spec) for s in stages.STAGES}
    for name, spec in specs.items():
        (req,) = spec.requested_freight
        assert (req.origin.kind, req.origin.name) == ("Warehouse", "hello")
        body = batch[("Stage", name)].spec
        steps = body["promotionTemplate"]["spec"]["steps"]
        assert [s["uses"] for s in steps] == QUICKSTART
        assert set(QUICKSTART) <= set(STEP_NAMES)
        assert body["promotionTemplate"]["spec"]["vars"] == [{"name": "stage", "value": name}]
        clone = steps[0]["config"]["checkout"]
        assert clone == [{"branch": "main", "path": "./src"},
                         {"branch": "stage/${{ vars.stage }}", "create": True,
                          "path": "./out"}]  # fmt: skip
        (app,) = steps[-1]["config"]["apps"]
        assert app["name"] == "hello-${{ vars.stage }}"
        assert app["sources"] == [{"repoURL": CONFIG,
                                   "desiredRevision": "${{ outputs.push.commit }}"}]  # fmt: skip
        assert body["verification"]["analysisTemplates"] == [{"name": "app-health"}]
        assert body["verification"]["args"] == [
            {"name": "url", "value": f"http://127.0.0.1:{PORTS[name]}/cgi-bin/health"}
        ]
    assert specs["test"].requested_freight[0].sources.direct
    uat, prod = specs["uat"].requested_freight[0], specs["prod"].requested_freight[0]
    assert uat.sources.stages == ["test"] and not uat.sources.direct
    assert prod.sources.stages == ["uat"]
    assert batch[("Stage", "uat")].spec["requestedFreight"][0]["sources"]["requiredSoakTime"] \
        == stages.SOAK  # fmt: skip


def test_auto_promotion_and_rollback_for_test_and_uat_only() -> None:
    batch = _batch()
    config = ProjectConfigSpec.model_validate(batch[("ProjectConfig", "hello")].spec)
    for name in ("test", "uat"):
        policy = config.policy_for(name, {})
        assert policy is not None and policy.auto_promotion_enabled
        assert policy.auto_rollback is not None
        assert policy.auto_rollback.on_verification == ["Failed"]
    assert config.policy_for("prod", {}) is None  # prod: a person promotes
    wh = WarehouseSpec.model_validate(batch[("Warehouse", "hello")].spec)
    (sub,) = wh.subscriptions
    assert sub.image is not None and sub.image.repo_url == f"{REGISTRY}/demo/hello"
    assert sub.image.image_selection_strategy == "NewestBuild"


def test_the_applicationset_makes_one_authorized_application_per_stage_branch() -> None:
    appset = _batch()[("ApplicationSet", "hello")]
    apps = {a["metadata"]["name"]: a for a in plan.desired(appset, FakeInputs())}
    assert sorted(apps) == ["hello-prod", "hello-test", "hello-uat"]
    for s in stages.STAGES:
        app = apps[stages.app_name(s)]
        assert app["metadata"]["annotations"]["kargo.akuity.io/authorized-stage"] == f"hello:{s}"
        assert app["spec"]["source"] == {"repoURL": CONFIG, "targetRevision": f"stage/{s}",
                                         "path": "."}  # fmt: skip
        assert app["spec"]["destination"] == {"name": "local", "namespace": s}
        assert "syncPolicy" not in app["spec"]  # Kargo's argocd-update syncs it


def _health_answer(tmp_path: Path, healthy: bool) -> Any:
    """Run the health CGI with sh as busybox httpd would; the JSON body it prints."""
    (tmp_path / "VERSION").write_text("1.2.3\n")
    script = stages.health_cgi(healthy).replace("/www/VERSION", str(tmp_path / "VERSION"))
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head == b"Content-Type: application/json"
    return body.decode()


def test_the_health_cgi_passes_the_template_and_the_bad_build_fails_it(tmp_path: Path) -> None:
    template = AnalysisTemplateSpec.model_validate(_batch()[("AnalysisTemplate", "app-health")]
                                                   .spec)  # fmt: skip
    (metric,) = template.metrics
    assert isinstance(metric, Metric) and metric.provider.web is not None
    path = metric.provider.web.json_path
    good, bad = _health_answer(tmp_path, True), _health_answer(tmp_path, False)
    assert json.loads(good) == {"healthy": True, "version": "1.2.3"}
    assert analysis.evaluate(metric, web.pick(good, path)) == ("Successful", "")
    assert analysis.evaluate(metric, web.pick(bad, path)) == ("Failed", "")
    files = sample.app_files("1.2.3", healthy=False)
    assert files[stages.HEALTH_PATH] == stages.health_cgi(False)


def test_each_overlay_builds_with_its_node_port_and_greeting(tmp_path: Path) -> None:
    files = sample.config_files(REGISTRY, 30080) | stages.overlay_files(REGISTRY, PORTS)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    for s in stages.STAGES:
        out = subprocess.run(["kubectl", "kustomize", str(tmp_path / "overlays" / s)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        docs = {d["kind"]: d for d in yaml.safe_load_all(out)}
        assert docs["Service"]["spec"]["ports"] == [{"nodePort": PORTS[s], "port": 8080,
                                                     "targetPort": 8080}]  # fmt: skip
        assert docs["Service"]["spec"]["type"] == "NodePort"
        assert docs["ConfigMap"]["data"] == {"greeting": f"hello from {s}"}
        (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{REGISTRY}/demo/hello:latest"
