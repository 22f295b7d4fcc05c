"""Tekton Triggers' pure cores: the kinds' checks (``model.tekton_triggers``, through
``parse_text`` as ``apply`` reads them) and a trigger's evaluation
(``ci.tekton.trigger_eval``): bindings, interceptors, templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shipway.ci.tekton import interceptors as icpts
from shipway.ci.tekton import trigger_eval
from shipway.model.errors import ResourceError
from shipway.model.resources import parse_text

TRIGGERS = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: build}
spec:
  params: [{name: revision}, {name: greeting, default: hello}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: build-}
      spec:
        pipelineRef: {name: show}
        params: [{name: line, value: "$(tt.params.greeting) $(tt.params.revision)"}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata: {name: push}
spec:
  params: [{name: revision, value: $(body.head_commit.id)}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: ClusterTriggerBinding
metadata: {name: event-type}
spec:
  params: [{name: event, value: "$(header.X-GitHub-Event)"}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: listener}
spec:
  triggers:
    - name: on-push
      interceptors: [{github: {eventTypes: [push]}}]
      bindings: [{ref: push}]
      template: {ref: build}
"""


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
        ("bad.yaml:22:30:", "CEL: syntax error"),  # beside the unknown field, at once
    ]:
        assert any(line.startswith(where) and what in line for line in text.splitlines()), text
    with pytest.raises(ResourceError) as exc:
        parse_text(bad.split("---\n")[1].replace("      extra: 1\n", ""), "el.yaml")
    lines = str(exc.value).splitlines()
    assert lines[0].startswith("el.yaml:8:21: ") and "$(params.a) is not a binding" in lines[0]
    assert lines[1].startswith("el.yaml:12:30: ") and "CEL: syntax error" in lines[1]
    assert lines[2].startswith("el.yaml:13:17: ") and "interceptor 'slack' is not served" in lines[
        2]  # fmt: skip
    owners = bad.split("---\n")[1].replace("      extra: 1\n", "").replace(
        "        - ref: {name: slack}\n",
        "        - ref: {name: github}\n          params:\n"
        "            - {name: githubOwners, value: {enabled: true}}\n")  # fmt: skip
    with pytest.raises(ResourceError) as exc:
        parse_text(owners, "el.yaml")
    last = str(exc.value).splitlines()[-1]
    assert last.startswith("el.yaml:15:36: ") and "githubOwners is not served" in last, last
    good = parse_text(TRIGGERS, "t.yaml")
    assert [(r.kind, r.namespace) for r in good] == [
        ("TriggerTemplate", "default"), ("TriggerBinding", "default"),
        ("ClusterTriggerBinding", ""), ("EventListener", "default"),
    ]  # fmt: skip


def _ports(docs: dict[tuple[str, str], dict[str, Any]]) -> trigger_eval.Ports:
    return trigger_eval.Ports(find=lambda kind, name, _ns: docs.get((kind, name)))


def _chain(event: trigger_eval.Event) -> icpts.Chain:
    return icpts.Chain(json.dumps(dict(event.body)), {k: [v] for k, v in event.headers.items()})


def test_bindings_read_body_header_and_extensions_as_tekton_does() -> None:
    body = {"a": {"b": [{"c": 1}, {"c": "two"}]}, "o": {"k": True}}
    event = trigger_eval.Event(body, {"X-Thing": "v"})
    ext = {"e": {"f": "g"}}
    got = trigger_eval.resolve_value(
        "$(body.a.b[1].c)-$(body.a.b[0].c)-$(body.o)-$(header.x-thing)-$(extensions.e.f)",
        body, {"X-Thing": ["v"]}, ext)  # fmt: skip
    assert got == 'two-1-{"k":true}-v-g'
    with pytest.raises(ValueError, match="nope is not found"):
        trigger_eval.resolve_value("$(body.a.nope)", body, {}, ext)
    ctx = icpts.Context("/", "e1", "namespaces/default/triggers/t", "default")
    out = icpts.run_chain(
        [{"cel": {"overlays": [{"key": "n.m", "expression": "size(body.a.b) + 1"}]}}],
        _chain(event), ctx, _ports({}))  # fmt: skip
    assert out.go and out.chain.extensions == {"n": {"m": 3}}
    out = icpts.run_chain([{"cel": {"filter": "body.o.k == false"}}], _chain(event), ctx,
                          _ports({}))  # fmt: skip
    assert not out.go and not out.failed and "did not return true" in out.why


def test_a_listener_renders_its_template_from_the_event() -> None:
    docs = {(r.kind, r.name): r.spec for r in parse_text(TRIGGERS, "t.yaml")}
    ports = _ports(docs)
    push = trigger_eval.Event({"head_commit": {"id": "abc"}}, {"X-GitHub-Event": "push"})
    listener = docs[("EventListener", "listener")]
    [fired] = trigger_eval.fire("listener", "default", listener, push, ports)
    [run] = fired.runs
    assert run["metadata"]["name"].startswith("build-") and "generateName" not in run["metadata"]
    assert run["metadata"]["labels"]["triggers.tekton.dev/trigger"] == "on-push"
    assert run["spec"]["params"] == [{"name": "line", "value": "hello abc"}]
    pr = trigger_eval.Event({}, {"X-GitHub-Event": "pull_request"})
    assert trigger_eval.fire("listener", "default", listener, pr, ports) == []
    no_template = {"triggers": [{"name": "t", "template": {"ref": "gone"}}]}
    [fired] = trigger_eval.fire("l", "default", no_template, push, ports)
    assert fired.error == "TriggerTemplate 'gone' is not found"
