"""``shipway apply`` and ``shipway get stages|promotions|...`` on Kargo and Argo Rollouts kinds,
against a real store: Kargo CLI columns, kubectl's List, -o json|yaml|wide|name, --project/-n,
and apply refusing cross-object problems (every one, with positions) while storing nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli_runner import run
from shipway.settings import Settings
from shipway.store import resources as store
from shipway.store.db import open_store

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "promote"))
from kargo_examples import ALL, STAGE_TEST, STAGE_UAT, WAREHOUSE


@pytest.fixture
def project(shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "kargo.yaml"
    path.write_text(ALL)
    code, out, err = run(["apply", "-f", str(path)], capsys)
    assert code == 0, err
    assert "stage/test created" in out and "clusterpromotiontask/sync-app created" in out
    return path


def _status(kind: str, name: str, status: dict[str, Any]) -> None:
    db = open_store(Settings())
    store.set_status(db, kind, name, status, "kargo-demo")


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def test_get_stages_shows_kargos_columns(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _status("Stage", "test", {
        "freightSummary": "brave-eagle", "health": {"status": "Healthy"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                        "message": "Stage is ready"}],
    })  # fmt: skip
    code, out, _ = run(["get", "stages", "--project", "kargo-demo"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SHARD", "CURRENT", "FREIGHT", "HEALTH", "READY",
                                "STATUS", "AGE"]  # fmt: skip
    test, uat = _rows(out)[1:]
    assert test[:7] == ["test", "main", "brave-eagle", "Healthy", "True", "Stage", "is"]
    assert uat[:2] == ["uat", "Unknown"]  # no shard, no status yet: Ready is Unknown
    code, wide, _ = run(["get", "stages", "-n", "kargo-demo", "-o", "wide"], capsys)
    assert "SOURCES" in wide.splitlines()[0] and "guestbook <- test" in wide
    assert "health-check" in wide


def test_get_promotions_and_the_list_shape(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _status("Promotion", "test.01j2w7aknhf3j7vyyhbsjx2dp3.4e2b5a1",
            {"phase": "Succeeded", "currentStep": 1})  # fmt: skip
    code, out, _ = run(["get", "promotions", "--project", "kargo-demo"], capsys)
    assert code == 0
    head, row = _rows(out)
    assert head == ["NAME", "SHARD", "STAGE", "FREIGHT", "PHASE", "AGE"]
    assert row[:4] == ["test.01j2w7aknhf3j7vyyhbsjx2dp3.4e2b5a1", "test",
                       "4e2b5a1f3c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b", "Succeeded"]  # fmt: skip
    code, out, _ = run(["get", "promos", "-n", "kargo-demo", "-o", "json"], capsys)
    listed = json.loads(out)
    assert listed["apiVersion"] == "v1" and listed["kind"] == "List"
    [promo] = listed["items"]
    assert promo["kind"] == "Promotion" and promo["apiVersion"] == "kargo.akuity.io/v1alpha1"
    assert promo["status"]["phase"] == "Succeeded" and promo["spec"]["stage"] == "test"
    code, out, _ = run(["get", "promotion", "-n", "kargo-demo", "-o", "yaml"], capsys)
    docs = [d for d in yaml.safe_load_all(out) if d]  # a v1 List once the cli helper lands it
    first = docs[0]["items"][0] if docs[0].get("kind") == "List" else docs[0]
    assert first["kind"] == "Promotion" and first["metadata"]["namespace"] == "kargo-demo"


@pytest.mark.parametrize(
    ("word", "head", "names"),
    [
        ("promotiontasks", ["NAME", "AGE"], ["update-config"]),
        ("clusterpromotiontasks", ["NAME", "AGE"], ["sync-app"]),
        ("projectconfigs", ["NAME", "AGE"], ["kargo-demo"]),
        ("analysistemplates", ["NAME", "AGE"], ["health-check"]),
        ("clusteranalysistemplates", ["NAME", "AGE"], ["always-pass"]),
        ("analysisruns", ["NAME", "STATUS", "AGE"], ["test.01j2w7b"]),
    ],
)
def test_get_the_other_kinds(
    project: Path, capsys: pytest.CaptureFixture[str], word: str, head: list[str],
    names: list[str],
) -> None:  # fmt: skip
    code, out, _ = run(["get", word, "--project", "kargo-demo"], capsys)
    assert code == 0
    rows = _rows(out)
    assert rows[0] == head and [r[0] for r in rows[1:]] == names
    code, out, _ = run(["get", word, "--project", "kargo-demo", "-o", "name"], capsys)
    kind = json.loads(run(["get", word, "-n", "kargo-demo", "-o", "json"], capsys)[1])
    assert out.split() == [f"{kind['items'][0]['kind'].lower()}/{n}" for n in names]


def test_wide_columns_of_tasks_and_templates(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(["get", "promotasks", "-n", "kargo-demo", "-o", "wide"], capsys)[1]
    assert "git-clone, git-clear, kustomize-set-image" in out and "repoURL, branch" in out
    out = run(["get", "at", "-n", "kargo-demo", "-o", "wide"], capsys)[1]
    assert "healthz (web), error-rate (prometheus), smoke (job)" in out
    out = run(["get", "projectconfigs", "-n", "kargo-demo", "-o", "wide"], capsys)[1]
    assert _rows(out)[1][2:] == ["3", "2", "2"]


def test_stages_of_another_project_are_not_listed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["get", "stages", "--project", "other"], capsys)
    assert code == 0 and "test" not in out
    out = run(["get", "stages", "-A"], capsys)[1]
    assert _rows(out)[0][0] == "NAMESPACE" and _rows(out)[1][:2] == ["kargo-demo", "test"]


def test_apply_refuses_every_cross_object_problem_and_stores_nothing(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = STAGE_UAT.replace("stages: [test]", "stages: [test]\n      direct: false").replace(
        "${{ vars.gitRepo }}", "${{ vars.gitRepo + }}"
    )
    loop = STAGE_TEST.replace("direct: true", "stages: [uat]")
    path = tmp_path / "stages.yaml"
    path.write_text("---\n".join([loop, bad]))
    code, _, err = run(["apply", "-f", str(path)], capsys)
    assert code == 2
    text = err.replace("\n", " ")
    for words in ("Warehouse 'guestbook' does not exist", "PromotionTask 'update-config'",
                  "ClusterPromotionTask 'sync-app'", "AnalysisTemplate 'health-check'",
                  "stage sources form a cycle: test -> uat -> test",
                  "Warehouse 'guestbook' does not exist in Project 'kargo-demo'",
                  "bad expression ${{ vars.gitRepo + }}"):  # fmt: skip
        assert words in text, words
    assert f"{path}:14:7" in text and f"{path}:16:16" in text
    assert run(["get", "stages", "-A", "-o", "name"], capsys)[1] == ""
    # the Warehouse applied first is found in the store by a later apply
    (tmp_path / "w.yaml").write_text(WAREHOUSE)
    assert run(["apply", "-f", str(tmp_path / "w.yaml")], capsys)[0] == 0
    direct = STAGE_UAT.replace("stages: [test]", "direct: true").replace(
        "      autoPromotionOptions:\n        selectionPolicy: MatchUpstream\n", ""
    )
    (tmp_path / "uat.yaml").write_text(direct)
    code, out, err = run(["apply", "-f", str(tmp_path / "uat.yaml"), "--dry-run"], capsys)
    assert code == 0, err
    assert "stage/uat valid (dry run)" in out
