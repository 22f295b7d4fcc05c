"""Kargo's Stage, Promotion, PromotionTask, ClusterPromotionTask, ProjectConfig and Argo Rollouts'
analysis kinds: documented shapes apply unchanged with Kargo's defaults; bad input is refused at
the field's file:line:col, naming the problem."""

from __future__ import annotations

import pytest
from kargo_examples import (
    ALL,
    ANALYSIS_RUN,
    ANALYSIS_TEMPLATE,
    CLUSTER_ANALYSIS_TEMPLATE,
    CLUSTER_PROMOTION_TASK,
    PROJECT_CONFIG,
    PROMOTION,
    PROMOTION_TASK,
    STAGE_TEST,
    STAGE_UAT,
)

from shipway.model import kindnames, kinds
from shipway.model.errors import ResourceError
from shipway.model.kargo_project import ProjectConfigSpec, parse_ical_time
from shipway.model.kargo_promotion import PromotionSpec, PromotionStatus
from shipway.model.kargo_stage import StageSpec, StageStatus
from shipway.model.kargo_steps import STEP_NAMES, PromotionTaskSpec
from shipway.model.resources import parse_text
from shipway.model.rollouts import AnalysisRunStatus, AnalysisTemplateSpec


def _error(text: str) -> ResourceError:
    with pytest.raises(ResourceError) as info:
        parse_text(text, "k.yaml")
    return info.value


def test_every_documented_kind_applies_with_its_scope() -> None:
    found = {r.kind: r for r in parse_text(ALL, "k.yaml")}
    assert len(parse_text(ALL, "k.yaml")) == 11
    for kind in ("Stage", "Promotion", "PromotionTask", "ProjectConfig", "AnalysisTemplate",
                 "AnalysisRun"):  # fmt: skip
        assert found[kind].namespace == "kargo-demo", kind
    assert found["ClusterPromotionTask"].namespace == ""
    assert found["ClusterAnalysisTemplate"].namespace == ""
    assert found["Promotion"].status == {}  # status is the controller's, not apply's


def test_kind_words_are_kargos_and_rollouts() -> None:
    words = {"stages": "Stage", "promo": "Promotion", "promotasks": "PromotionTask",
             "clusterpromotask": "ClusterPromotionTask", "projectconfigs": "ProjectConfig",
             "at": "AnalysisTemplate", "cat": "ClusterAnalysisTemplate", "ar": "AnalysisRun",
             "stages.kargo.akuity.io": "Stage",
             "analysisruns.argoproj.io": "AnalysisRun"}  # fmt: skip
    for word, kind in words.items():
        assert kindnames.canonical_kind(word) == kind
    assert kindnames.group_of("AnalysisTemplate") == "argoproj.io"
    with pytest.raises(ResourceError):
        kindnames.canonical_kind("stages.argoproj.io")


def test_stage_defaults_are_kargos() -> None:
    [test] = parse_text(STAGE_TEST, "s.yaml")
    spec = StageSpec.model_validate(test.spec)
    sources = spec.requested_freight[0].sources
    assert sources.strategy == "OneOf" and sources.selection_policy == "NewestFreight"
    assert sources.required_soak_time is None
    task_step = spec.steps[0]
    assert task_step.task is not None and task_step.task.kind == "PromotionTask"
    assert spec.steps[1].task is not None and spec.steps[1].task.kind == "ClusterPromotionTask"
    assert spec.verification is not None
    assert spec.verification.analysis_templates[0].kind == "AnalysisTemplate"
    uat = StageSpec.model_validate(parse_text(STAGE_UAT, "s.yaml")[0].spec)
    src = uat.requested_freight[0].sources
    assert (src.stages, src.required_soak_time, src.selection_policy) == (
        ["test"], "1h", "MatchUpstream")  # fmt: skip
    assert uat.steps[4].continue_on_error is True and uat.steps[1].alias == "update"
    assert not uat.is_control_flow


