"""Deployment environments: definitions, the ref rule, and the parse-time checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.ci.environments import load_file
from shipway.ci.plan.environments import EnvironmentSpecError, lookup, parse_all, ref_refusal
from shipway.ci.syntax.github import parse_workflow
from shipway.model.errors import InputError

DEFS = {
    "prod": {
        "vars": {"URL": "https://prod", "ON": True},
        "secrets": {"KEY": "p"},
        "deploymentBranches": ["main", "release/**", "!release/old*"],
        "deploymentTags": ["v*"],
        "waitTimer": 0.5,
        "requiredReviewers": ["alice"],
    },
    "staging": None,
}


def test_definitions_parse() -> None:
    envs = parse_all({"environments": DEFS})
    prod = envs["prod"]
    assert prod.vars == {"URL": "https://prod", "ON": "true"}
    assert prod.secrets == {"KEY": "p"} and prod.wait_minutes == 0.5
    assert prod.needs_approval and not envs["staging"].needs_approval
    assert envs["staging"].branches is None


def test_undefined_environment_is_created_without_rules() -> None:
    env = lookup(parse_all(DEFS), "preview")
    assert not env.defined and env.name == "preview"
    assert ref_refusal(env, "refs/heads/anything") is None and not env.needs_approval
    assert lookup(parse_all(DEFS), "PROD").name == "prod"  # names ignore case, as on GitHub


@pytest.mark.parametrize(
    ("ref", "allowed"),
    [
        ("refs/heads/main", True),
        ("refs/heads/release/1.2", True),
        ("refs/heads/release/old-1", False),
        ("refs/heads/feature", False),
        ("refs/tags/v1.0", True),
        ("refs/tags/nightly", False),
    ],
)
def test_deployment_branch_and_tag_patterns(ref: str, allowed: bool) -> None:
    refusal = ref_refusal(parse_all(DEFS)["prod"], ref)
    assert (refusal is None) == allowed
    if refusal is not None:
        kind = "Tag" if "tags" in ref else "Branch"
        name = ref.split("/", 2)[2]
        assert refusal == (
            f'{kind} "{name}" is not allowed to deploy to prod due to environment protection rules.'
        )


def test_branches_only_refuses_tags() -> None:
    env = parse_all({"e": {"deploymentBranches": ["main"]}})["e"]
    assert ref_refusal(env, "refs/tags/v1") is not None


@pytest.mark.parametrize(
    "bad",
    [{"e": {"waitTimer": "soon"}}, {"e": {"reviewers": ["x"]}}, {"e": {"vars": ["A"]}}, ["e"]],
)
def test_bad_definitions(bad: object) -> None:
    with pytest.raises(EnvironmentSpecError):
        parse_all(bad)


def test_file_with_secrets_file_and_error_position(tmp_path: Path) -> None:
    (tmp_path / "prod.env").write_text("KEY=from-file\nOTHER='x y'\n")
    good = tmp_path / "envs.yml"
    good.write_text(
        "environments:\n  prod:\n    secretsFile: prod.env\n    secrets: {KEY: inline}\n"
    )
    envs = load_file(good)
    assert envs["prod"].secrets == {"KEY": "inline", "OTHER": "x y"}
    bad = tmp_path / "bad.yml"
    bad.write_text("environments:\n  prod: {}\n  qa:\n    waitTimer: -1\n")
    with pytest.raises(InputError) as err:
        load_file(bad)
    assert str(err.value).startswith(f"{bad}:3:3")


def test_workflow_environment_keys_and_contexts() -> None:
    head = "on: push\njobs:\n  d:\n    runs-on: x\n"
    ok = head + (
        "    environment:\n      name: ${{ github.ref_name }}\n"
        "      url: ${{ steps.s.outputs.url }}\n    steps: [{run: 'true'}]\n"
    )
    assert parse_workflow(ok, "ci.yml").jobs["d"].environment["name"] == "${{ github.ref_name }}"
    with pytest.raises(InputError, match=r"ci\.yml:7:7: unknown key 'urls'"):
        parse_workflow(head + "    environment:\n      name: p\n      urls: x\n"
                       "    steps: [{run: 'true'}]\n", "ci.yml")  # fmt: skip
    with pytest.raises(InputError, match="context 'steps' is not available"):
        parse_workflow(head + "    environment: ${{ steps.a.outputs.b }}\n"
                       "    steps: [{run: 'true'}]\n", "ci.yml")  # fmt: skip


PIPELINE = """\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
spec:
  source: {repoURL: /srv/git/web.git}
  environments:
    production:
      vars: {TARGET: prod}
      secretsFile: prod.env
      deploymentBranches: [main]
      requiredReviewers: [ops]
"""


def test_pipeline_environments_field(tmp_path: Path) -> None:
    from shipway.ci.environments import from_data
    from shipway.model.resources import parse_text

    (tmp_path / "prod.env").write_text("KEY=k\n")
    (pipe,) = parse_text(PIPELINE, "pipeline.yaml")
    envs = from_data(pipe.spec["environments"], tmp_path, "Pipeline/web")
    prod = envs["production"]
    assert prod.vars == {"TARGET": "prod"} and prod.secrets == {"KEY": "k"}
    assert prod.branches == ["main"] and prod.needs_approval
    bad = PIPELINE.replace("requiredReviewers", "reviewers")
    with pytest.raises(InputError, match=r"pipeline\.yaml:11:7"):
        parse_text(bad, "pipeline.yaml")


def test_a_calling_job_cannot_have_an_environment() -> None:
    text = "on: push\njobs:\n  d:\n    uses: ./.github/workflows/x.yml\n    environment: prod\n"
    with pytest.raises(InputError, match=r"ci\.yml:5:5: .*cannot have 'environment'"):
        parse_workflow(text, "ci.yml")
