"""Step configs: Kargo's field names, unknown fields and steps refused naming them."""

from __future__ import annotations

import pytest

from shipway.promote.steps.config import CONFIGS, parse_step_config, validate_step_config


def test_kargo_examples_validate() -> None:
    examples = {
        "git-clone": {
            "repoURL": "https://github.com/example/repo.git",
            "checkout": [
                {"branch": "main", "path": "./src"},
                {"branch": "stage/test", "create": True, "path": "./out"},
            ],
        },
        "git-clear": {"path": "./out"},
        "git-commit": {"path": "./out", "message": "rendered", "author": {"name": "K"}},
        "git-push": {"path": "./out", "generateTargetBranch": True},
        "git-open-pr": {
            "repoURL": "https://github.com/example/repo.git",
            "sourceBranch": "${{ outputs.push.branch }}",
            "targetBranch": "stage/prod",
        },
        "git-wait-for-pr": {"repoURL": "u", "prNumber": "${{ outputs['open-pr'].pr.id }}"},
        "git-merge-pr": {"repoURL": "u", "prNumber": 3, "wait": True},
        "kustomize-set-image": {
            "path": "./src/base",
            "images": [{"image": "my/image", "tag": "${{ imageFrom('my/image').Tag }}"}],
        },
        "kustomize-build": {"path": "./src/stages/test", "outPath": "./out/manifests.yaml"},
        "yaml-update": {"path": "values.yaml", "updates": [{"key": "image.tag", "value": "v2"}]},
        "json-update": {"path": "c.json", "updates": [{"key": "a.b", "value": 3}]},
        "copy": {"inPath": "./a", "outPath": "./b"},
        "delete": {"path": "./b"},
        "http": {
            "method": "GET",
            "url": "https://example.com/api",
            "headers": [{"name": "Accept", "value": "application/json"}],
            "queryParams": [{"name": "q", "value": "1"}],
            "timeout": "30s",
            "successExpression": "response.status == 200",
            "outputs": [{"name": "n", "fromExpression": "response.body.n"}],
        },
        "compose-output": {"anything": "${{ outputs.x }}"},
        "set-metadata": {"updates": [{"kind": "Stage", "name": "test", "values": {"a": 1}}]},
        "fail": {"message": "no"},
        "argocd-update": {
            "apps": [
                {
                    "name": "web",
                    "sources": [
                        {
                            "repoURL": "https://github.com/example/repo.git",
                            "desiredRevision": "${{ outputs.commit.commit }}",
                            "kustomize": {"images": [{"repoURL": "my/image", "tag": "v1"}]},
                        }
                    ],
                }
            ]
        },
        "helm-update-image": {
            "path": "./src/values.yaml",
            "images": [{"image": "my/image", "key": "image.tag", "value": "Tag"}],
        },
        "helm-update-chart": {
            "path": "./src/charts/umbrella",
            "charts": [{"repository": "oci://reg", "name": "web", "version": "1.2.3"}],
        },
        "helm-template": {"path": "./src/chart", "outPath": "./out", "releaseName": "web"},
    }
    assert set(examples) == set(CONFIGS)
    for uses, cfg in examples.items():
        assert validate_step_config(uses, cfg) == [], uses


def test_unknown_field_and_missing_field_named() -> None:
    got = validate_step_config(
        "git-clone", {"repoURL": "u", "checkout": [{"path": "p", "bogus": 1}], "depth": 1}
    )
    assert "config.checkout[0].bogus: unknown field" in got
    assert "config.depth: unknown field" in got
    assert validate_step_config("git-commit", {"path": "p"}) == [
        "config.message: required field missing"
    ]


def test_unknown_step_lists_the_known_ones() -> None:
    (problem,) = validate_step_config("git-tag", {})
    assert problem.startswith("unknown step 'git-tag'")
    assert "git-clone" in problem


def test_helm_step_fields_refused_naming_them() -> None:
    got = validate_step_config("helm-update-image", {"path": "v.yaml", "images": [
        {"image": "i", "key": "k"}], "valuesFilePath": "x"})  # fmt: skip
    assert got == ["config.images[0].value: required field missing",
                   "config.valuesFilePath: unknown field"]  # fmt: skip
    assert validate_step_config("helm-template", {"path": "c", "outPath": "o",
                                                  "outLayout": "tree"}) != []  # fmt: skip
    assert validate_step_config("helm-update-chart", {"path": "c", "charts": [{"name": "x"}]}) == [
        "config.charts[0].repository: required field missing"
    ]


def test_an_expression_is_checked_when_it_is_evaluated() -> None:
    cfg = {"repoURL": "u", "prNumber": "${{ outputs['open-pr'].pr.id }}"}
    assert validate_step_config("git-wait-for-pr", cfg) == []
    with pytest.raises(ValueError, match="prNumber"):
        parse_step_config("git-wait-for-pr", {**cfg, "prNumber": "seven"})
    assert parse_step_config("git-wait-for-pr", {**cfg, "prNumber": 7}).pr_number == 7


def test_rules_between_fields() -> None:
    both = {"path": "p", "targetBranch": "x", "generateTargetBranch": True}
    assert validate_step_config("git-push", both) == [
        "config: targetBranch and generateTargetBranch are mutually exclusive"
    ]
    two_refs = {"repoURL": "u", "checkout": [{"branch": "a", "tag": "b", "path": "p"}]}
    assert validate_step_config("git-clone", two_refs) == [
        "config.checkout[0]: a checkout takes at most one of branch, commit or tag"
    ]
    # Kargo deprecated createTargetBranch as a no-op: accepted, as Kargo accepts it
    open_pr = {"repoURL": "u", "sourceBranch": "s", "createTargetBranch": True}
    assert validate_step_config("git-open-pr", open_pr) == []
    tag_and_branch = {"path": "p", "tag": "v1", "targetBranch": "main"}
    assert validate_step_config("git-push", tag_and_branch) == [
        "config: targetBranch and tag are mutually exclusive"
    ]
    assert validate_step_config("delete", {}) == [
        "config: exactly one of path or paths is required"
    ]
    both_paths = {"path": "a", "paths": ["b"]}
    assert validate_step_config("delete", both_paths) == [
        "config: exactly one of path or paths is required"
    ]
    app = {"apps": [{"name": "a", "selector": {"matchLabels": {"x": "y"}}}]}
    assert validate_step_config("argocd-update", app) == [
        "config.apps[0]: an app takes exactly one of name or selector"
    ]
    body = {"url": "u", "body": "x", "bodyFromFile": "f"}
    assert validate_step_config("http", body) == [
        "config: body and bodyFromFile are mutually exclusive"
    ]


STAGE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: test, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: web}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: https://git.example/cfg.git
          checkout:
          - branch: main
            path: ./src
            depth: 1
      - uses: git-commit
        config:
          path: ./src
"""


def test_apply_refuses_step_config_problems_with_positions() -> None:
    from shipway.model.errors import ResourceError
    from shipway.model.resources import parse_text

    with pytest.raises(ResourceError) as err:
        parse_text(STAGE, "stage.yaml")
    lines = str(err.value).splitlines()
    assert lines == [
        "stage.yaml:17:13: spec.promotionTemplate.spec.steps.0.config.checkout.0.depth: "
        "unknown field",
        "stage.yaml:19:9: spec.promotionTemplate.spec.steps.1.config.message: "
        "required field missing",
    ]