def test_stage_status_reads_kargos_shape() -> None:
    status = StageStatus.model_validate(
        {
            "freightHistory": [{"id": "abc", "items": {"Warehouse/guestbook": {
                "name": "f1", "origin": {"kind": "Warehouse", "name": "guestbook"}}},
                "verificationHistory": [{"id": "v1", "phase": "Successful"}]}],
            "health": {"status": "Healthy"},
            "lastPromotion": {"name": "p1", "status": {"phase": "Succeeded"}},
            "autoPromotionHolds": {"Warehouse/guestbook": {
                "freightName": "f0", "origin": {"kind": "Warehouse", "name": "guestbook"}}},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}],
        }
    )  # fmt: skip
    assert status.freight_history[0].items["Warehouse/guestbook"].name == "f1"
    assert status.auto_promotion_holds["Warehouse/guestbook"].freight_name == "f0"
    ready = status.condition("Ready")
    assert ready is not None and ready.status == "True"


def test_promotion_spec_and_status() -> None:
    [res] = parse_text(PROMOTION, "p.yaml")
    spec = PromotionSpec.model_validate(res.spec)
    assert spec.stage == "test" and [s.uses for s in spec.steps] == ["git-clone", "git-push"]
    status = PromotionStatus.model_validate(
        {"phase": "Running", "currentStep": 1, "stepExecutionMetadata": [
            {"alias": "step-0", "status": "Succeeded", "errorCount": 0}]}
    )  # fmt: skip
    assert not status.terminal and status.step_execution_metadata[0].status == "Succeeded"
    with pytest.raises(ValueError, match="phase"):
        PromotionStatus.model_validate({"phase": "Done"})


def test_tasks_vars_and_steps() -> None:
    for text in (PROMOTION_TASK, CLUSTER_PROMOTION_TASK):
        [res] = parse_text(text, "t.yaml")
        spec = PromotionTaskSpec.model_validate(res.spec)
        assert spec.steps and all(s.uses in STEP_NAMES for s in spec.steps)
    spec = PromotionTaskSpec.model_validate(parse_text(PROMOTION_TASK, "t.yaml")[0].spec)
    assert spec.vars[1].name == "branch" and spec.vars[1].value == ""
    retry = spec.steps[5].retry
    assert retry is not None and retry.error_threshold == 3 and retry.timeout == "5m"
    assert spec.steps[0].retry is None


def test_project_config_policies_and_windows() -> None:
    [res] = parse_text(PROJECT_CONFIG, "c.yaml")
    spec = ProjectConfigSpec.model_validate(res.spec)
    test = spec.policy_for("test", {})
    assert test is not None and test.auto_promotion_enabled
    assert test.auto_rollback is not None
    assert test.auto_rollback.effective_on_verification == ["Failed"]
    assert test.auto_rollback.on_promotion == []
    assert spec.policy_for("uat-1", {"tier": "pre-prod"}) is spec.promotion_policies[1]
    assert spec.policy_for("uat-1", {}) is None
    prod = spec.policy_for("prod-eu", {"region": "eu"})
    assert prod is not None and prod.auto_promotion_enabled is False  # Kargo's default
    assert spec.policy_for("prod-eu", {"region": "asia"}) is None
    allow, deny = spec.promotion_windows
    assert allow.kind == "Allow" and allow.occurrence.total_seconds() == 8 * 3600
    assert deny.stage_selector is not None and deny.rrule == ""
    assert parse_ical_time("TZID=Europe/Paris:20260105T090000")[1] == "Europe/Paris"


def test_project_spec_reads_the_older_policy_location() -> None:
    text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\nspec:\n"
    [res] = parse_text(text + "  promotionPolicies: [{stage: test, autoPromotionEnabled: true}]\n",
                       "p.yaml")  # fmt: skip
    assert kinds.SCHEMAS["Project"].model_validate(res.spec).model_dump()["promotion_policies"]
    err = _error(text + "  promotionPolicies: [{stage: test, autoPromote: true}]\n")
    assert "autoPromote" in str(err) and err.subject == "k.yaml:5:37"


