"""Removed fields are drift on the real podman host: the target records what it applied
(``shipway.cluster.last_applied``), so a label or env var removed from git makes the app
OutOfSync, the diff shows the removal, and the automated sync of a commit that only
removes things removes them live."""

from __future__ import annotations

import json

import pytest
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.runtime.ports import free_port
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def test_label_and_env_removed_in_git_are_removed_live(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port = free_port()
    dep = deployment(httpd_images["v1"], name="drift")
    dep["metadata"]["labels"] = {"tier": "frontend"}
    dep["spec"]["template"]["metadata"]["labels"]["tier"] = "frontend"
    [c] = dep["spec"]["template"]["spec"]["containers"]
    c["env"] = [{"name": "MSG", "value": "hello"}, {"name": "MODE", "value": "x"}]
    write(work.path, "apps/drift/all.yaml", [dep, service(port, name="drift", kind="NodePort")])
    commit(work, "drift app")
    store = deploy_env.store
    store_resources.apply(
        store, [application(url, "drift", "apps/drift", automated={"prune": True})]
    )
    res = engine.reconcile(store, "drift", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert http_get(port, "/msg.txt") == "hello"
    assert _pods_labelled(deploy_env, "tier=frontend")

    del dep["metadata"]["labels"]
    del dep["spec"]["template"]["metadata"]["labels"]["tier"]
    c["env"] = [{"name": "MODE", "value": "x"}]
    write(work.path, "apps/drift/all.yaml", [dep, service(port, name="drift", kind="NodePort")])
    removal = commit(work, "only removes a label and an env var")

    st = engine.refresh(store, "drift", settings=deploy_env.settings)
    assert st.sync_status == "OutOfSync"
    [d] = st.out_of_sync
    assert d.key == "apps/Deployment/default/drift"
    changed = [
        ln for ln in d.text.splitlines() if ln[:1] in "+-" and not ln.startswith(("---", "+++"))
    ]
    assert changed == [
        "-    tier: frontend",
        "-        tier: frontend",
        "-        - name: MSG",
        "-          value: hello",
    ]

    res = engine.reconcile(store, "drift", settings=deploy_env.settings)  # automated sync
    assert res.phase == "Succeeded" and res.revision == removal, res.message
    assert http_get(port, "/msg.txt") == ""  # MSG is gone from the running container
    assert not _pods_labelled(deploy_env, "tier=frontend")
    st = engine.refresh(store, "drift", settings=deploy_env.settings)
    assert st.sync_status == "Synced", [x.text for x in st.out_of_sync]


def _pods_labelled(env, label: str) -> list[str]:
    out = env.target.podman(
        "pod", "ps", "--filter", "label=app.kubernetes.io/instance=drift",
        "--filter", f"label={label}", "--format", "json",
    )  # fmt: skip
    return [p["Name"] for p in json.loads(out or "[]") or []]
