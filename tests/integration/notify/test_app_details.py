"""``repo.GetAppDetails`` in a template: a Helm chart's parameters (values.yaml, value files,
the Application's overrides), a kustomization's rendered images and a plain directory, read
from a repository the git daemon serves."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from notify_receivers import Receiver
from test_delivery import _cm

from shipway.git.repo import Repo
from shipway.model.resources import Resource
from shipway.notify import appdetails, worker
from shipway.settings import Settings
from shipway.store import outbox, resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

PREFIX = "notifications.argoproj.io/subscribe."
ANN = f"{PREFIX}on-sync-succeeded.hook"
TEMPLATE = """\
message: details
webhook:
  hook:
    method: POST
    path: /{{.app.metadata.name}}
    body: |
      {{- $d := call .repo.GetAppDetails -}}
      {"type": "{{$d.Type}}",
      {{- if $d.Helm}}
       "tag": "{{$d.Helm.GetParameterValueByName "image.tag"}}",
       "missing": "{{$d.Helm.GetParameterValueByName "no.such"}}",
       "cfg": "{{$d.Helm.GetFileParameterPathByName "cfg"}}",
       "name": "{{$d.Helm.Name}}", "valueFiles": "{{join "," $d.Helm.ValueFiles}}",
       "params": "{{range $i, $p := $d.Helm.Parameters}}{{if $i}},{{end}}
      {{- $p.Name}}={{$p.Value}}{{end}}",
       "values": {{toJson $d.Helm.Values}},
      {{- end}}
      {{- if $d.Kustomize}} "images": "{{join "," $d.Kustomize.Images}}",{{end}}
       "directory": {{if eq (printf "%v" $d.Directory) "<nil>"}}false{{else}}true{{end}}}
"""

VALUES = "image:\n  repository: registry.example/web\n  tag: '1.0'\nports: [80, 443]\nreplicas: 1\n"
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: registry.example/migrate:3}]
      containers: [{name: web, image: registry.example/web}]
"""


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _published(git_server: Any, work: Path) -> tuple[str, str]:
    """The charts, kustomization and plain directory committed in ``work`` and pushed to a new
    repository of the git daemon: its URL and the commit."""
    url = git_server.bare(f"notify-details-{uuid.uuid4().hex[:6]}")
    Repo.init(work)
    Repo(work).run("remote", "add", "origin", url)
    files = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": VALUES,
        "charts/web/values-prod.yaml": "image:\n  tag: '1.1'\n",
        "kust/kustomization.yaml": "resources: [deploy.yaml]\nimages:\n"
        "- name: registry.example/web\n  newTag: '2.5'\n",
        "kust/deploy.yaml": DEPLOY,
        "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    }
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    r = Repo(work)
    r.run("add", "-A")
    r.run("commit", "-q", "-m", "apps")
    r.run("push", "-q", "origin", "HEAD:main")
    return url, r.head()


def _app(store: Store, name: str, url: str, commit: str, source: dict[str, Any]) -> None:
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "annotations": {ANN: ""}},
        "spec": {"project": "default", "source": {"repoURL": url, "targetRevision": "main",
                                                  **source}},
    }  # fmt: skip
    resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", name, "argocd",
                                     body)])  # fmt: skip
    resources.set_status(store, "Application", name, {
        "sync": {"status": "Synced", "revision": commit},
        "operationState": {"phase": "Succeeded", "startedAt": "2026-01-01T10:00:00Z"},
    }, "argocd")  # fmt: skip


def test_app_details_of_helm_kustomize_and_directory_sources(
    store: Store, webhook: Receiver, git_server: Any, tmp_path: Path
) -> None:
    url, commit = _published(git_server, tmp_path / "work")
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE})  # fmt: skip
    helm = {"valueFiles": ["values-prod.yaml"],
            "parameters": [{"name": "replicas", "value": "3"},
                           {"name": "extra.flag", "value": "on"}],
            "fileParameters": [{"name": "cfg", "path": "files/cfg.json"}]}  # fmt: skip
    _app(store, "web-helm", url, commit, {"path": "charts/web", "helm": helm})
    _app(store, "web-kust", url, commit, {"path": "kust"})
    _app(store, "web-plain", url, commit, {"path": "plain"})
    result = worker.run_pass(store, secrets={})
    failed = [d.last_error for d in outbox.list_outbox(store) if d.state != outbox.SENT]
    assert failed == [] and result.sent == 3
    got = {r.path: json.loads(r.body) for r in webhook.requests}
    assert got["/web-helm"] == {
        "type": "Helm", "tag": "1.1", "missing": "", "cfg": "files/cfg.json",
        "name": "web-helm", "valueFiles": "values-prod.yaml",
        "params": "extra.flag=on,image.repository=registry.example/web,image.tag=1.1,"
                  "ports[0]=80,ports[1]=443,replicas=3",
        "values": VALUES, "directory": False,
    }  # fmt: skip
    assert got["/web-kust"] == {
        "type": "Kustomize",
        "directory": False,
        "images": "registry.example/migrate:3,registry.example/web:2.5",
    }
    assert got["/web-plain"] == {"type": "Directory", "directory": True}


