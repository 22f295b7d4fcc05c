"""The updater names an Application's namespace: watches carry it, results are filed on the
Application of that namespace (not on a namespace-less namesake), and release keys match the
reconciler's (``web``, ``dev_web``)."""

from __future__ import annotations

from pathlib import Path

from shipway.model.resources import Resource, parse_text
from shipway.settings import Settings
from shipway.store import resources as repo
from shipway.store.db import open_store
from shipway.updater import engine, targets

P = "argocd-image-updater.argoproj.io/"


def _app(namespace: str) -> Resource:
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: web\n  namespace: {namespace}\n"
        f"  annotations: {{{P}image-list: 'app=127.0.0.1:5000/web', {P}write-back-method: git}}\n"
        "spec:\n  source: {repoURL: 'git://127.0.0.1/config.git', path: app}\n"
        "  destination: {name: local}\n"
    )
    return parse_text(text, f"{namespace}.yaml")[0]


def test_results_land_on_the_app_of_their_namespace(tmp_path: Path) -> None:
    argocd, dev = _app("argocd"), _app("dev")
    [w] = targets.from_application(dev)
    assert (w.owner_name, w.owner_namespace) == ("web", "dev")
    store = open_store(Settings(home=tmp_path, database_url=""))
    try:
        repo.apply(store, [argocd, dev])
        digest = "127.0.0.1:5000/web@sha256:" + "a" * 64
        result = engine.UpdateResult(
            app="web", kind="Application", namespace="dev", alias="app", image=digest, tag="1.0.0"
        )
        assert (result.app_key, result.owner) == ("dev_web", "dev/web")
        engine.record_status(store, [result], [argocd, dev])
        images = repo.get(store, "Application", "web", "dev").status["imageUpdate"]["images"]
        assert [i["tag"] for i in images] == ["1.0.0"]
        assert repo.get(store, "Application", "web").status == {}  # argocd's web untouched
        plain = engine.UpdateResult(app="web", kind="Application", alias="app")
        assert (plain.app_key, plain.owner) == ("web", "web")
    finally:
        store.close()
