"""A config-repo push reconciles each Application that uses it by the key the engines use:
``web`` in argocd, ``dev_web`` in dev (two apps of one name, both reconciled)."""

from __future__ import annotations

from pathlib import Path

from shipway.controller.core import Controller
from shipway.controller.hooks import GitPush, RefUpdate
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import resources as repo
from shipway.store.db import open_store

URL = "git://127.0.0.1:1/config.git"
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: {ns}}}
spec:
  source: {{repoURL: "{url}", path: app}}
  destination: {{name: local}}
"""


def test_push_reconciles_by_namespace(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="")
    store = open_store(settings)
    ctl = Controller(settings, store)
    try:
        text = APP.format(ns="argocd", url=URL) + "---\n" + APP.format(ns="dev", url=URL)
        repo.apply(store, parse_text(text, "apps.yaml"))
        news, _ = ctl.push_work(GitPush(URL, [RefUpdate("refs/heads/main", "0" * 40, "a" * 40)]))
        assert [n.payload["app"] for n in news if n.kind == "reconcile"] == ["web", "dev_web"]
    finally:
        ctl.shutdown()
        store.close()
