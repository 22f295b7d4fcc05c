"""Apply-time checks across Kargo objects (shipway.promote.checks): missing Warehouses, tasks and
analysis templates, cycles in stage sources, bad expressions, aliases, ProjectConfig naming; each
problem at its field's file:line:col, all of them at once."""

from __future__ import annotations

from kargo_examples import (
    ALL,
    ANALYSIS_TEMPLATE,
    CLUSTER_PROMOTION_TASK,
    PROJECT_CONFIG,
    PROMOTION,
    PROMOTION_TASK,
    STAGE_TEST,
    STAGE_UAT,
    WAREHOUSE,
)

from shipway.model.errors import ResourceError
from shipway.model.resources import Resource, parse_text
from shipway.promote.checks import check, expression_problems


def _parse(text: str, file: str = "k.yaml") -> list[Resource]:
    return parse_text(text, file)


def _found(problems: list[ResourceError]) -> list[tuple[str | None, str]]:
    return sorted((p.subject, p.message) for p in problems)


def test_a_whole_documented_project_passes() -> None:
    assert check(_parse(ALL), []) == []


def test_references_resolve_against_the_store() -> None:
    stored = _parse("---\n".join([WAREHOUSE, PROMOTION_TASK, CLUSTER_PROMOTION_TASK,
                                  ANALYSIS_TEMPLATE]), "old.yaml")  # fmt: skip
    for res in stored:
        res.located = None  # as read back from the store
    assert check(_parse(STAGE_TEST), stored) == []


def test_missing_warehouse_tasks_and_templates_named_where_they_are() -> None:
    found = _found(check(_parse(STAGE_TEST), []))
    assert found == [
        ("k.yaml:14:7", "Stage/kargo-demo/test: Warehouse 'guestbook' does not exist in "
         "Project 'kargo-demo'"),
        ("k.yaml:21:11", "Stage/kargo-demo/test: PromotionTask 'update-config' does not exist "
         "in Project 'kargo-demo'"),
        ("k.yaml:26:11", "Stage/kargo-demo/test: ClusterPromotionTask 'sync-app' does not exist"),
        ("k.yaml:33:7", "Stage/kargo-demo/test: AnalysisTemplate 'health-check' does not exist "
         "in Project 'kargo-demo'"),
    ]  # fmt: skip
    lines = STAGE_TEST.splitlines()
    assert lines[13].strip() == "name: guestbook" and lines[20].strip() == "name: update-config"


def test_a_template_in_another_project_does_not_count() -> None:
    other = _parse(ANALYSIS_TEMPLATE.replace("namespace: kargo-demo", "namespace: other"))
    warehouse = _parse(WAREHOUSE + "---\n" + PROMOTION_TASK + "---\n" + CLUSTER_PROMOTION_TASK)
    found = check(_parse(STAGE_TEST), [*other, *warehouse])
    assert [p.subject for p in found] == ["k.yaml:33:7"]


def _stage(name: str, upstreams: list[str]) -> str:
    sources = f"stages: [{', '.join(upstreams)}]" if upstreams else "direct: true"
    return (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
        f"metadata: {{name: {name}, namespace: kargo-demo}}\n"
        "spec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: guestbook}\n"
        f"    sources: {{{sources}}}\n"
    )


def test_a_cycle_in_stage_sources_is_named_once() -> None:
    text = "---\n".join([WAREHOUSE, _stage("test", ["prod"]), _stage("uat", ["test"]),
                         _stage("prod", ["uat"]), _stage("side", ["test"])])  # fmt: skip
    found = check(_parse(text), [])
    assert len(found) == 1
    [problem] = found
    assert problem.message == (
        "Stage/kargo-demo/test: stage sources form a cycle: test -> prod -> uat -> test "
        "(each takes Freight from the next)"
    )
    assert problem.subject == "k.yaml:18:24"  # the 'prod' in test's sources.stages
    assert text.splitlines()[17][23:27] == "prod"


def test_a_stage_taking_from_itself_and_a_cycle_through_the_store() -> None:
    warehouse = _parse(WAREHOUSE)
    [self_loop] = check(_parse(_stage("test", ["direct", "test"])), warehouse)
    assert "cycle: test -> test" in self_loop.message and self_loop.subject == "k.yaml:7:32"
    stored = _parse(_stage("uat", ["test"]) + "---\n" + WAREHOUSE, "old.yaml")
    [through_store] = check(_parse(_stage("test", ["uat"])), stored)
    assert "cycle: test -> uat -> test" in through_store.message
    assert check(_parse(_stage("test", ["direct"])), stored) == []


def test_upstream_stages_need_not_exist_yet() -> None:
    assert check(_parse(_stage("uat", ["test"])), _parse(WAREHOUSE)) == []


def test_bad_expressions_in_any_step_field() -> None:
    text = (
        STAGE_UAT.replace("${{ vars.gitRepo }}", "${{ vars.gitRepo ")
        .replace("${{ outputs.update.commitMessage }}", "${{ outputs.update. }}")
        .replace("quote(imageFrom(", "quotes(imageFrom(")
        .replace("continueOnError: true", "if: ${{ success() && }}")
    )
    found = _found(check(_parse(text), _parse(WAREHOUSE)))
    assert [s for s, _ in found] == ["k.yaml:22:11", "k.yaml:32:13", "k.yaml:36:11",
                                     "k.yaml:41:9"]  # fmt: skip
    messages = [m for _, m in found]
    assert "unclosed ${{ expression" in messages[0]
    assert "unknown function 'quotes'" in messages[1]
    assert "bad expression ${{ outputs.update. }}" in messages[2]
    assert "bad expression ${{ success() && }}" in messages[3]


