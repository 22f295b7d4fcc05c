"""``shipway promote`` end to end: a stored Stage, Freight and Application, the real git daemon.

The Promotion is made from the Stage's template (tasks inlined), named as
Kargo names it, run in-process (no controller), and on success the Stage's
freightHistory/lastPromotion and the Freight's currentlyIn are set; a failing
promotion exits 1 naming the step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from promote_helpers import application, freight, quickstart_steps, remote_refs
from promote_helpers import seed_config_repo as seed

from shipway import cluster
from shipway.cli.main import cli
from shipway.cluster.memory import MemoryTarget
from shipway.model.errors import NotFoundError
from shipway.model.resources import Resource, parse_text
from shipway.store import resources as store_resources
from shipway.store.db import Store

pytestmark = pytest.mark.integration


@pytest.fixture
def memory() -> Iterator[str]:
    cluster.register("mem-promote-cli", MemoryTarget("mem-promote-cli"))
    yield "mem-promote-cli"
    cluster.register("mem-promote-cli", None)


def _stage(steps: list[dict[str, Any]]) -> str:
    doc = {
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
        "metadata": {"name": "test", "namespace": "demo"},
        "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "web"},
                                       "sources": {"direct": True}}],
                 "promotionTemplate": {"spec": {"steps": steps}}},
    }  # fmt: skip
    return yaml.safe_dump(doc, sort_keys=False)


def _setup(store: Store, steps: list[dict[str, Any]], extra: str = "") -> None:
    project = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: demo}\n"
    warehouse = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        "metadata: {name: web, namespace: demo}\n"
        "spec:\n  subscriptions:\n  - image: {repoURL: registry.example/web}\n"
    )
    docs = "---\n".join([project, warehouse, _stage(steps), *([extra] if extra else [])])
    store_resources.apply(store, parse_text(docs, "kargo.yaml"))
    f = freight()
    store_resources.apply(store, [Resource(api_version=f["apiVersion"], kind="Freight",
                                           name=f["metadata"]["name"], namespace="demo",
                                           body=f)])  # fmt: skip


def test_promote_wait_succeeds_and_records(store, git_server, memory, tmp_path: Path) -> None:
    url = git_server.bare("cfg-promote-cli")
    seed(url, tmp_path / "seed")
    steps = quickstart_steps(url)
    task = yaml.safe_dump({
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "PromotionTask",
        "metadata": {"name": "sync", "namespace": "demo"}, "spec": {"steps": [steps[-1]]},
    })  # fmt: skip
    _setup(store, [*steps[:-1], {"as": "deploy", "task": {"name": "sync"}}], task)
    store_resources.apply(store, [application(url, memory)])

    res = CliRunner().invoke(cli, ["promote", "--project", "demo", "--freight", "brave-otter",
                                   "--stage", "test", "--wait"])  # fmt: skip

    assert res.exit_code == 0, res.output
    (name,) = re.findall(r"promotion\.kargo\.akuity\.io/(\S+) created", res.output)
    assert re.fullmatch(r"test\.[0-9a-z]{26}\.f00dfee", name)
    assert f"promotion.kargo.akuity.io/{name} Succeeded" in res.output
    promo = store_resources.get(store, "Promotion", name, "demo")
    assert [s.get("as") for s in promo.body["spec"]["steps"]][-1] == "deploy::step-0"
    assert promo.status["phase"] == "Succeeded"
    assert promo.status["startedAt"] <= promo.status["finishedAt"]
    assert promo.status["stepExecutionMetadata"][-1]["alias"] == "deploy::step-0"
    stage = store_resources.get(store, "Stage", "test", "demo").status
    assert stage["lastPromotion"]["name"] == name
    assert stage["freightHistory"][0]["items"]["Warehouse/web"]["name"] == "f00dfeed1234"
    fr = store_resources.get(store, "Freight", "f00dfeed1234", "demo").status
    assert list(fr["currentlyIn"]) == ["test"] and fr["currentlyIn"]["test"]["since"]
    assert remote_refs(url)["refs/heads/stage/test"] == promo.status["state"]["push"]["commit"]


def test_promote_failure_exits_1_naming_the_step(store, tmp_path: Path) -> None:
    _setup(store, [{"uses": "fail", "as": "stop", "config": {"message": "frozen until Monday"}}])
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "f00dfeed1234",
                                   "--stage", "test", "--wait"])  # fmt: skip
    assert res.exit_code == 1
    assert "Failed: step stop (fail) failed: frozen until Monday" in res.output
    fr = store_resources.get(store, "Freight", "f00dfeed1234", "demo").status
    assert "currentlyIn" not in fr


def test_promote_prints_the_promotion_in_the_format_asked(store) -> None:
    _setup(store, [{"uses": "fail", "as": "stop", "config": {"message": "no"}}])
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "f00dfeed1234",
                                   "--stage", "test", "-o", "json"])  # fmt: skip
    assert res.exit_code == 1  # the promotion failed: exit 1 whatever the format
    obj = json.loads(res.stdout)
    assert (obj["apiVersion"], obj["kind"]) == ("kargo.akuity.io/v1alpha1", "Promotion")
    assert obj["spec"] == {**obj["spec"], "stage": "test", "freight": "f00dfeed1234"}
    assert obj["status"]["phase"] == "Failed"
    assert obj["metadata"]["creationTimestamp"].endswith("Z")
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "f00dfeed1234",
                                   "--stage", "test", "-o", "name"])  # fmt: skip
    assert re.fullmatch(r"promotion/test\.[0-9a-z]{26}\.f00dfee\n", res.stdout), res.stdout
    phase = "jsonpath={.status.phase}"
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "f00dfeed1234",
                                   "--stage", "test", "-o", phase])  # fmt: skip
    assert res.stdout == "Failed"


def test_promote_unknown_freight_and_stage(store) -> None:
    _setup(store, [{"uses": "fail", "config": {}}])
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "nope", "--stage", "test"])
    assert isinstance(res.exception, NotFoundError) and res.exception.exit_code == 3
    assert "Freight 'nope' not found in project 'demo'" in str(res.exception)
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "brave-otter",
                                   "--stage", "prod"])  # fmt: skip
    assert isinstance(res.exception, NotFoundError)
    assert "Stage 'prod' not found" in str(res.exception)
