"""Two Applications named ``web``, in namespaces ``dev`` and ``prod``, deployed side by side on
the podman target (pods ``dev.web-0`` and ``prod.web-0``): each syncs, serves, self-heals and is
deleted on its own, through ``shipway app … -n``/``NS/NAME`` as argocd users type them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.runtime.ports import free_port

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPWAY, *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


def _app(url: str, env: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": env},
        "spec": {
            "source": {"repoURL": url, "path": f"envs/{env}", "targetRevision": "main"},
            "destination": {"name": "local", "namespace": env},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def _pods(deploy_env: Any) -> set[str]:
    out = deploy_env.target.podman("pod", "ps", "--format", "{{.Name}}")
    return {p for p in out.split() if p.endswith(".web-0")}


def test_two_webs_side_by_side(deploy_env, config_repo, httpd_images, tmp_path: Path) -> None:
    url, work = config_repo
    ports = {"dev": free_port(), "prod": free_port()}
    for env, version in (("dev", "v2"), ("prod", "v1")):
        objs = [deployment(httpd_images[version]), service(ports[env])]
        for o in objs:
            o["metadata"]["namespace"] = env
        write(work.path, f"envs/{env}/web.yaml", objs)
    rev = commit(work, "dev on v2, prod on v1")
    apps = tmp_path / "apps.yaml"
    apps.write_text(yaml.safe_dump_all([_app(url, "dev"), _app(url, "prod")]))
    applied = _cli("apply", "-f", str(apps))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout == "application/web created\napplication/web created\n"

    dev = _cli("app", "sync", "web", "-n", "dev", "--wait", "--timeout", "60", "-o", "json")
    assert dev.returncode == 0, dev.stderr
    assert json.loads(dev.stdout)["health"] == "Healthy"
    prod = _cli("app", "sync", "prod/web", "--wait", "--timeout", "60")
    assert prod.returncode == 0, prod.stderr
    assert http_get(ports["dev"], "/index.html") == "v2"
    assert http_get(ports["prod"], "/index.html") == "v1"
    assert _pods(deploy_env) == {"dev.web-0", "prod.web-0"}
    # Each app owns its own objects: Argo CD's instance name for apps outside argocd.
    assert sorted(deploy_env.target.live("dev_web")) == [
        "/Service/dev/web",
        "apps/Deployment/dev/web",
    ]
    assert sorted(deploy_env.target.live("prod_web")) == [
        "/Service/prod/web",
        "apps/Deployment/prod/web",
    ]

    listed = _cli("app", "list", "-A")
    rows = [line.split()[:5] for line in listed.stdout.splitlines()[1:]]
    assert rows == [
        ["dev/web", "local", "dev", "default", "Synced"],
        ["prod/web", "local", "prod", "default", "Synced"],
    ]
    got = json.loads(_cli("app", "get", "web", "-n", "prod", "-o", "json").stdout)
    assert got["metadata"]["namespace"] == "prod"
    assert (
        got["status"]["sync"]["revision"] == rev and got["status"]["health"]["status"] == "Healthy"
    )
    assert _cli("app", "get", "web").returncode == 3  # none in argocd

    # Self-heal puts back the pod of the one app whose pod went, under its own name.
    deploy_env.target.podman("pod", "rm", "-f", "prod.web-0")
    healed = engine.self_heal_pass(deploy_env.store, settings=deploy_env.settings)
    assert [(r.app, r.phase) for r in healed] == [("prod_web", "Succeeded")]
    assert http_get(ports["prod"], "/index.html") == "v1"
    hist = json.loads(_cli("app", "history", "prod/web", "-o", "json").stdout)["items"]
    assert [h["revision"] for h in hist] == [rev, rev]
    dev = json.loads(_cli("app", "history", "web", "-n", "dev", "-o", "json").stdout)["items"]
    assert [h["revision"] for h in dev] == [rev]

    # Deleting dev's web leaves prod's running.
    gone = _cli("app", "delete", "web", "-n", "dev")
    assert gone.returncode == 0 and gone.stdout == "application/dev/web deleted\n", gone.stderr
    assert deploy_env.target.live("dev_web") == {}
    assert _pods(deploy_env) == {"prod.web-0"}
    assert http_get(ports["prod"], "/index.html") == "v1"
    assert _cli("app", "get", "dev/web", "--no-refresh").returncode == 3
    assert _cli("app", "get", "web", "-n", "prod", "--no-refresh").returncode == 0