def test_a_missing_value_file_fails_the_notification_naming_it(
    store: Store, webhook: Receiver, git_server: Any, tmp_path: Path
) -> None:
    url, commit = _published(git_server, tmp_path / "work")
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE})  # fmt: skip
    _app(store, "web-helm", url, commit,
         {"path": "charts/web", "helm": {"valueFiles": ["values-nope.yaml"]}})  # fmt: skip
    worker.run_pass(store, secrets={})
    (row,) = outbox.list_outbox(store)
    assert row.state == outbox.FAILED
    assert "values-nope.yaml" in row.last_error and "app-sync-succeeded" in row.last_error
    assert webhook.requests == []


def test_app_details_in_a_trigger(
    store: Store, webhook: Receiver, git_server: Any, tmp_path: Path
) -> None:
    url, commit = _published(git_server, tmp_path / "work")
    trigger = ("- when: repo.GetAppDetails().Helm.GetParameterValueByName('image.tag') == '1.1'\n"
               "  send: [app-sync-succeeded]\n")  # fmt: skip
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE, "trigger.on-tag": trigger})  # fmt: skip
    for name, files in (("prod", ["values-prod.yaml"]), ("dev", [])):
        _app(store, name, url, commit, {"path": "charts/web", "helm": {"valueFiles": files}})
        app = resources.find(store, "Application", name, "argocd")
        assert app is not None
        body = {**app.body, "metadata": {**app.metadata,
                                         "annotations": {f"{PREFIX}on-tag.hook": ""}}}  # fmt: skip
        resources.apply(store, [Resource(app.api_version, "Application", name, "argocd", body)])
    worker.run_pass(store, secrets={})
    assert sorted(r.path for r in webhook.requests) == ["/prod"]  # dev's tag is 1.0


def test_flatten_as_argo_cd_names_parameters() -> None:
    flat = appdetails.flatten({"a": {"b": 1, "c": [True, None, {"d": "x"}]}, "e": 1.5})
    assert flat == {"a.b": "1", "a.c[0]": "true", "a.c[1]": "", "a.c[2].d": "x", "e": "1.5"}
    spec = appdetails.helm("app", {"helm": {"parameters": [{"name": "a.b", "value": "9"}]}},
                           [("values.yaml", "a: {b: 1}\n")])  # fmt: skip
    assert spec.GetParameterValueByName("a.b") == "9"
    with pytest.raises(ValueError, match=r"values\.yaml: a values file is a mapping"):
        appdetails.helm("app", {}, [("values.yaml", "- 1\n")])


def test_a_multi_source_apps_ref_value_files(
    store: Store, webhook: Receiver, git_server: Any, tmp_path: Path
) -> None:
    """Argo CD's multi-source form: the chart from one repository, ``$values/...`` value files
    from the source with ``ref: values`` (another repository, at its synced revision)."""
    url, commit = _published(git_server, tmp_path / "work")
    vals = git_server.bare(f"notify-values-{uuid.uuid4().hex[:6]}")
    work = tmp_path / "values"
    r = Repo.init(work)
    r.run("remote", "add", "origin", vals)
    (work / "envs").mkdir()
    (work / "envs" / "prod.yaml").write_text("image:\n  tag: '7.0'\nreplicas: 5\n")
    r.run("add", "-A")
    r.run("commit", "-q", "-m", "values")
    r.run("push", "-q", "origin", "HEAD:main")
    first = r.head()
    (work / "envs" / "prod.yaml").write_text("image:\n  tag: '8.0'\nreplicas: 5\n")
    r.run("commit", "-q", "-am", "newer values, not synced yet")
    r.run("push", "-q", "origin", "HEAD:main")
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE})  # fmt: skip
    sources = [
        {"repoURL": url, "targetRevision": "main", "path": "charts/web",
         "helm": {"valueFiles": ["values-prod.yaml", "$values/envs/prod.yaml"]}},
        {"repoURL": vals, "targetRevision": "main", "ref": "values"},
    ]  # fmt: skip
    for name, helm_files in (("multi", None), ("wrong-ref", ["$nope/envs/prod.yaml"])):
        srcs = [dict(s) for s in sources]
        if helm_files:
            srcs[0]["helm"] = {"valueFiles": helm_files}
        body: dict[str, Any] = {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "annotations": {ANN: ""}},
            "spec": {"project": "default", "sources": srcs},
        }  # fmt: skip
        resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", name, "argocd",
                                         body)])  # fmt: skip
        resources.set_status(store, "Application", name, {
            "sync": {"status": "Synced", "revisions": [commit, first]},
            "operationState": {"phase": "Succeeded", "startedAt": "2026-01-01T10:00:00Z"},
        }, "argocd")  # fmt: skip
    worker.run_pass(store, secrets={})
    (sent,) = [json.loads(q.body) for q in webhook.requests if q.path == "/multi"]
    assert sent["tag"] == "7.0"  # the values repository at its synced revision, last file wins
    assert "replicas=5" in sent["params"] and "image.repository=registry.example/web" in (
        sent["params"])  # fmt: skip
    assert sent["valueFiles"] == "values-prod.yaml,$values/envs/prod.yaml"
    assert sent["values"] == VALUES  # the chart's own values.yaml
    (bad,) = [d for d in outbox.list_outbox(store) if d.app_name == "wrong-ref"]
    assert bad.state == outbox.FAILED
    assert "'$nope/envs/prod.yaml': the application has no source with ref 'nope'" in (
        bad.last_error)  # fmt: skip
