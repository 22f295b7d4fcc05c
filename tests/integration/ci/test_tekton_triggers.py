"""Tekton Triggers read as-is: TriggerTemplate, TriggerBinding, ClusterTriggerBinding and
EventListener stored with ``apply``; the controller's push and pull request events go
through the listener's interceptors and bindings into the user's own template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipway.ci.tekton import trigger_eval
from shipway.model.errors import ResourceError
from shipway.model.resources import parse_text
from shipway.store import resources as stored

pytestmark = pytest.mark.integration

TRIGGERS = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: build}
spec:
  params:
    - {name: revision}
    - {name: event}
    - {name: short}
    - {name: greeting, default: hello}
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: build-}
      spec:
        pipelineRef: {name: show}
        params:
          - name: line
            value: >-
              $(tt.params.greeting) $(tt.params.event) $(tt.params.revision)
              $(tt.params.short)
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata: {name: push}
spec:
  params:
    - {name: revision, value: $(body.head_commit.id)}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: ClusterTriggerBinding
metadata: {name: event-type}
spec:
  params:
    - {name: event, value: "$(header.X-GitHub-Event)"}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: listener}
spec:
  triggers:
    - name: on-main
      interceptors:
        - ref: {name: github}
          params:
            - {name: eventTypes, value: [push]}
        - ref: {name: cel}
          params:
            - name: filter
              value: >-
                body.ref == 'refs/heads/main' && header.match('X-GitHub-Event', 'push')
            - name: overlays
              value:
                - {key: short_sha, expression: "body.after.truncate(7)"}
      bindings:
        - {ref: push}
        - {ref: event-type, kind: ClusterTriggerBinding}
        - {name: short, value: "$(extensions.short_sha)"}
      template: {ref: build}
    - name: other-branch
      interceptors:
        - cel: {filter: "body.ref == 'refs/heads/release'"}
      bindings: [{ref: push}]
      template: {ref: build}
    - name: pull-requests
      interceptors:
        - gitlab: {eventTypes: [Merge Request Hook]}
      bindings:
        - {name: revision, value: $(body.pull_request.head.sha)}
        - {name: event, value: $(header.X-Gitlab-Event)}
        - {name: short, value: "#$(body.number)"}
      template: {ref: build}
    - name: broken-binding
      interceptors:
        - github: {eventTypes: [push]}
      bindings:
        - {name: revision, value: $(body.no.such.field)}
      template: {ref: build}
"""
SHOW = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: show}
spec:
  params: [{name: line}]
  tasks:
    - name: show
      params: [{name: line, value: $(params.line)}]
      taskSpec:
        params: [{name: line}]
        steps:
          - name: s
            script: echo "said $(params.line)"
"""


def _apply(store: Any, text: str) -> None:
    stored.apply(store, parse_text(text, "triggers.yaml"))


def test_apply_checks_every_problem_with_file_line_col() -> None:
    bad = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: t}
spec:
  params: [{name: a}]
  resourcetemplates:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: $(tt.params.b)}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: el}
spec:
  triggers:
    - name: x
      bindings:
        - {name: a, value: $(params.a)}
      interceptors:
        - ref: {name: cel}
          params:
            - {name: filter, value: "body.ref =="}
        - ref: {name: slack}
      template: {ref: t}
      extra: 1
"""
    with pytest.raises(ResourceError) as exc:
        parse_text(bad, "bad.yaml")
    text = str(exc.value)
    for where, what in [
        ("bad.yaml:7:7:", "v1 ConfigMap is not served"),
        ("bad.yaml:7:7:", "$(tt.params.b) names no param of the template"),
        ("bad.yaml:25:7:", 'unknown field "spec.triggers[0].extra"'),
    ]:
        assert any(line.startswith(where) and what in line for line in text.splitlines()), text
    with pytest.raises(ResourceError) as exc:
        parse_text(bad.split("---\n")[1].replace("      extra: 1\n", ""), "el.yaml")
    lines = str(exc.value).splitlines()
    assert lines[0].startswith("el.yaml:8:21: ") and "$(params.a) is not a binding" in lines[0]
    assert lines[1].startswith("el.yaml:12:30: ") and "CEL: syntax error" in lines[1]
    assert lines[2].startswith("el.yaml:13:11: ") and "interceptor 'slack' not served" in lines[2]
    good = parse_text(TRIGGERS, "t.yaml")
    assert [(r.kind, r.namespace) for r in good] == [
        ("TriggerTemplate", "default"), ("TriggerBinding", "default"),
        ("ClusterTriggerBinding", ""), ("EventListener", "default"),
    ]  # fmt: skip


