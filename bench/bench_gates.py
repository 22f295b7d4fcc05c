"""The gates part of ``bench/promote.py``: failed verification to finished rollback, push to
Freight, with the controller running in this process (imported by ``bench/promote.py``)."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import yaml


def _wait(what: str, cond: Any, timeout: float = 60.0, step: float = 0.01) -> float:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(step)


def promote_bench_cpu() -> float:
    from promote import cpu

    return float(cpu())


def _kargo(url: str, port: int, image: str) -> str:
    import promote_helpers as ph

    steps = ph.quickstart_steps(url)
    docs = [
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": "demo"}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "ProjectConfig",
         "metadata": {"name": "demo", "namespace": "demo"},
         "spec": {"promotionPolicies": [{"stageSelector": {"name": "test"},
                                         "autoRollback": {}}]}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse",
         "metadata": {"name": "web", "namespace": "demo"},
         "spec": {"subscriptions": [{"image": {"repoURL": image,
                                               "imageSelectionStrategy": "Lexical"}}]}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
         "metadata": {"name": "index", "namespace": "demo"},
         "spec": {"metrics": [{"name": "index", "successCondition": "result contains 'v1'",
                               "provider": {"web": {"url": f"http://127.0.0.1:{port}/",
                                                    "timeoutSeconds": 2}}}]}},
        {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
         "metadata": {"name": "test", "namespace": "demo"},
         "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "web"},
                                        "sources": {"direct": True}}],
                  "promotionTemplate": {"spec": {"steps": steps}},
                  "verification": {"analysisTemplates": [{"name": "index"}]}}},
    ]  # fmt: skip
    return yaml.safe_dump_all(docs, sort_keys=False)


def _serve(ctl: Any) -> tuple[Any, int]:
    import uvicorn

    from shipway.runtime.ports import free_port
    from shipway.server.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctl), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    _wait("the controller's HTTP server", lambda: server.started, 30)
    return server, port


def run(tmp: Path, store: Any, settings: Any, url: str, port: int, image: str,
        repeat: int) -> None:  # fmt: skip
    import promote_helpers as ph

    from shipway.controller.core import Controller
    from shipway.model.resources import Resource, parse_text
    from shipway.promote import runner, verification
    from shipway.promote import start as start_mod
    from shipway.runtime import services
    from shipway.store import resources as store_resources
    from shipway.store import runs

    store_resources.apply(store, parse_text(_kargo(url, port, image), "kargo.yaml"))
    ctl = Controller(settings, store)
    ctl.start(resync=3600)
    server, ctl_port = _serve(ctl)

    def freight(tag: str, name: str) -> str:
        f = ph.freight(tag, name=name)
        f["images"][0]["repoURL"] = image
        f.pop("alias")
        store_resources.apply(store, [Resource(api_version=f["apiVersion"], kind="Freight",
                                               name=name, namespace="demo", body=f)])  # fmt: skip
        return name

    def promote(name: str) -> str:
        started = start_mod.start(store, project="demo", stage="test", freight=name,
                                  actor="bench")  # fmt: skip
        start_mod.queue(store, started.key)
        ctl.lanes.wake(start_mod.LANE)
        return started.key

    def verified(name: str) -> bool:
        res = store_resources.find(store, "Freight", name, "demo")
        return bool(res and "test" in ((res.status or {}).get("verifiedIn") or {}))

    def idle() -> bool:
        return not verification.unfinished(store) and not start_mod.busy(store, "demo", "test")

    try:
        good = freight("v1", "a0000000good")
        promote(good)
        _wait("v1 verified", lambda: verified(good), 120)
        _wait("idle", idle, 60)
        took: list[float] = []
        cpus: list[float] = []
        for i in range(repeat):
            bad = freight("v2", f"b{i:010d}bad")
            promote(bad)

            def failed(bad: str = bad) -> bool:
                return any(
                    s.get("freight") == bad and p in ("Failed", "Error")
                    for _k, p, s in runs.states(store, verification.ENGINE)
                )

            t_fail = _wait("the failed verification", failed, 120)
            c_fail = promote_bench_cpu()

            def rolled_back(bad: str = bad) -> bool:
                return any(
                    s.get("rollbackOf") == bad and p == "Succeeded"
                    for _k, p, s in runs.states(store, runner.ENGINE)
                )

            t_done = _wait("the rollback", rolled_back, 120)
            took.append(t_done - t_fail)
            cpus.append(promote_bench_cpu() - c_fail)
            _wait("idle", idle, 120)
        print(f"failed verification to finished rollback, {repeat} runs: median "
              f"{statistics.median(took):.2f} s, best {min(took):.2f} s (target < 5 s; the "
              f"rollback is a whole podman promotion); CPU median {statistics.median(cpus):.2f} s"
              " (the whole controller in this process and its children)")  # fmt: skip
        _push_to_freight(tmp, store, settings, ctl, ctl_port, image, repeat, services)
    finally:
        server.should_exit = True
        ctl.shutdown()


def _push_to_freight(tmp: Path, store: Any, settings: Any, ctl: Any, ctl_port: int, image: str,
                     repeat: int, services: Any) -> None:  # fmt: skip
    from shipway.store import resources as store_resources

    # a second registry that tells the controller of its pushes, as a registry would be set up
    host = image.split("/", 1)[0]
    run_dir = tmp / "run"
    reg = services.registry(run_dir, tmp / "reg-notify", name="registry-notify",
                            notify_url=f"http://127.0.0.1:{ctl_port}/hooks/registry",
                            notify_token=ctl.tokens.registry())  # fmt: skip
    notify_host = f"127.0.0.1:{reg.port}"
    repo = f"{notify_host}/pushed"
    wh = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse",
          "metadata": {"name": "pushed", "namespace": "demo"},
          "spec": {"interval": "1h", "subscriptions": [{"image": {
              "repoURL": repo, "imageSelectionStrategy": "Lexical"}}]}}  # fmt: skip
    from shipway.model.resources import parse_text

    store_resources.apply(store, parse_text(yaml.safe_dump(wh), "wh.yaml"))
    took = []
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{image}:v1", f"docker://{repo}:base"],
                   check=True, capture_output=True)  # fmt: skip
    from shipway.images.oci import sha256_digest
    from shipway.images.registry import RegistryClient

    client = RegistryClient(notify_host)
    _digest, media, raw = client.get_manifest("pushed", "base")
    manifest = json.loads(raw)
    config = client.get_config("pushed", "base")
    try:
        for i in range(repeat + 1):
            tag = f"t{i:04d}"
            # a distinct image per tag (a label in its config), so each makes new Freight
            config.setdefault("config", {}).setdefault("Labels", {})["bench"] = tag
            blob = json.dumps(config).encode()
            manifest["config"] = {**manifest["config"], "digest": sha256_digest(blob),
                                  "size": len(blob)}  # fmt: skip
            client.upload_blob("pushed", sha256_digest(blob), blob)
            client.put_manifest("pushed", tag, json.dumps(manifest).encode(), media)
            pushed = time.monotonic()

            def made(tag: str = tag) -> bool:
                return any(
                    f.body.get("origin", {}).get("name") == "pushed"
                    and any(im.get("tag") == tag for im in f.body.get("images") or [])
                    for f in store_resources.list_kind(store, "Freight", "demo")
                )

            at = _wait(f"Freight of {tag}", made, 30)
            if i:
                took.append(at - pushed)
        print(
            f"registry push to Freight (notification, controller hook, discovery), {repeat} "
            f"runs: median {statistics.median(took) * 1000:.0f} ms, best "
            f"{min(took) * 1000:.0f} ms (target < 1 s; Kargo polls every 5 min by default)"
        )
    finally:
        client.close()
        services.stop(run_dir, "registry-notify")
    assert host
