"""Ports on the real podman host: 127.0.0.1 only, collisions found before ``kube play``,
no orphan pods or port forwards after an interrupted play, one podman state per home,
and a hook pod created once per sync."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.cluster import podman_kinds, podman_ports
from shipway.deploy import engine, history
from shipway.runtime import podman_env
from shipway.runtime.ports import free_port, is_free
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _listening(port: int) -> set[str]:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    return {f[3].rsplit(":", 1)[0] for f in map(str.split, out.splitlines()) if
            f[3].rsplit(":", 1)[1] == str(port)}  # fmt: skip


def _nat_rules(port: int) -> list[str]:
    if shutil.which("iptables-save") is None:
        return []
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if f"--dport {port} " in ln + " "]


def _pods(env) -> dict[str, dict[str, Any]]:
    out = env.target.podman("pod", "ps", "--format", "json")
    return {p["Name"]: p for p in json.loads(out or "[]")}


def test_ports_bind_on_loopback_only_and_bare_container_ports_are_not_published(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port, bare = free_port(), free_port()
    dep = deployment(httpd_images["v1"])
    dep["spec"]["template"]["spec"]["containers"][0]["ports"].append({"containerPort": bare})
    write(work.path, "apps/p/all.yaml", [dep, service(port)])
    commit(work, "ports")
    store_resources.apply(deploy_env.store, [application(url, "ports", "apps/p")])

    res = engine.reconcile(deploy_env.store, "ports", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert http_get(port, "/index.html") == "v1"
    assert _listening(port) == {"127.0.0.1"}
    assert _listening(bare) == set()
    published = deploy_env.target.podman("port", "-a")
    assert f"127.0.0.1:{port}" in published and "0.0.0.0" not in published
    assert str(bare) not in published

    result = history.delete_app(deploy_env.store, "ports", settings=deploy_env.settings)
    assert {r.status for r in result} == {"Pruned"}
    assert _pods(deploy_env) == {}
    assert is_free(port) and _listening(port) == set() and _nat_rules(port) == []


def test_a_port_collision_is_reported_before_kube_play_naming_the_holder(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port, other = free_port(), free_port()
    write(work.path, "apps/a/all.yaml", [deployment(httpd_images["v1"]), service(port)])
    write(work.path, "apps/b/all.yaml", [deployment(httpd_images["v1"]), service(port)])
    write(work.path, "apps/c/all.yaml", [deployment(httpd_images["v1"]), service(other)])
    commit(work, "three apps")
    for name in ("a", "b", "c"):
        app = application(url, name, f"apps/{name}")
        app.body["spec"]["destination"]["namespace"] = name
        store_resources.apply(deploy_env.store, [app])

    assert engine.reconcile(deploy_env.store, "a", settings=deploy_env.settings).phase == (
        "Succeeded"
    )
    res = engine.reconcile(deploy_env.store, "b", settings=deploy_env.settings)
    assert res.phase == "Failed"
    assert f"127.0.0.1:{port}" in res.message and "pod a.web-0" in res.message
    assert "application a" in res.message
    assert "b.web-0" not in _pods(deploy_env)  # found before the play: nothing half-started

    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", other))
        held.listen()
        res = engine.reconcile(deploy_env.store, "c", settings=deploy_env.settings)
        assert res.phase == "Failed"
        assert f"127.0.0.1:{other}" in res.message and f"process {os.getpid()}" in res.message
        assert "c.web-0" not in _pods(deploy_env)
    assert http_get(port, "/index.html") == "v1"  # the holder was never disturbed


def test_an_interrupted_play_leaves_no_orphans_after_the_next_sync_or_delete(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port, stray = free_port(), free_port()
    write(work.path, "apps/i/all.yaml", [deployment(httpd_images["v1"]), service(port)])
    commit(work, "app")
    store_resources.apply(deploy_env.store, [application(url, "intr", "apps/i")])
    target = deploy_env.target

    # A stray pod with the app's labels and a port forward, whose object no record holds
    # (a play that was killed, or a lost record).
    target.podman(
        "pod", "create", "--name", "default.gone-0", "-p", f"127.0.0.1:{stray}:8080",
        "--label", f"{podman_kinds.INSTANCE_LABEL}=intr",
        "--label", f"{podman_kinds.OWNER_KIND}=Deployment",
        "--label", f"{podman_kinds.OWNER_NAMESPACE}=default",
        "--label", f"{podman_kinds.OWNER_NAME}=gone",
    )  # fmt: skip
    target.podman("pod", "start", "default.gone-0")
    assert not is_free(stray)

    # A kube play killed midway: the target records the object first, then plays.
    dep = engine.refresh(deploy_env.store, "intr", settings=deploy_env.settings)
    desired = [d.desired for d in dep.out_of_sync if d.desired is not None]
    web = next(d for d in desired if d["kind"] == "Deployment")
    records = {"apps/Deployment/default/web": web}
    target._save("intr", records, {})
    docs = podman_kinds.pods("intr", web, desired)
    play = Path(target.base) / "killed.yaml"
    play.write_text(yaml.safe_dump_all(docs))
    proc = subprocess.Popen(
        ["podman", "kube", "play", "--tls-verify=false", str(play)],
        env=target.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while "default.web-0" not in _pods(deploy_env) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()

    res = engine.reconcile(deploy_env.store, "intr", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert "default.gone-0" not in _pods(deploy_env)
    assert is_free(stray) and _nat_rules(stray) == []
    assert engine.wait_healthy(deploy_env.store, "intr", 60, settings=deploy_env.settings) == (
        "Healthy"
    )
    assert http_get(port, "/index.html") == "v1"

    history.delete_app(deploy_env.store, "intr", settings=deploy_env.settings)
    assert _pods(deploy_env) == {}
    ids = target.podman("ps", "-a", "-q").split()
    assert ids == []  # no container left behind either
    assert is_free(port) and _nat_rules(port) == []


def test_each_home_keeps_its_own_podman_tmp_dir_and_network_configs(tmp_path: Path) -> None:
    homes = [tmp_path / "one" / "podman", tmp_path / "two" / "podman"]
    envs = [podman_env.podman_env(h) for h in homes]
    runs = [podman_env.short_runroot(h) for h in homes]
    assert runs[0] != runs[1]
    net = f"shipway-test-{os.getpid()}"
    try:
        for home, env, run in zip(homes, envs, runs, strict=True):
            assert podman_env.private_tmp(home)
            proc = subprocess.run(
                ["podman", "--log-level=debug", "network", "ls"],
                env={**os.environ, **env}, capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert f"Using tmp dir {run / 'libpod'}" in proc.stderr
        subprocess.run(["podman", "network", "create", net], env={**os.environ, **envs[0]},
                       check=True, capture_output=True)  # fmt: skip
        assert (homes[0] / "networks" / f"{net}.json").exists()
        listed = [
            subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}"],
                           env={**os.environ, **e}, capture_output=True, text=True,
                           check=True).stdout.split()
            for e in envs
        ]  # fmt: skip
        assert net in listed[0] and net not in listed[1]
    finally:
        subprocess.run(["podman", "network", "rm", "-f", net], env={**os.environ, **envs[0]},
                       capture_output=True)  # fmt: skip
        for run in runs:
            shutil.rmtree(run, ignore_errors=True)


def test_a_config_change_replays_its_workload_but_never_a_hook(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    image, port = httpd_images["v1"], free_port()
    dep = deployment(image)
    dep["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "MSG", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "msg"}}}
    ]
    hook = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PostSync"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "run", "image": image, "command": ["/bin/sh", "-c", "true"]}],
        },
    }

    def config(msg: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                "data": {"msg": msg}}  # fmt: skip

    write(work.path, "apps/h/all.yaml", [dep, service(port), config("one"), hook])
    commit(work, "one")
    store_resources.apply(deploy_env.store, [application(url, "once", "apps/h")])
    res = engine.reconcile(deploy_env.store, "once", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    first = _pods(deploy_env)["default.migrate"]["Id"]

    write(work.path, "apps/h/all.yaml", [dep, service(port), config("two"), hook])
    commit(work, "two")
    res = engine.reconcile(deploy_env.store, "once", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert http_get(port, "/msg.txt") == "two"  # the workload that reads it was replayed
    events = deploy_env.target.podman(
        "events", "--stream=false", "--filter", "type=pod", "--filter", "event=create",
        "--format", "json",
    )  # fmt: skip
    created = [json.loads(ln) for ln in events.splitlines() if ln.strip()]
    hooks = [e for e in created if e.get("Name") == "default.migrate"]
    assert len(hooks) == 2  # once per sync, however many objects the sync applied
    assert _pods(deploy_env)["default.migrate"]["Id"] != first


def test_port_holder_names_a_listening_process() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert podman_ports.holder(port) == f"process {os.getpid()} ({_comm()})"
    assert podman_ports.holder(port) is None


def _comm() -> str:
    return Path(f"/proc/{os.getpid()}/comm").read_text().strip()