def test_analysis_template_defaults_are_argo_rollouts() -> None:
    [res] = parse_text(ANALYSIS_TEMPLATE, "a.yaml")
    spec = AnalysisTemplateSpec.model_validate(res.spec)
    healthz, errors, smoke = spec.metrics
    assert healthz.provider.kind == "web" and healthz.provider.web is not None
    assert healthz.provider.web.method == "GET" and healthz.provider.web.timeout_seconds == 5
    limits = {"failureLimit": 1, "inconclusiveLimit": 0, "consecutiveErrorLimit": 4,
              "consecutiveSuccessLimit": 0}  # fmt: skip
    assert healthz.limits() == limits
    assert healthz.effective_count == 3
    assert errors.provider.kind == "prometheus" and errors.effective_count == 1
    assert smoke.provider.kind == "job"
    assert spec.args[1].value_from is not None
    [cat] = parse_text(CLUSTER_ANALYSIS_TEMPLATE, "a.yaml")
    web = AnalysisTemplateSpec.model_validate(cat.spec).metrics[0].provider.web
    assert web is not None and web.json_path == "{$}" and web.timeout_seconds == 10
    assert web.json_body == {"ok": True}


def test_analysis_run_spec_and_status() -> None:
    [res] = parse_text(ANALYSIS_RUN, "r.yaml")
    assert kinds.SCHEMAS["AnalysisRun"].model_validate(res.spec)
    status = AnalysisRunStatus.model_validate(
        {"phase": "Inconclusive", "metricResults": [{"name": "healthz", "phase": "Inconclusive",
         "measurements": [{"phase": "Inconclusive", "value": "maybe"}]}]}
    )  # fmt: skip
    assert status.completed and status.metric_results[0].measurements[0].value == "maybe"
    with pytest.raises(ValueError, match="phase"):
        AnalysisRunStatus.model_validate({"phase": "Succeeded"})


