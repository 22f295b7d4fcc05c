"""Pod logs on the application page, from real podman pods, in a real browser.

An Application synced to the built-in podman host (a busybox httpd image the deploy
tests' fixture builds into the registry fixture): the page lists its pod under its
Deployment, with its phase, and a container's link shows the lines the container wrote,
read by ``cluster.app_pods`` as ``shipway app logs`` reads them. A reader without
``logs, get`` sees the pods but no log links. No console errors, no serious axe findings.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect
from ui_world import RBAC_CM, World, apply_text, serving, store_accounts_set_admin_password

from shipway.auth import accounts
from shipway.cluster import app_pods
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

_spec = importlib.util.spec_from_file_location(
    "ui_deploy_fixtures", Path(__file__).resolve().parents[1] / "deploy" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_deploy = sys.modules.setdefault("ui_deploy_fixtures", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(_deploy)
httpd_images = _deploy.httpd_images  # the deploy tests' image fixture, not a second copy

_CMD = 'echo "hello from the ui test"; echo second line; exec httpd -f -p 8080 -h /www'
NO_LOGS_RBAC = RBAC_CM.replace(
    "    p, role:dev, applications, sync, default/web, allow\n",
    "    p, role:dev, applications, sync, default/web, allow\n"
    "    p, role:dev, logs, get, default/nothing, allow\n",
).replace("policy.default: role:readonly", "policy.default: ''") + (
    "    p, role:dev, applications, get, default/*, allow\n"
)


def _deployment(image: str) -> dict[str, Any]:
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "httpd", "image": image,
                                         "command": ["/bin/sh", "-c", _CMD]}]}}}}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, git_server: Any, registry: Any,
          httpd_images: dict[str, str]) -> Iterator[World]:  # fmt: skip
    base = tmp_path_factory.mktemp("ui-pods")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHIPWAY_HOME", str(base / "home"))
        mp.setenv("SHIPWAY_INSECURE_REGISTRIES", registry.host)
        mp.delenv("SHIPWAY_DATABASE_URL", raising=False)
        settings = Settings(home=base / "home")
        store = open_store(settings)
        accounts.bootstrap_admin(store, base / "home")
        store_accounts_set_admin_password(store)
        accounts.create(store, "alice", "correct horse battery", role="dev")
        apply_text(store, NO_LOGS_RBAC)
        url = git_server.bare(f"ui-pods-{base.name}")
        work = Repo.init(base / "work")
        work.run("remote", "add", "origin", url)
        work.run("config", "user.email", "ui@test")
        work.run("config", "user.name", "ui test")
        (base / "work" / "web").mkdir()
        (base / "work" / "web" / "web.yaml").write_text(
            yaml.safe_dump(_deployment(httpd_images["v1"]))
        )
        work.add_all()
        work.commit("v1")
        work.push("origin", "HEAD:refs/heads/main")
        apply_text(store, f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: "{url}", path: web, targetRevision: main}}
  destination: {{name: local, namespace: default}}
""")  # fmt: skip
        target = engine.local_target(settings)
        try:
            engine.reconcile(store, "web", settings=settings)
            deadline = time.monotonic() + 90
            while True:  # the pod is up (and has written its lines)
                found = [p for ps in app_pods.pods(target, "web").values() for p in ps]
                if found and found[0]["phase"] == "Running":
                    break
                assert time.monotonic() < deadline, f"the pod did not start: {found}"
                time.sleep(0.5)
            with serving(store, settings) as served:
                yield World(served, base / "home", store, settings, target,  # type: ignore[arg-type]
                            work, "", "")  # fmt: skip
        finally:
            target.clean()
            store.close()


def test_pods_and_their_logs(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/applications/argocd/web")
    row = w.page.locator("#pods-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Deployment/web")
    expect(row).to_contain_text("Running")
    pod = str(row.get_attribute("data-pod"))
    assert "web" in pod
    w.page.get_by_role("link", name=f"httpd logs of {pod}").click()
    log = w.page.locator("#pod-logs-view pre.log")
    expect(log).to_contain_text("hello from the ui test")
    assert log.inner_text().splitlines()[:2] == ["hello from the ui test", "second line"]
    w.page.wait_for_load_state("networkidle")
    w.shot("pod-logs")
    assert not w.axe(), w.axe()


def test_no_log_links_without_logs_get(as_user: Any, world: World) -> None:
    w = as_user("alice")
    w.page.goto(world.url + "/applications/argocd/web")
    expect(w.page.locator("#pods-table tbody tr")).to_have_count(1)
    expect(w.page.locator("a.pod-logs")).to_have_count(0)