def test_expressions_in_vars_tasks_and_verification_args() -> None:
    text = STAGE_TEST.replace("value: stage/${{ ctx.stage }}", "value: stage/${{ ctx. }}")
    text = text.replace("value: http://test.example/healthz", "value: ${{ nope(1) }}")
    refs = [WAREHOUSE, PROMOTION_TASK, CLUSTER_PROMOTION_TASK, ANALYSIS_TEMPLATE]
    found = check(_parse(text), _parse("---\n".join(refs)))
    assert sorted(str(p.subject) for p in found) == ["k.yaml:24:11", "k.yaml:39:7"]
    task = PROMOTION_TASK.replace("${{ vars.repoURL }}", "${{ vars.repoURL | }}")
    [problem] = check(_parse(task), [])
    assert problem.subject == "k.yaml:14:7" and "vars.repoURL |" in problem.message
    assert expression_problems("${{ warehouse('w') }} and ${{ len(vars) > 0 }}") == []


def test_step_aliases_unique_and_not_reserved() -> None:
    text = PROMOTION_TASK.replace("as: commit", "as: update-image").replace(
        "as: push", "as: step-5"
    )
    found = _found(check(_parse(text), []))
    assert found == [
        ("k.yaml:36:5", "PromotionTask/kargo-demo/update-config: step alias 'update-image' "
         "duplicates that of steps[2]"),
        ("k.yaml:41:5", "PromotionTask/kargo-demo/update-config: step alias 'step-5' is "
         "reserved"),
    ]  # fmt: skip


def test_project_config_name_and_duplicate_policies() -> None:
    text = PROJECT_CONFIG.replace("  name: kargo-demo", "  name: config").replace(
        'name: "glob:uat-*"', "name: test"
    )
    found = _found(check(_parse(text), []))
    assert found == [
        ("k.yaml:12:5", "ProjectConfig/kargo-demo/config: stage name 'test' already defined "
         "at spec.promotionPolicies[0]"),
        ("k.yaml:4:3", "ProjectConfig/kargo-demo/config: name 'config' must match project "
         "name 'kargo-demo'"),
    ]  # fmt: skip


def test_promotion_needs_its_stage_and_freight() -> None:
    found = _found(check(_parse(PROMOTION), []))
    assert [s for s, _ in found] == ["k.yaml:7:3", "k.yaml:8:3"]
    assert "Stage 'test' does not exist" in found[0][1]
    assert "Freight '4e2b5a1f3c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b' does not exist" in found[1][1]


def test_two_cycles_are_two_problems_and_a_stored_cycle_is_not_the_batchs() -> None:
    text = "---\n".join([WAREHOUSE, _stage("a", ["b"]), _stage("b", ["a"]), _stage("c", ["d"]),
                         _stage("d", ["c", "a"])])  # fmt: skip
    found = sorted(p.message.split(": ", 2)[2] for p in check(_parse(text), []))
    assert found == ["a -> b -> a (each takes Freight from the next)",
                     "c -> d -> c (each takes Freight from the next)"]  # fmt: skip
    stored = _parse("---\n".join([WAREHOUSE, _stage("x", ["y"]), _stage("y", ["x"])]), "old.yaml")
    assert check(_parse(_stage("z", ["x"])), stored) == []


def test_a_stage_on_two_cycles_is_reported_once_with_a_shortest_cycle() -> None:
    text = "---\n".join([WAREHOUSE, _stage("hub", ["long1", "short"]), _stage("short", ["hub"]),
                         _stage("long1", ["long2"]), _stage("long2", ["hub"])])  # fmt: skip
    [problem] = check(_parse(text), [])
    assert "cycle: hub -> short -> hub" in problem.message
    assert problem.subject == "k.yaml:18:31"  # 'short' in hub's sources.stages
    assert text.splitlines()[17][30:35] == "short"


def test_chart_subscription_problems_at_apply_all_at_once() -> None:
    text = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        "metadata: {name: charts, namespace: kargo-demo}\n"
        "spec:\n  subscriptions:\n"
        "  - chart: {repoURL: 'oci://reg.example/c', semverConstraint: '^^1'}\n"
        "  - chart:\n      repoURL: https://charts.example\n      name: web\n"
        "      semverConstraint: '>= 1.0 <'\n"
        "  - chart: {repoURL: 'oci://reg.example/ok', semverConstraint: '~1.2'}\n"
    )
    found = _found(check(_parse(text), []))
    assert [s for s, _ in found] == ["k.yaml:10:7", "k.yaml:6:45"]
    assert all("semverConstraint:" in m for _, m in found)


def test_an_unknown_step_does_not_hide_the_other_steps_problems() -> None:
    stage = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: test, namespace: kargo-demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: kargo-demo}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: git-commit
        config: {path: ./out, messageFromSteps: [update-image]}
      - uses: argocd-update
        config:
          apps:
          - name: kargo-demo-test
            sources:
            - {repoURL: "https://x/y.git", desiredCommitFromStep: commit}
      - uses: git-tag
        config: {path: ./out, tag: v1}
      - uses: git-push
        config: nope
"""
    try:
        parse_text(stage, "old.yaml")
    except ResourceError as exc:
        lines = str(exc).splitlines()
    else:
        raise AssertionError("the stage was accepted")
    assert any(ln.startswith("old.yaml:12:") and "messageFromSteps: unknown field" in ln
               for ln in lines), lines  # fmt: skip
    assert any(ln.startswith("old.yaml:18:") and "desiredCommitFromStep: unknown field" in ln
               for ln in lines), lines  # fmt: skip
    assert any(ln.startswith("old.yaml:19:") and "unknown promotion step 'git-tag'" in ln
               for ln in lines), lines  # fmt: skip
    assert len([ln for ln in lines if ln.startswith("old.yaml:22:")]) == 1, lines  # once
