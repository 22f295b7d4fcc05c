"""Kargo's own documented examples (``tests/kargo_docs``) are read as-is, and the fields they
use do what Kargo documents: expressions (``secret``, ``configMap``, ``status(alias)``,
``ctx.meta``), delete globs, http content types and error messages, argocd-update
selectors, tag regexes and git expression filters, disabled promotion windows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from shipway.cli.main import main
from shipway.model import kargo_project
from shipway.model.kargo import GitSubscription, ImageSubscription
from shipway.model.kargo_step_configs import AppSelector, parse_step_config
from shipway.model.resources import Resource, parse_text
from shipway.promote import gates
from shipway.promote import select as sel
from shipway.promote.checks import check
from shipway.promote.expressions import Scope, condition, render
from shipway.promote.steps import filesteps, httpstep
from shipway.promote.steps.base import StepEnv, StepFailed

DOCS = Path(__file__).parents[2] / "kargo_docs"


def _corpus() -> list[Resource]:
    out: list[Resource] = []
    for path in sorted(DOCS.glob("*.yaml")):
        out += parse_text(path.read_text(), str(path))
    return out


def test_the_corpus_holds_the_documented_examples() -> None:
    examples = [
        line for path in DOCS.glob("*.yaml") for line in path.read_text().splitlines()
        if line.lstrip().startswith("# example:")
    ]  # fmt: skip
    assert len(examples) >= 60
    kinds = {r.kind for r in _corpus()}
    assert kinds >= {
        "Project",
        "ProjectConfig",
        "Warehouse",
        "Stage",
        "PromotionTask",
        "ClusterPromotionTask",
        "AnalysisTemplate",
        "ClusterAnalysisTemplate",
        "Secret",
        "Namespace",
    }
    steps = {
        s.get("uses") for r in _corpus() if r.kind in ("Stage", "PromotionTask",
                                                        "ClusterPromotionTask")
        for s in ((r.spec.get("promotionTemplate") or {}).get("spec") or r.spec).get("steps", [])
    }  # fmt: skip
    from shipway.model.kargo_step_configs import CONFIGS

    assert set(CONFIGS) <= steps  # every step shipway claims has a documented example here


def test_every_documented_example_passes_the_apply_checks() -> None:
    assert [str(p) for p in check(_corpus(), [])] == []


def test_apply_accepts_the_corpus_unchanged(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["apply", "--dry-run", "-f", str(DOCS)], ["apply", "-f", str(DOCS)]):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code == 0, err
        assert len(out.splitlines()) == len(_corpus())
    assert "stage/clone-sparse created" in out and "warehouse/criteria created" in out
    assert "secret/guestbook-config-repo created" in out


def test_the_documented_credentials_serve_their_repositories(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipway.model.errors import InputError
    from shipway.promote import credentials
    from shipway.settings import Settings
    from shipway.store.db import open_store

    try:
        main(["apply", "-f", str(DOCS / "05-secrets.yaml"), "-f", str(DOCS / "00-project.yaml")])
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    db = open_store(Settings())
    found = credentials.repo_credentials(
        db, "kargo-docs", "git", "https://git.example.com/acme/guestbook-config"
    )
    assert found == credentials.RepoCreds("guestbook-config-repo", "docs-user",
                                          "docs-personal-access-token")  # fmt: skip
    image = credentials.repo_credentials(db, "kargo-docs", "image",
                                         "registry.example.com/acme/guestbook")  # fmt: skip
    assert image is not None and image.password == "docs-registry-token"
    chart = credentials.repo_credentials(db, "kargo-docs", "helm",
                                         "https://charts.example.com/stable")  # fmt: skip
    assert chart is not None and chart.secret == "every-acme-chart"
    assert credentials.repo_credentials(db, "kargo-docs", "helm", "https://other.example") is None
    with pytest.raises(InputError, match=r"Secret kargo-docs/github-app .*GitHub App keys"):
        credentials.repo_credentials(db, "kargo-docs", "git",
                                     "https://github.com/example/kargo-docs.git")  # fmt: skip
    assert credentials.secret_data(db, "kargo-docs", "token-secret") == {
        "apiToken": "docs-api-token"
    }
    assert credentials.generic_secrets(db, "kargo-docs")["slack"] == {"token": "docs-slack-token"}
    db.close()


FREIGHT = {"name": "abc123", "alias": "brave-otter",
           "origin": {"kind": "Warehouse", "name": "guestbook"},
           "images": [{"repoURL": "reg/web", "tag": "1.2.0"}]}  # fmt: skip


def _scope(**kw: object) -> Scope:
    return Scope(project="docs", stage="prod", promotion="prod.01.abc1234", target=FREIGHT,
                 **kw)  # type: ignore[arg-type]  # fmt: skip


def test_secret_config_map_and_ctx_meta() -> None:
    s = _scope(secrets={"slack": {"token": "xoxb"}}, config_maps={"settings": {"repo": "r"}},
               actor="shipway:auto-rollback", rollback=True, step_alias="notify")  # fmt: skip
    assert render("Bearer ${{ secret('slack').token }}", s) == "Bearer xoxb"
    assert render("${{ configMap('settings').repo }}", s) == "r"
    assert render("${{ secret('none') }}", s) == {}  # Kargo: an empty map when there is none
    shared = _scope(shared_secrets={"jira": {"token": "t"}}, shared_config_maps={"c": {"k": "v"}})
    assert render("${{ sharedSecret('jira').token }}/${{ sharedConfigMap('c').k }}", shared) == (
        "t/v"
    )
    assert condition("${{ ctx.meta.promotion.rollback }}", s) is True
    assert condition("${{ ctx.meta.promotion.rollback }}", _scope()) is False
    out = render("${{ ctx.meta.promotion.actor }} ${{ ctx.meta.step.alias }} "
                 "${{ ctx.targetFreight.alias }}", s)  # fmt: skip
    assert out == "shipway:auto-rollback notify brave-otter"
    ui = _scope(ui_base_url="http://127.0.0.1:8080")
    assert render("${{ ctx.uiBaseUrl }}/project/${{ ctx.project }}", ui) == (
        "http://127.0.0.1:8080/project/docs"
    )


def test_status_of_a_step_by_alias() -> None:
    s = _scope(statuses={"open-pr": "Skipped", "push": "Succeeded", "t::wait": "Failed"})
    assert condition("${{ status('open-pr') != 'Skipped' }}", s) is False
    assert render("${{ status('push') }}", s) == "Succeeded"
    assert render("${{ status('later') }}", s) == ""
    inside = _scope(statuses={"t::wait": "Failed", "wait": "Succeeded"}, task_prefix="t::")
    assert render("${{ status('wait') }}", inside) == "Failed"  # a task's own step first
    assert render("${{ status() }}", _scope(failed=True)) == "Failed"


def _env(tmp_path: Path) -> StepEnv:
    return StepEnv(work=tmp_path, project="docs", stage="prod", promotion="p", freight=FREIGHT)


def test_delete_paths_and_globs(tmp_path: Path) -> None:
    for rel in ("out/a.tmp", "out/deep/b.tmp", "out/keep.yaml", "out/build/x", "out/log"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    cfg = parse_step_config("delete", {"paths": ["./out/**/*.tmp", "./out/build/"],
                                       "pathsAreGlobs": True, "strict": True})  # fmt: skip
    filesteps.delete(_env(tmp_path), cfg)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["out/keep.yaml", "out/log"]
    filesteps.delete(_env(tmp_path), parse_step_config("delete", {"paths": ["out/log", "nope"]}))
    assert not (tmp_path / "out/log").exists()
    strict = parse_step_config("delete", {"paths": ["out/*.gone"], "pathsAreGlobs": True,
                                          "strict": True})  # fmt: skip
    with pytest.raises(StepFailed, match="matches nothing"):
        filesteps.delete(_env(tmp_path), strict)


def test_kustomize_set_image_without_images_takes_the_freight(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base/kustomization.yaml").write_text("resources: [d.yaml]\n")
    cfg = parse_step_config("kustomize-set-image", {"path": "./base"})
    res = filesteps.kustomize_set_image(_env(tmp_path), cfg)
    assert "newTag: 1.2.0" in (tmp_path / "base/kustomization.yaml").read_text()
    assert res.output["commitMessage"].endswith("- reg/web:1.2.0")


_CLIENT = httpx.Client


def _serve(monkeypatch: pytest.MonkeyPatch, handler: httpx.MockTransport) -> None:
    def client(**kw: object) -> httpx.Client:
        kw.pop("proxy", None)
        return _CLIENT(transport=handler, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpstep.httpx, "Client", client)


def test_http_yaml_bodies_and_error_expression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/config.yaml":
            return httpx.Response(200, text="version: '2.0'\n",
                                  headers={"content-type": "application/yaml"})  # fmt: skip
        if req.url.path == "/plain":
            return httpx.Response(200, text="key: v\n", headers={"content-type": "text/plain"})
        return httpx.Response(403, json={"message": "token expired"})

    _serve(monkeypatch, httpx.MockTransport(answer))
    env = _env(tmp_path)
    got = httpstep.http(
        env,
        parse_step_config(
            "http",
            {
                "url": "http://api/config.yaml",
                "outputs": [{"name": "v", "fromExpression": "response.body.version"}],
            },
        ),
    )
    assert got.output == {"v": "2.0"}
    forced = httpstep.http(
        env,
        parse_step_config(
            "http",
            {
                "url": "http://api/plain",
                "responseContentType": "application/yaml",
                "outputs": [{"name": "v", "fromExpression": "response.body.key"}],
            },
        ),
    )
    assert forced.output == {"v": "v"}
    with pytest.raises(StepFailed, match="HTTP 403 judged a failure: token expired"):
        httpstep.http(
            env,
            parse_step_config(
                "http",
                {
                    "url": "http://api/x",
                    "successExpression": "response.status == 200",
                    "failureExpression": "response.status >= 400 && response.status < 500",
                    "errorExpression": "response.body?.message ?? response.body?.error",
                },
            ),
        )
    (tmp_path / "payload.json").write_text(json.dumps({"a": 1}))
    seen: list[bytes] = []
    _serve(monkeypatch, httpx.MockTransport(lambda r: (seen.append(r.content),
                                                       httpx.Response(200))[1]))  # fmt: skip
    httpstep.http(env, parse_step_config("http", {"url": "http://api/p", "method": "POST",
                                                  "bodyFromFile": "payload.json"}))  # fmt: skip
    assert seen == [b'{"a": 1}']


def test_argocd_app_selectors_match_as_kubernetes_does() -> None:
    pick = AppSelector.model_validate({
        "matchLabels": {"team": "platform"},
        "matchExpressions": [{"key": "environment", "operator": "In",
                              "values": ["staging", "production"]},
                             {"key": "managed-by", "operator": "NotIn",
                              "values": ["legacy-system"]}]})  # fmt: skip
    assert pick.matches({"team": "platform", "environment": "staging"})
    assert not pick.matches({"team": "platform", "environment": "dev"})
    assert not pick.matches({"team": "platform", "environment": "staging",
                             "managed-by": "legacy-system"})  # fmt: skip
    assert not pick.matches({"environment": "staging"})


def test_tag_regexes_narrow_what_a_subscription_sees() -> None:
    img = ImageSubscription.model_validate({"repoURL": "r", "imageSelectionStrategy": "Lexical",
                                            "allowTagsRegexes": [r"^nightly-\d{8}$"],
                                            "ignoreTagsRegexes": ["0101$"]})  # fmt: skip
    tags = ["nightly-20260101", "nightly-20260102", "nightly-x", "latest"]
    assert sel.regex_filter(img, tags) == ["nightly-20260102"]
    git = GitSubscription.model_validate({"repoURL": "g", "commitSelectionStrategy": "NewestTag",
                                          "allowTagsRegexes": ["^v"]})  # fmt: skip
    assert sel.filter_git_tags(git, ["v1", "x1", "v2"]) == ["v1", "v2"]


def test_git_expression_filters() -> None:
    def sub(expr: str) -> GitSubscription:
        return GitSubscription.model_validate({"repoURL": "g", "expressionFilter": expr})

    bot = {"id": "1", "author": "CI <bot@example.com>", "subject": "chore: bump",
           "creatorDate": "2024-06-01T10:00:00+00:00"}  # fmt: skip
    person = {"id": "2", "author": "Jane <jane@example.com>", "subject": "feat: x",
              "creatorDate": "2025-03-01T10:00:00Z"}  # fmt: skip
    no_bots = sub("!(author contains '<bot@example.com>')")
    assert [sel.passes_filter(no_bots, c) for c in (bot, person)] == [False, True]
    feats = sub("subject contains 'feat:' || subject contains 'fix:'")
    assert [sel.passes_filter(feats, c) for c in (bot, person)] == [False, True]
    recent = sub("commitDate.After(date('2025-01-01'))")
    assert [sel.passes_filter(recent, c) for c in (bot, person)] == [False, True]
    year = sub("creatorDate.Year() >= 2025")
    assert [sel.passes_filter(year, c) for c in (bot, person)] == [False, True]


def test_apply_refuses_a_bad_expression_filter_where_it_is() -> None:
    text = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: w, namespace: p}
spec:
  subscriptions:
  - git:
      repoURL: https://git.example/a.git
      expressionFilter: "author contains ("
  freightCreationCriteria:
    expression: imageFrom('x').Tag ==
"""
    found = [str(p) for p in check(parse_text(text, "w.yaml"), [])]
    assert [f.split(" unexpected")[0].split(" (")[0] for f in found] == [
        "w.yaml:8:7: Warehouse/p/w: expressionFilter:",
        "w.yaml:10:5: Warehouse/p/w: freightCreationCriteria:",
    ]


