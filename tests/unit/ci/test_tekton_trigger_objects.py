"""Tekton Triggers' Trigger objects, trigger groups, selectors and the interceptor chain
(pure: ``model.tekton_triggers`` through ``parse_text`` as ``apply`` reads them,
``ci.tekton.trigger_eval`` and ``ci.tekton.interceptors`` with ports in memory)."""

from __future__ import annotations

import hmac
import json
from typing import Any

import pytest

from shipway.ci.tekton import interceptors as icpts
from shipway.ci.tekton import trigger_eval
from shipway.model.errors import ResourceError
from shipway.model.resources import parse_text

TEMPLATE = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: say, namespace: NS}
spec:
  params: [{name: what}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: TaskRun
      metadata: {generateName: say-}
      spec:
        taskSpec:
          steps: [{name: s, script: "echo $(tt.params.what)"}]
"""


def _trigger(name: str, ns: str, labels: dict[str, str], what: str,
             interceptors: list[dict[str, Any]] | None = None) -> str:  # fmt: skip
    return json.dumps({
        "apiVersion": "triggers.tekton.dev/v1beta1", "kind": "Trigger",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"interceptors": interceptors or [],
                 "bindings": [{"name": "what", "value": what}], "template": {"ref": "say"}},
    })  # fmt: skip


class World:
    """Stored objects in memory, as ``trigger_ports.store_ports`` reads them from the store."""

    def __init__(self, text: str, secrets: dict[tuple[str, str, str], str] | None = None,
                 ) -> None:  # fmt: skip
        self.docs = parse_text(text, "w.yaml")
        self.secrets = secrets or {}

    def ports(self) -> trigger_eval.Ports:
        def find(kind: str, name: str, ns: str) -> dict[str, Any] | None:
            return next((r.spec for r in self.docs if r.kind == kind and r.name == name
                         and r.namespace in (ns, "")), None)  # fmt: skip

        def triggers(ns: str | None) -> list[trigger_eval.StoredTrigger]:
            return [
                trigger_eval.StoredTrigger(r.namespace, r.name, r.labels, r.spec)
                for r in self.docs
                if r.kind == "Trigger" and ns in (None, r.namespace)
            ]

        return trigger_eval.Ports(find=find, triggers=triggers,
                                  secret=lambda *key: self.secrets.get(key))  # fmt: skip

    def listener(self, name: str) -> dict[str, Any]:
        return next(r.spec for r in self.docs if r.kind == "EventListener" and r.name == name)


def _said(fired: list[trigger_eval.Fired]) -> dict[str, str]:
    out = {}
    for f in fired:
        assert not f.error, f.error
        [run] = f.runs
        out[f.trigger] = run["spec"]["taskSpec"]["steps"][0]["script"]
    return out


def test_apply_refuses_every_problem_of_triggers_and_interceptors_at_once() -> None:
    bad = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: el}
spec:
  triggers:
    - triggerRef: other
      template: {ref: t}
    - name: typo
      interceptors:
        - ref: {name: gihub}
        - webhook: {objectRef: {kind: Pod, name: p, apiVersion: v1}}
        - webhook: {header: [{name: x-lower, value: v}]}
        - ref: {name: github}
          params:
            - {name: addChangedFiles, value: {enabled: "yes"}}
            - {name: secretRef, value: {secretName: s}}
      template: {ref: t}
  triggerGroups:
    - name: g
      interceptors: []
      triggerSelector: {}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: Trigger
metadata: {name: t}
spec:
  bindings: [{name: a, value: $(nope.a)}]
  interceptors: [{slack: {}}]
---
apiVersion: triggers.tekton.dev/v1alpha1
kind: ClusterInterceptor
metadata: {name: mine}
spec:
  clientConfig: {}
"""
    with pytest.raises(ResourceError) as exc:
        parse_text(bad, "bad.yaml")
    lines = str(exc.value).splitlines()
    for where, what in [
        ("bad.yaml:6:7:", "got both: triggerRef, template"),
        ("bad.yaml:10:17:", "interceptor 'gihub' is not served"),
        ("bad.yaml:11:33:", "objectRef.kind (expected Service)"),
        ("bad.yaml:12:11:", "missing field(s): spec.triggers[1].interceptors[2].webhook.objectRef"),
        ("bad.yaml:12:31:", "a canonical header name"),
        ("bad.yaml:15:39:", "addChangedFiles is enabled (a boolean)"),
        ("bad.yaml:16:33:", "secretRef needs secretName and secretKey"),
        ("bad.yaml:20:7:", "missing field(s): spec.triggerGroups[0].interceptors"),
        ("bad.yaml:21:7:", "got neither: spec.triggerGroups[0].triggerSelector.labelSelector"),
        ("bad.yaml:26:1:", "missing field(s): spec.template"),
        ("bad.yaml:28:19:", 'unknown field "spec.interceptors[0].slack"'),
        ("bad.yaml:34:3:", "spec.clientConfig: give url or service"),
    ]:
        assert any(ln.startswith(where) and what in ln for ln in lines), (where, what, lines)
    with pytest.raises(ResourceError) as exc:
        parse_text(
            bad.split("---\n")[1].replace("interceptors: [{slack: {}}]", "template: {ref: t}"),
            "t.yaml",
        )
    assert "$(nope.a) is not a binding expression" in str(exc.value)
    good = parse_text(TEMPLATE.replace("NS", "a") + "---\n" + _trigger("t", "a", {}, "x") + """
---
apiVersion: triggers.tekton.dev/v1alpha1
kind: ClusterInterceptor
metadata: {name: mine}
spec:
  clientConfig: {service: {name: svc, namespace: tools, path: /check, port: 8080}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: el, namespace: a}
spec:
  namespaceSelector: {matchNames: ["*"]}
  triggers:
    - interceptors: [{ref: {name: mine, kind: ClusterInterceptor}}]
      template: {ref: say}
""", "good.yaml")  # fmt: skip
    assert [(r.kind, r.namespace) for r in good] == [
        ("TriggerTemplate", "a"), ("Trigger", "a"), ("ClusterInterceptor", ""),
        ("EventListener", "a")]  # fmt: skip
    assert icpts.interceptor_url(good[2].spec) == "http://svc.tools.svc:8080/check"


SELECTED = "\n---\n".join([
    TEMPLATE.replace("NS", "a"), TEMPLATE.replace("NS", "b"),
    _trigger("a-team", "a", {"team": "web"}, "a team"),
    _trigger("a-other", "a", {"team": "db"}, "a other"),
    _trigger("b-team", "b", {"team": "web", "tier": "1"}, "b team"),
    _trigger("b-unlabelled", "b", {}, "b unlabelled"),
    _trigger("by-ref", "a", {"kind": "ref"}, "by ref"),
    """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: own, namespace: a}
spec:
  labelSelector: {matchLabels: {team: web}}
  triggers: [{triggerRef: by-ref}]
""", """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: some, namespace: a}
spec:
  namespaceSelector: {matchNames: [b]}
""", """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: all, namespace: a}
spec:
  namespaceSelector: {matchNames: ["*"]}
  labelSelector:
    matchExpressions:
      - {key: team, operator: In, values: [web, db]}
      - {key: tier, operator: DoesNotExist}
""", """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: grouped, namespace: a}
spec:
  triggers: [{triggerRef: gone}]
  triggerGroups:
    - name: pushes
      interceptors:
        - ref: {name: cel}
          params:
            - {name: filter, value: "header.match('X-GitHub-Event', 'push')"}
            - {name: overlays, value: [{key: short, expression: "body.after.truncate(4)"}]}
      triggerSelector:
        namespaceSelector: {matchNames: [a, b]}
        labelSelector: {matchLabels: {team: web}}
""",
])  # fmt: skip


def test_listeners_serve_the_triggers_their_selectors_pick() -> None:
    world = World(SELECTED.replace("b team", "b $(extensions.short)"))
    ports = world.ports()
    push = trigger_eval.Event({"after": "abcdef"}, {"X-GitHub-Event": "push"})
    fired = trigger_eval.fire("own", "a", world.listener("own"), push, ports)
    assert _said(fired) == {"a-team": "echo a team", "by-ref": "echo by ref"}
    run = fired[0].runs[0]
    assert run["metadata"]["labels"]["triggers.tekton.dev/trigger"] == "a-team"
    assert run["metadata"]["labels"]["triggers.tekton.dev/eventlistener"] == "own"
    fired = trigger_eval.fire("some", "a", world.listener("some"), push, ports)
    [team] = [f for f in fired if f.trigger == "b-team"]  # outside the group: no extension
    assert team.error.endswith("$(extensions.short): short is not found")
    assert _said([f for f in fired if f is not team]) == {"b-unlabelled": "echo b unlabelled"}
    fired = trigger_eval.fire("all", "a", world.listener("all"), push, ports)
    assert sorted(_said(fired)) == ["a-other", "a-team"]
    fired = trigger_eval.fire("grouped", "a", world.listener("grouped"), push, ports)
    assert fired[0].error == "Trigger a/gone is not found"
    assert _said(fired[1:]) == {"a-team": "echo a team", "b-team": "echo b abcd"}
    pr = trigger_eval.Event({"after": "abcdef"}, {"X-GitHub-Event": "pull_request"})
    assert [f.trigger for f in trigger_eval.fire("grouped", "a", world.listener("grouped"), pr,
                                                 ports)] == ["gone"]  # fmt: skip


SIGNED = (
    TEMPLATE.replace("NS", "default")
    + """\
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: forges}
spec:
  triggers:
    - name: gh
      interceptors:
        - ref: {name: github}
          params:
            - {name: secretRef, value: {secretName: hooks, secretKey: github}}
            - {name: eventTypes, value: [push]}
      bindings: [{name: what, value: "gh $(body.ref)"}]
      template: {ref: say}
    - name: gl
      interceptors: [{gitlab: {secretRef: {secretName: hooks, secretKey: gitlab}}}]
      bindings: [{name: what, value: "gl $(body.ref)"}]
      template: {ref: say}
    - name: bb
      interceptors:
        - bitbucket:
            secretRef: {secretName: hooks, secretKey: bitbucket}
            eventTypes: ["repo:push"]
      bindings: [{name: what, value: "bb $(body.ref)"}]
      template: {ref: say}
    - name: no-secret
      interceptors: [{github: {secretRef: {secretName: missing, secretKey: k}}}]
      bindings: [{name: what, value: x}]
      template: {ref: say}
"""
)


def test_forge_interceptors_check_signatures_on_the_body_as_sent() -> None:
    keys = {("default", "hooks", "github"): "gh-key", ("default", "hooks", "gitlab"): "gl-key",
            ("default", "hooks", "bitbucket"): "bb-key"}  # fmt: skip
    world = World(SIGNED, keys)
    listener = world.listener("forges")
    raw = '{"ref":  "main"}'  # the spaces are signed too

    def sig(key: str, algo: str = "sha256") -> str:
        return f"{algo}=" + hmac.new(key.encode(), raw.encode(), algo).hexdigest()

    def fire(headers: dict[str, str], body_raw: str | None = raw) -> dict[str, str]:
        event = trigger_eval.Event(json.loads(raw), headers, "/hooks", body_raw)
        fired = trigger_eval.fire("forges", "default", listener, event, world.ports())
        errors = {f.trigger: f.error for f in fired if f.error}
        assert errors == {"no-secret": "github: error getting secret: Secret default/missing "
                          "has no key 'k'"} or not errors, errors  # fmt: skip
        return _said([f for f in fired if not f.error])

    assert fire({"X-GitHub-Event": "push", "X-Hub-Signature-256": sig("gh-key"),
                 "X-Gitlab-Token": "gl-key", "X-Event-Key": "repo:push",
                 "X-Hub-Signature": sig("bb-key", "sha1")}) == {
        "gh": "echo gh main", "gl": "echo gl main", "bb": "echo bb main"}  # fmt: skip
    assert fire(
        {
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": sig("other"),
            "X-Gitlab-Token": "other",
            "X-Event-Key": "repo:push",
            "X-Hub-Signature": sig("bb-key", "sha256"),
        }
    ) == {"bb": "echo bb main"}
    assert fire({"X-GitHub-Event": "issues", "X-Event-Key": "pr:opened"}) == {}
    # an event the controller made from a forge hook it checked: no signatures to check
    got = fire({"X-GitHub-Event": "push", "X-Event-Key": "repo:push"}, None)
    assert got == {"gh": "echo gh main", "gl": "echo gl main", "bb": "echo bb main",
                   "no-secret": "echo x"}  # fmt: skip
    ctx = icpts.Context("/", "e", "namespaces/default/triggers/gh", "default")
    chain = icpts.Chain(raw, {"X-GitHub-Event": ["push"]})
    out = icpts.run_chain(listener["triggers"][0]["interceptors"], chain, ctx, world.ports())
    assert not out.go and out.why == "github: no X-Hub-Signature-256 header set"


def test_remote_interceptors_get_tekton_requests_and_their_replies_decide() -> None:
    world = World("""\
apiVersion: triggers.tekton.dev/v1alpha1
kind: ClusterInterceptor
metadata: {name: checker}
spec:
  clientConfig: {url: "http://checker.test/ask"}
""")
    sent: list[tuple[str, Any, icpts.Headers]] = []
    replies: list[icpts.Reply] = []

    def post(url: str, body: bytes, headers: icpts.Headers) -> icpts.Reply:
        sent.append((url, json.loads(body), headers))
        return replies.pop(0)

    base = world.ports()
    ports = trigger_eval.Ports(find=base.find, post=post)
    chain_icpts: list[dict[str, Any]] = [
        {"cel": {"overlays": [{"key": "n", "expression": "body.n + 1"}]}},
        {"webhook": {"url": "http://hook.test/",
                     "header": [{"name": "X-Extra", "value": ["a", "b"]}]}},
        {"ref": {"name": "checker", "kind": "ClusterInterceptor"},
         "params": [{"name": "level", "value": {"deep": 1}}]},
    ]  # fmt: skip
    ctx = icpts.Context("http://me/hooks", "ev1", "namespaces/ns/triggers/t", "ns")
    replies += [
        icpts.Reply(200, {"X-New": ["1"]}, b'{"n": 10, "from": "hook"}'),
        icpts.Reply(200, {}, json.dumps({"continue": True, "extensions": {"ok": "yes"}}).encode()),
    ]
    out = icpts.run_chain(chain_icpts, icpts.Chain('{"n": 1}', {"X-A": ["x"]}), ctx, ports)
    assert out.go, out.why
    hook_url, hook_body, hook_headers = sent[0]
    assert hook_url == "http://hook.test/" and hook_body == {"n": 1, "extensions": {"n": 2}}
    assert hook_headers["X-Extra"] == ["a", "b"] and hook_headers["X-A"] == ["x"]
    assert hook_headers["Eventlistener-Request-Url"] == ["http://me/hooks"]
    ask_url, request, _ = sent[1]
    assert ask_url == "http://checker.test/ask"
    assert request == {"body": '{"n": 10, "from": "hook"}', "header": {"X-New": ["1"]},
                       "extensions": {"n": 2}, "interceptor_params": {"level": {"deep": 1}},
                       "context": {"event_url": "http://me/hooks", "event_id": "ev1",
                                   "trigger_id": "namespaces/ns/triggers/t"}}  # fmt: skip
    assert out.chain.extensions == {"n": 2, "ok": "yes"}
    assert out.chain.body == '{"n": 10, "from": "hook"}'
    replies += [
        icpts.Reply(200, {}, b'{"continue": false, "status": {"code": 9, "message": "no"}}')
    ]
    out = icpts.run_chain(chain_icpts[2:], icpts.Chain("{}", {}), ctx, ports)
    assert not out.go and not out.failed and out.why == "interceptor checker: no (code 9)"
    replies += [icpts.Reply(403, {}, b"go away")]
    out = icpts.run_chain(chain_icpts[1:2], icpts.Chain("{}", {}), ctx, ports)
    assert not out.go and "status: 403; message: go away" in out.why
    replies += [icpts.Reply(500, {}, b"broken")]
    out = icpts.run_chain(chain_icpts[2:], icpts.Chain("{}", {}), ctx, ports)
    assert out.failed and "interceptor response was not 200: broken" in out.why
    missing = [{"ref": {"name": "gone", "kind": "NamespacedInterceptor"}}]
    out = icpts.run_chain(missing, icpts.Chain("{}", {}), ctx, ports)
    assert out.failed and "Interceptor 'gone' is not found" in out.why
    out = icpts.run_chain(chain_icpts[1:2], icpts.Chain("{}", {}), ctx, base)
    assert out.failed and "cannot reach http://hook.test/" in out.why


def test_cel_has_tekton_functions_and_reads_secrets() -> None:
    from shipway.ci.tekton.trigger_cel import cel, to_json

    keys = {("ns", "tok", "k"): "sekrit", ("other", "tok", "k"): "else"}

    def run(expr: str) -> Any:
        body = {"parts": ["a", "b"], "b64": "aGVsbG8", "url": "https://u:p@ex.com/x/y?q=1&q=2#f",
                "doc": "k: v\nn: [1, 2]\n"}  # fmt: skip
        headers = {"X-Token": ["sekrit"]}
        return to_json(cel(expr, body, headers, {}, "/", lambda *key: keys.get(key), "ns"))

    assert run("body.parts.join('/')") == "a/b"
    assert run("body.b64.decodeb64()") == "hello"
    assert run("body.parts.first() + body.parts.last()") == "ab"
    assert run("'This is $an Invalid5String '.translate('[^a-z0-9]+', '')") == "hisisannvalid5tring"
    assert run("'TacoCÆt'.lowerAscii() + 'x'.upperAscii()") == "tacocÆtX"
    assert run("body.doc.parseYAML().n[1]") == 2
    url = run("body.url.parseURL()")
    assert url["host"] == "ex.com" and url["path"] == "/x/y" and url["query"] == {"q": "1,2"}
    assert url["queryStrings"] == {"q": ["1", "2"]} and url["auth"]["password"] == "p"
    assert run("header.canonical('X-Token').compareSecret('k', 'tok')") is True
    assert run("header.canonical('X-Token').compareSecret('k', 'tok', 'other')") is False
    assert run("header.canonical('X-Token').compareSecret('k', 'missing')") is False


def test_a_ref_without_kind_to_an_interceptor_of_ones_own_is_a_cluster_interceptor() -> None:
    """Tekton's default ref kind is ClusterInterceptor: such a file applies unchanged, while
    a near-miss of a built-in name is still refused with the name it probably meant."""
    listener = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: el}
spec:
  triggers:
    - name: t
      interceptors: [{ref: {name: %s}}]
      template: {ref: say}
"""
    (mine,) = parse_text(listener % "my-own-check", "el.yaml")
    assert mine.spec["triggers"][0]["interceptors"][0]["ref"]["name"] == "my-own-check"
    with pytest.raises(
        ResourceError, match=r"el\.yaml:7:.*'gitlub' is not served \(did you mean 'gitlab'\?"
    ):
        parse_text(listener % "gitlub", "el.yaml")