def _at(text: str, old: str, new: str) -> ResourceError:
    assert old in text, old
    return _error(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("text", "old", "new", "where", "words"),
    [
        (
            STAGE_TEST,
            "  shard: main",
            "  shard: main\n  sharding: x",
            "k.yaml:8:3",
            "spec.sharding: Extra inputs",
        ),
        (STAGE_TEST, "direct: true", "direct: false", "k.yaml:15:5", "'direct: true' or"),
        (STAGE_TEST, "kind: Warehouse", "kind: Stage", "k.yaml:13:7", "origin.kind"),
        (
            STAGE_UAT,
            "requiredSoakTime: 1h",
            "requiredSoakTime: 1d",
            "k.yaml:13:7",
            "requiredSoakTime '1d'",
        ),
        (
            STAGE_UAT,
            "availabilityStrategy: OneOf",
            "availabilityStrategy: Any",
            "k.yaml:14:7",
            "availabilityStrategy",
        ),
        (
            STAGE_UAT,
            "stages: [test]",
            "stages: [test, qa]",
            "k.yaml:11:5",
            "'MatchUpstream' requires exactly one upstream",
        ),
        (
            STAGE_UAT,
            "- uses: http",
            "- uses: http-get",
            "k.yaml:40:9",
            "unknown promotion step 'http-get' (shipway has: git-clone",
        ),
        (
            STAGE_UAT,
            "continueOnError: true",
            "continueOnErrors: true",
            "k.yaml:41:9",
            "continueOnErrors",
        ),
        (
            STAGE_TEST,
            "      - task:\n          name: update-config",
            "      - uses: git-clone\n        task:\n          name: update-config",
            "k.yaml:20:9",
            "exactly one of 'uses' or 'task'",
        ),
        (STAGE_TEST, "kind: ClusterPromotionTask", "kind: Task", "k.yaml:27:11", "task.kind"),
        (
            STAGE_TEST,
            "- name: health-check",
            "- name: health-check\n      kind: Template",
            "k.yaml:34:7",
            "analysisTemplates.0.kind",
        ),
        (
            STAGE_TEST,
            "- name: gitRepo",
            "- name: git-repo",
            "k.yaml:9:5",
            "variable name 'git-repo'",
        ),
        (
            PROMOTION,
            "  - uses: git-push\n    config:\n      path: ./out",
            "  - task: {name: x}",
            "k.yaml:17:5",
            "must not reference a task",
        ),
        (PROMOTION, "  freight: 4e2b", "  freight: Not_A_Name", "k.yaml:8:3", "freight"),
        (
            PROMOTION_TASK,
            "errorThreshold: 3",
            "errorThreshold: -1",
            "k.yaml:43:7",
            "errorThreshold",
        ),
        (PROMOTION_TASK, "timeout: 5m", "timeout: soon", "k.yaml:44:7", "not a duration"),
        (
            CLUSTER_PROMOTION_TASK,
            "  - uses: argocd-update",
            "  - uses: argocd-sync",
            "k.yaml:9:5",
            "unknown promotion step 'argocd-sync'",
        ),
        (
            PROJECT_CONFIG,
            "autoPromotionEnabled: true\n    autoRollback: {}",
            "autoPromotionEnabled: true\n    autoRollback: {onVerification: [Errored]}",
            "k.yaml:11:37",
            "onVerification.0",
        ),
        (
            PROJECT_CONFIG,
            'name: "glob:uat-*"',
            'name: "wild:uat-*"',
            "k.yaml:13:7",
            "invalid pattern identifier 'wild'",
        ),
        (
            PROJECT_CONFIG,
            'name: "regex:^prod-(eu|us)$"',
            'name: "regex:^prod-(eu"',
            "k.yaml:18:7",
            "not a regular expression",
        ),
        (PROJECT_CONFIG, "operator: In", "operator: Within", "k.yaml:20:23", "operator"),
        (
            PROJECT_CONFIG,
            "  - stageSelector:\n      name: test",
            "  - stage: test\n    stageSelector:\n      name: test",
            "k.yaml:8:5",
            "exactly one of stage or stageSelector",
        ),
        (
            PROJECT_CONFIG,
            "rrule: FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "rrule: FREQ=SOMETIMES",
            "k.yaml:24:5",
            "not an RFC 5545 rule",
        ),
        (PROJECT_CONFIG, "kind: Allow", "kind: allow", "k.yaml:23:5", "kind"),
        (
            PROJECT_CONFIG,
            "dtend: 20270104T000000Z",
            "dtend: 20261201T000000Z",
            "k.yaml:27:5",
            "is not after dtstart",
        ),
        (
            PROJECT_CONFIG,
            "TZID=Europe/Paris:20260105T170000",
            "TZID=Mars/Olympus:20260105T170000",
            "k.yaml:26:5",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            ANALYSIS_TEMPLATE,
            "      web:\n        url:",
            "      datadog: {query: x}\n      web:\n        url:",
            "k.yaml:19:7",
            "metric provider 'datadog' is not supported",
        ),
        (
            ANALYSIS_TEMPLATE,
            "timeoutSeconds: 5",
            "timeoutSeconds: 5\n        timeout: 5",
            "k.yaml:26:9",
            "web.timeout: Extra inputs",
        ),
        (ANALYSIS_TEMPLATE, "interval: 10s", "interval: often", "k.yaml:14:5", "interval"),
        (ANALYSIS_TEMPLATE, "failureLimit: 1", "failureLimit: one", "k.yaml:16:5", "failureLimit"),
        (
            ANALYSIS_TEMPLATE,
            "        timeout: 20",
            "        timeout: 20\n        step: 1m",
            "k.yaml:35:9",
            "prometheus.step",
        ),
        (
            CLUSTER_ANALYSIS_TEMPLATE,
            "method: POST",
            "method: GET",
            "k.yaml:9:7",
            "need method POST or PUT",
        ),
        (ANALYSIS_RUN, "  metrics:", "  metric:", "k.yaml:6:1", "metric"),
    ],
)
def test_bad_fields_are_refused_where_they_are(
    text: str, old: str, new: str, where: str, words: str
) -> None:
    err = _at(text, old, new)
    assert words in str(err), str(err)
    assert err.subject == where, str(err)


def test_every_problem_at_once() -> None:
    text = STAGE_UAT.replace("- uses: http", "- uses: http-get").replace("direct", "x")
    text = text.replace("requiredSoakTime: 1h", "requiredSoakTime: 1d")
    err = _error(text)
    assert "requiredSoakTime" in str(err) and "http-get" in str(err)