def test_a_disabled_window_does_not_gate() -> None:
    cfg = kargo_project.ProjectConfigSpec.model_validate({"promotionWindows": [
        {"name": "freeze", "kind": "Deny", "disabled": True, "description": "CHG-1",
         "dtstart": "20260101T000000", "dtend": "20260201T000000"},
        {"name": "jan", "kind": "Deny", "dtstart": "20260110T000000",
         "dtend": "20260111T000000"}]})  # fmt: skip
    at = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    assert gates.window_state(cfg.promotion_windows, "prod", {}, at).open
    in_jan = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)  # no TZID: UTC, as Kargo reads it
    state = gates.window_state(cfg.promotion_windows, "prod", {}, in_jan)
    assert not state.open and "jan" in state.reason


def test_authorized_stage_lists_as_kargo_reads_them() -> None:
    from shipway.model.kargo_stage import authorized_stages, authorizes

    key = "kargo.akuity.io/authorized-stage"
    both = {key: "kargo-demo:test-frontend, kargo-demo : test-backend"}
    assert authorizes(both, "kargo-demo", "test-backend")
    assert authorizes(both, "kargo-demo", "test-frontend")
    assert not authorizes(both, "kargo-demo", "test")
    assert not authorizes({key: "kargo-demo:*"}, "kargo-demo", "test")  # globs are gone
    assert not authorizes({}, "kargo-demo", "test")
    with pytest.raises(ValueError, match="expected format"):
        authorized_stages("kargo-demo")


def test_semver_and_serialising_functions_as_kargo_defines_them() -> None:
    s = _scope(vars={"v": "v1.2.3-rc.1+build.5"})
    assert render("${{ semverParse(vars.v).IncPatch().String() }}", s) == "1.2.3"
    assert render("${{ semverParse(vars.v).IncMajor() }}", s) == "2.0.0"  # a Stringer's JSON
    assert render("${{ semverParse(vars.v).Prerelease() }}", s) == "rc.1"
    assert render("${{ semverParse('1.2.3').IncPatch().String() }}", s) == "1.2.4"
    assert render("${{ semverDiff('1.2.3+a', '1.2.3+b') }}", s) == "Metadata"
    assert render("${{ semverDiff('1.2.3', 'v1.2.3') }}", s) == "None"
    assert render("${{ semverDiff('1.2.3', 'latest') }}", s) == "Incomparable"
    assert render("${{ asJSON({'b': 1, 'a': [true]}) }}", s) == (
        '{\n  "a": [\n    true\n  ],\n  "b": 1\n}'
    )
    assert render("${{ asYAML({'a': 1}) }}", s) == "a: 1\n"
    with pytest.raises(Exception, match="semverParse"):
        render("${{ semverParse('nope') }}", s)