def test_bindings_read_body_header_and_extensions_as_tekton_does() -> None:
    event = trigger_eval.Event({"a": {"b": [{"c": 1}, {"c": "two"}]}, "o": {"k": True}},
                               {"X-Thing": "v"})  # fmt: skip
    ext = {"e": {"f": "g"}}
    got = trigger_eval.resolve_value(
        "$(body.a.b[1].c)-$(body.a.b[0].c)-$(body.o)-$(header.x-thing)-$(extensions.e.f)",
        event, ext)  # fmt: skip
    assert got == 'two-1-{"k":true}-v-g'
    with pytest.raises(ValueError, match="nope is not found"):
        trigger_eval.resolve_value("$(body.a.nope)", event, ext)
    ok, found, _ = trigger_eval.intercept(
        [{"cel": {"overlays": [{"key": "n.m", "expression": "size(body.a.b) + 1"}]}}], event
    )
    assert ok and found == {"n": {"m": 3}}
    ok, _, why = trigger_eval.intercept([{"cel": {"filter": "body.o.k == false"}}], event)
    assert not ok and "did not return true" in why


def test_the_controller_runs_the_listeners_template_for_a_push(
    store: Any, tmp_path: Path, new_repo: Any
) -> None:
    from shipway.ci.service import run_event
    from shipway.store.runs import get_run

    _apply(store, TRIGGERS)
    repo, commit = new_repo(tmp_path / "src", {".tekton/show.yaml": SHOW})
    lines: list[str] = []
    payload = {"ref": "refs/heads/main", "before": "0" * 40, "after": commit,
               "repository": {"clone_url": str(repo.path), "name": "web"}}  # fmt: skip
    records = run_event(store, repo=str(repo.path), commit=commit, ref="refs/heads/main",
                        event="push", payload=payload, workdir=tmp_path / "work", vars={},
                        secrets={}, on_line=lines.append, pipeline="web",
                        namespace="default")  # fmt: skip
    by_result = sorted((r["conclusion"], r["workflow"]) for r in records)
    assert by_result[0] == ("failure", "EventListener/default/listener:broken-binding")
    failed = next(r for r in records if r["conclusion"] == "failure")
    assert "failed to replace JSONPath value for param revision" in failed["error"]
    assert "no is not found" in failed["error"]
    run = next(r for r in records if r["conclusion"] == "success")
    assert len(records) == 2 and run["name"].startswith("build-")
    assert run["kind"] == "PipelineRun" and run["pipeline"] == "web"
    assert f"[show] [step-s] said hello push {commit} {commit[:7]}" in lines
    stored_run = get_run(store, run["id"])[0]
    assert stored_run["status"]["conditions"][0]["reason"] == "Succeeded"


def test_a_pull_request_fires_the_gitlab_event_type_trigger(
    store: Any, tmp_path: Path, new_repo: Any
) -> None:
    from shipway.ci.service import run_event

    _apply(store, TRIGGERS)
    repo, commit = new_repo(tmp_path / "src", {".tekton/show.yaml": SHOW})
    lines: list[str] = []
    payload = {"action": "opened", "number": 7,
               "pull_request": {"number": 7, "head": {"ref": "main", "sha": commit},
                                "base": {"ref": "main"}}}  # fmt: skip
    records = run_event(store, repo=str(repo.path), commit=commit, ref="refs/pull/7/merge",
                        event="pull_request", payload=payload, workdir=tmp_path / "work",
                        vars={}, secrets={}, on_line=lines.append, merge_into="main",
                        namespace="default")  # fmt: skip
    assert [r["conclusion"] for r in records] == ["success"]
    assert f"[show] [step-s] said hello Merge Request Hook {commit} #7" in lines
    # another namespace's Pipeline sees no listener
    none = run_event(store, repo=str(repo.path), commit=commit, ref="refs/pull/7/merge",
                     event="pull_request", payload=payload, workdir=tmp_path / "work2",
                     vars={}, secrets={}, merge_into="main", namespace="other")  # fmt: skip
    assert none == []
