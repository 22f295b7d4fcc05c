"""Tekton Triggers read as-is: TriggerTemplate, TriggerBinding, ClusterTriggerBinding and
EventListener stored with ``apply``; the controller's push and pull request events go
through the listener's interceptors and bindings into the user's own template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
