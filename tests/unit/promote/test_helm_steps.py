"""The Helm steps and the Chart.yaml editor: Kargo's matching rules, comments and layout
kept, every missing dependency named with file and line, the Freight's image and chart
by origin, and helm refused clearly where it is needed and absent."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from shipway.model.errors import InputError
from shipway.model.kargo_step_configs import parse_step_config
from shipway.promote.steps import helmsteps
from shipway.promote.steps.base import StepEnv, StepFailed
from shipway.updater.edit.chart import Dependency, set_dependency_versions

CHART = """\
apiVersion: v2
name: umbrella
dependencies:
  # two copies of one chart, told apart by alias
  - name: web
    repository: oci://reg.example/charts
    version: 1.0.0 # blue
    alias: blue
  - name: web
    repository: oci://reg.example/charts
    version: '1.0.0'
    alias: green
  - name: api
    repository: https://charts.example
"""


def test_alias_picks_one_copy_and_keeps_quotes_and_comments() -> None:
    out, changes = set_dependency_versions(
        CHART, "Chart.yaml", [Dependency("oci://reg.example/charts", "web", "1.1.0", "green")]
    )
    assert out == CHART.replace("version: '1.0.0'", "version: '1.1.0'")
    assert [(c.line, c.old, c.new) for c in changes] == [(11, "1.0.0", "1.1.0")]
    both, _ = set_dependency_versions(
        CHART, "Chart.yaml", [Dependency("oci://reg.example/charts", "web", "2.0.0")]
    )
    assert both.count("2.0.0") == 2 and "# blue" in both


def test_every_missing_dependency_named_at_once() -> None:
    with pytest.raises(InputError) as info:
        set_dependency_versions(CHART, "c/Chart.yaml", [
            Dependency("oci://reg.example/charts", "nope", "1"),
            Dependency("https://charts.example", "api", "1"),
            Dependency("https://other.example", "web", "1"),
        ])  # fmt: skip
    msg = str(info.value)
    assert msg.startswith("c/Chart.yaml:5")
    assert "no dependency oci://reg.example/charts nope" in msg
    assert "dependency https://charts.example api (line 13) has no 'version'" in msg
    assert "no dependency https://other.example web" in msg


FREIGHT = {
    "origin": {"kind": "Warehouse", "name": "a"},
    "images": [{"repoURL": "reg/web", "tag": "1.2.0", "digest": "sha256:aa"}],
    "charts": [{"repoURL": "oci://reg.example/charts/web", "version": "1.4.0"}],
}
OTHER = {
    "origin": {"kind": "Warehouse", "name": "b"},
    "images": [{"repoURL": "reg/web", "tag": "0.9.0", "digest": "sha256:bb"}],
}


def _env(tmp_path: Path, files: dict[str, str]) -> StepEnv:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return StepEnv(work=tmp_path, project="p", stage="s", promotion="x", freight=FREIGHT,
                   collection=[OTHER])  # fmt: skip


def _cfg(uses: str, cfg: dict[str, Any]) -> Any:
    return parse_step_config(uses, cfg)


def test_update_image_by_origin_and_literal_values(tmp_path: Path) -> None:
    env = _env(tmp_path, {"v.yaml": "image:\n  tag: old # here\n  ref: old\nliteral: x\n"})
    with pytest.raises(StepFailed, match="several origins"):
        helmsteps.helm_update_image(env, _cfg("helm-update-image", {
            "path": "v.yaml", "images": [{"image": "reg/web", "key": "image.tag",
                                          "value": "Tag"}]}))  # fmt: skip
    res = helmsteps.helm_update_image(env, _cfg("helm-update-image", {"path": "v.yaml", "images": [
        {"image": "reg/web", "fromOrigin": {"kind": "Warehouse", "name": "b"},
         "key": "image.tag", "value": "Tag"},
        {"image": "reg/web", "fromOrigin": {"kind": "Warehouse", "name": "a"},
         "key": "image.ref", "value": "ImageAndDigest"},
        {"image": "reg/web", "key": "literal", "value": "v9"}]}))  # fmt: skip
    assert (tmp_path / "v.yaml").read_text() == (
        "image:\n  tag: 0.9.0 # here\n  ref: reg/web@sha256:aa\nliteral: v9\n"
    )
    assert res.output["commitMessage"].startswith("Updated v.yaml to use new images\n\n")
    with pytest.raises(StepFailed, match=r"v\.yaml:1: key 'nope\.tag' not found"):
        helmsteps.helm_update_image(
            env,
            _cfg(
                "helm-update-image",
                {"path": "v.yaml", "images": [{"image": "x", "key": "nope.tag", "value": "1"}]},
            ),
        )


def test_update_chart_takes_the_freights_version(tmp_path: Path) -> None:
    env = _env(tmp_path, {"c/Chart.yaml": CHART})
    res = helmsteps.helm_update_chart(
        env,
        _cfg(
            "helm-update-chart",
            {
                "path": "c",
                "charts": [
                    {"repository": "oci://reg.example/charts", "name": "web", "alias": "blue"}
                ],
            },
        ),
    )
    assert "version: 1.4.0 # blue" in (tmp_path / "c/Chart.yaml").read_text()
    assert "- web: 1.0.0 -> 1.4.0" in res.output["commitMessage"]
    with pytest.raises(
        StepFailed, match=r"chart https://charts\.example api is not in the Freight"
    ):
        helmsteps.helm_update_chart(
            env,
            _cfg(
                "helm-update-chart",
                {"path": "c", "charts": [{"repository": "https://charts.example", "name": "api"}]},
            ),
        )
    with pytest.raises(StepFailed, match=r"no Chart\.yaml in 'd'"):
        helmsteps.helm_update_chart(env, _cfg("helm-update-chart", {"path": "d"}))


@pytest.mark.skipif(shutil.which("helm") is not None, reason="helm is on PATH here")
def test_helm_needed_and_absent_is_refused_clearly(tmp_path: Path) -> None:
    env = _env(tmp_path, {"c/Chart.yaml": CHART})
    with pytest.raises(StepFailed, match=r"Chart\.yaml's own version ranges.*helm is not on PATH"):
        helmsteps.helm_update_chart(env, _cfg("helm-update-chart", {"path": "c"}))
    (tmp_path / "c/Chart.lock").write_text("dependencies: []\n")
    with pytest.raises(StepFailed, match=r"c/Chart\.lock must follow Chart\.yaml"):
        helmsteps.helm_update_chart(
            env,
            _cfg(
                "helm-update-chart",
                {
                    "path": "c",
                    "charts": [
                        {
                            "repository": "oci://reg.example/charts",
                            "name": "web",
                            "version": "3.0.0",
                        }
                    ],
                },
            ),
        )
    assert "3.0.0" not in (tmp_path / "c/Chart.yaml").read_text()  # left as it was
    with pytest.raises(StepFailed, match="helm-template needs the helm binary"):
        helmsteps.helm_template(env, _cfg("helm-template", {"path": "c", "outPath": "out"}))
