"""Invalid manifests mark the application ComparisonError with file and reason; nothing runs."""

from __future__ import annotations

import pytest
import yaml
from deploy_helpers import application, commit, deployment, write

from shipway.deploy import engine
from shipway.model import resources as model
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration

CASES = {
    "bad-yaml": ("apps/bad/broken.yaml", "kind: ConfigMap\nmetadata: {name: [x\n", "invalid YAML"),
    "no-kind": ("apps/bad/nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n", "missing 'kind'"),
    "dup": (
        "apps/bad/dup.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
        "defined twice",
    ),
    "unknown-kind": (
        "apps/bad/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        "not known to the destination cluster",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_manifest_is_a_comparison_error_and_nothing_is_applied(
    case: str, deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    rel, text, reason = CASES[case]
    write(work.path, "apps/bad/web.yaml", deployment(httpd_images["v1"]))
    (work.path / rel).write_text(text)
    commit(work, case)
    store_resources.apply(deploy_env.store, [application(url, "bad", "apps/bad")])

    res = engine.reconcile(deploy_env.store, "bad", settings=deploy_env.settings)

    assert res.phase == "Error" and res.resources == []
    assert rel in res.message and reason in res.message
    status = store_resources.get(deploy_env.store, "Application", "bad").status
    assert status["sync"]["status"] == "Unknown"
    [cond] = status["conditions"]
    assert cond["type"] == "ComparisonError" and rel in cond["message"]
    assert status["operationState"]["phase"] == "Error"
    assert deploy_env.target.live("bad") == {}
    assert not status.get("history")


def test_project_refuses_a_source_repo_it_does_not_allow(deploy_env, config_repo) -> None:
    url, work = config_repo
    write(
        work.path,
        "apps/p/cm.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    )
    commit(work, "cm")
    proj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "locked"},
        "spec": {
            "sourceRepos": ["https://example.com/*"],
            "destinations": [{"name": "local", "namespace": "*"}],
        },
    }
    app = application(url, "p", "apps/p")
    app.body["spec"]["project"] = "locked"
    resources = [*model.parse_text(yaml.safe_dump(proj), "proj.yaml"), app]
    store_resources.apply(deploy_env.store, resources)

    res = engine.reconcile(deploy_env.store, "p", settings=deploy_env.settings)

    assert res.phase == "Error" and "not permitted in project 'locked'" in res.message
    status = store_resources.get(deploy_env.store, "Application", "p").status
    assert status["conditions"][0]["type"] == "InvalidSpecError"
    assert deploy_env.target.live("p") == {}
