"""Argo CD's documented trigger and template forms, unchanged, on a real sync (git daemon,
memory cluster): on-deployed as its catalog writes it compares ``health.lastTransitionTime``
with the sync's ``finishedAt``; templates use ``eq .serviceType``, ``range $i, $c``, ``{{-``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from notify_receivers import Receiver
from test_delivery import _cm

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.notify import worker
from shipway.settings import Settings
from shipway.store import resources
from shipway.store.db import Store, open_store

TRIGGER = """\
- description: synced and healthy, once per commit
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-deployed]
  when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']
    and app.status.health.status == 'Healthy' and
    !time.Parse(app.status.health.lastTransitionTime).Before(time.Parse(app.status.operationState.finishedAt))
"""
TEMPLATE = """\
message: |
  {{if eq .serviceType "slack"}}:rocket:{{end}}{{.app.metadata.name}} is live.
webhook:
  hook:
    method: POST
    path: /deployed
    body: |
      {"app": "{{.app.metadata.name}}", "revision": "{{.app.status.sync.revision}}",
       "repo": {{- if .app.spec.source }} "{{ .app.spec.source.repoURL }}"
               {{- else }} "" {{- end }},
       "conditions": [{{range $i, $c := .app.status.conditions}}{{if $i}},{{end}}
                      "{{$c.type}}"{{end}}]}
"""


@pytest.fixture
def store(shipway_home: Path) -> Iterator[Store]:
    cluster.register("mem", MemoryTarget("mem"))
    try:
        yield open_store(Settings(home=shipway_home))
    finally:
        cluster.register("mem", None)


def _commit(work: Repo, message: str) -> str:
    (Path(work.path) / "web").mkdir(exist_ok=True)
    (Path(work.path) / "web" / "cm.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"},
         "data": {"m": message}}))  # fmt: skip
    work.add_all()
    sha = work.commit(message)
    work.push("origin", "HEAD:refs/heads/main")
    return sha


def test_the_catalog_on_deployed_form_fires_once_per_commit(
    store: Store, webhook: Receiver, git_server: Any, tmp_path: Path, shipway_home: Path
) -> None:
    url = git_server.bare(f"notify-catalog-{uuid.uuid4().hex[:6]}")
    work = Repo.clone(url, tmp_path / "work")
    first = _commit(work, "v1")
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "trigger.on-deployed": TRIGGER, "template.app-deployed": TEMPLATE})  # fmt: skip
    resources.apply(store, parse_text(f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations: {{notifications.argoproj.io/subscribe.on-deployed.hook: ""}}
spec:
  project: default
  source: {{repoURL: "{url}", path: web, targetRevision: main}}
  destination: {{name: mem, namespace: web}}
""", "app.yaml"))  # fmt: skip
    settings = Settings(home=shipway_home)
    engine.reconcile(store, "web", settings=settings)
    app = resources.find(store, "Application", "web", "argocd")
    assert app is not None
    health = app.status["health"]
    assert health["status"] == "Healthy" and health["lastTransitionTime"].endswith("Z")
    assert worker.run_pass(store, secrets={}).sent == 1
    got = json.loads(webhook.requests[0].body)
    assert got == {"app": "web", "revision": first, "repo": url, "conditions": []}
    # the same commit synced again: the health did not change, nothing new
    engine.reconcile(store, "web", settings=settings)
    again = resources.find(store, "Application", "web", "argocd")
    assert again is not None and again.status["health"]["lastTransitionTime"] == health[
        "lastTransitionTime"]  # fmt: skip
    assert worker.run_pass(store, secrets={}).sent == 0
    assert not [c for c in again.status.get("conditions") or [] if c["type"] == worker.CONDITION]
