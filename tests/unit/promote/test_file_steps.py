"""File steps on real files in a work directory: Kargo's documented examples.

copy, delete, yaml-update (comments kept), json-update, kustomize-set-image,
kustomize-build (``kubectl kustomize``, both output formats), http outputs,
fail, and paths that would leave the work directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from shipway.promote.steps import base
from shipway.promote.steps.config import parse_step_config


def _run(env: base.StepEnv, uses: str, config: dict) -> base.StepResult:  # type: ignore[type-arg]
    return base.runner(uses)(env, parse_step_config(uses, config))


@pytest.fixture
def env(tmp_path: Path) -> base.StepEnv:
    work = tmp_path / "work"
    work.mkdir()
    freight = {"images": [{"repoURL": "reg/web", "tag": "2.0.0"}]}
    return base.StepEnv(work=work, project="demo", stage="test", promotion="p", freight=freight)


def test_copy_and_delete(env: base.StepEnv) -> None:
    (env.work / "a/sub").mkdir(parents=True)
    (env.work / "a/sub/x.yaml").write_text("x: 1\n")
    (env.work / "a/skip.tmp").write_text("no")
    _run(env, "copy", {"inPath": "./a", "outPath": "./b", "ignore": "*.tmp"})
    assert (env.work / "b/sub/x.yaml").read_text() == "x: 1\n"
    assert not (env.work / "b/skip.tmp").exists()
    _run(env, "delete", {"path": "./b/sub"})
    assert not (env.work / "b/sub").exists()
    _run(env, "delete", {"path": "./b/none"})  # not strict: nothing to do
    with pytest.raises(base.StepFailed, match="does not exist"):
        _run(env, "delete", {"path": "./b/none", "strict": True})
    with pytest.raises(base.StepFailed, match="leaves the promotion's work directory"):
        _run(env, "copy", {"inPath": "../../etc", "outPath": "./c"})


def test_yaml_update_keeps_comments(env: base.StepEnv) -> None:
    (env.work / "values.yaml").write_text("# the image\nimage:\n  tag: 1.0.0  # pinned\n")
    updates = [{"key": "image.tag", "value": "2.0.0"}]
    res = _run(env, "yaml-update", {"path": "values.yaml", "updates": updates})
    assert (env.work / "values.yaml").read_text() == "# the image\nimage:\n  tag: 2.0.0  # pinned\n"
    assert res.output["commitMessage"] == "Updated values.yaml\n\n- image.tag: 2.0.0"
    with pytest.raises(base.StepFailed, match="not found"):
        _run(
            env,
            "yaml-update",
            {"path": "values.yaml", "updates": [{"key": "nope.x", "value": "1"}]},
        )


def test_json_update(env: base.StepEnv) -> None:
    (env.work / "c.json").write_text('{\n    "a": {"list": [1, 2]}\n}\n')
    _run(env, "json-update", {"path": "c.json", "updates": [
        {"key": "a.list.1", "value": 5}, {"key": "a.new.deep", "value": "x"}]})  # fmt: skip
    text = (env.work / "c.json").read_text()
    assert json.loads(text) == {"a": {"list": [1, 5], "new": {"deep": "x"}}}
    assert text.startswith('{\n    "a"')  # its indentation kept


def test_kustomize_set_image_and_build(env: base.StepEnv) -> None:
    root = env.work / "src"
    root.mkdir()
    (root / "kustomization.yaml").write_text("resources:\n- deploy.yaml\n")
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "w", "image": "reg/web"}]}}},
    }
    (root / "deploy.yaml").write_text(yaml.safe_dump(dep))
    res = _run(env, "kustomize-set-image", {"path": "./src", "images": [{"image": "reg/web"}]})
    assert "newTag: 2.0.0" in (root / "kustomization.yaml").read_text()  # the Freight's tag
    assert res.output["commitMessage"].endswith("- reg/web:2.0.0")

    _run(env, "kustomize-build", {"path": "./src", "outPath": "./out"})
    built = yaml.safe_load((env.work / "out/deployment-web.yaml").read_text())
    assert built["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/web:2.0.0"
    _run(env, "kustomize-build", {"path": "./src", "outPath": "./k", "outputFormat": "kustomize"})
    assert (env.work / "k/apps_v1_deployment_web.yaml").is_file()
    _run(env, "kustomize-build", {"path": "./src", "outPath": "./all.yaml"})
    assert yaml.safe_load((env.work / "all.yaml").read_text())["kind"] == "Deployment"


def test_fail_and_compose_output(env: base.StepEnv) -> None:
    assert _run(env, "compose-output", {"a": 1, "b": [2]}).output == {"a": 1, "b": [2]}
    with pytest.raises(base.StepFailed, match="no way"):
        _run(env, "fail", {"message": "no way"})
