"""A ``shipway app sync`` from the CLI notifies as a sync by the controller does: a real
controller process, the CLI in another process syncing an app (no automation, so the
controller never syncs it) to the Kubernetes API fake, the webhook on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from notify_receivers import Receiver

from fake_kube.server import FakeKube
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import resources
from shipway.store.db import open_store

sys.path.insert(0, str(Path(__file__).parents[1] / "auth"))
from auth_controller import running

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
TEMPLATE = """\
message: synced
webhook:
  hook:
    method: POST
    path: /deploys/{{.app.metadata.name}}
    body: '{"app": "{{.app.metadata.name}}", "revision": "{{.app.status.sync.revision}}",
      "phase": "{{.app.status.operationState.phase}}"}'
"""


def _docs(url: str, server: str, hook: str) -> list[dict[str, Any]]:
    cm = {
        "service.webhook.hook": f"url: {hook}\n",
        "template.app-sync-succeeded": TEMPLATE,
        "trigger.on-sync-succeeded": "- when: app.status.operationState.phase in "
        "['Succeeded']\n  oncePer: app.status.sync.revision\n  send: [app-sync-succeeded]\n",
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"}, "data": cm},
        {"apiVersion": "shipway.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "k"},
         "spec": {"type": "kubernetes", "server": server}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
         "metadata": {"name": "cliapp", "annotations": {
             "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ""}},
         "spec": {"source": {"repoURL": url, "path": "app", "targetRevision": "main"},
                  "destination": {"name": "k", "namespace": "team"},
                  "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}},
    ]  # fmt: skip


def test_a_cli_sync_is_notified_by_the_controller(
    shipway_home: Path, git_server: Any, webhook: Receiver, tmp_path: Path
) -> None:
    url = git_server.bare(f"cli-notify-{uuid.uuid4().hex[:6]}")
    work = Repo.init(tmp_path / "work")
    work.run("remote", "add", "origin", url)
    (work.path / "app").mkdir()
    (work.path / "app" / "cm.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"},
         "data": {"v": "1"}}))  # fmt: skip
    work.run("add", "-A")
    work.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "v1")
    work.run("push", "-q", "origin", "HEAD:main")
    sha = work.head()
    fake = FakeKube()
    try:
        store = open_store(Settings(home=shipway_home))
        resources.apply(store, parse_text(yaml.safe_dump_all(
            _docs(url, fake.url, webhook.url)), "notify.yaml"))  # fmt: skip
        store.close()
        with running(shipway_home) as ctl:
            time.sleep(1.0)  # the controller's passes run: nothing to notify yet
            assert webhook.requests == []
            synced = subprocess.run([SHIPWAY, "app", "sync", "cliapp", "-o", "json"],
                                    capture_output=True, text=True, env=dict(os.environ),
                                    check=False, timeout=120)  # fmt: skip
            assert synced.returncode == 0, synced.stderr
            assert json.loads(synced.stdout)["phase"] == "Succeeded"
            deadline = time.monotonic() + 60
            while not webhook.requests and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # more passes: still one message
            log = ctl.log.read_text()
        (got,) = webhook.requests
        assert (got.method, got.path) == ("POST", "/deploys/cliapp"), log[-2000:]
        assert json.loads(got.body) == {"app": "cliapp", "revision": sha, "phase": "Succeeded"}
    finally:
        fake.close()
